// Package order is the benchmarks' workload, the same for every setting: a
// small order, sent as JSON over HTTP or as protobuf over gRPC, priced and
// answered with a receipt.
package order

import "context"

// Path is the route every HTTP setting serves, for POST.
const Path = "/v1/orders"

// Body is the JSON request every HTTP load generator sends.
const Body = `{"sku":"mug-blue","quantity":2,"note":"gift wrap"}`

// PriceCents is the price of one item.
const PriceCents = 1299

// Request is an order as a client sends it.
type Request struct {
	SKU      string `json:"sku"`
	Quantity int    `json:"quantity"`
	Note     string `json:"note,omitempty"`
}

// Receipt is the answer to an order.
type Receipt struct {
	ID         string `json:"id"`
	SKU        string `json:"sku"`
	Quantity   int    `json:"quantity"`
	TotalCents int64  `json:"total_cents"`
}

// Place prices r. It is the business logic of every setting and never
// fails.
func Place(_ context.Context, r Request) (Receipt, error) {
	return Receipt{
		ID:         "ord-" + r.SKU,
		SKU:        r.SKU,
		Quantity:   r.Quantity,
		TotalCents: int64(r.Quantity) * PriceCents,
	}, nil
}
