package reviews

import (
	"context"
	"net/http"

	"github.com/go-kit/kit/endpoint"
	kithttp "github.com/go-kit/kit/transport/http"

	"github.com/tailorkit/tailor"
	"github.com/tailorkit/tailor/auth"
	"github.com/tailorkit/tailor/fault"
	thttp "github.com/tailorkit/tailor/transport/http"
)

// RegisterHTTP serves s's endpoints on r (see the package doc for the
// routes). POST /v1/products/{id}/reviews is guarded by
// [auth.RequireAuthenticated]: it reads the caller's verified
// [auth.Claims] from the context, which an [auth.Verifier]'s
// HTTPMiddleware on r puts there, and the review's author is the claims'
// subject; without that middleware every call of it is 401. opts are
// go-kit server options added to every route (an error logger, say).
func RegisterHTTP(r *thttp.Router, s *Service, opts ...kithttp.ServerOption) {
	r.Handle("GET /v1/products/{id}/reviews", thttp.NewServer(
		tailor.Endpoint(s.ListReviews), thttp.DecodeRequest[ListReviewsRequest](), thttp.EncodeJSON(http.StatusOK), opts...))
	r.Handle("GET /v1/products/{id}/reviews/summary", thttp.NewServer(
		tailor.Endpoint(s.Summary), thttp.DecodeRequest[SummaryRequest](), thttp.EncodeJSON(http.StatusOK), opts...))
	create := endpoint.Chain(auth.RequireAuthenticated())(tailor.Endpoint(s.createReview))
	r.Handle("POST /v1/products/{id}/reviews", thttp.NewServer(
		create, thttp.DecodeJSON[CreateReviewBody](), thttp.EncodeJSON(http.StatusCreated), opts...))
}

// CreateReviewBody is a review as POST /v1/products/{id}/reviews takes
// it: the product from the path, the rest from the JSON body, and the
// author from the caller's token. A body without "rating" has rating 0,
// which [CreateReviewRequest.Validate] refuses as missing.
type CreateReviewBody struct {
	ProductID string `json:"-" path:"id"`
	Rating    int    `json:"rating" jsonschema:"minimum=1,maximum=5"`
	Title     string `json:"title" jsonschema:"minLength=1,maxLength=120"`
	Body      string `json:"body" jsonschema:"minLength=1,maxLength=4000"`
}

// BindHTTP takes the product id from the path.
func (b *CreateReviewBody) BindHTTP(req *http.Request) error {
	b.ProductID = req.PathValue("id")
	return nil
}

// createReview is [Service.CreateReview] for a decoded body, by the
// caller whose verified claims are in ctx.
func (s *Service) createReview(ctx context.Context, b CreateReviewBody) (Review, error) {
	claims, ok := auth.ClaimsFrom(ctx)
	if !ok {
		return Review{}, fault.New(fault.Unauthenticated, "reviewing a product needs a bearer token; sign in first")
	}
	return s.CreateReview(ctx, CreateReviewRequest{ProductID: b.ProductID, UserID: claims.Subject, Rating: b.Rating, Title: b.Title, Body: b.Body})
}
