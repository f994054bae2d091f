package inventory

import (
	"fmt"
	"net/http"

	"github.com/tailorkit/tailor/openapi"
)

// SecurityScheme names, in the OpenAPI document, the bearer tokens of the
// users service that guard the administrator's route.
const SecurityScheme = "bearer"

// DescribeHTTP records in doc the operations that [RegisterHTTP] serves,
// with their request and response types. It defines the bearer scheme
// [SecurityScheme] in doc, and panics if doc already has another scheme of
// that name.
func DescribeHTTP(doc *openapi.Document) {
	if err := doc.DefineSecurityScheme(SecurityScheme, openapi.BearerJWT()); err != nil {
		panic(err)
	}
	public := []string{"inventory"}
	internal := []string{"inventory-internal"}
	openapi.Route[GetStockRequest, Stock](doc, "GET /v1/stock/{product_id}", openapi.Op{
		ID:      "getStock",
		Summary: "Get how many units of a product can be reserved",
		Tags:    public,
		Errors:  []int{http.StatusNotFound},
	})
	openapi.Route[SetStockRequest, Stock](doc, "PUT /v1/admin/stock/{product_id}", openapi.Op{
		ID:          "setStock",
		Summary:     "Set how many units of a product can be reserved",
		Description: fmt.Sprintf("Administrators only. available is 0 to %d; a product the inventory has not heard of is created. Units held by reservations are not counted and stay held.", MaxStock),
		Tags:        public,
		Security:    []string{SecurityScheme},
	})
	openapi.Route[ReserveRequest, Reservation](doc, "POST /internal/v1/reservations", openapi.Op{
		ID:      "reserve",
		Summary: "Reserve stock for an order, all items or none",
		Description: fmt.Sprintf("reservation_id is 1 to %d characters, chosen by the caller; items list 1 to %d distinct products, each of 1 to %d units. "+
			"A shortage of any item reserves nothing and answers 409 naming what is available. "+
			"A repeat with the same reservation_id and items answers 200 with the reservation as it is now, taking nothing again; "+
			"the same reservation_id with other items answers 409.", MaxIDLen, MaxItems, MaxStock),
		Tags:   internal,
		Errors: []int{http.StatusConflict},
	})
	openapi.Route[ReservationRequest, Reservation](doc, "POST /internal/v1/reservations/{id}/release", openapi.Op{
		ID:      "releaseReservation",
		Summary: "Give a reservation's units back to the available stock",
		Description: "The body is ignored: send none or {}. Releasing a released reservation answers it unchanged; a committed one answers 409; " +
			"an unknown one is recorded released with no items, so a reservation arriving later under that id takes nothing.",
		Tags:   internal,
		Errors: []int{http.StatusNotFound, http.StatusConflict},
	})
	openapi.Route[ReservationRequest, Reservation](doc, "POST /internal/v1/reservations/{id}/commit", openapi.Op{
		ID:          "commitReservation",
		Summary:     "Settle a reservation: its units leave the shop",
		Description: "The body is ignored: send none or {}. Committing a committed reservation answers it unchanged; a released one answers 409.",
		Tags:        internal,
		Errors:      []int{http.StatusNotFound, http.StatusConflict},
	})
}
