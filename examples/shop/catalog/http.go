package catalog

import (
	"net/http"

	kithttp "github.com/go-kit/kit/transport/http"

	"github.com/tailorkit/tailor"
	thttp "github.com/tailorkit/tailor/transport/http"
)

// RegisterHTTP serves s's endpoints on r. opts are go-kit server options
// added to every route (an error logger, say).
func RegisterHTTP(r *thttp.Router, s *Service, opts ...kithttp.ServerOption) {
	r.Handle("GET /v1/products", thttp.NewServer(
		tailor.Endpoint(s.ListProducts), thttp.DecodeRequest[ListProductsRequest](), thttp.EncodeJSON(http.StatusOK), opts...))
	r.Handle("GET /v1/products/{id}", thttp.NewServer(
		tailor.Endpoint(s.GetProduct), thttp.DecodeRequest[GetProductRequest](), thttp.EncodeJSON(http.StatusOK), opts...))
	r.Handle("POST /v1/products", thttp.NewServer(
		tailor.Endpoint(s.CreateProduct), thttp.DecodeJSON[CreateProductRequest](), thttp.EncodeJSON(http.StatusCreated), opts...))
}
