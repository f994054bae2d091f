package payments_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/tailorkit/tailor/auth"
	"github.com/tailorkit/tailor/examples/shop/payments"
	thttp "github.com/tailorkit/tailor/transport/http"
)

// fuzzRouter serves payments with a charge under "saga-1/charge" for
// order-1, and a declined one under "saga-2/charge" for order-2.
func fuzzRouter(f *testing.F) (*thttp.Router, *payments.Service) {
	s, _ := newService(f)
	ctx := context.Background()
	if _, err := s.Charge(ctx, charge("saga-1/charge", "order-1", 1250)); err != nil {
		f.Fatal(err)
	}
	if _, err := s.SetFaults(ctx, payments.Faults{FailureRate: 1}); err != nil {
		f.Fatal(err)
	}
	if _, err := s.Charge(ctx, charge("saga-2/charge", "order-2", 990)); err == nil {
		f.Fatal("the charge under saga-2/charge was not declined")
	}
	if _, err := s.SetFaults(ctx, payments.Faults{}); err != nil {
		f.Fatal(err)
	}
	router := thttp.NewRouter()
	payments.RegisterHTTP(router, s)
	return router, s
}

// serve sends body to the route through the router's real decoding, as
// an administrator, and fails on a server error: bad input is a 4xx.
func serve(t *testing.T, router http.Handler, method, path, body string) *httptest.ResponseRecorder {
	req := httptest.NewRequest(method, path, strings.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	req = req.WithContext(auth.ContextWithClaims(req.Context(), auth.Claims{Subject: "root", Roles: []string{payments.AdminRole}}))
	rec := httptest.NewRecorder()
	router.ServeHTTP(rec, req)
	if rec.Code >= 500 {
		t.Fatalf("%s %s %q = %d %s: a server error for bad input", method, path, body, rec.Code, rec.Body)
	}
	return rec
}

// unchanged fails unless the seeded payments are as they were made,
// the charge refunded at most.
func unchanged(t *testing.T, s *payments.Service, body string) {
	ctx := context.Background()
	if p, err := s.GetPayment(ctx, "saga-1/charge"); err != nil || p.Amount != 1250 || p.Status != payments.Charged && p.Status != payments.Refunded {
		t.Fatalf("the charge after %q: %+v, %v", body, p, err)
	}
	if p, err := s.GetPayment(ctx, "saga-2/charge"); err != nil || p.Status != payments.Declined {
		t.Fatalf("the declined charge after %q: %+v, %v", body, p, err)
	}
}

// FuzzChargeBody sends arbitrary charge bodies: each charges, or is
// refused with a 4xx; never a server error, and never a change to the
// payment under a key it does not repeat exactly.
func FuzzChargeBody(f *testing.F) {
	router, s := fuzzRouter(f)
	for _, seed := range []string{
		`{"key":"saga-1/charge","order_id":"order-1","user_id":"user-1","amount":1250,"currency":"EUR"}`,
		`{"key":"saga-1/charge","order_id":"order-1","user_id":"user-1","amount":1,"currency":"EUR"}`,
		`{"key":"saga-2/charge","order_id":"order-2","user_id":"user-1","amount":990,"currency":"EUR"}`,
		`{"key":"saga-3/charge","order_id":"order-3","user_id":"user-1","amount":100000000,"currency":"USD"}`,
		`{"key":"k","order_id":"o","user_id":"u","amount":-9223372036854775808,"currency":"EUR"}`,
		`{"key":"k","order_id":"o","user_id":"u","amount":1e3,"currency":"EUR"}`,
		`{"key":"k","order_id":"o","user_id":"u","amount":1,"currency":"€UR"}`,
		`{"key":"\u0000","order_id":null,"amount":1}`,
		`{"key":"k","key":"l"}`, `{"KEY":"k"}`,
		`[]`, `null`, `{`, "",
	} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, body string) {
		serve(t, router, "POST", "/internal/v1/charges", body)
		unchanged(t, s, body)
	})
}

// FuzzRefundBody sends arbitrary refund bodies: each refunds or voids,
// or is refused with a 4xx; never a server error, and a declined charge
// stays declined.
func FuzzRefundBody(f *testing.F) {
	router, s := fuzzRouter(f)
	for _, seed := range []string{
		`{"key":"saga-1/charge","order_id":"order-1"}`,
		`{"key":"saga-1/charge","order_id":"order-2"}`,
		`{"key":"saga-2/charge","order_id":"order-2"}`,
		`{"key":"saga-9/charge","order_id":"order-9"}`,
		`{"key":"","order_id":""}`, `{"key":"k"}`, `{"key":1}`,
		`{"key":"k","order_id":"o","amount":1}`,
		`null`, `{`, "",
	} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, body string) {
		serve(t, router, "POST", "/internal/v1/refunds", body)
		unchanged(t, s, body)
	})
}

// FuzzFaultsBody sends arbitrary bodies to the administrator's route:
// each sets faults within their bounds, or is refused with a 4xx.
func FuzzFaultsBody(f *testing.F) {
	router, s := fuzzRouter(f)
	for _, seed := range []string{
		`{"failure_rate":0.5,"latency_ms":10,"unavailable_rate":0.1}`, `{}`, `{"failure_rate":1}`,
		`{"failure_rate":1.0000001,"latency_ms":0,"unavailable_rate":0}`, `{"failure_rate":-0,"latency_ms":0,"unavailable_rate":0}`,
		`{"failure_rate":0,"latency_ms":60000,"unavailable_rate":0}`, `{"failure_rate":0,"latency_ms":60001,"unavailable_rate":0}`,
		`{"failure_rate":0,"latency_ms":1e2,"unavailable_rate":0}`, `{"failure_rate":0,"latency_ms":0,"unavailable_rate":1e-400}`,
		`{"failure_rate":1e400,"latency_ms":0,"unavailable_rate":0}`, `{"failure_rate":0,"latency_ms":"5","unavailable_rate":0}`,
		`{"failure_rate":null,"latency_ms":0,"unavailable_rate":0}`, `null`, `[]`, "",
	} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, body string) {
		serve(t, router, "PUT", "/v1/admin/payments/faults", body)
		if err := s.Faults().Validate(); err != nil {
			t.Fatalf("faults after %q: %v", body, err)
		}
		// Leave the service without faults for the next input.
		if _, err := s.SetFaults(context.Background(), payments.Faults{}); err != nil {
			t.Fatal(err)
		}
	})
}
