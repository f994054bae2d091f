package orders

import (
	"fmt"
	"net/http"

	"github.com/tailorkit/tailor/idempotency"
	"github.com/tailorkit/tailor/openapi"
)

// SecurityScheme names, in the OpenAPI document, the bearer tokens of the
// users service that guard every route.
const SecurityScheme = "bearer"

// DescribeHTTP records in doc the operations that [RegisterHTTP] serves,
// with their request and response types. It defines the bearer scheme
// [SecurityScheme] in doc, and panics if doc already has another scheme of
// that name.
func DescribeHTTP(doc *openapi.Document) {
	if err := doc.DefineSecurityScheme(SecurityScheme, openapi.BearerJWT()); err != nil {
		panic(err)
	}
	tags := []string{"orders"}
	security := []string{SecurityScheme}
	key := openapi.Header[string](idempotency.Header, fmt.Sprintf(
		"A key of 1 to %d printable characters, new for each order, such as a UUID; a retry of the request sends the same key and gets the first answer, so the order is placed once.", idempotency.MaxKeyLength))
	key.Required = true
	openapi.Route[PlaceOrderRequest, Order](doc, "POST /v1/orders", openapi.Op{
		ID:      "placeOrder",
		Summary: "Place an order: reserve the stock, charge the payment, confirm",
		Description: fmt.Sprintf("1 to %d items, each a product of the catalog and a quantity of 1 to %d, no product twice, all priced in one currency. "+
			"201 with the order confirmed, or cancelled with a reason (such as not enough stock, or payment declined) once whatever it took was given back. "+
			"202 with the order pending when its saga did not end in time; it ends in the background, read it at the Location. "+
			"400 without an Idempotency-Key. 409 while a request with the same key is running. "+
			"422 for items that break a rule, a product the catalog does not have, items in several currencies, or a key used before with another body. "+
			"503 naming the service (catalog, inventory or payments) when one the order needs is unavailable, with Retry-After; nothing was charged.",
			MaxItems, MaxQuantity),
		Tags:     tags,
		Security: security,
		Headers:  []openapi.Param{key},
		Status:   http.StatusCreated,
		Errors:   []int{http.StatusConflict, http.StatusServiceUnavailable},
	})
	limit := openapi.Query[int]("limit", fmt.Sprintf("The page size, 1 to %d; %d by default.", MaxPageSize, DefaultPageSize))
	cursor := openapi.Query[string]("cursor", "next_cursor of the previous page; none for the first page.")
	openapi.Route[ListOrdersRequest, OrderList](doc, "GET /v1/orders", openapi.Op{
		ID:          "listOrders",
		Summary:     "List your orders, newest first",
		Description: "Administrators (role admin) see every user's orders.",
		Tags:        tags,
		Security:    security,
		Query:       []openapi.Param{limit, cursor},
	})
	openapi.Route[GetOrderRequest, Order](doc, "GET /v1/orders/{id}", openapi.Op{
		ID:          "getOrder",
		Summary:     "Get an order with its saga's history",
		Description: "Your own orders only: another user's is 404. Administrators read any order, and see the errors in its history.",
		Tags:        tags,
		Security:    security,
		Errors:      []int{http.StatusNotFound},
	})
}
