package reviews

import (
	"context"
	"database/sql"
	"fmt"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/tailorkit/tailor/examples/shop/orders"
	"github.com/tailorkit/tailor/messaging"
	"github.com/tailorkit/tailor/messaging/inbox"
)

// Handler applies each order.confirmed event once: it records that the
// order's user bought each of the order's products, which lets the user
// review them. A redelivered event, or a second order of a product, adds
// nothing. An event without a user id or with a line without a product
// id, or with ids longer than [MaxIDLen], is refused as permanent (see
// [messaging.Permanent]).
func (s *Service) Handler() messaging.Handler {
	return inbox.Handle(s.inbox, orders.OrderConfirmedEvent(), func(ctx context.Context, tx *sql.Tx, _ messaging.Event, o orders.OrderConfirmed) error {
		if v := checkID(nil, "user_id", o.UserID); len(v) > 0 {
			return messaging.Permanent(fmt.Errorf("reviews: order.confirmed for order %q: user_id %s; the event cannot be applied", o.OrderID, v[0].Description))
		}
		for i, l := range o.Lines {
			if v := checkID(nil, "product_id", l.ProductID); len(v) > 0 {
				return messaging.Permanent(fmt.Errorf("reviews: order.confirmed for order %q: lines[%d].product_id %s; the event cannot be applied", o.OrderID, i, v[0].Description))
			}
		}
		for _, l := range o.Lines {
			if _, err := tx.ExecContext(ctx,
				`INSERT INTO purchases (user_id, product_id) VALUES ($1, $2) ON CONFLICT (user_id, product_id) DO NOTHING`,
				o.UserID, l.ProductID); err != nil {
				return err
			}
		}
		return nil
	})
}

// AckWait bounds how late the reviews service learns of a purchase when
// the process crashed while it held the purchase's event: the broker
// delivers the event again this long after it last did.
const AckWait = 5 * time.Second

// NewConsumer returns the durable consumer ([ConsumerName]) of the
// orders' order.confirmed events ([orders.SubjectOrderConfirmed] in
// stream [orders.Stream]) that feeds s; add it to the service. The stream
// must exist before the consumer starts: main ensures it with
// messaging.EnsureStream(ctx, js, orders.Stream,
// []string{orders.StreamSubjects}). Its 16 workers hand the inbox several
// events at a time, which it applies in one transaction. A failed event
// is delivered again after 1s, 5s, then every 30s, and dead-lettered
// after 5 attempts (messaging's defaults).
func NewConsumer(js jetstream.JetStream, s *Service) (*messaging.Consumer, error) {
	return messaging.NewConsumer(js, orders.Stream, ConsumerName, s.Handler(),
		messaging.WithSubjects(orders.SubjectOrderConfirmed),
		messaging.WithWorkers(16),
		messaging.WithAckWait(AckWait),
		messaging.WithTelemetry(s.tel))
}

// Pruner returns the component that forgets, hourly, the ids of events
// applied more than 8 days ago, longer than the orders' stream keeps
// them; add it to the service beside the consumer.
func (s *Service) Pruner() *inbox.Pruner {
	return s.inbox.Pruner()
}
