package payments

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"math/rand/v2"
	"net/http"
	"strings"
	"sync"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/google/uuid"

	"github.com/tailorkit/tailor/fault"
)

// Limits on input.
const (
	// MaxKeyLen is the longest idempotency key, in characters.
	MaxKeyLen = 200
	// MaxIDLen is the longest order or user id, in characters.
	MaxIDLen = 128
	// MaxAmount is the largest charge, in minor units (1,000,000.00 in a
	// currency of two decimals).
	MaxAmount = 100_000_000
)

// Status is where a payment is in its life.
type Status string

// The statuses. A charge ends charged or declined; a charged payment may
// be refunded; a key refunded before any charge is voided. Declined,
// refunded and voided lead nowhere else.
const (
	// Charged: the amount was taken from the customer's card.
	Charged Status = "charged"
	// Declined: the card issuer refused the charge; nothing was taken.
	Declined Status = "declined"
	// Refunded: the amount was charged, then given back.
	Refunded Status = "refunded"
	// Voided: the key was refunded before any charge under it arrived,
	// so a charge under it is refused.
	Voided Status = "voided"
)

// Payment is what happened under one idempotency key.
type Payment struct {
	ID      string `json:"id"`
	Key     string `json:"key"`
	OrderID string `json:"order_id"`
	// UserID is empty for a voided key.
	UserID string `json:"user_id"`
	// Amount is in minor units of Currency (cents of EUR); 0 with no
	// currency for a voided key.
	Amount    int64     `json:"amount"`
	Currency  string    `json:"currency"`
	Status    Status    `json:"status" jsonschema:"enum=charged|declined|refunded|voided"`
	CreatedAt time.Time `json:"created_at"`
	UpdatedAt time.Time `json:"updated_at"`
}

// ChargeRequest asks to take an amount from a customer's card for an
// order.
type ChargeRequest struct {
	// Key is the idempotency key, chosen by the caller so that a repeat
	// after a lost answer charges nothing twice: the order saga's id and
	// its step, "<saga id>/charge", say.
	Key      string `json:"key" jsonschema:"minLength=1,maxLength=200"`
	OrderID  string `json:"order_id" jsonschema:"minLength=1,maxLength=128"`
	UserID   string `json:"user_id" jsonschema:"minLength=1,maxLength=128"`
	Amount   int64  `json:"amount" jsonschema:"minimum=1,maximum=100000000"`
	Currency string `json:"currency" jsonschema:"pattern=^[A-Z]{3}$"`
}

// Validate lists every problem with the request: a key of 1 to
// [MaxKeyLen] characters, order and user ids of 1 to [MaxIDLen], all
// without control characters; an amount of 1 to [MaxAmount] minor units;
// and a currency of three upper-case letters (an ISO 4217 code, such as
// EUR).
func (r ChargeRequest) Validate() error {
	var v []fault.Violation
	v = checkText(v, "key", r.Key, MaxKeyLen)
	v = checkText(v, "order_id", r.OrderID, MaxIDLen)
	v = checkText(v, "user_id", r.UserID, MaxIDLen)
	if r.Amount < 1 || r.Amount > MaxAmount {
		v = append(v, fault.Violation{Field: "amount", Description: fmt.Sprintf("must be from 1 to %d minor units (cents), got %d", MaxAmount, r.Amount)})
	}
	if !isCurrency(r.Currency) {
		v = append(v, fault.Violation{Field: "currency", Description: fmt.Sprintf("must be an ISO 4217 code of three upper-case letters, such as EUR, got %q", r.Currency)})
	}
	if len(v) > 0 {
		return fault.Invalid(v...)
	}
	return nil
}

// RefundRequest asks to give back what was charged under a key.
type RefundRequest struct {
	// Key is the idempotency key of the charge to refund.
	Key string `json:"key" jsonschema:"minLength=1,maxLength=200"`
	// OrderID is the order the charge was for; a key charged for another
	// order is a conflict.
	OrderID string `json:"order_id" jsonschema:"minLength=1,maxLength=128"`
}

// Validate lists every problem with the request: a key of 1 to
// [MaxKeyLen] characters and an order id of 1 to [MaxIDLen], without
// control characters.
func (r RefundRequest) Validate() error {
	var v []fault.Violation
	v = checkText(v, "key", r.Key, MaxKeyLen)
	v = checkText(v, "order_id", r.OrderID, MaxIDLen)
	if len(v) > 0 {
		return fault.Invalid(v...)
	}
	return nil
}

// checkText appends to v the problem, if any, with the text in field.
func checkText(v []fault.Violation, field, s string, maxLen int) []fault.Violation {
	switch {
	case s == "":
		return append(v, fault.Violation{Field: field, Description: "is required"})
	case utf8.RuneCountInString(s) > maxLen:
		return append(v, fault.Violation{Field: field, Description: fmt.Sprintf("must be at most %d characters", maxLen)})
	case !utf8.ValidString(s) || strings.ContainsFunc(s, unicode.IsControl):
		return append(v, fault.Violation{Field: field, Description: "must be printable UTF-8 text without control characters"})
	}
	return v
}

func isCurrency(s string) bool {
	if len(s) != 3 {
		return false
	}
	for i := range 3 {
		if s[i] < 'A' || s[i] > 'Z' {
			return false
		}
	}
	return true
}

// Service is the simulated card processor over its database. It is safe
// for concurrent use. Make one with [NewService]; the zero value is not
// usable.
type Service struct {
	db *sql.DB

	mu     sync.Mutex // guards faults and random
	faults Faults
	random func() float64
}

// Option configures a [Service].
type Option func(*Service)

// WithFaults sets the failures the service injects from the start.
// Default: none. [FaultsFromEnv] reads them from the environment.
func WithFaults(f Faults) Option {
	return func(s *Service) { s.faults = f }
}

// WithRandom makes the service draw its faults from random, which returns
// numbers in [0, 1), such as a seeded [rand.Rand]'s Float64. The service
// calls it under its own lock, so it need not be safe for concurrent use.
// Default: [rand.Float64].
func WithRandom(random func() float64) Option {
	return func(s *Service) { s.random = random }
}

// NewService returns the payments kept in db, whose schema [Migrate] has
// set up. It fails when the faults given with [WithFaults] break a rule
// of [Faults.Validate].
func NewService(db *sql.DB, opts ...Option) (*Service, error) {
	s := &Service{db: db, random: rand.Float64}
	for _, o := range opts {
		o(s)
	}
	if err := s.faults.Validate(); err != nil {
		return nil, fmt.Errorf("payments: the faults to inject: %w", err)
	}
	return s, nil
}

// Charge takes req.Amount from the customer's card, once per req.Key.
//
// A new key is charged or, as often as [Faults.FailureRate] says,
// declined: a FailedPrecondition error answered 402, which is final. The
// outcome is recorded under the key either way, so a repeat with the same
// key and request answers the same: the payment (in whatever state it is
// now, refunded included) or the same decline, and never charges again.
// The same key with another order, user, amount or currency is a
// Conflict (409). A key that was refunded before any charge under it
// arrived is voided, and its charge is refused with a FailedPrecondition
// error (409).
//
// Before any of this the service plays its faults: the latency, then the
// outage (an Unavailable error, 503, retryable); see [Faults].
func (s *Service) Charge(ctx context.Context, req ChargeRequest) (Payment, error) {
	if err := req.Validate(); err != nil {
		return Payment{}, err
	}
	if err := s.inject(ctx); err != nil {
		return Payment{}, err
	}
	have, err := s.load(ctx, req.Key)
	if err == nil {
		return answerCharge(have, req)
	}
	if !errors.Is(err, fault.NotFound) {
		return Payment{}, err
	}
	id, err := uuid.NewV7()
	if err != nil {
		return Payment{}, fault.Wrap(err, fault.Internal, "could not make a payment id")
	}
	now := time.Now().UTC().Truncate(time.Microsecond)
	p := Payment{
		ID: id.String(), Key: req.Key, OrderID: req.OrderID, UserID: req.UserID,
		Amount: req.Amount, Currency: req.Currency, Status: Charged, CreatedAt: now, UpdatedAt: now,
	}
	if s.toss(func(f Faults) float64 { return f.FailureRate }) {
		p.Status = Declined
	}
	r, err := s.db.ExecContext(ctx,
		`INSERT INTO payments (id, payment_key, order_id, user_id, amount, currency, status, created_at, updated_at)
		 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $8) ON CONFLICT (payment_key) DO NOTHING`,
		p.ID, p.Key, p.OrderID, p.UserID, p.Amount, p.Currency, string(p.Status), now)
	if err != nil {
		return Payment{}, fault.Wrap(err, fault.Internal, "could not record the payment")
	}
	if n, err := r.RowsAffected(); err != nil {
		return Payment{}, fault.Wrap(err, fault.Internal, "could not record the payment")
	} else if n == 0 {
		// Another call under the key recorded its outcome first.
		have, err := s.load(ctx, req.Key)
		if err != nil {
			return Payment{}, err
		}
		return answerCharge(have, req)
	}
	return answerCharge(p, req)
}

// answerCharge answers a charge request under the key of p, recorded.
func answerCharge(p Payment, req ChargeRequest) (Payment, error) {
	if p.OrderID != req.OrderID || (p.Status != Voided && (p.UserID != req.UserID || p.Amount != req.Amount || p.Currency != req.Currency)) {
		return Payment{}, fault.New(fault.Conflict, fmt.Sprintf("payment key %q was used for another charge (order %q, %s); repeat a charge with the same request, or charge this one under a new key", p.Key, p.OrderID, describe(p)))
	}
	switch p.Status {
	case Declined:
		return Payment{}, &fault.Error{
			Kind:   fault.FailedPrecondition,
			Status: http.StatusPaymentRequired,
			Detail: fmt.Sprintf("card declined: the charge of %s for order %q under key %q was declined by the card issuer; nothing was taken; ask the customer for another card and charge it under a new key", money(p.Amount, p.Currency), p.OrderID, p.Key),
		}
	case Voided:
		return Payment{}, &fault.Error{
			Kind:   fault.FailedPrecondition,
			Status: http.StatusConflict,
			Detail: fmt.Sprintf("payment key %q was refunded before any charge under it arrived, so it is void and its charge is refused; nothing was taken; charge under a new key if the order still needs paying", p.Key),
		}
	}
	return p, nil
}

// describe names what was charged under p's key.
func describe(p Payment) string {
	if p.Status == Voided {
		return "voided"
	}
	return fmt.Sprintf("user %q, %s", p.UserID, money(p.Amount, p.Currency))
}

// money writes an amount with its currency: "1250 minor units of EUR".
func money(amount int64, currency string) string {
	return fmt.Sprintf("%d minor units of %s", amount, currency)
}

// Refund gives back what was charged under req.Key.
//
// A charged payment becomes refunded. Refunding a refunded, declined
// (nothing was taken) or voided payment answers it unchanged. A key
// never charged is voided: a tombstone is recorded under it, so that a
// charge under it arriving later (one the saga gave up on while it was
// on its way) is refused rather than taking money for an order already
// compensated. A key charged for another order is a Conflict (409).
//
// Before any of this the service plays its latency and outage faults;
// see [Faults].
func (s *Service) Refund(ctx context.Context, req RefundRequest) (Payment, error) {
	if err := req.Validate(); err != nil {
		return Payment{}, err
	}
	if err := s.inject(ctx); err != nil {
		return Payment{}, err
	}
	// A charged payment cannot go back, so the second pass finds a
	// payment that a charge recorded between the first pass's update and
	// insert, and refunds it.
	for range 2 {
		now := time.Now().UTC().Truncate(time.Microsecond)
		r, err := s.db.ExecContext(ctx,
			`UPDATE payments SET status = $1, updated_at = $2 WHERE payment_key = $3 AND order_id = $4 AND status = $5`,
			string(Refunded), now, req.Key, req.OrderID, string(Charged))
		if err != nil {
			return Payment{}, fault.Wrap(err, fault.Internal, "could not record the refund")
		}
		if n, err := r.RowsAffected(); err != nil {
			return Payment{}, fault.Wrap(err, fault.Internal, "could not record the refund")
		} else if n == 1 {
			return s.load(ctx, req.Key)
		}
		id, err := uuid.NewV7()
		if err != nil {
			return Payment{}, fault.Wrap(err, fault.Internal, "could not make a payment id")
		}
		void := Payment{ID: id.String(), Key: req.Key, OrderID: req.OrderID, Status: Voided, CreatedAt: now, UpdatedAt: now}
		r, err = s.db.ExecContext(ctx,
			`INSERT INTO payments (id, payment_key, order_id, user_id, amount, currency, status, created_at, updated_at)
			 VALUES ($1, $2, $3, '', 0, '', $4, $5, $5) ON CONFLICT (payment_key) DO NOTHING`,
			void.ID, void.Key, void.OrderID, string(Voided), now)
		if err != nil {
			return Payment{}, fault.Wrap(err, fault.Internal, "could not record the refund")
		}
		if n, err := r.RowsAffected(); err != nil {
			return Payment{}, fault.Wrap(err, fault.Internal, "could not record the refund")
		} else if n == 1 {
			return void, nil
		}
		have, err := s.load(ctx, req.Key)
		if err != nil {
			return Payment{}, err
		}
		if have.OrderID != req.OrderID {
			return Payment{}, fault.New(fault.Conflict, fmt.Sprintf("payment key %q belongs to order %q, not %q; refund it with its own order id", req.Key, have.OrderID, req.OrderID))
		}
		if have.Status != Charged {
			return have, nil
		}
	}
	return Payment{}, fault.New(fault.Internal, "the refund found the payment charged after refunding it")
}

// GetPayment returns the payment recorded under key, or a NotFound error.
func (s *Service) GetPayment(ctx context.Context, key string) (Payment, error) {
	return s.load(ctx, key)
}

// PaymentList is the payments of one order, oldest first.
type PaymentList struct {
	Payments []Payment `json:"payments"`
}

// ListPaymentsRequest names an order.
type ListPaymentsRequest struct {
	// OrderID is the query parameter order_id.
	OrderID string `json:"-"`
}

// BindHTTP takes the order id from the query.
func (r *ListPaymentsRequest) BindHTTP(req *http.Request) error {
	r.OrderID = req.URL.Query().Get("order_id")
	return nil
}

// ListPayments returns every payment recorded for an order, oldest
// first: charges, declines, refunds and voided keys. An order id that
// breaks the rules of [ChargeRequest.Validate] is an InvalidArgument
// error (422).
func (s *Service) ListPayments(ctx context.Context, req ListPaymentsRequest) (PaymentList, error) {
	if v := checkText(nil, "order_id", req.OrderID, MaxIDLen); len(v) > 0 {
		return PaymentList{}, fault.Invalid(v...)
	}
	rows, err := s.db.QueryContext(ctx, `SELECT `+columns+` FROM payments WHERE order_id = $1 ORDER BY created_at, id`, req.OrderID)
	if err != nil {
		return PaymentList{}, fault.Wrap(err, fault.Internal, "could not read the payments")
	}
	defer rows.Close()
	list := PaymentList{Payments: []Payment{}}
	for rows.Next() {
		p, err := scan(rows)
		if err != nil {
			return PaymentList{}, err
		}
		list.Payments = append(list.Payments, p)
	}
	if err := rows.Err(); err != nil {
		return PaymentList{}, fault.Wrap(err, fault.Internal, "could not read the payments")
	}
	return list, nil
}

const columns = `id, payment_key, order_id, user_id, amount, currency, status, created_at, updated_at`

// load reads the payment recorded under key, or returns a NotFound error.
func (s *Service) load(ctx context.Context, key string) (Payment, error) {
	p, err := scan(s.db.QueryRowContext(ctx, `SELECT `+columns+` FROM payments WHERE payment_key = $1`, key))
	if errors.Is(err, sql.ErrNoRows) {
		return Payment{}, fault.New(fault.NotFound, fmt.Sprintf("no payment has key %q; charge first, with POST /internal/v1/charges", key))
	}
	return p, err
}

// scan reads a payment's columns, in the order of columns.
func scan(sc interface{ Scan(...any) error }) (Payment, error) {
	var p Payment
	var status string
	err := sc.Scan(&p.ID, &p.Key, &p.OrderID, &p.UserID, &p.Amount, &p.Currency, &status, &p.CreatedAt, &p.UpdatedAt)
	if errors.Is(err, sql.ErrNoRows) {
		return Payment{}, err
	}
	if err != nil {
		return Payment{}, fault.Wrap(err, fault.Internal, "could not read the payment")
	}
	p.Status = Status(status)
	p.CreatedAt, p.UpdatedAt = p.CreatedAt.UTC(), p.UpdatedAt.UTC()
	return p, nil
}
