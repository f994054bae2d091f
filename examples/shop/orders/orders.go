package orders

import (
	"cmp"
	"context"
	"database/sql"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/google/uuid"

	"github.com/tailorkit/tailor/auth"
	"github.com/tailorkit/tailor/discovery"
	"github.com/tailorkit/tailor/fault"
	"github.com/tailorkit/tailor/idempotency"
	"github.com/tailorkit/tailor/messaging/outbox"
	"github.com/tailorkit/tailor/observability"
	"github.com/tailorkit/tailor/resilience"
	"github.com/tailorkit/tailor/saga"
)

// Limits on input.
const (
	// MaxItems is the most products in one order.
	MaxItems = 50
	// MaxQuantity is the most units of one product in one order.
	MaxQuantity = 1000
	// MaxIDLen is the longest product id, in characters.
	MaxIDLen = 128
	// MaxTotal is the largest total of an order, in minor units: the most
	// the payments service charges at once.
	MaxTotal = 100_000_000
	// DefaultPageSize is the page size of GET /v1/orders without a limit,
	// and MaxPageSize the largest it takes.
	DefaultPageSize = 20
	MaxPageSize     = 100
)

// AdminRole is the role that reads every user's orders.
const AdminRole = "admin"

// DefaultWait is how long POST /v1/orders waits for the order's saga
// when [Config.Wait] is not set: well within the 5 s a gateway gives a
// call by default, so that an order the saga is still working on is
// answered 202 pending rather than cut off by the caller's timeout.
const DefaultWait = 2 * time.Second

// DefaultLease is how long a claim on an order lasts when [Config.Lease]
// is not set.
const DefaultLease = time.Minute

// The names under which the services the orders call are registered.
const (
	Catalog   = "catalog"
	Inventory = "inventory"
	Payments  = "payments"
)

// Status is where an order is in its life.
type Status string

// The statuses. An order starts pending and ends confirmed or cancelled;
// neither end leads anywhere else.
const (
	// Pending: the order is recorded and its saga is running.
	Pending Status = "pending"
	// Confirmed: the stock is committed and the payment taken.
	Confirmed Status = "confirmed"
	// Cancelled: the order did not go through; Reason says why, and
	// whatever was reserved or charged for it was given back.
	Cancelled Status = "cancelled"
)

// Item is a quantity of one product, as the client orders it.
type Item struct {
	ProductID string `json:"product_id" jsonschema:"minLength=1,maxLength=128"`
	Quantity  int64  `json:"quantity" jsonschema:"minimum=1,maximum=1000"`
}

// PlaceOrderRequest is the body of POST /v1/orders.
type PlaceOrderRequest struct {
	Items []Item `json:"items" jsonschema:"minItems=1,maxItems=50"`
	// IdempotencyKey is the request's Idempotency-Key header, which
	// RegisterHTTP's decoder copies here. An order placed by the same user
	// under the same key is that order: placing it again answers it,
	// whatever the idempotency store remembers.
	IdempotencyKey string `json:"-"`
}

// Validate lists every problem with the request: 1 to [MaxItems] items,
// each of a product id of 1 to [MaxIDLen] printable characters and a
// quantity of 1 to [MaxQuantity], and no product twice.
func (r PlaceOrderRequest) Validate() error {
	var v []fault.Violation
	switch {
	case len(r.Items) == 0:
		v = append(v, fault.Violation{Field: "items", Description: "must list at least one item to order"})
	case len(r.Items) > MaxItems:
		v = append(v, fault.Violation{Field: "items", Description: fmt.Sprintf("must list at most %d items, got %d; split the order", MaxItems, len(r.Items))})
	}
	seen := make(map[string]int, len(r.Items))
	for i, it := range r.Items {
		if i == MaxItems {
			break
		}
		field := fmt.Sprintf("items[%d]", i)
		switch id := it.ProductID; {
		case id == "":
			v = append(v, fault.Violation{Field: field + ".product_id", Description: "is required"})
		case utf8.RuneCountInString(id) > MaxIDLen:
			v = append(v, fault.Violation{Field: field + ".product_id", Description: fmt.Sprintf("must be at most %d characters", MaxIDLen)})
		case !utf8.ValidString(id) || strings.ContainsFunc(id, unicode.IsControl):
			v = append(v, fault.Violation{Field: field + ".product_id", Description: "must be printable UTF-8 text without control characters"})
		}
		if it.Quantity < 1 || it.Quantity > MaxQuantity {
			v = append(v, fault.Violation{Field: field + ".quantity", Description: fmt.Sprintf("must be from 1 to %d units, got %d", MaxQuantity, it.Quantity)})
		}
		if first, dup := seen[it.ProductID]; dup {
			v = append(v, fault.Violation{Field: field + ".product_id", Description: fmt.Sprintf("names the product of items[%d] again; list each product once, with the whole quantity", first)})
		} else {
			seen[it.ProductID] = i
		}
	}
	if len(v) > 0 {
		return fault.Invalid(v...)
	}
	return nil
}

// Order is an order as its owner and the administrators see it.
type Order struct {
	ID     string `json:"id"`
	UserID string `json:"user_id"`
	Status Status `json:"status" jsonschema:"enum=pending|confirmed|cancelled"`
	// Reason says why a cancelled order did not go through, such as
	// "not enough stock of \"Hat\"" or "payment declined".
	Reason string `json:"reason,omitempty"`
	// Items are the order's products at the unit prices they had when it
	// was placed, in the order the client listed them.
	Items []Line `json:"items"`
	// Total is the sum of the items' quantities times their unit prices,
	// in minor units of Currency.
	Total     int64     `json:"total"`
	Currency  string    `json:"currency"`
	CreatedAt time.Time `json:"created_at"`
	UpdatedAt time.Time `json:"updated_at"`
	// History is what the order's saga did, oldest first; only
	// GET /v1/orders/{id} gives it.
	History []Event `json:"history,omitempty"`
}

// Event is one entry of an order's saga history, for support.
type Event struct {
	// Step is "reserve", "charge" or "confirm"; empty for "started".
	Step string `json:"step,omitempty"`
	// Kind is started, step_done, step_failed, step_compensated or
	// compensation_failed.
	Kind     string `json:"kind"`
	Attempts int    `json:"attempts"`
	// Error is the failure's error; only administrators see it.
	Error string    `json:"error,omitempty"`
	Began time.Time `json:"began"`
	At    time.Time `json:"at"`
}

// GetOrderRequest names an order.
type GetOrderRequest struct {
	ID string `json:"-" path:"id"`
}

// BindHTTP takes the order id from the path.
func (r *GetOrderRequest) BindHTTP(req *http.Request) error {
	r.ID = req.PathValue("id")
	return nil
}

// ListOrdersRequest asks for one page of orders, newest first.
type ListOrdersRequest struct {
	// Limit is the page size: 1 to MaxPageSize, 0 for DefaultPageSize.
	Limit int `json:"-"`
	// Cursor continues from a previous page's NextCursor; empty for the
	// first page.
	Cursor string `json:"-"`
}

// BindHTTP reads limit and cursor from the query. A limit that is not a
// whole number, or a parameter given twice, is 400; a whole number out
// of range is 422.
func (r *ListOrdersRequest) BindHTTP(req *http.Request) error {
	q := req.URL.Query()
	for _, name := range [...]string{"limit", "cursor"} {
		if len(q[name]) > 1 {
			return fault.New(fault.InvalidArgument, fmt.Sprintf("query parameter %q is given %d times; give it once", name, len(q[name])))
		}
	}
	if s := q.Get("limit"); s != "" {
		n, err := strconv.Atoi(s)
		var numErr *strconv.NumError
		switch {
		case errors.As(err, &numErr) && errors.Is(numErr.Err, strconv.ErrRange):
			return fault.Invalid(fault.Violation{Field: "limit", Description: fmt.Sprintf("must be from 1 to %d, got %s", MaxPageSize, s)})
		case err != nil:
			return fault.New(fault.InvalidArgument, fmt.Sprintf("query parameter \"limit\" is %q; it must be a whole number from 1 to %d", s, MaxPageSize))
		}
		r.Limit = n
	}
	r.Cursor = q.Get("cursor")
	return nil
}

// OrderList is one page of orders.
type OrderList struct {
	Items []Order `json:"items"`
	// NextCursor continues the list; empty on the last page.
	NextCursor string `json:"next_cursor,omitempty"`
}

// DependencyError is the error of an order refused, or cancelled, because
// a service it needs is unavailable: no instance of it is in rotation,
// its circuit breaker is open, or it failed the order's saga with an
// outage. It is a [fault.Unavailable] error; over HTTP a 503 whose detail
// names the service, with a Retry-After.
type DependencyError struct {
	// Service is the service that is unavailable.
	Service string
	// OrderID is the order it cancelled; empty when the order was refused
	// before it was recorded.
	OrderID string
	// RetryAfter is when to try again.
	RetryAfter time.Duration
}

// Error says what went wrong and what to do.
func (e *DependencyError) Error() string {
	return e.Service + " is unavailable; try again shortly"
}

// Unwrap returns the error as a [fault.Unavailable] one, so that
// fault.KindOf and fault.RetryAfter classify it.
func (e *DependencyError) Unwrap() error {
	return &fault.Error{Kind: fault.Unavailable, Detail: e.Error(), RetryAfter: e.RetryAfter}
}

// Config configures a [Service]. Resolver is required; the zero value of
// every other field works.
type Config struct {
	// Resolver finds the instances of the catalog, the inventory and the
	// payments service (registered as [Catalog], [Inventory] and
	// [Payments]). Required.
	Resolver discovery.Resolver
	// Telemetry is where the service's clients, sagas and outbox report.
	// Default: nowhere.
	Telemetry *observability.Telemetry
	// Wait is how long POST /v1/orders waits for the order's saga to end
	// before it answers 202 with the order pending; the saga goes on in
	// the background. Default [DefaultWait].
	Wait time.Duration
	// Breaker configures the circuit breakers of the inventory and the
	// payments service, whose open state refuses new orders at once.
	// The zero value opens after 5 failures in a row and probes after 5 s.
	Breaker resilience.BreakerConfig
	// Recovery configures the component that finishes the sagas of
	// orders left pending ([Service.Recovery]).
	Recovery saga.RecoveryConfig
	// Lease is how long a process's claim on an order's saga, and on the
	// Idempotency-Key of the request placing it, lasts unrenewed: the
	// orders a crashed process was placing wait this long before another
	// process (or the restarted one) finishes them. A lease shorter than
	// the default shortens the timeout of each step's call to a twelfth
	// of it and the longest wait between attempts at a failing
	// compensation to a quarter, so that they fit within it; [NewService]
	// refuses one too short for that (below about 16 s) and one not
	// longer than Wait. Default [DefaultLease].
	Lease time.Duration
}

// Service is the orders' business logic over its database and the
// services it calls. It is safe for concurrent use. Make one with
// [NewService] and Close it when done; the zero value is not usable.
type Service struct {
	db       *sql.DB
	wait     time.Duration
	step     time.Duration // the timeout of each call of a step
	log      *slog.Logger
	orch     *saga.Orchestrator
	order    *saga.Definition[orderSaga]
	recovery *saga.Recovery
	outbox   *outbox.Outbox
	idem     *idempotency.Store
	calls    *calls

	// bg ends the sagas the requests started when the service closes;
	// runs counts them.
	bg   context.Context
	stop context.CancelFunc
	runs sync.WaitGroup
}

// NewService returns the orders kept in db, whose schema [Migrate] has
// set up, calling the services cfg.Resolver finds.
func NewService(db *sql.DB, cfg Config) (*Service, error) {
	if cfg.Resolver == nil {
		return nil, errors.New("orders: Config.Resolver is nil; pass the registry that finds the catalog, inventory and payments services")
	}
	s := &Service{db: db, wait: cmp.Or(max(cfg.Wait, 0), DefaultWait), step: stepTimeout, log: slog.New(slog.DiscardHandler)}
	lease := cmp.Or(max(cfg.Lease, 0), DefaultLease)
	if s.wait >= lease {
		return nil, fmt.Errorf("orders: Config.Wait (%v) is not shorter than Config.Lease (%v); a request could lose its Idempotency-Key while it waits. Shorten the wait or lengthen the lease", s.wait, lease)
	}
	sagaOpts := []saga.Option{saga.WithLease(lease)}
	if lease < DefaultLease {
		s.step = lease / 12
		sagaOpts = append(sagaOpts, saga.WithCompensationBackoff(min(100*time.Millisecond, lease/4), lease/4))
	}
	s.bg, s.stop = context.WithCancel(context.Background())
	var outboxOpts []outbox.Option
	if cfg.Telemetry != nil {
		s.log = cfg.Telemetry.Logger()
		sagaOpts = append(sagaOpts, saga.WithTelemetry(cfg.Telemetry))
		outboxOpts = append(outboxOpts, outbox.WithTelemetry(cfg.Telemetry))
	}
	var err error
	if s.calls, err = newCalls(cfg); err != nil {
		return nil, err
	}
	if s.orch, err = saga.New(db, sagaOpts...); err == nil {
		s.order, err = saga.Define(s.orch, "order", s.steps()...)
	}
	if err != nil && lease != DefaultLease {
		err = fmt.Errorf("orders: Config.Lease of %v is too short for the order's saga; lengthen it: %w", lease, err)
	}
	if err == nil {
		s.outbox, err = outbox.New(outboxOpts...)
	}
	if err == nil {
		s.idem, err = idempotency.New(db, idempotency.Required(), idempotency.WithLease(lease), idempotency.WithLogger(s.log))
	}
	if err != nil {
		s.calls.close()
		return nil, err
	}
	s.recovery = saga.NewRecovery(s.orch, cfg.Recovery)
	return s, nil
}

// Close stops the sagas that requests started and that still run, each
// once its step in hand has ended, leaving them to the Recovery of the
// next process, then stops the service's clients of other services. Close
// it after the service has stopped serving.
func (s *Service) Close() error {
	s.stop()
	s.runs.Wait()
	return s.calls.close()
}

// Recovery returns the component that finishes, in the background, the
// sagas of orders left pending: by a request that stopped waiting, a
// crash or a restart. Add it to the service.
func (s *Service) Recovery() *saga.Recovery { return s.recovery }

// Pruner returns the component that deletes expired idempotency keys
// hourly. Add it to the service.
func (s *Service) Pruner() *idempotency.Pruner { return s.idem.Pruner() }

// caller returns the verified caller of ctx, or an Unauthenticated error.
func caller(ctx context.Context) (auth.Claims, error) {
	c, ok := auth.ClaimsFrom(ctx)
	if !ok || c.Subject == "" {
		return auth.Claims{}, fault.Wrap(auth.ErrNoToken, fault.Unauthenticated, "sign in: send a bearer token from the users service")
	}
	return c, nil
}

// PlaceOrder records an order of the caller's (the subject of the
// verified [auth.Claims] in ctx) and waits up to [Config.Wait] for its
// saga. It returns the order confirmed, cancelled with a reason, or still
// pending when the wait ended first (its saga then goes on in the
// background, and a Recovery finishes it should the process stop). An order refused or cancelled because the inventory or
// the payments service is unavailable is a [*DependencyError].
func (s *Service) PlaceOrder(ctx context.Context, req PlaceOrderRequest) (Order, error) {
	who, err := caller(ctx)
	if err != nil {
		return Order{}, err
	}
	if err := req.Validate(); err != nil {
		return Order{}, err
	}
	if err := s.calls.available(); err != nil {
		return Order{}, err
	}
	if req.IdempotencyKey != "" {
		id, found, err := orderByKey(ctx, s.db, who.Subject, req.IdempotencyKey)
		if err != nil {
			return Order{}, err
		}
		if found {
			// Placed before, by a request whose answer was lost: go on
			// with that order.
			return s.answer(ctx, id)
		}
	}
	data, err := s.calls.price(ctx, req.Items)
	if err != nil {
		return Order{}, err
	}
	uid, err := uuid.NewV7()
	if err != nil {
		return Order{}, fault.Wrap(err, fault.Internal, "could not make an order id")
	}
	now := time.Now().UTC().Truncate(time.Microsecond)
	data.OrderID, data.UserID = uid.String(), who.Subject
	o := Order{ID: data.OrderID, UserID: data.UserID, Status: Pending, Items: data.Lines, Total: data.Total, Currency: data.Currency, CreatedAt: now, UpdatedAt: now}
	placed, err := OrderPlacedEvent().New(o.ID, OrderPlaced{OrderID: o.ID, UserID: o.UserID, Lines: o.Items, Total: o.Total, Currency: o.Currency, PlacedAt: now})
	if err != nil {
		return Order{}, fault.Wrap(err, fault.Internal, "could not encode the order.placed event")
	}
	if err := s.inTx(ctx, func(tx *sql.Tx) error {
		if err := insertOrder(ctx, tx, o, req.IdempotencyKey); err != nil {
			return err
		}
		if err := s.order.Start(ctx, tx, o.ID, data); err != nil {
			return err
		}
		return s.outbox.Add(ctx, tx, SubjectOrderPlaced, placed)
	}); err != nil {
		return Order{}, fault.Wrap(err, fault.Internal, "could not record the order; nothing was ordered, try again")
	}
	return s.answer(ctx, o.ID)
}

// answer runs the saga of order id for up to the wait and returns the
// order as it then is; an order cancelled by a dependency's outage is
// that dependency's error too.
func (s *Service) answer(ctx context.Context, id string) (Order, error) {
	s.run(ctx, id)
	got, dependency, err := loadOrder(context.WithoutCancel(ctx), s.db, id, "")
	if err != nil {
		return Order{}, err
	}
	if got.Status == Cancelled && dependency != "" {
		return got, &DependencyError{Service: dependency, OrderID: got.ID, RetryAfter: time.Second}
	}
	return got, nil
}

// A saga that stops before its end, as when its database is too slow
// for a record, is run again up to runAttempts times in all, after pauses
// from runRetryPause doubling, before it is left to the Recovery.
const (
	runAttempts   = 5
	runRetryPause = 100 * time.Millisecond
)

// run runs saga id for up to s.wait, or until ctx ends. The saga runs
// apart from the request, so that neither the wait nor a client that
// leaves cuts a call to another service short (which would count against
// that service's breaker): when the wait ends first, it goes on in the
// background until it ends or the service closes, when it stops after the
// step in hand and a Recovery finishes it.
func (s *Service) run(ctx context.Context, id string) {
	done := make(chan struct{})
	s.runs.Go(func() {
		defer close(done)
		runCtx, cancel := context.WithCancel(context.WithoutCancel(ctx))
		defer cancel()
		defer context.AfterFunc(s.bg, cancel)()
		for attempt, pause := 1, runRetryPause; ; attempt, pause = attempt+1, 2*pause {
			_, err := s.orch.Run(runCtx, id)
			if err == nil || errors.Is(err, saga.ErrBusy) || errors.Is(err, saga.ErrLostClaim) {
				return // ended, or another process finishes it
			}
			if attempt == runAttempts || runCtx.Err() != nil {
				s.log.WarnContext(runCtx, "orders: the order's saga stopped before its end; a Recovery finishes it", "order_id", id, "error", err)
				return
			}
			// A database too slow for a moment: the saga resumes from its
			// last record, calling the step in hand again with its key.
			s.log.InfoContext(runCtx, "orders: the order's saga stopped before its end; running it again", "order_id", id, "attempt", attempt, "error", err)
			t := time.NewTimer(pause)
			select {
			case <-t.C:
			case <-runCtx.Done():
				t.Stop()
			}
		}
	})
	wait := time.NewTimer(s.wait)
	defer wait.Stop()
	select {
	case <-done:
	case <-wait.C:
	case <-ctx.Done():
	}
}

// GetOrder returns an order with its saga's history. Users read their own
// orders; another user's is NotFound, as an unknown id is. Administrators
// read any, and see the errors in the history.
func (s *Service) GetOrder(ctx context.Context, req GetOrderRequest) (Order, error) {
	who, err := caller(ctx)
	if err != nil {
		return Order{}, err
	}
	owner := who.Subject
	if who.HasRole(AdminRole) {
		owner = ""
	}
	o, _, err := loadOrder(ctx, s.db, req.ID, owner)
	if err != nil {
		return Order{}, err
	}
	events, err := s.orch.History(ctx, o.ID)
	if err != nil {
		return Order{}, fault.Wrap(err, fault.Internal, "could not read the order's history")
	}
	for _, e := range events {
		ev := Event{Step: e.Step, Kind: string(e.Kind), Attempts: e.Attempts, Began: e.Began.UTC(), At: e.At.UTC()}
		if owner == "" {
			ev.Error = e.Err
		}
		o.History = append(o.History, ev)
	}
	return o, nil
}

// ListOrders returns a page of the caller's orders, newest first; an
// administrator's page holds everyone's.
func (s *Service) ListOrders(ctx context.Context, req ListOrdersRequest) (OrderList, error) {
	who, err := caller(ctx)
	if err != nil {
		return OrderList{}, err
	}
	limit := req.Limit
	if limit == 0 {
		limit = DefaultPageSize
	}
	if limit < 1 || limit > MaxPageSize {
		return OrderList{}, fault.Invalid(fault.Violation{Field: "limit", Description: fmt.Sprintf("must be from 1 to %d, got %d", MaxPageSize, limit)})
	}
	if req.Cursor != "" && uuid.Validate(req.Cursor) != nil {
		return OrderList{}, fault.Invalid(fault.Violation{Field: "cursor", Description: "is not a cursor this API gave out; pass next_cursor from the previous page, or none for the first page"})
	}
	owner := who.Subject
	if who.HasRole(AdminRole) {
		owner = ""
	}
	items, err := listOrders(ctx, s.db, owner, req.Cursor, limit+1)
	if err != nil {
		return OrderList{}, err
	}
	list := OrderList{Items: items}
	if len(items) > limit {
		list.Items = items[:limit]
		list.NextCursor = items[limit-1].ID
	}
	if list.Items == nil {
		list.Items = []Order{}
	}
	return list, nil
}

// inTx runs fn in a transaction and commits it, or rolls it back when fn
// fails.
func (s *Service) inTx(ctx context.Context, fn func(*sql.Tx) error) error {
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	if err := fn(tx); err != nil {
		_ = tx.Rollback()
		return err
	}
	return tx.Commit()
}
