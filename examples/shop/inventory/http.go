package inventory

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

// AdminRole is the role that may set stock.
const AdminRole = "admin"

// RegisterHTTP serves s's endpoints on r (see the package doc for the
// routes). PUT /v1/admin/stock/{product_id} is guarded by
// [auth.RequireRole]([AdminRole]): it reads the caller's verified
// [auth.Claims] from the context, which an [auth.Verifier]'s
// HTTPMiddleware on r puts there; without that middleware every call of
// it is 401. opts are go-kit server options added to every route (an
// error logger, say).
func RegisterHTTP(r *thttp.Router, s *Service, opts ...kithttp.ServerOption) {
	r.Handle("GET /v1/stock/{product_id}", thttp.NewServer(
		tailor.Endpoint(s.GetStock), thttp.DecodeRequest[GetStockRequest](), thttp.EncodeJSON(http.StatusOK), opts...))
	setStock := endpoint.Chain(auth.RequireRole(AdminRole))(tailor.Endpoint(s.setStock))
	r.Handle("PUT /v1/admin/stock/{product_id}", thttp.NewServer(
		setStock, thttp.DecodeJSON[setStockBody](), thttp.EncodeJSON(http.StatusOK), opts...))
	r.Handle("POST /internal/v1/reservations", thttp.NewServer(
		tailor.Endpoint(s.Reserve), thttp.DecodeJSON[ReserveRequest](), thttp.EncodeJSON(http.StatusOK), opts...))
	r.Handle("POST /internal/v1/reservations/{id}/release", thttp.NewServer(
		tailor.Endpoint(s.Release), thttp.DecodeRequest[ReservationRequest](), thttp.EncodeJSON(http.StatusOK), opts...))
	r.Handle("POST /internal/v1/reservations/{id}/commit", thttp.NewServer(
		tailor.Endpoint(s.Commit), thttp.DecodeRequest[ReservationRequest](), thttp.EncodeJSON(http.StatusOK), opts...))
}

// setStockBody is the body of PUT /v1/admin/stock/{product_id}, with
// "available" a pointer so that a body without it is refused rather
// than read as 0.
type setStockBody struct {
	productID string
	Available *int64 `json:"available"`
}

// BindHTTP takes the product id from the path.
func (b *setStockBody) BindHTTP(req *http.Request) error {
	b.productID = req.PathValue("product_id")
	return nil
}

// setStock is [Service.SetStock] for a decoded body. It validates in the
// endpoint, behind the role guard, so that a caller who may not set stock
// learns nothing about its request but that.
func (s *Service) setStock(ctx context.Context, b setStockBody) (Stock, error) {
	if b.Available == nil {
		return Stock{}, fault.Invalid(fault.Violation{Field: "available", Description: fmt.Sprintf("is required: the number of units that can be reserved, from 0 to %d", MaxStock)})
	}
	return s.SetStock(ctx, SetStockRequest{ProductID: b.productID, Available: *b.Available})
}
