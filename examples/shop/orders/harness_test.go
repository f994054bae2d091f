package orders

import (
	"bytes"
	"context"
	"database/sql"
	"encoding/json"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"net/http/httptest"
	"strconv"
	"sync/atomic"
	"testing"
	"time"

	"github.com/tailorkit/tailor/auth"
	"github.com/tailorkit/tailor/discovery"
	"github.com/tailorkit/tailor/discovery/memory"
	"github.com/tailorkit/tailor/examples/shop/catalog"
	"github.com/tailorkit/tailor/examples/shop/inventory"
	"github.com/tailorkit/tailor/examples/shop/payments"
	"github.com/tailorkit/tailor/sqlite"
	thttp "github.com/tailorkit/tailor/transport/http"
)

const (
	testIssuer   = "https://users.shop.test"
	testAudience = "shop"
)

// shop is the orders service served on loopback, with real catalog,
// inventory and payments services, each on loopback with its own SQLite
// database, found through a memory registry.
type shop struct {
	reg      *memory.Registry
	signer   *auth.Signer
	verifier *auth.Verifier

	catalog *catalog.Service
	stock   *inventory.Service
	stockDB *sql.DB
	pay     *payments.Service
	payInst discovery.Instance
	paySrv  *httptest.Server

	db     *sql.DB
	cfg    Config
	orders *Service
	router atomic.Pointer[thttp.Router]
	url    string
}

// setup changes how the shop is made.
type setup struct {
	cfg      Config
	payments []payments.Option
	openDB   func(t testing.TB) *sql.DB
}

func withConfig(f func(*Config)) func(*setup) { return func(s *setup) { f(&s.cfg) } }
func withPayments(opts ...payments.Option) func(*setup) {
	return func(s *setup) { s.payments = append(s.payments, opts...) }
}
func withDB(open func(t testing.TB) *sql.DB) func(*setup) { return func(s *setup) { s.openDB = open } }

// seeded returns a payments option whose draws repeat from seed.
func seeded(seed uint64) payments.Option {
	r := rand.New(rand.NewPCG(seed, seed))
	return payments.WithRandom(r.Float64)
}

func openSQLite(t testing.TB, name string) *sql.DB {
	t.Helper()
	db, err := sqlite.Open(t.TempDir() + "/" + name + ".db")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

func newShop(t testing.TB, mods ...func(*setup)) *shop {
	t.Helper()
	ctx := context.Background()
	st := setup{openDB: func(t testing.TB) *sql.DB { return openSQLite(t, "orders") }}
	for _, m := range mods {
		m(&st)
	}
	key, err := auth.GenerateKey()
	if err != nil {
		t.Fatal(err)
	}
	sh := &shop{reg: memory.New()}
	if sh.signer, err = auth.NewSigner(testIssuer, testAudience, auth.WithSigningKey(key)); err != nil {
		t.Fatal(err)
	}
	if sh.verifier, err = auth.NewVerifier(sh.signer, testIssuer, testAudience); err != nil {
		t.Fatal(err)
	}

	catalogDB := openSQLite(t, "catalog")
	if err := catalog.Migrate(ctx, catalogDB); err != nil {
		t.Fatal(err)
	}
	sh.catalog = catalog.NewService(catalogDB)
	r := thttp.NewRouter()
	catalog.RegisterHTTP(r, sh.catalog)
	sh.serve(t, Catalog, "catalog-1", r)

	sh.stockDB = openSQLite(t, "inventory")
	if err := inventory.Migrate(ctx, sh.stockDB); err != nil {
		t.Fatal(err)
	}
	if sh.stock, err = inventory.NewService(sh.stockDB); err != nil {
		t.Fatal(err)
	}
	r = thttp.NewRouter()
	inventory.RegisterHTTP(r, sh.stock)
	sh.serve(t, Inventory, "inventory-1", r)

	payDB := openSQLite(t, "payments")
	if err := payments.Migrate(ctx, payDB); err != nil {
		t.Fatal(err)
	}
	if sh.pay, err = payments.NewService(payDB, st.payments...); err != nil {
		t.Fatal(err)
	}
	sh.startPayments(t)

	sh.db = st.openDB(t)
	if err := Migrate(ctx, sh.db); err != nil {
		t.Fatal(err)
	}
	sh.cfg = st.cfg
	sh.cfg.Resolver = sh.reg
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		sh.router.Load().ServeHTTP(w, r)
	}))
	t.Cleanup(srv.Close)
	sh.url = srv.URL
	sh.startOrders(t)
	return sh
}

// startOrders makes the orders service and serves it.
func (sh *shop) startOrders(t testing.TB) {
	t.Helper()
	s, err := NewService(sh.db, sh.cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	r := thttp.NewRouter(thttp.WithMiddleware(sh.verifier.HTTPMiddleware()))
	RegisterHTTP(r, s)
	sh.orders = s
	sh.router.Store(r)
	sh.waitInstances(t, Catalog, 1)
	sh.waitInstances(t, Inventory, 1)
	sh.waitInstances(t, Payments, 1)
}

// restart closes the orders service, which stops the sagas it runs after
// their step in hand, and starts another on the same database, as a new
// process would.
func (sh *shop) restart(t testing.TB) {
	t.Helper()
	if err := sh.orders.Close(); err != nil {
		t.Fatal(err)
	}
	sh.startOrders(t)
}

// serve serves h on loopback as instance id of service, registered.
func (sh *shop) serve(t testing.TB, service, id string, h http.Handler) (*httptest.Server, discovery.Instance) {
	t.Helper()
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	host, port, _ := net.SplitHostPort(srv.Listener.Addr().String())
	p, _ := strconv.Atoi(port)
	inst := discovery.Instance{ID: id, Service: service, Address: host, Port: p}
	if err := sh.reg.Register(context.Background(), inst); err != nil {
		t.Fatal(err)
	}
	return srv, inst
}

// startPayments serves the payments service on a new listener and
// registers it.
func (sh *shop) startPayments(t testing.TB) {
	t.Helper()
	r := thttp.NewRouter()
	payments.RegisterHTTP(r, sh.pay)
	sh.paySrv, sh.payInst = sh.serve(t, Payments, "payments-"+strconv.Itoa(int(time.Now().UnixNano()%1e6)), r)
}

// stopPayments deregisters the payments service and stops its server.
func (sh *shop) stopPayments(t testing.TB) {
	t.Helper()
	if err := sh.reg.Deregister(context.Background(), sh.payInst); err != nil {
		t.Fatal(err)
	}
	sh.paySrv.Close()
}

// waitInstances waits until the orders' client of service has n
// instances. The registry tells clients of a change on goroutines of its
// own, and no event marks the moment the client has taken it in, so this
// is a bounded wait.
func (sh *shop) waitInstances(t testing.TB, service string, n int) {
	t.Helper()
	c := map[string]interface{ Instances() []discovery.Instance }{
		Catalog: sh.orders.calls.catalog, Inventory: sh.orders.calls.inventory.client, Payments: sh.orders.calls.payments.client,
	}[service]
	deadline := time.Now().Add(5 * time.Second)
	for len(c.Instances()) != n {
		if time.Now().After(deadline) {
			t.Fatalf("the orders' client of %s has %d instances, want %d", service, len(c.Instances()), n)
		}
		time.Sleep(time.Millisecond)
	}
}

// product adds a product priced amount in currency, with stock units.
func (sh *shop) product(t testing.TB, name string, amount int64, currency string, units int64) string {
	t.Helper()
	ctx := context.Background()
	p, err := sh.catalog.CreateProduct(ctx, catalog.CreateProductRequest{Name: name, Description: name, Price: catalog.Money{Amount: amount, Currency: currency}})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := sh.stock.SetStock(ctx, inventory.SetStockRequest{ProductID: p.ID, Available: units}); err != nil {
		t.Fatal(err)
	}
	return p.ID
}

// token signs a token for subject with roles.
func (sh *shop) token(t testing.TB, subject string, roles ...string) string {
	t.Helper()
	tok, err := sh.signer.Sign(auth.Claims{Subject: subject, Roles: roles}, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	return tok
}

// answer is a response with its body read.
type answer struct {
	status int
	header http.Header
	body   []byte
}

// do sends method path with body, as the bearer of token (none when
// empty) with an Idempotency-Key (none when empty).
func (sh *shop) do(t testing.TB, method, path, token, key, body string) answer {
	t.Helper()
	var rd io.Reader
	if body != "" {
		rd = bytes.NewReader([]byte(body))
	}
	req, err := http.NewRequest(method, sh.url+path, rd)
	if err != nil {
		t.Fatal(err)
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	if key != "" {
		req.Header.Set("Idempotency-Key", key)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return answer{status: resp.StatusCode, header: resp.Header, body: b}
}

// order decodes an answer that must have status want as an Order.
func (a answer) order(t testing.TB, want int) Order {
	t.Helper()
	if a.status != want {
		t.Fatalf("status %d, want %d; body %s", a.status, want, a.body)
	}
	var o Order
	if err := json.Unmarshal(a.body, &o); err != nil {
		t.Fatalf("decode %s: %v", a.body, err)
	}
	return o
}

// problem decodes a problem+json answer that must have status want.
func (a answer) problem(t testing.TB, want int) thttp.Problem {
	t.Helper()
	if a.status != want {
		t.Fatalf("status %d, want %d; body %s", a.status, want, a.body)
	}
	if ct := a.header.Get("Content-Type"); ct != thttp.ProblemContentType {
		t.Fatalf("Content-Type = %q, want %s; body %s", ct, thttp.ProblemContentType, a.body)
	}
	var p thttp.Problem
	if err := json.Unmarshal(a.body, &p); err != nil {
		t.Fatalf("decode %s: %v", a.body, err)
	}
	return p
}

// itemsBody is the body of an order of quantity of each product.
func itemsBody(quantity int64, products ...string) string {
	var req PlaceOrderRequest
	for _, p := range products {
		req.Items = append(req.Items, Item{ProductID: p, Quantity: quantity})
	}
	b, _ := json.Marshal(req)
	return string(b)
}

// stockOf returns the available, reserved and sold (committed) units of
// product in the inventory's database.
func (sh *shop) stockOf(t testing.TB, product string) (available, reserved, sold int64) {
	t.Helper()
	ctx := context.Background()
	if err := sh.stockDB.QueryRowContext(ctx, `SELECT available, reserved FROM stock WHERE product_id = $1`, product).Scan(&available, &reserved); err != nil {
		t.Fatal(err)
	}
	if err := sh.stockDB.QueryRowContext(ctx, `SELECT COALESCE(SUM(i.quantity), 0) FROM reservation_items i JOIN reservations r ON r.id = i.reservation_id
WHERE i.product_id = $1 AND r.state = 'committed'`, product).Scan(&sold); err != nil {
		t.Fatal(err)
	}
	return available, reserved, sold
}

// charged returns the payments recorded for order id, by status.
func (sh *shop) charged(t testing.TB, id string) map[payments.Status]int {
	t.Helper()
	list, err := sh.pay.ListPayments(context.Background(), payments.ListPaymentsRequest{OrderID: id})
	if err != nil {
		t.Fatal(err)
	}
	got := map[payments.Status]int{}
	for _, p := range list.Payments {
		got[p.Status]++
	}
	return got
}

// outboxSubjects returns the subjects of the outbox's events of order id,
// in the order they were written.
func (sh *shop) outboxSubjects(t testing.TB, id string) []string {
	t.Helper()
	rows, err := sh.db.QueryContext(context.Background(), `SELECT subject FROM tailor_outbox WHERE aggregate = $1 ORDER BY seq`, id)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var got []string
	for rows.Next() {
		var s string
		if err := rows.Scan(&s); err != nil {
			t.Fatal(err)
		}
		got = append(got, s)
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return got
}

// decode decodes a 200 answer into v.
func decode(t testing.TB, a answer, v any) {
	t.Helper()
	if a.status != http.StatusOK {
		t.Fatalf("status %d, want 200; body %s", a.status, a.body)
	}
	if err := json.Unmarshal(a.body, v); err != nil {
		t.Fatalf("decode %s: %v", a.body, err)
	}
}
