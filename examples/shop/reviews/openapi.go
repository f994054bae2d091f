package reviews

import (
	"fmt"
	"net/http"

	"github.com/tailorkit/tailor/openapi"
)

// SecurityScheme names, in the OpenAPI document, the bearer tokens of the
// users service that guard writing a review.
const SecurityScheme = "bearer"

// DescribeHTTP records in doc the operations that [RegisterHTTP] serves,
// with their request and response types. It defines the bearer scheme
// [SecurityScheme] in doc, and panics if doc already has another scheme of
// that name.
func DescribeHTTP(doc *openapi.Document) {
	if err := doc.DefineSecurityScheme(SecurityScheme, openapi.BearerJWT()); err != nil {
		panic(err)
	}
	tags := []string{"reviews"}
	openapi.Route[ListReviewsRequest, ListReviewsResponse](doc, "GET /v1/products/{id}/reviews", openapi.Op{
		ID:      "listReviews",
		Summary: "List a product's reviews, newest first, one page at a time, with their summary",
		Description: fmt.Sprintf("limit is the page size, 1 to %d (%d when absent); cursor is the next_cursor of the previous page. "+
			"summary sums up all the product's reviews: count, average (the mean rating rounded to one decimal, absent when count is 0) "+
			"and ratings (how many reviews gave 1 to 5 stars). A product without reviews has an empty page and a count of 0.", MaxPageSize, DefaultPageSize),
		Tags:   tags,
		Errors: []int{http.StatusUnprocessableEntity},
	})
	openapi.Route[SummaryRequest, Summary](doc, "GET /v1/products/{id}/reviews/summary", openapi.Op{
		ID:          "getReviewSummary",
		Summary:     "Sum up a product's reviews",
		Description: "count, average (the mean rating rounded to one decimal, absent when count is 0) and ratings (how many reviews gave 1 to 5 stars).",
		Tags:        tags,
		Errors:      []int{http.StatusUnprocessableEntity},
	})
	openapi.Route[CreateReviewBody, Review](doc, "POST /v1/products/{id}/reviews", openapi.Op{
		ID:      "createReview",
		Summary: "Review a product you bought",
		Description: fmt.Sprintf("The author is the caller (the token's subject). Only a customer who bought the product may review it, and once: "+
			"a purchase is known when its order is confirmed, which the reviews service learns from the orders' events, "+
			"so a purchase confirmed moments ago may take a moment to be known; until then the answer is 403, and trying again shortly succeeds. "+
			"A second review of the same product is 409. rating is a whole number from %d to %d; title is 1 to %d characters of one line; "+
			"body is 1 to %d characters without control characters other than line breaks; neither may contain a word the shop does not allow "+
			"(422, the violation names the field, not the word).", MinRating, MaxRating, MaxTitleLen, MaxBodyLen),
		Tags:     tags,
		Status:   http.StatusCreated,
		Security: []string{SecurityScheme},
		Errors:   []int{http.StatusForbidden, http.StatusConflict},
	})
}
