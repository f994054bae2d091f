package inventory

import (
	"context"
	"database/sql"
	"fmt"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/tailorkit/tailor/examples/shop/catalog"
	"github.com/tailorkit/tailor/messaging"
	"github.com/tailorkit/tailor/messaging/inbox"
)

// Handler applies each product.created event once: it starts the
// product's stock at the event's Stock (0 when the event has none),
// unless the inventory has heard of the product already, so an
// administrator's [Service.SetStock] that came first wins and a
// redelivered event changes nothing. An event whose stock is outside 0
// to [MaxStock] is refused as permanent (see [messaging.Permanent]).
func (s *Service) Handler() messaging.Handler {
	return inbox.Handle(s.inbox, catalog.ProductCreatedEvent(), func(ctx context.Context, tx *sql.Tx, _ messaging.Event, p catalog.ProductCreated) error {
		if p.Stock < 0 || p.Stock > MaxStock {
			return messaging.Permanent(fmt.Errorf("inventory: product.created for %q says stock %d, outside 0 to %d; the event cannot be applied", p.ID, p.Stock, MaxStock))
		}
		_, err := tx.ExecContext(ctx,
			`INSERT INTO stock (product_id, available, reserved, updated_at) VALUES ($1, $2, 0, $3) ON CONFLICT (product_id) DO NOTHING`,
			p.ID, p.Stock, time.Now().UTC())
		return err
	})
}

// AckWait bounds how late the inventory learns of a product when the
// process crashed while it held the product's event: the broker delivers
// the event again this long after it last did.
const AckWait = 5 * time.Second

// NewConsumer returns the durable consumer ([ConsumerName]) of the
// catalog's product.created events that feeds s; add it to the service.
// Its 16 workers hand the inbox several events at a time, which it
// applies in one transaction. A failed event is delivered again after 1s,
// 5s, then every 30s, and dead-lettered after 5 attempts (messaging's
// defaults).
func NewConsumer(js jetstream.JetStream, s *Service) (*messaging.Consumer, error) {
	return messaging.NewConsumer(js, catalog.Stream, ConsumerName, s.Handler(),
		messaging.WithSubjects(catalog.SubjectProductCreated),
		messaging.WithWorkers(16),
		messaging.WithAckWait(AckWait),
		messaging.WithTelemetry(s.tel))
}

// Pruner returns the component that forgets, hourly, the ids of events
// applied more than 8 days ago, longer than the catalog's stream keeps
// them; add it to the service beside the consumer.
func (s *Service) Pruner() *inbox.Pruner {
	return s.inbox.Pruner()
}
