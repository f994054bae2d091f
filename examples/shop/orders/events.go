package orders

import (
	"time"

	"github.com/tailorkit/tailor/messaging"
)

// The orders service's events.
const (
	// Stream is the JetStream stream that holds the orders' events.
	Stream = "ORDERS"
	// StreamSubjects is the subjects of Stream.
	StreamSubjects = "orders.>"
	// SubjectOrderPlaced is where [OrderPlacedEvent]s are published.
	SubjectOrderPlaced = "orders.order.placed"
	// SubjectOrderConfirmed is where [OrderConfirmedEvent]s are published.
	SubjectOrderConfirmed = "orders.order.confirmed"
	// SubjectOrderCancelled is where [OrderCancelledEvent]s are published.
	SubjectOrderCancelled = "orders.order.cancelled"
)

// Line is one product of an order, at the price it had when ordered.
type Line struct {
	ProductID string `json:"product_id"`
	Quantity  int64  `json:"quantity"`
	// UnitPrice is in the currency's minor units.
	UnitPrice int64 `json:"unit_price"`
}

// OrderPlaced is the payload of the order.placed event, version 1: an
// order was accepted and its saga started.
type OrderPlaced struct {
	OrderID  string    `json:"order_id"`
	UserID   string    `json:"user_id"`
	Lines    []Line    `json:"lines"`
	Total    int64     `json:"total"`
	Currency string    `json:"currency"`
	PlacedAt time.Time `json:"placed_at"`
}

// OrderConfirmed is the payload of the order.confirmed event, version 1:
// the stock was reserved and the payment taken; the user bought the
// products.
type OrderConfirmed struct {
	OrderID     string    `json:"order_id"`
	UserID      string    `json:"user_id"`
	Lines       []Line    `json:"lines"`
	Total       int64     `json:"total"`
	Currency    string    `json:"currency"`
	ConfirmedAt time.Time `json:"confirmed_at"`
}

// OrderCancelled is the payload of the order.cancelled event, version 1:
// the order did not go through, and whatever it had taken was given back.
type OrderCancelled struct {
	OrderID     string    `json:"order_id"`
	UserID      string    `json:"user_id"`
	Reason      string    `json:"reason"`
	CancelledAt time.Time `json:"cancelled_at"`
}

// OrderPlacedEvent is the order.placed event type.
func OrderPlacedEvent() messaging.Type[OrderPlaced] {
	return messaging.Type[OrderPlaced]{Name: "order.placed", Version: 1}
}

// OrderConfirmedEvent is the order.confirmed event type; the reviews
// service learns from it who bought what.
func OrderConfirmedEvent() messaging.Type[OrderConfirmed] {
	return messaging.Type[OrderConfirmed]{Name: "order.confirmed", Version: 1}
}

// OrderCancelledEvent is the order.cancelled event type.
func OrderCancelledEvent() messaging.Type[OrderCancelled] {
	return messaging.Type[OrderCancelled]{Name: "order.cancelled", Version: 1}
}
