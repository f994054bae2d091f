package tailor_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"

	"github.com/tailorkit/tailor"
	"github.com/tailorkit/tailor/fault"
	thttp "github.com/tailorkit/tailor/transport/http"
)

// Endpoint turns a function with concrete types into a go-kit endpoint. It
// takes the request as a value or, as tailor's decoders hand it over, as a
// pointer; a request of any other type is an Internal error, never a panic.
func ExampleEndpoint() {
	e := tailor.Endpoint(add)

	resp, err := e(context.Background(), addRequest{A: 1, B: 2})
	fmt.Println(resp, err)
	resp, err = e(context.Background(), &addRequest{A: 3, B: 4})
	fmt.Println(resp, err)
	_, err = e(context.Background(), "1 + 2")
	fmt.Println(errors.Is(err, fault.Internal))
	// Output:
	// {3} <nil>
	// {7} <nil>
	// true
}

type greeting struct {
	Text string `json:"text"`
}

// Call turns a go-kit client endpoint into a function with concrete types,
// here an HTTP client of a server on loopback. Errors pass through as the
// endpoint returned them, so the server's NotFound is a NotFound.
func ExampleCall() {
	router := thttp.NewRouter()
	router.Handle("GET /v1/greetings/{name}", thttp.NewServer(
		tailor.Endpoint(func(_ context.Context, name string) (greeting, error) {
			if name != "ann" {
				return greeting{}, fault.New(fault.NotFound, fmt.Sprintf("no one named %q here", name))
			}
			return greeting{Text: "hello, " + name}, nil
		}),
		func(_ context.Context, r *http.Request) (any, error) { return r.PathValue("name"), nil },
		thttp.EncodeJSON(http.StatusOK),
	))
	srv := httptest.NewServer(router)
	defer srv.Close()

	greet := func(name string) (greeting, error) {
		e, err := thttp.NewClient("GET", srv.URL+"/v1/greetings/"+name, thttp.EncodeJSONRequest, thttp.DecodeJSONResponse[greeting]())
		if err != nil {
			return greeting{}, err
		}
		return tailor.Call[any, greeting](e)(context.Background(), nil)
	}
	g, err := greet("ann")
	fmt.Println(g.Text, err)
	_, err = greet("bob")
	fmt.Println(errors.Is(err, fault.NotFound), fault.As(err).Detail)
	// Output:
	// hello, ann <nil>
	// true no one named "bob" here
}
