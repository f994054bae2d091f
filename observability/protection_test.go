package observability_test

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/tailorkit/tailor/fault"
	"github.com/tailorkit/tailor/observability"
	"github.com/tailorkit/tailor/resilience"
	thttp "github.com/tailorkit/tailor/transport/http"
)

// Calls through CallMiddleware count in the callee's window: a 4xx is
// the callee answering, an unavailable callee is an error, and a call the
// open breaker refuses is rejected, counted by reason too.
func TestCallMiddlewareCountsCallsByCallee(t *testing.T) {
	tel, err := observability.New(observability.Config{EndpointStats: true})
	if err != nil {
		t.Fatal(err)
	}
	policy := resilience.NewPolicy(resilience.PolicyConfig{
		Name:    "payments",
		Breaker: &resilience.BreakerConfig{ConsecutiveFailures: 2, OpenTimeout: time.Minute},
	})
	answers := []error{fault.New(fault.NotFound, "no such payment"), fault.New(fault.Unavailable, "down"), fault.New(fault.Unavailable, "down")}
	sent := 0
	payments := tel.CallMiddleware("payments")(policy.Middleware()(func(context.Context, any) (any, error) {
		err := answers[sent]
		sent++
		return nil, err
	}))
	inventory := tel.CallMiddleware("inventory")(func(context.Context, any) (any, error) { return "ok", nil })
	for range 4 {
		_, _ = payments(context.Background(), nil)
	}
	if _, err := inventory(context.Background(), nil); err != nil {
		t.Fatal(err)
	}
	if sent != 3 {
		t.Fatalf("%d calls reached payments, want 3 before the breaker opened", sent)
	}
	got := tel.Calls(time.Now())
	if len(got) != 2 || got[0].Callee != "inventory" || got[1].Callee != "payments" {
		t.Fatalf("Calls() = %+v, want inventory and payments", got)
	}
	if inv := got[0]; inv.Requests != 1 || inv.Errors != 0 || inv.Rejected != 0 {
		t.Errorf("inventory = %+v, want 1 call that succeeded", inv)
	}
	if pay := got[1]; pay.Requests != 4 || pay.Errors != 2 || pay.Rejected != 1 || pay.ErrorRatio() != 0.5 {
		t.Errorf("payments = %+v, want 4 calls: 2 errors, 1 rejected", pay)
	}
	want := []observability.RejectionCount{{Name: "payments", Reason: "circuit_open", Count: 1}}
	if got := tel.Rejections(); fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("Rejections() = %+v, want %+v", got, want)
	}
}

func TestTrackedBudgetsAndBulkheads(t *testing.T) {
	tel, err := observability.New(observability.Config{})
	if err != nil {
		t.Fatal(err)
	}
	budget := resilience.NewBudget(resilience.BudgetConfig{Ratio: 0.0001, MinPerSecond: 0.0001})
	untrackBudget := tel.TrackBudget("payments", budget)
	retry := resilience.NewRetry(resilience.RetryConfig{MaxAttempts: 3, BaseDelay: 1, MaxDelay: 1}, resilience.WithBudget(budget))
	down := retry.Middleware()(func(context.Context, any) (any, error) { return nil, fault.New(fault.Unavailable, "down") })
	for range 3 {
		_, _ = down(resilience.WithIdempotent(context.Background()), nil)
	}
	bs := tel.Budgets()
	if len(bs) != 1 || bs[0].Name != "payments" || bs[0].Refused == 0 || bs[0].Refused != budget.Refused() || bs[0].Available >= 1 {
		t.Fatalf("Budgets() = %+v, want payments' budget spent, with its refusals", bs)
	}

	bh := resilience.NewBulkhead("inventory", resilience.BulkheadConfig{MaxConcurrent: 2})
	untrackBulkhead := tel.TrackBulkhead(bh)
	held, release := make(chan struct{}), make(chan struct{})
	var wg sync.WaitGroup
	wg.Go(func() {
		_, _ = bh.Middleware()(func(context.Context, any) (any, error) { close(held); <-release; return nil, nil })(context.Background(), nil)
	})
	<-held
	got := tel.Bulkheads()
	close(release)
	wg.Wait()
	if want := []observability.BulkheadStatus{{Name: "inventory", InFlight: 1, Capacity: 2}}; fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("Bulkheads() = %+v, want %+v", got, want)
	}

	untrackBudget()
	untrackBulkhead()
	untrackBulkhead() // again: nothing
	if len(tel.Budgets()) != 0 || len(tel.Bulkheads()) != 0 {
		t.Errorf("after untrack: %+v and %+v, want none", tel.Budgets(), tel.Bulkheads())
	}
}

// The service's own refusals, by transport/http's RateLimit and Shed
// inside HTTPMiddleware, count under "server" by reason; an error a
// handler answers, though it be a refusal met calling another service,
// does not.
func TestServerRefusalsCountUnderServer(t *testing.T) {
	r := newRig(t, false)
	limiter := resilience.NewRateLimiter("api", resilience.RateLimitConfig{Rate: 0.001, Burst: 1})
	shedder := resilience.NewShedder("api", resilience.ShedConfig{InitialLimit: 1, MinLimit: 1})
	router := thttp.NewRouter(thttp.WithMiddleware(r.inst.HTTPMiddleware))
	router.Handle("GET /limited", thttp.RateLimit(limiter, nil)(http.HandlerFunc(func(http.ResponseWriter, *http.Request) {})))
	entered, release := make(chan struct{}), make(chan struct{})
	router.Handle("GET /slow", thttp.Shed(shedder)(http.HandlerFunc(func(http.ResponseWriter, *http.Request) {
		close(entered)
		<-release
	})))
	router.HandleFunc("GET /calls", func(w http.ResponseWriter, r *http.Request) {
		thttp.WriteError(w, r, &fault.Error{Kind: fault.Unavailable, Detail: "payments' breaker is open", Cause: resilience.ErrOpen})
	})
	srv := httptest.NewServer(router)
	defer srv.Close()
	get := func(path string) int {
		t.Helper()
		resp, err := http.Get(srv.URL + path)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}

	var codes []int
	for range 3 {
		codes = append(codes, get("/limited"))
	}
	var wg sync.WaitGroup
	wg.Go(func() { get("/slow") })
	<-entered
	codes = append(codes, get("/slow"))
	close(release)
	wg.Wait()
	codes = append(codes, get("/calls"))
	if want := "[200 429 429 503 503]"; fmt.Sprint(codes) != want {
		t.Fatalf("statuses %v, want %s", codes, want)
	}

	want := []observability.RejectionCount{{Name: "server", Reason: "load_shed", Count: 1}, {Name: "server", Reason: "rate_limited", Count: 2}}
	if got := r.inst.Rejections(); fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("Rejections() = %+v, want %+v", got, want)
	}
	if got := r.int64Points(t, "tailor.resilience.rejections", "reason"); got["rate_limited"] != 2 || got["load_shed"] != 1 || len(got) != 2 {
		t.Errorf("tailor.resilience.rejections by reason = %v, want rate_limited 2 and load_shed 1", got)
	}
}
