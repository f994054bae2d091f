package payments

import (
	"context"
	"fmt"
	"net/http"

	"github.com/go-kit/kit/endpoint"
	kithttp "github.com/go-kit/kit/transport/http"

	"github.com/tailorkit/tailor"
	"github.com/tailorkit/tailor/auth"
	"github.com/tailorkit/tailor/fault"
	thttp "github.com/tailorkit/tailor/transport/http"
)

// AdminRole is the role that may read payments and set the faults.
const AdminRole = "admin"

// RegisterHTTP serves s's endpoints on r (see the package doc for the
// routes). The /v1/admin routes are guarded by
// [auth.RequireRole]([AdminRole]): it reads the caller's verified
// [auth.Claims] from the context, which an [auth.Verifier]'s
// HTTPMiddleware on r puts there; without that middleware every call of
// them is 401. opts are go-kit server options added to every route (an
// error logger, say).
func RegisterHTTP(r *thttp.Router, s *Service, opts ...kithttp.ServerOption) {
	r.Handle("POST /internal/v1/charges", thttp.NewServer(
		tailor.Endpoint(s.Charge), thttp.DecodeJSON[ChargeRequest](), thttp.EncodeJSON(http.StatusOK), opts...))
	r.Handle("POST /internal/v1/refunds", thttp.NewServer(
		tailor.Endpoint(s.Refund), thttp.DecodeJSON[RefundRequest](), thttp.EncodeJSON(http.StatusOK), opts...))
	admin := endpoint.Chain(auth.RequireRole(AdminRole))
	r.Handle("GET /v1/admin/payments", thttp.NewServer(
		admin(tailor.Endpoint(s.ListPayments)), thttp.DecodeRequest[ListPaymentsRequest](), thttp.EncodeJSON(http.StatusOK), opts...))
	r.Handle("GET /v1/admin/payments/faults", thttp.NewServer(
		admin(tailor.Endpoint(s.getFaults)), thttp.DecodeRequest[noRequest](), thttp.EncodeJSON(http.StatusOK), opts...))
	r.Handle("PUT /v1/admin/payments/faults", thttp.NewServer(
		admin(tailor.Endpoint(s.setFaults)), thttp.DecodeJSON[faultsBody](), thttp.EncodeJSON(http.StatusOK), opts...))
}

// noRequest is the request of a route that takes nothing.
type noRequest struct{}

func (s *Service) getFaults(context.Context, noRequest) (Faults, error) {
	return s.Faults(), nil
}

// faultsBody is the body of PUT /v1/admin/payments/faults: [Faults]
// with pointers, so that a body without a field is refused rather than
// read as 0, and without Validate, so that the body is judged in the
// endpoint, behind the role guard, and a caller who may not set faults
// learns nothing about its request but that.
type faultsBody struct {
	FailureRate     *float64 `json:"failure_rate"`
	LatencyMS       *int64   `json:"latency_ms"`
	UnavailableRate *float64 `json:"unavailable_rate"`
}

func (s *Service) setFaults(ctx context.Context, b faultsBody) (Faults, error) {
	var v []fault.Violation
	if b.FailureRate == nil {
		v = append(v, fault.Violation{Field: "failure_rate", Description: "is required: the share of new charges to decline, from 0 to 1; 0 for none"})
	}
	if b.LatencyMS == nil {
		v = append(v, fault.Violation{Field: "latency_ms", Description: fmt.Sprintf("is required: the delay before each answer, from 0 to %d milliseconds; 0 for none", MaxLatencyMS)})
	}
	if b.UnavailableRate == nil {
		v = append(v, fault.Violation{Field: "unavailable_rate", Description: "is required: the share of calls to answer 503, from 0 to 1; 0 for none"})
	}
	if len(v) > 0 {
		return Faults{}, fault.Invalid(v...)
	}
	return s.SetFaults(ctx, Faults{FailureRate: *b.FailureRate, LatencyMS: *b.LatencyMS, UnavailableRate: *b.UnavailableRate})
}
