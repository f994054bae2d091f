package orders

import (
	"context"
	"encoding/json"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/tailorkit/tailor/fault"
	thttp "github.com/tailorkit/tailor/transport/http"
)

// An order cancelled because a service failed its saga with an outage is
// answered 503 naming the service, with Retry-After and the cancelled
// order's Location; a DependencyError is an Unavailable fault.
func TestDependencyErrorAnswer(t *testing.T) {
	err := &DependencyError{Service: Payments, OrderID: "o-1", RetryAfter: 1500 * time.Millisecond}
	if fault.KindOf(err) != fault.Unavailable || !fault.IsRetryable(err) || fault.RetryAfter(err) != 1500*time.Millisecond {
		t.Errorf("kind %v, retryable %v, retry after %v; want unavailable, retryable, 1.5s", fault.KindOf(err), fault.IsRetryable(err), fault.RetryAfter(err))
	}
	rec := httptest.NewRecorder()
	encodeError(context.Background(), err, rec)
	if rec.Code != 503 || rec.Header().Get("Retry-After") != "2" || rec.Header().Get("Location") != "/v1/orders/o-1" || rec.Header().Get("Content-Type") != thttp.ProblemContentType {
		t.Errorf("answer %d with headers %v, want 503, Retry-After 2, Location /v1/orders/o-1, problem+json", rec.Code, rec.Header())
	}
	var p thttp.Problem
	if err := json.Unmarshal(rec.Body.Bytes(), &p); err != nil || p.Detail != "payments is unavailable; try again shortly" || p.Kind != "unavailable" {
		t.Errorf("problem %+v (%v), want kind unavailable naming payments", p, err)
	}
}
