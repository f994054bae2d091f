package fault_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/tailorkit/tailor/fault"
)

func TestKindTable(t *testing.T) {
	tests := []struct {
		kind      fault.Kind
		name      string
		status    int
		retryable bool
	}{
		{fault.Internal, "internal", 500, false},
		{fault.InvalidArgument, "invalid_argument", 400, false},
		{fault.Unauthenticated, "unauthenticated", 401, false},
		{fault.PermissionDenied, "permission_denied", 403, false},
		{fault.NotFound, "not_found", 404, false},
		{fault.Conflict, "conflict", 409, false},
		{fault.FailedPrecondition, "failed_precondition", 412, false},
		{fault.ResourceExhausted, "resource_exhausted", 429, true},
		{fault.Canceled, "canceled", 499, false},
		{fault.Unavailable, "unavailable", 503, true},
		{fault.DeadlineExceeded, "deadline_exceeded", 504, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			k := tt.kind
			if k.String() != tt.name || k.HTTPStatus() != tt.status || k.Retryable() != tt.retryable {
				t.Fatalf("got %s %d %v; want %s %d %v", k, k.HTTPStatus(), k.Retryable(), tt.name, tt.status, tt.retryable)
			}
			if got := fault.FromHTTPStatus(tt.status); got != k {
				t.Errorf("FromHTTPStatus(%d) = %v, want %v", tt.status, got, k)
			}
			if got, ok := fault.ParseKind(tt.name); !ok || got != k {
				t.Errorf("ParseKind(%q) = %v, %v; want %v", tt.name, got, ok, k)
			}
		})
	}
}

func TestNearestKinds(t *testing.T) {
	if got := fault.FromHTTPStatus(http.StatusUnprocessableEntity); got != fault.InvalidArgument {
		t.Errorf("422 -> %v, want invalid_argument", got)
	}
	if got := fault.FromHTTPStatus(http.StatusBadGateway); got != fault.Unavailable {
		t.Errorf("502 -> %v, want unavailable", got)
	}
}

func TestErrorsIsAndAs(t *testing.T) {
	cause := io.ErrUnexpectedEOF
	err := fmt.Errorf("loading product: %w", fault.Wrap(cause, fault.Unavailable, "the store is down"))
	if !errors.Is(err, fault.Unavailable) || errors.Is(err, fault.NotFound) {
		t.Fatal("errors.Is does not see the kind through wrapping")
	}
	if !errors.Is(err, io.ErrUnexpectedEOF) {
		t.Fatal("errors.Is does not see the cause")
	}
	var fe *fault.Error
	if !errors.As(err, &fe) || fe.Detail != "the store is down" {
		t.Fatalf("errors.As = %+v", fe)
	}
	if !fault.IsRetryable(err) || fault.IsRetryable(fault.New(fault.NotFound, "x")) || fault.IsRetryable(nil) {
		t.Fatal("IsRetryable wrong")
	}
	if fault.Wrap(nil, fault.Internal, "x") != nil {
		t.Fatal("Wrap(nil) must be nil")
	}
}

func TestKindOf(t *testing.T) {
	tests := []struct {
		err  error
		want fault.Kind
	}{
		{fault.New(fault.Conflict, "x"), fault.Conflict},
		{context.DeadlineExceeded, fault.DeadlineExceeded},
		{fmt.Errorf("call: %w", context.Canceled), fault.Canceled},
		{fault.NotFound, fault.NotFound},
		{errors.New("plain"), fault.Internal},
		{&net.OpError{Op: "dial", Net: "tcp", Err: syscall.ECONNREFUSED}, fault.Unavailable},
		{&url.Error{Op: "Get", URL: "http://x", Err: &net.DNSError{Err: "no such host", Name: "x", IsNotFound: true}}, fault.Unavailable},
		{&net.OpError{Op: "read", Net: "tcp", Err: os.ErrDeadlineExceeded}, fault.DeadlineExceeded},
	}
	for _, tt := range tests {
		if got := fault.KindOf(tt.err); got != tt.want {
			t.Errorf("KindOf(%v) = %v, want %v", tt.err, got, tt.want)
		}
	}
}

// TestKindOfConnectionErrors pins the one classification of a call that
// never got its answer: metrics, spans and the caller all see Unavailable
// for a refused connection, not Internal.
func TestKindOfConnectionErrors(t *testing.T) {
	// A real refused dial: listen, note the address, close.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	_, dialErr := net.Dial("tcp", addr)
	if dialErr == nil {
		t.Fatal("dial to a closed port succeeded")
	}
	_, httpErr := http.Get("http://" + addr + "/")
	if httpErr == nil {
		t.Fatal("GET to a closed port succeeded")
	}
	tests := []struct {
		name string
		err  error
		want fault.Kind
	}{
		{"refused dial", dialErr, fault.Unavailable},
		{"refused http call", httpErr, fault.Unavailable},
		{"wrapped refused call", fmt.Errorf("calling inventory: %w", httpErr), fault.Unavailable},
		{"ECONNREFUSED", syscall.ECONNREFUSED, fault.Unavailable},
		{"ECONNRESET in an OpError", &net.OpError{Op: "read", Net: "tcp", Err: os.NewSyscallError("read", syscall.ECONNRESET)}, fault.Unavailable},
		{"EPIPE", fmt.Errorf("write: %w", syscall.EPIPE), fault.Unavailable},
		{"connection closed mid-answer", &url.Error{Op: "Get", URL: "http://127.0.0.1/", Err: io.ErrUnexpectedEOF}, fault.Unavailable},
		{"server closed the connection", &url.Error{Op: "Post", URL: "http://127.0.0.1/", Err: io.EOF}, fault.Unavailable},
		{"DNS failure", &net.DNSError{Err: "no such host", Name: "inventory.invalid", IsNotFound: true}, fault.Unavailable},
		{"closed conn", net.ErrClosed, fault.Unavailable},
		{"I/O timeout", &net.OpError{Op: "read", Net: "tcp", Err: os.ErrDeadlineExceeded}, fault.DeadlineExceeded},
		{"context deadline in url.Error", &url.Error{Op: "Get", URL: "http://127.0.0.1/", Err: context.DeadlineExceeded}, fault.DeadlineExceeded},
		{"context canceled in url.Error", &url.Error{Op: "Get", URL: "http://127.0.0.1/", Err: context.Canceled}, fault.Canceled},
		{"bare unexpected EOF", io.ErrUnexpectedEOF, fault.Internal},
		{"fault error wins", fault.Wrap(syscall.ECONNREFUSED, fault.NotFound, "no such thing"), fault.NotFound},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := fault.KindOf(tt.err); got != tt.want {
				t.Errorf("KindOf(%v) = %v, want %v", tt.err, got, tt.want)
			}
		})
	}
}

func TestPublicDetailNeverLeaksServerErrors(t *testing.T) {
	err := fault.Wrap(errors.New("pq: password authentication failed"), fault.Internal, "db query failed: SELECT secret")
	if d := err.(*fault.Error).PublicDetail(); strings.Contains(d, "secret") || strings.Contains(d, "password") {
		t.Fatalf("PublicDetail = %q leaks", d)
	}
	client := fault.Errorf(fault.NotFound, "no product %q", "p1")
	if client.PublicDetail() != `no product "p1"` {
		t.Fatalf("PublicDetail = %q, want the detail", client.PublicDetail())
	}
	overridden := &fault.Error{Kind: fault.InvalidArgument, Status: 503, Detail: "inner"}
	if overridden.PublicDetail() == "inner" {
		t.Fatal("a 5xx status override must hide the detail too")
	}
}

func TestInvalidListsViolations(t *testing.T) {
	err := fault.Invalid(fault.Violation{Field: "name", Description: "is required"}, fault.Violation{Field: "price.amount", Description: "must be positive"})
	if err.HTTPStatus() != 422 || err.Detail != "the request failed validation: name: is required; price.amount: must be positive" {
		t.Fatalf("got %d %q", err.HTTPStatus(), err.Detail)
	}
}

func TestRetryAfter(t *testing.T) {
	err := fmt.Errorf("wrapped: %w", &fault.Error{Kind: fault.ResourceExhausted, RetryAfter: 2 * time.Second})
	if fault.RetryAfter(err) != 2*time.Second || fault.RetryAfter(errors.New("x")) != 0 {
		t.Fatal("RetryAfter wrong")
	}
}

func ExampleKind_Error() {
	err := fmt.Errorf("get product: %w", fault.New(fault.NotFound, `no product has id "p1"`))
	fmt.Println(errors.Is(err, fault.NotFound), fault.KindOf(err).HTTPStatus(), fault.KindOf(err).Retryable())
	// Output: true 404 false
}

func ExampleWrap() {
	err := fault.Wrap(errors.New("dial tcp 10.0.0.7:5432: connection refused"), fault.Unavailable, "the product store is unavailable")
	fe := fault.As(err)
	fmt.Println(fe.Kind, "|", fe.PublicDetail(), "|", fe.Error())
	// Output: unavailable | the service is unavailable; retry later | unavailable: the product store is unavailable: dial tcp 10.0.0.7:5432: connection refused
}

func TestErrorfWrapsEveryCause(t *testing.T) {
	one := fault.Errorf(fault.Unavailable, "reading the catalog: %w", io.ErrUnexpectedEOF)
	if !errors.Is(one, io.ErrUnexpectedEOF) || one.Error() != "unavailable: reading the catalog: unexpected EOF" {
		t.Errorf("one %%w: got %q (errors.Is %v), want the cause seen and quoted once", one, errors.Is(one, io.ErrUnexpectedEOF))
	}
	two := fault.Errorf(fault.Unavailable, "%w, then %w", io.ErrUnexpectedEOF, context.DeadlineExceeded)
	for _, cause := range []error{io.ErrUnexpectedEOF, context.DeadlineExceeded} {
		if !errors.Is(two, cause) {
			t.Errorf("two %%w: errors.Is(%q, %v) = false, want true", two, cause)
		}
	}
	if want := "unavailable: unexpected EOF, then context deadline exceeded"; two.Error() != want {
		t.Errorf("two %%w: got %q, want %q", two.Error(), want)
	}
}

func ExampleNew() {
	err := fault.New(fault.NotFound, `no product has id "p1"; list products to find one`)
	fmt.Println(err.HTTPStatus(), err.PublicDetail())
	// Output: 404 no product has id "p1"; list products to find one
}

func ExampleErrorf() {
	err := fault.Errorf(fault.Conflict, "a product named %q exists; choose another name", "Mug")
	fmt.Println(errors.Is(err, fault.Conflict), err.Detail)
	// Output: true a product named "Mug" exists; choose another name
}

func ExampleInvalid() {
	err := fault.Invalid(
		fault.Violation{Field: "name", Description: "is required"},
		fault.Violation{Field: "price.currency", Description: "must be an ISO 4217 code such as EUR"},
	)
	fmt.Println(err.HTTPStatus(), err.Detail)
	// Output: 422 the request failed validation: name: is required; price.currency: must be an ISO 4217 code such as EUR
}

// KindOf classifies errors nobody wrapped, a refused connection included,
// the same way for the caller, for metrics and for spans.
func ExampleKindOf() {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		fmt.Println(err)
		return
	}
	addr := ln.Addr().String()
	ln.Close() // nobody listens there now
	_, err = net.Dial("tcp", addr)
	fmt.Println(fault.KindOf(err).String(), fault.KindOf(context.DeadlineExceeded).String(), fault.KindOf(errors.New("nil map")).String())
	// Output: unavailable deadline_exceeded internal
}
