// Package catalog is the shop's product catalog: products with a name, a
// description and a price, kept in the service's own database.
//
// [Service] holds the business rules and is written with typed endpoints;
// [RegisterGRPC] serves it over gRPC (tailor.shop.catalog.v1.CatalogService,
// with [NewGRPCClient] for callers) and [RegisterHTTP] over HTTP:
//
//	GET  /v1/products?limit=20&cursor=...  -> {"items": [...], "next_cursor": "..."}
//	GET  /v1/products/{id}
//	POST /v1/products {"name": "...", "description": "...", "price": {"amount": 1999, "currency": "EUR"}, "stock": 10} -> 201
//
// Creating a product announces it: the catalog writes a
// [ProductCreatedEvent] to its transactional outbox in the transaction
// that stores the product, and an outbox relay (see
// [github.com/tailorkit/tailor/messaging/outbox]) publishes it on
// [SubjectProductCreated] in stream [Stream].
package catalog

import (
	"context"
	"database/sql"
	"encoding/base64"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/google/uuid"
	"golang.org/x/text/currency"

	"github.com/tailorkit/tailor/fault"
	"github.com/tailorkit/tailor/messaging"
	"github.com/tailorkit/tailor/messaging/outbox"
)

// The catalog's events.
const (
	// Stream is the JetStream stream that holds the catalog's events.
	Stream = "CATALOG"
	// StreamSubjects is the subjects of Stream.
	StreamSubjects = "catalog.>"
	// SubjectProductCreated is where [ProductCreatedEvent]s are published.
	SubjectProductCreated = "catalog.product.created"
)

// ProductCreated is the payload of the product.created event, version 1.
type ProductCreated struct {
	ID        string    `json:"id"`
	Name      string    `json:"name"`
	Price     Money     `json:"price"`
	CreatedAt time.Time `json:"created_at"`
	// Stock is the initial stock the product was created with, 0 when
	// none was given; the inventory starts counting from it. Consumers
	// that predate the field read it as absent.
	Stock int64 `json:"stock,omitempty"`
}

// ProductCreatedEvent is the product.created event type: a product was
// created. Consumers decode it with its Decode or Handler method.
func ProductCreatedEvent() messaging.Type[ProductCreated] {
	return messaging.Type[ProductCreated]{Name: "product.created", Version: 1}
}

// Money is an amount in a currency's minor units (cents for EUR).
type Money struct {
	Amount   int64  `json:"amount"`
	Currency string `json:"currency"`
}

// Product is one thing the shop sells.
type Product struct {
	ID          string    `json:"id"`
	Name        string    `json:"name"`
	Description string    `json:"description"`
	Price       Money     `json:"price"`
	CreatedAt   time.Time `json:"created_at"`
}

// Limits on input.
const (
	MaxNameLen        = 200
	MaxDescriptionLen = 4000
	DefaultPageSize   = 20
	MaxPageSize       = 100
	MaxInitialStock   = 1_000_000
)

// CreateProductRequest is the body of POST /v1/products.
type CreateProductRequest struct {
	Name        string `json:"name"`
	Description string `json:"description"`
	Price       Money  `json:"price"`
	// Stock, when given, is the product's initial stock, handed to the
	// inventory with the product.created event.
	Stock *int64 `json:"stock,omitempty" jsonschema:"minimum=0,maximum=1000000"`
}

// Validate lists every problem with the request at once: a name of 1 to
// [MaxNameLen] characters without control characters, a description of at
// most [MaxDescriptionLen] characters without control characters other than
// tab and line breaks, an amount of zero or more, a currency that is an
// ISO 4217 code in upper case, and a stock, when given, of 0 to
// [MaxInitialStock].
func (r CreateProductRequest) Validate() error {
	var v []fault.Violation
	name := strings.TrimSpace(r.Name)
	switch {
	case name == "":
		v = append(v, fault.Violation{Field: "name", Description: "is required"})
	case utf8.RuneCountInString(name) > MaxNameLen:
		v = append(v, fault.Violation{Field: "name", Description: fmt.Sprintf("must be at most %d characters", MaxNameLen)})
	case strings.ContainsFunc(name, unicode.IsControl):
		v = append(v, fault.Violation{Field: "name", Description: "must not contain control characters (such as NUL, tab or a line break); send one line of printable text"})
	}
	switch {
	case utf8.RuneCountInString(r.Description) > MaxDescriptionLen:
		v = append(v, fault.Violation{Field: "description", Description: fmt.Sprintf("must be at most %d characters", MaxDescriptionLen)})
	case strings.ContainsFunc(r.Description, func(c rune) bool { return unicode.IsControl(c) && c != '\t' && c != '\n' && c != '\r' }):
		v = append(v, fault.Violation{Field: "description", Description: "must not contain control characters other than tab and line breaks"})
	}
	if r.Price.Amount < 0 {
		v = append(v, fault.Violation{Field: "price.amount", Description: "must be zero or more, in the currency's minor units (1299 for 12.99 EUR)"})
	}
	if !isCurrency(r.Price.Currency) {
		v = append(v, fault.Violation{Field: "price.currency", Description: fmt.Sprintf("must be an ISO 4217 currency code in upper case, such as EUR or USD; %q is not one", r.Price.Currency)})
	}
	if r.Stock != nil && (*r.Stock < 0 || *r.Stock > MaxInitialStock) {
		v = append(v, fault.Violation{Field: "stock", Description: fmt.Sprintf("must be from 0 to %d units, got %d; leave it out to set the stock later", MaxInitialStock, *r.Stock)})
	}
	if len(v) > 0 {
		return fault.Invalid(v...)
	}
	return nil
}

// isCurrency reports whether s is a currency's ISO 4217 code, in upper
// case; XXX ("no currency") and XTS (reserved for tests) are not.
func isCurrency(s string) bool {
	if len(s) != 3 || s == "XXX" || s == "XTS" {
		return false
	}
	for i := 0; i < 3; i++ {
		if s[i] < 'A' || s[i] > 'Z' {
			return false
		}
	}
	_, err := currency.ParseISO(s)
	return err == nil
}

// GetProductRequest names one product.
type GetProductRequest struct {
	ID string
}

// BindHTTP takes the ID from the path.
func (r *GetProductRequest) BindHTTP(req *http.Request) error {
	r.ID = req.PathValue("id")
	return nil
}

// ListProductsRequest asks for one page of products, oldest first.
type ListProductsRequest struct {
	// Limit is the page size: 1 to MaxPageSize, 0 for DefaultPageSize.
	Limit int
	// Cursor continues from a previous page's NextCursor; empty for the
	// first page.
	Cursor string
}

// BindHTTP reads limit and cursor from the query. A limit that is not a
// whole number, or a parameter given twice, cannot be read and is 400; a
// whole number out of range is 422, as the gRPC transport answers for the
// same request.
func (r *ListProductsRequest) BindHTTP(req *http.Request) error {
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
		case n < 1 || n > MaxPageSize:
			return fault.Invalid(fault.Violation{Field: "limit", Description: fmt.Sprintf("must be from 1 to %d, got %d", MaxPageSize, n)})
		}
		r.Limit = n
	}
	r.Cursor = q.Get("cursor")
	return nil
}

// ListProductsResponse is one page of products.
type ListProductsResponse struct {
	Items      []Product `json:"items"`
	NextCursor string    `json:"next_cursor,omitempty"`
}

// Service is the catalog's business logic over its database. It is safe
// for concurrent use.
type Service struct {
	db     *sql.DB
	outbox *outbox.Outbox
}

// Option configures a [Service].
type Option func(*Service)

// WithTelemetry makes the outbox report its spans to tel (the service's
// telemetry), so a product.created event carries the trace of the request
// that created the product.
func WithTelemetry(tel messaging.Telemetry) Option {
	return func(s *Service) {
		// outbox.New fails only when tel's meter provider cannot make its
		// instruments; s.outbox then stays nil and NewService falls back to
		// an outbox without telemetry, as the catalog works without it.
		s.outbox, _ = outbox.New(outbox.WithTelemetry(tel))
	}
}

// NewService returns a catalog over db, whose schema [Migrate] has set up.
func NewService(db *sql.DB, opts ...Option) *Service {
	s := &Service{db: db}
	for _, o := range opts {
		o(s)
	}
	if s.outbox == nil {
		s.outbox, _ = outbox.New() // no telemetry: never fails
	}
	return s
}

// CreateProduct stores a new product and returns it with its ID.
func (s *Service) CreateProduct(ctx context.Context, req CreateProductRequest) (Product, error) {
	if err := req.Validate(); err != nil {
		return Product{}, err
	}
	id, err := uuid.NewV7()
	if err != nil {
		return Product{}, fault.Wrap(err, fault.Internal, "could not make a product id")
	}
	p := Product{
		ID:          id.String(),
		Name:        strings.TrimSpace(req.Name),
		Description: req.Description,
		Price:       req.Price,
		CreatedAt:   time.Now().UTC().Truncate(time.Microsecond),
	}
	created := ProductCreated{ID: p.ID, Name: p.Name, Price: p.Price, CreatedAt: p.CreatedAt}
	if req.Stock != nil {
		created.Stock = *req.Stock
	}
	event, err := ProductCreatedEvent().New(p.ID, created)
	if err != nil {
		return Product{}, fault.Wrap(err, fault.Internal, "could not make the product.created event")
	}
	// The product and its event commit together, or neither does.
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return Product{}, fault.Wrap(err, fault.Internal, "could not store the product")
	}
	defer tx.Rollback()
	_, err = tx.ExecContext(ctx,
		`INSERT INTO products (id, name, description, price_amount, price_currency, created_at) VALUES ($1, $2, $3, $4, $5, $6)`,
		p.ID, p.Name, p.Description, p.Price.Amount, p.Price.Currency, p.CreatedAt)
	if err != nil {
		return Product{}, fault.Wrap(err, fault.Internal, "could not store the product")
	}
	if err := s.outbox.Add(ctx, tx, SubjectProductCreated, event); err != nil {
		return Product{}, fault.Wrap(err, fault.Internal, "could not store the product")
	}
	if err := tx.Commit(); err != nil {
		return Product{}, fault.Wrap(err, fault.Internal, "could not store the product")
	}
	return p, nil
}

// GetProduct returns one product, or a NotFound error.
func (s *Service) GetProduct(ctx context.Context, req GetProductRequest) (Product, error) {
	if _, err := uuid.Parse(req.ID); err != nil {
		return Product{}, fault.New(fault.NotFound, fmt.Sprintf("no product has id %q; product ids look like 0190d9a4-7c1e-7b5e-8f3a-2b1c4d5e6f70", req.ID))
	}
	row := s.db.QueryRowContext(ctx,
		`SELECT id, name, description, price_amount, price_currency, created_at FROM products WHERE id = $1`, req.ID)
	p, err := scanProduct(row)
	if errors.Is(err, sql.ErrNoRows) {
		return Product{}, fault.New(fault.NotFound, fmt.Sprintf("no product has id %q", req.ID))
	}
	if err != nil {
		return Product{}, fault.Wrap(err, fault.Internal, "could not read the product")
	}
	return p, nil
}

// ListProducts returns a page of products in the order they were created.
func (s *Service) ListProducts(ctx context.Context, req ListProductsRequest) (ListProductsResponse, error) {
	limit := req.Limit
	if limit == 0 {
		limit = DefaultPageSize
	}
	if limit < 1 || limit > MaxPageSize {
		return ListProductsResponse{}, fault.Invalid(fault.Violation{Field: "limit", Description: fmt.Sprintf("must be from 1 to %d", MaxPageSize)})
	}
	after := ""
	if req.Cursor != "" {
		b, err := base64.RawURLEncoding.DecodeString(req.Cursor)
		if err != nil || uuid.Validate(string(b)) != nil {
			return ListProductsResponse{}, fault.Invalid(fault.Violation{Field: "cursor", Description: "is not a cursor this API gave out; pass next_cursor from the previous page, or none for the first page"})
		}
		after = string(b)
	}
	// Version 7 UUIDs sort by creation time, so the id is the cursor.
	rows, err := s.db.QueryContext(ctx,
		`SELECT id, name, description, price_amount, price_currency, created_at FROM products WHERE id > $1 ORDER BY id LIMIT $2`,
		after, limit+1)
	if err != nil {
		return ListProductsResponse{}, fault.Wrap(err, fault.Internal, "could not list products")
	}
	defer rows.Close()
	resp := ListProductsResponse{Items: make([]Product, 0, limit)}
	for rows.Next() {
		p, err := scanProduct(rows)
		if err != nil {
			return ListProductsResponse{}, fault.Wrap(err, fault.Internal, "could not read a product")
		}
		resp.Items = append(resp.Items, p)
	}
	if err := rows.Err(); err != nil {
		return ListProductsResponse{}, fault.Wrap(err, fault.Internal, "could not list products")
	}
	if len(resp.Items) > limit {
		resp.Items = resp.Items[:limit]
		resp.NextCursor = base64.RawURLEncoding.EncodeToString([]byte(resp.Items[limit-1].ID))
	}
	return resp, nil
}

type scanner interface{ Scan(dest ...any) error }

func scanProduct(sc scanner) (Product, error) {
	var p Product
	err := sc.Scan(&p.ID, &p.Name, &p.Description, &p.Price.Amount, &p.Price.Currency, &p.CreatedAt)
	p.CreatedAt = p.CreatedAt.UTC()
	return p, err
}
