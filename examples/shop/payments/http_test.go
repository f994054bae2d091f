package payments_test

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/tailorkit/tailor/auth"
	"github.com/tailorkit/tailor/examples/shop/payments"
	"github.com/tailorkit/tailor/fault"
	thttp "github.com/tailorkit/tailor/transport/http"
)

// The issuer and audience of the shop's tokens (users.Issuer and
// users.Audience).
const (
	issuer   = "shop-users"
	audience = "shop"
)

// server is the payments service served over loopback, as main serves
// it: the verifier's middleware on the router puts the caller's claims in
// the context, and the payments' routes decide what a caller may do.
type server struct {
	base   string
	signer *auth.Signer
}

func startServer(t *testing.T, opts ...payments.Option) server {
	t.Helper()
	s, _ := newService(t, opts...)
	signer, err := auth.NewSigner(issuer, audience)
	if err != nil {
		t.Fatal(err)
	}
	verifier, err := auth.NewVerifier(signer, issuer, audience)
	if err != nil {
		t.Fatal(err)
	}
	router := thttp.NewRouter(thttp.WithMiddleware(verifier.HTTPMiddleware()))
	payments.RegisterHTTP(router, s)
	srv := httptest.NewServer(router)
	t.Cleanup(srv.Close)
	return server{base: srv.URL, signer: signer}
}

// token signs a token for a caller with role.
func (s server) token(t *testing.T, role string) string {
	t.Helper()
	tok, err := s.signer.Sign(auth.Claims{Subject: role + "-1", Roles: []string{role}}, time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	return tok
}

type answer struct {
	status  int
	header  http.Header
	body    []byte
	problem thttp.Problem
	err     *fault.Error // the error a client sees, for an error answer
}

// do sends a request with a bearer token when token is not empty.
func (s server) do(t *testing.T, method, path, token, body string) answer {
	t.Helper()
	req, err := http.NewRequest(method, s.base+path, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	a := answer{status: resp.StatusCode, header: resp.Header, body: b}
	if resp.StatusCode >= 400 {
		if ct := resp.Header.Get("Content-Type"); ct != thttp.ProblemContentType {
			t.Fatalf("%s %s = %d with Content-Type %q, want %s", method, path, resp.StatusCode, ct, thttp.ProblemContentType)
		}
		if err := json.Unmarshal(b, &a.problem); err != nil {
			t.Fatalf("%s %s = %d %s: not a problem: %v", method, path, resp.StatusCode, b, err)
		}
		if a.problem.Status != resp.StatusCode {
			t.Errorf("problem status %d, answer status %d", a.problem.Status, resp.StatusCode)
		}
		a.err = thttp.ParseProblem(resp.StatusCode, resp.Header.Get("Content-Type"), b)
	}
	return a
}

// want fails unless the answer has status and, for an error, kind and a
// detail that contains every one of words.
func (a answer) want(t *testing.T, status int, kind fault.Kind, words ...string) {
	t.Helper()
	if a.status != status {
		t.Fatalf("got %d %s, want %d", a.status, a.body, status)
	}
	if status < 400 {
		return
	}
	if a.problem.Kind != kind.String() {
		t.Errorf("problem kind %q, want %q", a.problem.Kind, kind)
	}
	for _, w := range words {
		if !strings.Contains(a.problem.Detail, w) {
			t.Errorf("detail %q does not say %q", a.problem.Detail, w)
		}
	}
}

// fields lists the fields of the answer's violations.
func (a answer) fields() string {
	var f []string
	for _, v := range a.problem.Violations {
		f = append(f, v.Field)
	}
	return strings.Join(f, " ")
}

func decode[T any](t *testing.T, a answer) T {
	t.Helper()
	var v T
	if err := json.Unmarshal(a.body, &v); err != nil {
		t.Fatalf("answer %s: %v", a.body, err)
	}
	return v
}

// noFaults is the body that turns every fault off.
const noFaults = `{"failure_rate":0,"latency_ms":0,"unavailable_rate":0}`

func TestChargesOverHTTP(t *testing.T) {
	srv := startServer(t)
	admin := srv.token(t, "admin")
	body := `{"key":"saga-1/charge","order_id":"order-1","user_id":"user-1","amount":1250,"currency":"EUR"}`

	a := srv.do(t, "POST", "/internal/v1/charges", "", body)
	a.want(t, 200, 0)
	p := decode[payments.Payment](t, a)
	if p.ID == "" || p.Key != "saga-1/charge" || p.Status != payments.Charged || p.Amount != 1250 || p.Currency != "EUR" {
		t.Fatalf("charge answered %s", a.body)
	}
	var fields map[string]any
	if err := json.Unmarshal(a.body, &fields); err != nil {
		t.Fatal(err)
	}
	for _, f := range []string{"id", "key", "order_id", "user_id", "amount", "currency", "status", "created_at", "updated_at"} {
		if _, ok := fields[f]; !ok {
			t.Errorf("the payment lacks %q: %s", f, a.body)
		}
	}
	// The repeat answers the same bytes.
	if again := srv.do(t, "POST", "/internal/v1/charges", "", body); again.status != 200 || string(again.body) != string(a.body) {
		t.Errorf("repeat answered %d %s, want 200 %s", again.status, again.body, a.body)
	}
	srv.do(t, "POST", "/internal/v1/charges", "", strings.Replace(body, "1250", "1300", 1)).
		want(t, 409, fault.Conflict, `"saga-1/charge"`, "another charge")

	for range 2 {
		a := srv.do(t, "POST", "/internal/v1/refunds", "", `{"key":"saga-1/charge","order_id":"order-1"}`)
		a.want(t, 200, 0)
		if got := decode[payments.Payment](t, a); got.ID != p.ID || got.Status != payments.Refunded {
			t.Errorf("refund answered %s", a.body)
		}
	}
	srv.do(t, "POST", "/internal/v1/refunds", "", `{"key":"saga-1/charge","order_id":"order-2"}`).want(t, 409, fault.Conflict, `"order-1"`)

	// The tombstone: a refund before the charge voids the key.
	a = srv.do(t, "POST", "/internal/v1/refunds", "", `{"key":"saga-2/charge","order_id":"order-2"}`)
	a.want(t, 200, 0)
	if got := decode[payments.Payment](t, a); got.Status != payments.Voided {
		t.Errorf("refund before the charge answered %s, want it voided", a.body)
	}
	a = srv.do(t, "POST", "/internal/v1/charges", "", `{"key":"saga-2/charge","order_id":"order-2","user_id":"user-1","amount":10,"currency":"EUR"}`)
	a.want(t, 409, fault.FailedPrecondition, "refunded before any charge")
	if a.err.Kind.Retryable() {
		t.Error("the refusal of a voided key is retryable, want it final")
	}

	// A decline is 402, final, and the same on every repeat.
	srv.do(t, "PUT", "/v1/admin/payments/faults", admin, `{"failure_rate":1,"latency_ms":0,"unavailable_rate":0}`).want(t, 200, 0)
	decline := `{"key":"saga-3/charge","order_id":"order-3","user_id":"user-1","amount":10,"currency":"EUR"}`
	a = srv.do(t, "POST", "/internal/v1/charges", "", decline)
	a.want(t, 402, fault.FailedPrecondition, "card declined")
	if a.err.Kind != fault.FailedPrecondition || a.err.HTTPStatus() != 402 || fault.IsRetryable(a.err) {
		t.Errorf("a client reads the decline as %v (%d), retryable %v; want failed_precondition (402), final", a.err.Kind, a.err.HTTPStatus(), fault.IsRetryable(a.err))
	}
	srv.do(t, "PUT", "/v1/admin/payments/faults", admin, noFaults).want(t, 200, 0)
	srv.do(t, "POST", "/internal/v1/charges", "", decline).want(t, 402, fault.FailedPrecondition, "card declined")

	// An outage is 503, retryable, and records nothing.
	srv.do(t, "PUT", "/v1/admin/payments/faults", admin, `{"failure_rate":0,"latency_ms":0,"unavailable_rate":1}`).want(t, 200, 0)
	outage := `{"key":"saga-4/charge","order_id":"order-4","user_id":"user-1","amount":10,"currency":"EUR"}`
	a = srv.do(t, "POST", "/internal/v1/charges", "", outage)
	a.want(t, 503, fault.Unavailable)
	if !fault.IsRetryable(a.err) {
		t.Errorf("a client reads the outage as %v, not retryable; want it retryable", a.err)
	}
	srv.do(t, "POST", "/internal/v1/refunds", "", `{"key":"saga-4/charge","order_id":"order-4"}`).want(t, 503, fault.Unavailable)
	srv.do(t, "PUT", "/v1/admin/payments/faults", admin, noFaults).want(t, 200, 0)
	srv.do(t, "POST", "/internal/v1/charges", "", outage).want(t, 200, 0)

	// Bad input.
	a = srv.do(t, "POST", "/internal/v1/charges", "", `{"key":"","order_id":"o","user_id":"u","amount":0,"currency":"eur"}`)
	a.want(t, 422, fault.InvalidArgument)
	if got := a.fields(); got != "key amount currency" {
		t.Errorf("violations on %q, want key amount currency", got)
	}
	srv.do(t, "POST", "/internal/v1/charges", "", `{"key":"k","order_id":"o","user_id":"u","amount":12.5,"currency":"EUR"}`).
		want(t, 400, fault.InvalidArgument, `"amount"`, "integer")
	srv.do(t, "POST", "/internal/v1/charges", "", `{"key":"k","order_id":"o","user_id":"u","amount":1,"currency":"EUR","card":"4242"}`).
		want(t, 400, fault.InvalidArgument, `"card"`)
	srv.do(t, "POST", "/internal/v1/refunds", "", `{"key":"k"}`).want(t, 422, fault.InvalidArgument, "order_id")
	srv.do(t, "POST", "/internal/v1/refunds", "", `{"key":`).want(t, 400, fault.InvalidArgument)
}

func TestAdminOverHTTP(t *testing.T) {
	srv := startServer(t)
	admin, customer := srv.token(t, "admin"), srv.token(t, "customer")
	srv.do(t, "POST", "/internal/v1/charges", "", `{"key":"saga-1/charge","order_id":"order-1","user_id":"user-1","amount":1250,"currency":"EUR"}`).want(t, 200, 0)

	// Only an administrator; the refusals say why, and come before the
	// request is judged.
	for _, r := range []struct{ method, path, body string }{
		{"GET", "/v1/admin/payments?order_id=order-1", ""},
		{"GET", "/v1/admin/payments", ""},
		{"GET", "/v1/admin/payments/faults", ""},
		{"PUT", "/v1/admin/payments/faults", noFaults},
		{"PUT", "/v1/admin/payments/faults", `{"failure_rate":5}`},
	} {
		a := srv.do(t, r.method, r.path, "", r.body)
		a.want(t, 401, fault.Unauthenticated, "bearer token")
		if got := a.header.Get("WWW-Authenticate"); got != "Bearer" {
			t.Errorf("%s %s: WWW-Authenticate %q, want Bearer", r.method, r.path, got)
		}
		srv.do(t, r.method, r.path, "not-a-token", r.body).want(t, 401, fault.Unauthenticated)
		srv.do(t, r.method, r.path, customer, r.body).want(t, 403, fault.PermissionDenied, `"admin"`)
	}

	a := srv.do(t, "GET", "/v1/admin/payments/faults", admin, "")
	a.want(t, 200, 0)
	if string(a.body) != `{"failure_rate":0,"latency_ms":0,"unavailable_rate":0}`+"\n" {
		t.Errorf("faults at start: %s", a.body)
	}
	a = srv.do(t, "PUT", "/v1/admin/payments/faults", admin, `{"failure_rate":0.25,"latency_ms":5,"unavailable_rate":0.5}`)
	a.want(t, 200, 0)
	want := payments.Faults{FailureRate: 0.25, LatencyMS: 5, UnavailableRate: 0.5}
	if got := decode[payments.Faults](t, a); got != want {
		t.Errorf("PUT answered %+v, want %+v", got, want)
	}
	if got := decode[payments.Faults](t, srv.do(t, "GET", "/v1/admin/payments/faults", admin, "")); got != want {
		t.Errorf("GET answered %+v, want %+v", got, want)
	}
	for _, tt := range []struct {
		name, body string
		status     int
		fields     string
	}{
		{"rate above 1", `{"failure_rate":1.5,"latency_ms":0,"unavailable_rate":0}`, 422, "failure_rate"},
		{"negative rate", `{"failure_rate":0,"latency_ms":0,"unavailable_rate":-0.5}`, 422, "unavailable_rate"},
		{"negative latency", `{"failure_rate":0,"latency_ms":-1,"unavailable_rate":0}`, 422, "latency_ms"},
		{"latency too long", `{"failure_rate":0,"latency_ms":60001,"unavailable_rate":0}`, 422, "latency_ms"},
		{"missing", `{"latency_ms":5}`, 422, "failure_rate unavailable_rate"},
		{"null", `{"failure_rate":null,"latency_ms":0,"unavailable_rate":0}`, 422, "failure_rate"},
		{"empty", `{}`, 422, "failure_rate latency_ms unavailable_rate"},
		{"all wrong", `{"failure_rate":2,"latency_ms":-1,"unavailable_rate":2}`, 422, "failure_rate latency_ms unavailable_rate"},
		{"latency fraction", `{"latency_ms":1.5}`, 400, ""},
		{"rate as text", `{"failure_rate":"0.5"}`, 400, ""},
		{"unknown field", `{"failure":0.5}`, 400, ""},
		{"malformed", `{"failure_rate":`, 400, ""},
	} {
		t.Run(tt.name, func(t *testing.T) {
			a := srv.do(t, "PUT", "/v1/admin/payments/faults", admin, tt.body)
			a.want(t, tt.status, fault.InvalidArgument)
			if got := a.fields(); got != tt.fields {
				t.Errorf("violations on %q, want %q", got, tt.fields)
			}
		})
	}
	if got := decode[payments.Faults](t, srv.do(t, "GET", "/v1/admin/payments/faults", admin, "")); got != want {
		t.Errorf("faults after refused changes %+v, want %+v", got, want)
	}

	srv.do(t, "PUT", "/v1/admin/payments/faults", admin, noFaults).want(t, 200, 0)
	a = srv.do(t, "GET", "/v1/admin/payments?order_id=order-1", admin, "")
	a.want(t, 200, 0)
	list := decode[payments.PaymentList](t, a)
	if len(list.Payments) != 1 || list.Payments[0].Key != "saga-1/charge" || list.Payments[0].Status != payments.Charged {
		t.Errorf("payments of order-1: %s", a.body)
	}
	if a := srv.do(t, "GET", "/v1/admin/payments?order_id=order-2", admin, ""); string(a.body) != `{"payments":[]}`+"\n" {
		t.Errorf("payments of an order without any: %s", a.body)
	}
	a = srv.do(t, "GET", "/v1/admin/payments", admin, "")
	a.want(t, 422, fault.InvalidArgument, "order_id")
}
