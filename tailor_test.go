package tailor_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/go-kit/kit/endpoint"

	"github.com/tailorkit/tailor"
	"github.com/tailorkit/tailor/fault"
)

type addRequest struct{ A, B int }
type addResponse struct{ Sum int }

func add(_ context.Context, req addRequest) (addResponse, error) {
	return addResponse{Sum: req.A + req.B}, nil
}

func TestEndpointAcceptsValueAndPointer(t *testing.T) {
	e := tailor.Endpoint(add)
	for _, req := range []any{addRequest{1, 2}, &addRequest{1, 2}} {
		resp, err := e(context.Background(), req)
		if err != nil || resp.(addResponse).Sum != 3 {
			t.Fatalf("e(%#v) = %v, %v; want Sum 3", req, resp, err)
		}
	}
}

func TestEndpointWrongRequestType(t *testing.T) {
	e := tailor.Endpoint(add)
	for _, req := range []any{"add 1 2", nil, (*addRequest)(nil)} {
		_, err := e(context.Background(), req)
		if !errors.Is(err, fault.Internal) || !strings.Contains(err.Error(), "tailor_test.addRequest") {
			t.Errorf("e(%#v): err = %v, want an Internal error naming the wanted type", req, err)
		}
	}
}

func TestCallWrongResponseType(t *testing.T) {
	bad := func(context.Context, any) (any, error) { return "not a response", nil }
	_, err := tailor.Call[addRequest, addResponse](bad)(context.Background(), addRequest{})
	if !errors.Is(err, fault.Internal) || !strings.Contains(err.Error(), "string") {
		t.Fatalf("err = %v, want an Internal error naming the type received", err)
	}
	failing := func(context.Context, any) (any, error) { return nil, fault.New(fault.NotFound, "gone") }
	if _, err := tailor.Call[addRequest, addResponse](failing)(context.Background(), addRequest{}); !errors.Is(err, fault.NotFound) {
		t.Fatalf("err = %v, want the endpoint's NotFound", err)
	}
}

// An endpoint written with concrete types, wrapped in plain go-kit
// middlewares, and called back with concrete types: no type assertions.
func Example() {
	logging := func(name string) endpoint.Middleware {
		return func(next endpoint.Endpoint) endpoint.Endpoint {
			return func(ctx context.Context, req any) (any, error) {
				fmt.Println("enter", name)
				defer fmt.Println("leave", name)
				return next(ctx, req)
			}
		}
	}
	e := endpoint.Chain(logging("outer"), logging("inner"))(tailor.Endpoint(add))

	call := tailor.Call[addRequest, addResponse](e)
	resp, err := call(context.Background(), addRequest{A: 2, B: 3})
	fmt.Println(resp.Sum, err)
	// Output:
	// enter outer
	// enter inner
	// leave inner
	// leave outer
	// 5 <nil>
}
