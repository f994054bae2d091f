package catalog

import (
	"fmt"
	"net/http"

	"github.com/tailorkit/tailor/openapi"
)

// SecurityScheme names, in the OpenAPI document, the bearer tokens of the
// users service that guard creating a product.
const SecurityScheme = "bearer"

// DescribeHTTP records in doc the operations that [RegisterHTTP] serves,
// with their request and response types, so the catalog's OpenAPI document
// (served with doc.Handler()) says what its routes take and answer. It
// defines the bearer scheme [SecurityScheme] in doc, and panics if doc
// already has another scheme of that name.
func DescribeHTTP(doc *openapi.Document) {
	if err := doc.DefineSecurityScheme(SecurityScheme, openapi.BearerJWT()); err != nil {
		panic(err)
	}
	tags := []string{"catalog"}
	openapi.Route[ListProductsRequest, ListProductsResponse](doc, "GET /v1/products", openapi.Op{
		ID:      "listProducts",
		Summary: "List products, oldest first, one page at a time",
		Tags:    tags,
		Query: []openapi.Param{
			openapi.Query[int]("limit", fmt.Sprintf("The page size, from 1 to %d; %d when absent.", MaxPageSize, DefaultPageSize)),
			openapi.Query[string]("cursor", "The next_cursor of the previous page; absent for the first page."),
		},
		Errors: []int{http.StatusUnprocessableEntity},
	})
	openapi.Route[GetProductRequest, Product](doc, "GET /v1/products/{id}", openapi.Op{
		ID:      "getProduct",
		Summary: "Get one product",
		Tags:    tags,
		Errors:  []int{http.StatusNotFound},
	})
	openapi.Route[CreateProductRequest, Product](doc, "POST /v1/products", openapi.Op{
		ID:      "createProduct",
		Summary: "Create a product (administrators only)",
		Description: fmt.Sprintf("The name is 1 to %d characters of one line; the description at most %d, without control characters "+
			"other than tab and line breaks; price.amount is zero or more, in the currency's minor units (1299 for 12.99 EUR); "+
			"price.currency is an ISO 4217 code in upper case; stock, when given, is the initial stock, 0 to %d, "+
			"which the inventory learns from the product.created event. The caller needs the role %q.", MaxNameLen, MaxDescriptionLen, MaxInitialStock, AdminRole),
		Tags:     tags,
		Status:   http.StatusCreated,
		Security: []string{SecurityScheme},
	})
}
