package orders

import (
	"context"
	"database/sql"
	"errors"
	"net/http"
	"time"

	"github.com/tailorkit/tailor/fault"
	"github.com/tailorkit/tailor/messaging"
	"github.com/tailorkit/tailor/resilience"
	"github.com/tailorkit/tailor/saga"
)

// The steps of the order saga, in order; their names are in the saga's
// records and the idempotency keys of their calls, so they never change.
const (
	stepReserve = "reserve"
	stepCharge  = "charge"
	stepConfirm = "confirm"
)

// The reasons of a cancelled order that no service gave.
const (
	reasonDeclined = "payment declined"
	reasonRefused  = "the payment was refused"
	reasonReleased = "the reserved stock was released before the order was confirmed"
	reasonUnknown  = "the order could not be completed"
)

// stepTimeout bounds each call of a step under the default lease; with
// three attempts a step takes well within it.
const stepTimeout = 5 * time.Second

// orderSaga is the data of an order's saga, recorded with each step.
type orderSaga struct {
	OrderID  string            `json:"order_id"`
	UserID   string            `json:"user_id"`
	Lines    []Line            `json:"lines"`
	Names    map[string]string `json:"names"`
	Total    int64             `json:"total"`
	Currency string            `json:"currency"`
	// Reason and Dependency are set by the step that failed: why, and the
	// service whose outage it was, if one was.
	Reason     string `json:"reason,omitempty"`
	Dependency string `json:"dependency,omitempty"`
}

// name returns the catalog's name of product id, or the id.
func (d *orderSaga) name(id string) string {
	if n := d.Names[id]; n != "" {
		return n
	}
	return id
}

// items returns the lines as inventory items.
func (d *orderSaga) items() []Item {
	items := make([]Item, len(d.Lines))
	for i, l := range d.Lines {
		items[i] = Item{ProductID: l.ProductID, Quantity: l.Quantity}
	}
	return items
}

// failed records in d why a call to service failed: an outage of the
// service when its error may pass, otherwise what refused says.
func (d *orderSaga) failed(service string, err error, refused func() string) {
	if fault.IsRetryable(err) {
		d.Reason, d.Dependency = service+" unavailable", service
		return
	}
	d.Reason, d.Dependency = refused(), ""
}

// steps are the order saga's: reserve the stock, charge the payment,
// confirm. Each call carries the step's idempotency key, which the
// inventory and the payments service apply once.
func (s *Service) steps() []saga.Step[orderSaga] {
	c := s.calls
	retry := resilience.RetryConfig{MaxAttempts: 3}
	return []saga.Step[orderSaga]{{
		Name: stepReserve,
		Action: func(ctx context.Context, key string, d *orderSaga) error {
			d.Reason, d.Dependency = "", ""
			_, err := c.reserve(resilience.WithIdempotent(ctx), reservation{ReservationID: key, Items: d.items()})
			if err != nil {
				d.failed(Inventory, err, func() string {
					if errors.Is(err, fault.FailedPrecondition) {
						return c.shortage(ctx, d)
					}
					return "the inventory refused the reservation"
				})
			}
			return err
		},
		// The order's first step is compensated last: once its stock is
		// released, the order is cancelled, wherever the saga runs.
		Compensate: func(ctx context.Context, _ string, d *orderSaga) error {
			_, err := c.release(resilience.WithIdempotent(ctx), saga.Key(d.OrderID, stepReserve))
			if err != nil && !errors.Is(err, fault.NotFound) {
				return err
			}
			return s.cancel(ctx, d)
		},
		Timeout: s.step,
		Retry:   retry,
	}, {
		Name: stepCharge,
		Action: func(ctx context.Context, key string, d *orderSaga) error {
			d.Reason, d.Dependency = "", ""
			_, err := c.charge(resilience.WithIdempotent(ctx), charge{Key: key, OrderID: d.OrderID, UserID: d.UserID, Amount: d.Total, Currency: d.Currency})
			if err != nil {
				d.failed(Payments, err, func() string {
					if fault.As(err).HTTPStatus() == http.StatusPaymentRequired {
						return reasonDeclined
					}
					return reasonRefused
				})
			}
			return err
		},
		// A refund of a key never charged voids it, so a charge still on
		// its way takes nothing.
		Compensate: func(ctx context.Context, _ string, d *orderSaga) error {
			_, err := c.refund(resilience.WithIdempotent(ctx), refund{Key: saga.Key(d.OrderID, stepCharge), OrderID: d.OrderID})
			return err
		},
		Timeout: s.step,
		Retry:   retry,
	}, {
		Name: stepConfirm,
		Action: func(ctx context.Context, _ string, d *orderSaga) error {
			d.Reason, d.Dependency = "", ""
			if _, err := c.commit(resilience.WithIdempotent(ctx), saga.Key(d.OrderID, stepReserve)); err != nil {
				d.failed(Inventory, err, func() string { return reasonReleased })
				return err
			}
			return s.confirm(ctx, d)
		},
		Timeout: s.step,
		Retry:   retry,
	}}
}

// confirm marks the order confirmed and announces it, once.
func (s *Service) confirm(ctx context.Context, d *orderSaga) error {
	now := time.Now().UTC().Truncate(time.Microsecond)
	ev, err := OrderConfirmedEvent().New(d.OrderID, OrderConfirmed{OrderID: d.OrderID, UserID: d.UserID, Lines: d.Lines, Total: d.Total, Currency: d.Currency, ConfirmedAt: now})
	if err != nil {
		return err
	}
	return s.settle(ctx, d.OrderID, Confirmed, "", "", now, SubjectOrderConfirmed, ev)
}

// cancel marks the order cancelled, with the reason the failed step
// recorded, and announces it, once.
func (s *Service) cancel(ctx context.Context, d *orderSaga) error {
	reason := d.Reason
	if reason == "" {
		reason = reasonUnknown
	}
	now := time.Now().UTC().Truncate(time.Microsecond)
	ev, err := OrderCancelledEvent().New(d.OrderID, OrderCancelled{OrderID: d.OrderID, UserID: d.UserID, Reason: reason, CancelledAt: now})
	if err != nil {
		return err
	}
	return s.settle(ctx, d.OrderID, Cancelled, reason, d.Dependency, now, SubjectOrderCancelled, ev)
}

// settle moves the pending order id to status and adds ev to the outbox
// for subject, in one transaction; an order settled already is left as
// it is. A failure of the database is retryable, so the saga tries again.
func (s *Service) settle(ctx context.Context, id string, status Status, reason, dependency string, at time.Time, subject string, ev messaging.Event) error {
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		changed, err := setStatus(ctx, tx, id, status, reason, dependency, at)
		if err != nil || !changed {
			return err
		}
		return s.outbox.Add(ctx, tx, subject, ev)
	})
	if err != nil {
		return fault.Wrap(err, fault.Unavailable, "could not record the order's "+string(status)+" status; it is tried again")
	}
	return nil
}
