package inventory

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/tailorkit/tailor/fault"
	"github.com/tailorkit/tailor/messaging"
	"github.com/tailorkit/tailor/messaging/inbox"
)

// Limits on input.
const (
	// MaxIDLen is the longest product or reservation id, in characters.
	MaxIDLen = 128
	// MaxStock is the most units of one product the inventory holds, and
	// the most one reservation takes of it.
	MaxStock = 1_000_000
	// MaxItems is the most products in one reservation.
	MaxItems = 100
)

// Stock is how many units of a product can be reserved now.
type Stock struct {
	ProductID string `json:"product_id"`
	Available int64  `json:"available"`
}

// GetStockRequest names a product.
type GetStockRequest struct {
	ProductID string `json:"-" path:"product_id"`
}

// BindHTTP takes the product id from the path.
func (r *GetStockRequest) BindHTTP(req *http.Request) error {
	r.ProductID = req.PathValue("product_id")
	return nil
}

// SetStockRequest sets how many units of a product can be reserved.
type SetStockRequest struct {
	ProductID string `json:"-" path:"product_id"`
	Available int64  `json:"available" jsonschema:"minimum=0,maximum=1000000"`
}

// Validate lists every problem with the request: a product id of 1 to
// [MaxIDLen] characters without control characters, and an available
// count of 0 to [MaxStock].
func (r SetStockRequest) Validate() error {
	var v []fault.Violation
	v = checkID(v, "product_id", r.ProductID)
	if r.Available < 0 || r.Available > MaxStock {
		v = append(v, fault.Violation{Field: "available", Description: fmt.Sprintf("must be from 0 to %d units, got %d", MaxStock, r.Available)})
	}
	if len(v) > 0 {
		return fault.Invalid(v...)
	}
	return nil
}

// Item is a quantity of one product.
type Item struct {
	ProductID string `json:"product_id" jsonschema:"minLength=1,maxLength=128"`
	Quantity  int64  `json:"quantity" jsonschema:"minimum=1,maximum=1000000"`
}

// ReserveRequest takes stock for an order: all its items, or none.
type ReserveRequest struct {
	// ReservationID is chosen by the caller (the order's id, say), so that
	// a repeat of the request after a lost answer takes nothing twice.
	ReservationID string `json:"reservation_id" jsonschema:"minLength=1,maxLength=128"`
	Items         []Item `json:"items" jsonschema:"minItems=1,maxItems=100"`
}

// Validate lists every problem with the request: a reservation id of 1 to
// [MaxIDLen] characters without control characters; 1 to [MaxItems]
// items, each of a valid product id and a quantity of 1 to [MaxStock];
// and no product twice.
func (r ReserveRequest) Validate() error {
	var v []fault.Violation
	v = checkID(v, "reservation_id", r.ReservationID)
	switch {
	case len(r.Items) == 0:
		v = append(v, fault.Violation{Field: "items", Description: "must list at least one item to reserve"})
	case len(r.Items) > MaxItems:
		v = append(v, fault.Violation{Field: "items", Description: fmt.Sprintf("must list at most %d items, got %d; split the order", MaxItems, len(r.Items))})
	}
	seen := make(map[string]int, len(r.Items))
	for i, it := range r.Items {
		if i == MaxItems {
			break
		}
		field := fmt.Sprintf("items[%d]", i)
		v = checkID(v, field+".product_id", it.ProductID)
		if it.Quantity < 1 || it.Quantity > MaxStock {
			v = append(v, fault.Violation{Field: field + ".quantity", Description: fmt.Sprintf("must be from 1 to %d units, got %d", MaxStock, it.Quantity)})
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

// checkID appends to v the problem, if any, with the id in field.
func checkID(v []fault.Violation, field, id string) []fault.Violation {
	switch {
	case id == "":
		return append(v, fault.Violation{Field: field, Description: "is required"})
	case utf8.RuneCountInString(id) > MaxIDLen:
		return append(v, fault.Violation{Field: field, Description: fmt.Sprintf("must be at most %d characters", MaxIDLen)})
	case !utf8.ValidString(id) || strings.ContainsFunc(id, unicode.IsControl):
		return append(v, fault.Violation{Field: field, Description: "must be printable UTF-8 text without control characters"})
	}
	return v
}

// ReservationRequest names a reservation.
type ReservationRequest struct {
	ID string `json:"-" path:"id"`
}

// BindHTTP takes the reservation id from the path.
func (r *ReservationRequest) BindHTTP(req *http.Request) error {
	r.ID = req.PathValue("id")
	return nil
}

// State is where a reservation is in its life.
type State string

// The states. A reservation starts reserved and ends released or
// committed; neither end leads anywhere else.
const (
	// Reserved: its units are taken from the available stock and held.
	Reserved State = "reserved"
	// Released: its units went back to the available stock.
	Released State = "released"
	// Committed: its units left the shop (the order was paid).
	Committed State = "committed"
)

// Reservation is stock held for one order.
type Reservation struct {
	ID    string `json:"id"`
	State State  `json:"state" jsonschema:"enum=reserved|released|committed"`
	// Items are sorted by product id.
	Items []Item `json:"items"`
}

// ConsumerName is the name of the durable consumer of the catalog's
// events, and of the inbox that remembers which of them were applied.
const ConsumerName = "shop-inventory"

// Service is the inventory's business logic over its database. It is safe
// for concurrent use. Make one with [NewService]; the zero value is not
// usable.
type Service struct {
	db    *sql.DB
	inbox *inbox.Inbox
	tel   messaging.Telemetry
}

// Option configures a [Service].
type Option func(*Service)

// WithTelemetry makes the service's consumer and inbox report to tel (the
// service's telemetry). Default: nowhere.
func WithTelemetry(tel messaging.Telemetry) Option {
	return func(s *Service) { s.tel = tel }
}

// NewService returns the inventory kept in db, whose schema [Migrate] has
// set up.
func NewService(db *sql.DB, opts ...Option) (*Service, error) {
	s := &Service{db: db}
	for _, o := range opts {
		o(s)
	}
	in, err := inbox.New(db, ConsumerName, inbox.WithTelemetry(s.tel))
	if err != nil {
		return nil, err
	}
	s.inbox = in
	return s, nil
}

// GetStock returns how many units of a product can be reserved, or a
// NotFound error for a product the inventory has not heard of.
func (s *Service) GetStock(ctx context.Context, req GetStockRequest) (Stock, error) {
	st := Stock{ProductID: req.ProductID}
	err := s.db.QueryRowContext(ctx, `SELECT available FROM stock WHERE product_id = $1`, req.ProductID).Scan(&st.Available)
	if errors.Is(err, sql.ErrNoRows) {
		return Stock{}, fault.New(fault.NotFound, fmt.Sprintf("the inventory has not heard of product %q (yet): it learns of a product when the catalog creates it, or when an administrator sets its stock", req.ProductID))
	}
	if err != nil {
		return Stock{}, fault.Wrap(err, fault.Internal, "could not read the stock")
	}
	return st, nil
}

// SetStock sets how many units of a product can be reserved, creating the
// product's stock if the inventory has not heard of it yet. Units held by
// reservations are not counted in it and stay held. Only administrators
// may call it: [RegisterHTTP] guards its route.
func (s *Service) SetStock(ctx context.Context, req SetStockRequest) (Stock, error) {
	if err := req.Validate(); err != nil {
		return Stock{}, err
	}
	_, err := s.db.ExecContext(ctx,
		`INSERT INTO stock (product_id, available, reserved, updated_at) VALUES ($1, $2, 0, $3)
		 ON CONFLICT (product_id) DO UPDATE SET available = excluded.available, updated_at = excluded.updated_at`,
		req.ProductID, req.Available, time.Now().UTC())
	if err != nil {
		return Stock{}, fault.Wrap(err, fault.Internal, "could not store the stock")
	}
	return Stock(req), nil
}

// Reserve takes the items of a reservation from the available stock, all
// of them or none, and holds them until [Service.Release] or
// [Service.Commit].
//
// Each item is taken by one conditional update that succeeds only while
// enough units are available, so reservations running at once never take
// more than there is; a shortage of any item rolls the whole reservation
// back with a FailedPrecondition error (409 over HTTP) that names every
// short product and what is available of it.
//
// A repeat with the reservation id of an existing reservation and the
// same items returns that reservation, in whatever state it is now,
// without touching the stock again; with other items it is a Conflict.
func (s *Service) Reserve(ctx context.Context, req ReserveRequest) (Reservation, error) {
	if err := req.Validate(); err != nil {
		return Reservation{}, err
	}
	items := slices.Clone(req.Items)
	// Taking rows in one order keeps two reservations from waiting on
	// each other's locks on databases that lock rows (PostgreSQL).
	sortItems(items)
	res := Reservation{ID: req.ReservationID, State: Reserved, Items: items}

	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return Reservation{}, fault.Wrap(err, fault.Internal, "could not store the reservation")
	}
	defer tx.Rollback()
	now := time.Now().UTC()
	r, err := tx.ExecContext(ctx,
		`INSERT INTO reservations (id, state, created_at, updated_at) VALUES ($1, $2, $3, $3) ON CONFLICT (id) DO NOTHING`,
		res.ID, string(Reserved), now)
	if err != nil {
		return Reservation{}, fault.Wrap(err, fault.Internal, "could not store the reservation")
	}
	if n, err := r.RowsAffected(); err != nil {
		return Reservation{}, fault.Wrap(err, fault.Internal, "could not store the reservation")
	} else if n == 0 {
		have, err := loadReservation(ctx, tx, res.ID)
		if err != nil {
			return Reservation{}, err
		}
		if have.State == Released && len(have.Items) == 0 {
			return Reservation{}, &fault.Error{
				Kind:   fault.FailedPrecondition,
				Status: http.StatusConflict,
				Detail: fmt.Sprintf("reservation %q was released before it was made, so it takes nothing; reserve under a new reservation id", res.ID),
			}
		}
		if !slices.Equal(have.Items, items) {
			return Reservation{}, fault.New(fault.Conflict, fmt.Sprintf("reservation %q exists with other items; repeat a reservation with the same items, or reserve these under a new reservation id", res.ID))
		}
		return have, nil
	}

	var short []string
	for _, it := range items {
		r, err := tx.ExecContext(ctx,
			`UPDATE stock SET available = available - $1, reserved = reserved + $1, updated_at = $2 WHERE product_id = $3 AND available >= $1`,
			it.Quantity, now, it.ProductID)
		if err != nil {
			return Reservation{}, fault.Wrap(err, fault.Internal, "could not reserve the stock")
		}
		if n, err := r.RowsAffected(); err != nil {
			return Reservation{}, fault.Wrap(err, fault.Internal, "could not reserve the stock")
		} else if n == 1 {
			continue
		}
		var available int64
		err = tx.QueryRowContext(ctx, `SELECT available FROM stock WHERE product_id = $1`, it.ProductID).Scan(&available)
		switch {
		case errors.Is(err, sql.ErrNoRows):
			short = append(short, fmt.Sprintf("product %q is not known to the inventory (yet)", it.ProductID))
		case err != nil:
			return Reservation{}, fault.Wrap(err, fault.Internal, "could not reserve the stock")
		default:
			short = append(short, fmt.Sprintf("product %q has %d available, %d wanted", it.ProductID, available, it.Quantity))
		}
	}
	if len(short) > 0 {
		return Reservation{}, &fault.Error{
			Kind:   fault.FailedPrecondition,
			Status: http.StatusConflict,
			Detail: "not enough stock, so nothing was reserved: " + strings.Join(short, "; ") + "; reserve fewer units or wait for a restock",
		}
	}
	for _, it := range items {
		if _, err := tx.ExecContext(ctx,
			`INSERT INTO reservation_items (reservation_id, product_id, quantity) VALUES ($1, $2, $3)`,
			res.ID, it.ProductID, it.Quantity); err != nil {
			return Reservation{}, fault.Wrap(err, fault.Internal, "could not store the reservation")
		}
	}
	if err := tx.Commit(); err != nil {
		return Reservation{}, fault.Wrap(err, fault.Internal, "could not store the reservation")
	}
	return res, nil
}

// Release gives a reserved reservation's units back to the available
// stock. Releasing a released reservation returns it unchanged; releasing
// a committed one is a FailedPrecondition error (409 over HTTP). Releasing
// an unknown id records it released, with no items: a saga compensates a
// reservation whose answer it never got, and the reservation, should it
// arrive after the release, is then refused and takes nothing.
func (s *Service) Release(ctx context.Context, req ReservationRequest) (Reservation, error) {
	return s.settle(ctx, req.ID, Released,
		`UPDATE stock SET available = available + $1, reserved = reserved - $1, updated_at = $2 WHERE product_id = $3`)
}

// Commit settles a reserved reservation: its units leave the shop, so
// they stop being held and do not come back to the available stock.
// Committing a committed reservation returns it unchanged; committing a
// released one is a FailedPrecondition error (409 over HTTP), and an
// unknown id a NotFound one.
func (s *Service) Commit(ctx context.Context, req ReservationRequest) (Reservation, error) {
	return s.settle(ctx, req.ID, Committed,
		`UPDATE stock SET reserved = reserved - $1, updated_at = $2 WHERE product_id = $3`)
}

// settle moves reservation id from Reserved to state, running update for
// each of its items with the quantity, the time and the product id.
//
// The state changes first, by a conditional update, so that of two calls
// at once only one finds the reservation reserved and moves its stock;
// the other, like any later repeat, finds it settled and answers by its
// state.
func (s *Service) settle(ctx context.Context, id string, state State, update string) (Reservation, error) {
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return Reservation{}, fault.Wrap(err, fault.Internal, "could not update the reservation")
	}
	defer tx.Rollback()
	now := time.Now().UTC()
	r, err := tx.ExecContext(ctx, `UPDATE reservations SET state = $1, updated_at = $2 WHERE id = $3 AND state = $4`,
		string(state), now, id, string(Reserved))
	if err != nil {
		return Reservation{}, fault.Wrap(err, fault.Internal, "could not update the reservation")
	}
	moved, err := r.RowsAffected()
	if err != nil {
		return Reservation{}, fault.Wrap(err, fault.Internal, "could not update the reservation")
	}
	res, err := loadReservation(ctx, tx, id)
	if errors.Is(err, fault.NotFound) && state == Released {
		// A release that comes before its reservation leaves a
		// released one with nothing in it, so the reservation, should
		// it still arrive, takes nothing.
		r, err := tx.ExecContext(ctx, `INSERT INTO reservations (id, state, created_at, updated_at) VALUES ($1, $2, $3, $3) ON CONFLICT (id) DO NOTHING`,
			id, string(Released), now)
		if err != nil {
			return Reservation{}, fault.Wrap(err, fault.Internal, "could not record the release")
		}
		if n, err := r.RowsAffected(); err == nil && n == 0 {
			// The reservation was made meanwhile: release it as usual.
			_ = tx.Rollback()
			return s.settle(ctx, id, state, update)
		}
		if err := tx.Commit(); err != nil {
			return Reservation{}, fault.Wrap(err, fault.Internal, "could not record the release")
		}
		return Reservation{ID: id, State: Released, Items: []Item{}}, nil
	}
	if err != nil {
		return Reservation{}, err
	}
	if moved == 0 {
		if res.State == state {
			return res, nil
		}
		verb := map[State]string{Released: "release", Committed: "commit"}[state]
		return Reservation{}, &fault.Error{
			Kind:   fault.FailedPrecondition,
			Status: http.StatusConflict,
			Detail: fmt.Sprintf("cannot %s reservation %q: it is %s already, and a %s reservation stays so", verb, id, res.State, res.State),
		}
	}
	for _, it := range res.Items {
		if _, err := tx.ExecContext(ctx, update, it.Quantity, now, it.ProductID); err != nil {
			return Reservation{}, fault.Wrap(err, fault.Internal, "could not update the stock")
		}
	}
	if err := tx.Commit(); err != nil {
		return Reservation{}, fault.Wrap(err, fault.Internal, "could not update the reservation")
	}
	return res, nil
}

// loadReservation reads reservation id and its items, or returns a
// NotFound error.
func loadReservation(ctx context.Context, tx *sql.Tx, id string) (Reservation, error) {
	res := Reservation{ID: id, Items: []Item{}}
	var state string
	err := tx.QueryRowContext(ctx, `SELECT state FROM reservations WHERE id = $1`, id).Scan(&state)
	if errors.Is(err, sql.ErrNoRows) {
		return Reservation{}, fault.New(fault.NotFound, fmt.Sprintf("no reservation has id %q; reserve first, with POST /internal/v1/reservations", id))
	}
	if err != nil {
		return Reservation{}, fault.Wrap(err, fault.Internal, "could not read the reservation")
	}
	res.State = State(state)
	rows, err := tx.QueryContext(ctx, `SELECT product_id, quantity FROM reservation_items WHERE reservation_id = $1`, id)
	if err != nil {
		return Reservation{}, fault.Wrap(err, fault.Internal, "could not read the reservation")
	}
	defer rows.Close()
	for rows.Next() {
		var it Item
		if err := rows.Scan(&it.ProductID, &it.Quantity); err != nil {
			return Reservation{}, fault.Wrap(err, fault.Internal, "could not read the reservation")
		}
		res.Items = append(res.Items, it)
	}
	if err := rows.Err(); err != nil {
		return Reservation{}, fault.Wrap(err, fault.Internal, "could not read the reservation")
	}
	sortItems(res.Items)
	return res, nil
}

// sortItems sorts items by product id, byte by byte, as a database's
// collation might not.
func sortItems(items []Item) {
	slices.SortFunc(items, func(a, b Item) int { return strings.Compare(a.ProductID, b.ProductID) })
}
