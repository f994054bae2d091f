package orders

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"strconv"
	"time"

	"github.com/go-kit/kit/endpoint"
	kithttp "github.com/go-kit/kit/transport/http"

	"github.com/tailorkit/tailor"
	"github.com/tailorkit/tailor/auth"
	"github.com/tailorkit/tailor/fault"
	"github.com/tailorkit/tailor/idempotency"
	"github.com/tailorkit/tailor/requestid"
	thttp "github.com/tailorkit/tailor/transport/http"
)

// RegisterHTTP serves s's endpoints on r (see the package doc for the
// routes). Every route is guarded by [auth.RequireAuthenticated]: it
// reads the caller's verified [auth.Claims] from the context, which an
// [auth.Verifier]'s HTTPMiddleware on r puts there; without that
// middleware every call is 401. POST /v1/orders requires an
// Idempotency-Key (package github.com/tailorkit/tailor/idempotency).
// opts are go-kit server options added to every route (an error logger,
// say).
func RegisterHTTP(r *thttp.Router, s *Service, opts ...kithttp.ServerOption) {
	authed := endpoint.Chain(auth.RequireAuthenticated())
	placeOpts := append([]kithttp.ServerOption{kithttp.ServerErrorEncoder(encodeError)}, opts...)
	r.Handle("POST /v1/orders", s.idem.Handler(thttp.NewServer(
		authed(tailor.Endpoint(s.place)), decodePlaceOrder(thttp.DecodeJSON[PlaceOrderRequest]()), thttp.EncodeJSON(http.StatusCreated), placeOpts...)))
	r.Handle("GET /v1/orders", thttp.NewServer(
		authed(tailor.Endpoint(s.ListOrders)), thttp.DecodeRequest[ListOrdersRequest](), thttp.EncodeJSON(http.StatusOK), opts...))
	r.Handle("GET /v1/orders/{id}", thttp.NewServer(
		authed(tailor.Endpoint(s.GetOrder)), thttp.DecodeRequest[GetOrderRequest](), thttp.EncodeJSON(http.StatusOK), opts...))
}

// decodePlaceOrder adds the request's Idempotency-Key to what dec decodes.
func decodePlaceOrder(dec kithttp.DecodeRequestFunc) kithttp.DecodeRequestFunc {
	return func(ctx context.Context, r *http.Request) (any, error) {
		req, err := dec(ctx, r)
		if p, ok := req.(*PlaceOrderRequest); ok {
			p.IdempotencyKey = r.Header.Get(idempotency.Header)
		}
		return req, err
	}
}

// placed is the answer of POST /v1/orders: 201 with a confirmed or
// cancelled order, 202 with a pending one, with the order's Location.
type placed struct {
	Order
}

// StatusCode is 201, or 202 while the order is pending.
func (p placed) StatusCode() int {
	if p.Status == Pending {
		return http.StatusAccepted
	}
	return http.StatusCreated
}

// Headers names the order's URL.
func (p placed) Headers() http.Header {
	return http.Header{"Location": {"/v1/orders/" + p.ID}}
}

func (s *Service) place(ctx context.Context, req PlaceOrderRequest) (placed, error) {
	o, err := s.PlaceOrder(ctx, req)
	return placed{o}, err
}

// encodeError answers a [*DependencyError] with a 503 whose detail names
// the service, which transport/http's EncodeError would replace with a
// generic one, as it does for every 5xx; other errors it leaves to
// EncodeError.
func encodeError(ctx context.Context, err error, w http.ResponseWriter) {
	de, ok := errors.AsType[*DependencyError](err)
	if !ok {
		thttp.EncodeError(ctx, err, w)
		return
	}
	p := thttp.NewProblem(fault.New(fault.Unavailable, ""), requestid.FromContext(ctx))
	p.Detail = de.Error()
	wait := max(de.RetryAfter, time.Second)
	h := w.Header()
	h.Set("Content-Type", thttp.ProblemContentType)
	h.Set("Retry-After", strconv.FormatInt(int64((wait+time.Second-1)/time.Second), 10))
	if de.OrderID != "" {
		h.Set("Location", "/v1/orders/"+de.OrderID) // the order it cancelled
	}
	w.WriteHeader(p.Status)
	_ = json.NewEncoder(w).Encode(p) // the status is sent; a write error means the client left
}
