package payments

import (
	"fmt"
	"net/http"

	"github.com/tailorkit/tailor/openapi"
)

// SecurityScheme names, in the OpenAPI document, the bearer tokens of the
// users service that guard the administrator's routes.
const SecurityScheme = "bearer"

// DescribeHTTP records in doc the operations that [RegisterHTTP] serves,
// with their request and response types. It defines the bearer scheme
// [SecurityScheme] in doc, and panics if doc already has another scheme of
// that name.
func DescribeHTTP(doc *openapi.Document) {
	if err := doc.DefineSecurityScheme(SecurityScheme, openapi.BearerJWT()); err != nil {
		panic(err)
	}
	admin := []string{"payments"}
	orderID := openapi.Query[string]("order_id", fmt.Sprintf("The order's id, 1 to %d characters.", MaxIDLen))
	orderID.Required = true
	internal := []string{"payments-internal"}
	openapi.Route[ChargeRequest, Payment](doc, "POST /internal/v1/charges", openapi.Op{
		ID:      "charge",
		Summary: "Charge a customer's card for an order, once per key",
		Description: fmt.Sprintf("key is 1 to %d characters, chosen by the caller (\"<saga id>/charge\"); amount is 1 to %d minor units of currency, an ISO 4217 code. "+
			"200 with status charged when the card was charged, now or by an earlier call with the same key and request, which this one repeats without charging again. "+
			"402 when the card issuer declined the charge: final, and a repeat with the key answers the same 402. "+
			"409 when the key was used with another order, user, amount or currency, or when the key was refunded before this charge arrived (it is void). "+
			"503 when the processor is unavailable: nothing was charged, retry.", MaxKeyLen, MaxAmount),
		Tags:   internal,
		Errors: []int{http.StatusPaymentRequired, http.StatusConflict, http.StatusServiceUnavailable, http.StatusGatewayTimeout},
	})
	openapi.Route[RefundRequest, Payment](doc, "POST /internal/v1/refunds", openapi.Op{
		ID:      "refund",
		Summary: "Give back what was charged under a key",
		Description: "200 with the payment: a charged one is refunded; a refunded, declined or voided one is answered unchanged; " +
			"a key never charged is voided (status voided), so that a charge arriving later under it is refused. " +
			"409 when the key was charged for another order. 503 when the processor is unavailable: nothing changed, retry.",
		Tags:   internal,
		Errors: []int{http.StatusConflict, http.StatusServiceUnavailable, http.StatusGatewayTimeout},
	})
	openapi.Route[ListPaymentsRequest, PaymentList](doc, "GET /v1/admin/payments", openapi.Op{
		ID:          "listPayments",
		Summary:     "List the payments of an order, oldest first",
		Description: "Administrators only. Charges, declines, refunds and voided keys alike.",
		Tags:        admin,
		Security:    []string{SecurityScheme},
		Query:       []openapi.Param{orderID},
		Errors:      []int{http.StatusUnprocessableEntity},
	})
	openapi.Route[noRequest, Faults](doc, "GET /v1/admin/payments/faults", openapi.Op{
		ID:          "getPaymentFaults",
		Summary:     "Get the failures the payment processor injects",
		Description: "Administrators only. The faults of the instance that answers.",
		Tags:        admin,
		Security:    []string{SecurityScheme},
	})
	openapi.Route[Faults, Faults](doc, "PUT /v1/admin/payments/faults", openapi.Op{
		ID:      "setPaymentFaults",
		Summary: "Set the failures the payment processor injects",
		Description: fmt.Sprintf("Administrators only. Replaces all three, each required; 0 turns a fault off. "+
			"failure_rate is the share of new charges declined (402, final); unavailable_rate the share of charges and refunds answered 503 (retryable); "+
			"latency_ms, 0 to %d, a delay before every charge and refund. Each instance keeps its own faults, in memory.", MaxLatencyMS),
		Tags:     admin,
		Security: []string{SecurityScheme},
	})
}
