// Package stats is the shop's view of its catalog, built from the
// catalog's events rather than by calling it: how many products were
// created, per currency. It consumes product.created through an inbox
// (package [github.com/tailorkit/tailor/messaging/inbox]) in its own
// database, so each product counts once however often its event is
// delivered.
//
//	GET /v1/stats -> {"products_created": 3, "by_currency": {"EUR": 2, "USD": 1}}
package stats

import (
	"context"
	"database/sql"
	"embed"
	"net/http"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/tailorkit/tailor"
	"github.com/tailorkit/tailor/examples/shop/catalog"
	"github.com/tailorkit/tailor/fault"
	"github.com/tailorkit/tailor/messaging"
	"github.com/tailorkit/tailor/messaging/inbox"
	"github.com/tailorkit/tailor/migrate"
	"github.com/tailorkit/tailor/openapi"
	thttp "github.com/tailorkit/tailor/transport/http"
)

// ConsumerName is the durable consumer's name, and the inbox's.
const ConsumerName = "shop-stats"

//go:embed migrations/*.sql
var migrations embed.FS

// Migrate brings db's schema up to date: the counts and the inbox.
func Migrate(ctx context.Context, db *sql.DB) error {
	if _, err := migrate.Up(ctx, db, migrations, migrate.WithDir("migrations")); err != nil {
		return err
	}
	return inbox.Migrate(ctx, db, 0)
}

// Stats counts the products created. It is safe for concurrent use.
type Stats struct {
	db    *sql.DB
	inbox *inbox.Inbox
	tel   messaging.Telemetry
}

// New returns the stats kept in db, whose schema [Migrate] has set up,
// reporting to tel (the service's telemetry; nil: nowhere).
func New(db *sql.DB, tel messaging.Telemetry) (*Stats, error) {
	in, err := inbox.New(db, ConsumerName, inbox.WithTelemetry(tel))
	if err != nil {
		return nil, err
	}
	return &Stats{db: db, inbox: in, tel: tel}, nil
}

// Handler applies each product.created event once.
func (s *Stats) Handler() messaging.Handler {
	return inbox.Handle(s.inbox, catalog.ProductCreatedEvent(), func(ctx context.Context, tx *sql.Tx, _ messaging.Event, p catalog.ProductCreated) error {
		_, err := tx.ExecContext(ctx,
			`INSERT INTO product_counts (currency, n) VALUES ($1, 1) ON CONFLICT (currency) DO UPDATE SET n = product_counts.n + 1`,
			p.Price.Currency)
		return err
	})
}

// AckWait bounds how late the stats learn of a product when the process
// crashed while it held the product's event: the broker delivers the
// event again this long after it last did.
const AckWait = 5 * time.Second

// NewConsumer returns the durable consumer of the catalog's
// product.created events that feeds s; add it to the service. Its 16
// workers hand the inbox several events at a time, which it applies in one
// transaction; the events of one product stay in order. A failed event is
// delivered again after 1s, 5s, then every 30s, and dead-lettered after 5
// attempts (messaging's defaults).
func NewConsumer(js jetstream.JetStream, s *Stats) (*messaging.Consumer, error) {
	return messaging.NewConsumer(js, catalog.Stream, ConsumerName, s.Handler(),
		messaging.WithSubjects(catalog.SubjectProductCreated),
		messaging.WithWorkers(16),
		messaging.WithAckWait(AckWait),
		messaging.WithTelemetry(s.tel))
}

// Pruner returns the component that forgets, hourly, the ids of events
// applied more than 8 days ago, longer than the catalog's stream keeps
// them; add it to the service beside the consumer.
func (s *Stats) Pruner() *inbox.Pruner {
	return s.inbox.Pruner()
}

// Request asks for the stats.
type Request struct{}

// Response is the stats.
type Response struct {
	ProductsCreated int64            `json:"products_created"`
	ByCurrency      map[string]int64 `json:"by_currency"`
}

// Get returns the counts.
func (s *Stats) Get(ctx context.Context, _ Request) (Response, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT currency, n FROM product_counts ORDER BY currency`)
	if err != nil {
		return Response{}, fault.Wrap(err, fault.Internal, "could not read the stats")
	}
	defer rows.Close()
	resp := Response{ByCurrency: map[string]int64{}}
	for rows.Next() {
		var c string
		var n int64
		if err := rows.Scan(&c, &n); err != nil {
			return Response{}, fault.Wrap(err, fault.Internal, "could not read the stats")
		}
		resp.ByCurrency[c] = n
		resp.ProductsCreated += n
	}
	if err := rows.Err(); err != nil {
		return Response{}, fault.Wrap(err, fault.Internal, "could not read the stats")
	}
	return resp, nil
}

// DescribeHTTP records in doc the operation that [RegisterHTTP] serves.
func DescribeHTTP(doc *openapi.Document) {
	openapi.Route[Request, Response](doc, "GET /v1/stats", openapi.Op{
		ID:          "getStats",
		Summary:     "Count the products created, per currency",
		Description: "Built from the catalog's product.created events, so it can lag the catalog by the events in flight.",
		Tags:        []string{"stats"},
	})
}

// RegisterHTTP serves GET /v1/stats on r.
func RegisterHTTP(r *thttp.Router, s *Stats) {
	r.Handle("GET /v1/stats", thttp.NewServer(
		tailor.Endpoint(s.Get), thttp.DecodeRequest[Request](), thttp.EncodeJSON(http.StatusOK)))
}
