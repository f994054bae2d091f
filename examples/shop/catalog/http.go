package catalog

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"

	"github.com/go-kit/kit/endpoint"
	kithttp "github.com/go-kit/kit/transport/http"

	"github.com/tailorkit/tailor"
	"github.com/tailorkit/tailor/auth"
	"github.com/tailorkit/tailor/fault"
	thttp "github.com/tailorkit/tailor/transport/http"
)

// RegisterHTTP serves s's endpoints on r. opts are go-kit server options
// added to every route (an error logger, say).
//
// Reading is open to everyone; creating a product takes a caller with the
// role [AdminRole] (401 without a verified caller, 403 for another role).
// The caller comes from the request's context, where an
// [auth.Verifier]'s HTTP middleware puts it: install it on the router, as
// service.WithHTTPMiddleware(verifier.HTTPMiddleware()) does. Without it,
// every create is 401.
func RegisterHTTP(r *thttp.Router, s *Service, opts ...kithttp.ServerOption) {
	r.Handle("GET /v1/products", thttp.NewServer(
		tailor.Endpoint(s.ListProducts), thttp.DecodeRequest[ListProductsRequest](), thttp.EncodeJSON(http.StatusOK), opts...))
	r.Handle("GET /v1/products/{id}", thttp.NewServer(
		tailor.Endpoint(s.GetProduct), thttp.DecodeRequest[GetProductRequest](), thttp.EncodeJSON(http.StatusOK), opts...))
	r.Handle("POST /v1/products", thttp.NewServer(
		adminOnly(tailor.Endpoint(s.CreateProduct)), decodeCreateProduct(thttp.DecodeJSON[CreateProductRequest]()), thttp.EncodeJSON(http.StatusCreated), opts...))
}

// decodeCreateProduct says, where the generic decoder can only say "an
// integer", that an amount is counted in minor units.
func decodeCreateProduct(dec kithttp.DecodeRequestFunc) kithttp.DecodeRequestFunc {
	return func(ctx context.Context, r *http.Request) (any, error) {
		req, err := dec(ctx, r)
		var typeErr *json.UnmarshalTypeError
		if errors.As(err, &typeErr) && typeErr.Field == "price.amount" {
			return nil, fault.Wrap(err, fault.InvalidArgument, fmt.Sprintf("field \"price.amount\" is the JSON %s; it must be an integer number of the currency's minor units, such as 1299 for 12.99 EUR", typeErr.Value))
		}
		return req, err
	}
}

// AdminRole is the role that may create products: the users service's
// administrator.
const AdminRole = "admin"

// adminOnly guards an endpoint that changes the catalog, on every transport.
func adminOnly(e endpoint.Endpoint) endpoint.Endpoint {
	return auth.RequireRole(AdminRole)(e)
}
