package main

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/x509"
	"database/sql"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/stdlib"

	"github.com/tailorkit/tailor/auth"
	"github.com/tailorkit/tailor/examples/shop/users"
	"github.com/tailorkit/tailor/internal/testenv"
	"github.com/tailorkit/tailor/observability"
	"github.com/tailorkit/tailor/resilience"
	"github.com/tailorkit/tailor/service"
	thttp "github.com/tailorkit/tailor/transport/http"
)

const testAdminPassword = "a long admin passphrase"

// testShop runs the whole shop in the test's process, on loopback ports,
// with its data in a new folder, and stops it when the test ends. Its
// tokens are signed with key, which the test can use to forge some.
type testShop struct {
	*shop
	base string // the gateway's URL
	key  ed25519.PrivateKey
}

// startTestShop starts the shop on db, configured by configure when not
// nil, once no other test runs a whole shop ([testenv.Crowd]); it stops
// when the test ends.
func startTestShop(t *testing.T, db string, configure func(*config)) *testShop {
	t.Helper()
	testenv.Crowd(t)
	key, err := auth.GenerateKey()
	if err != nil {
		t.Fatal(err)
	}
	der, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	t.Setenv(users.EnvSigningKey, string(pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der})))
	t.Setenv("NATS_URL", "")
	cfg := config{
		base:          service.Config{HTTPAddr: "127.0.0.1:0", ShutdownTimeout: 5 * time.Second},
		data:          t.TempDir(),
		adminPassword: testAdminPassword,
		logger:        observability.NewLogger(io.Discard, observability.LogConfig{}),
		stdout:        io.Discard,
	}
	if db == postgres {
		cfg.databaseURL, cfg.databasePrefix = testPostgres(t)
	}
	// The tests poll the gateway for effects of events and place orders at
	// once; only the rate limits' own test limits them.
	cfg.gateway.PerIP.Rate, cfg.gateway.PerUser.Rate = -1, -1
	if configure != nil {
		configure(&cfg)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	sh, err := startShop(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := sh.stop(context.Background()); err != nil {
			t.Errorf("stopping the shop: %v", err)
		}
	})
	return &testShop{shop: sh, base: "http://" + sh.addr("gateway"), key: key}
}

// The databases the shop's tests run on.
const (
	sqliteFiles = "sqlite"   // SQLite files in the test's folder
	postgres    = "postgres" // PostgreSQL databases on testenv.PostgresURL
)

// onEachDatabase runs test as subtests on SQLite and on PostgreSQL, named
// after them.
func onEachDatabase(t *testing.T, test func(t *testing.T, db string)) {
	t.Helper()
	for _, db := range []string{sqliteFiles, postgres} {
		t.Run(db, func(t *testing.T) { test(t, db) })
	}
}

// testPostgres returns the test PostgreSQL server's URL and a new prefix
// for the shop's database names there; the databases are dropped when the
// test ends. A server that cannot be reached is [testenv.Missing].
func testPostgres(t *testing.T) (url, prefix string) {
	t.Helper()
	testenv.Short(t, "PostgreSQL")
	url = testenv.PostgresURL()
	server, err := pgx.ParseConfig(url)
	if err != nil {
		t.Fatalf("TAILOR_TEST_POSTGRES is not a valid PostgreSQL connection string: %v", err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	conn, err := pgx.ConnectConfig(ctx, server)
	if err != nil {
		testenv.Missing(t, fmt.Sprintf("PostgreSQL at %s:%d is unreachable: %v; start it with scripts/services.sh or point TAILOR_TEST_POSTGRES at a running server", server.Host, server.Port, err))
	}
	conn.Close(ctx)
	prefix = "shop_test_" + strings.ToLower(rand.Text()[:12])
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		admin := stdlib.OpenDB(*server) // a pool, to drop the databases together
		defer admin.Close()
		rows, err := admin.QueryContext(ctx, `SELECT datname FROM pg_database WHERE starts_with(datname, $1)`, prefix+"_")
		if err != nil {
			t.Errorf("listing the databases %s_*: %v", prefix, err)
			return
		}
		var names []string
		for rows.Next() {
			var name string
			if err := rows.Scan(&name); err != nil {
				t.Errorf("listing the databases %s_*: %v", prefix, err)
			}
			names = append(names, name)
		}
		if err := errors.Join(rows.Err(), rows.Close()); err != nil {
			t.Errorf("listing the databases %s_*: %v", prefix, err)
		}
		var wg sync.WaitGroup
		for _, name := range names {
			wg.Go(func() {
				if _, err := admin.ExecContext(ctx, "DROP DATABASE "+pgx.Identifier{name}.Sanitize()+" WITH (FORCE)"); err != nil {
					t.Errorf("dropping database %s: %v", name, err)
				}
			})
		}
		wg.Wait()
	})
	return url, prefix
}

// TestCreateDatabaseAtOnce: of shops starting at once on one PostgreSQL
// server, each creating the same service's database, every one succeeds.
func TestCreateDatabaseAtOnce(t *testing.T) {
	url, prefix := testPostgres(t)
	cfg := config{databaseURL: url, databasePrefix: prefix}
	var wg sync.WaitGroup
	for range 4 {
		wg.Go(func() {
			db, _, err := cfg.openDatabase(context.Background(), "orders")
			if err != nil {
				t.Errorf("openDatabase: %v, want nil whoever creates it", err)
				return
			}
			db.Close()
		})
	}
	wg.Wait()
	db := openServiceDB(t, cfg, "orders")
	if err := db.Ping(); err != nil {
		t.Fatalf("the database made at once: %v", err)
	}
}

// database opens the own database of the service called name, as the
// shop does, and closes it when the test ends.
func (s *testShop) database(t *testing.T, name string) *sql.DB {
	t.Helper()
	return openServiceDB(t, s.cfg, name)
}

// openServiceDB opens the own database of the service called name, where
// a shop run with cfg keeps it, and closes it when the test ends.
func openServiceDB(t *testing.T, cfg config, name string) *sql.DB {
	t.Helper()
	db, _, err := cfg.openDatabase(context.Background(), name)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

// call sends a request to the gateway and returns its answer and body;
// header holds further header names and values.
func (s *testShop) call(t *testing.T, method, path, token, body string, header ...string) (*http.Response, []byte) {
	t.Helper()
	req, err := http.NewRequest(method, s.base+path, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp, b
}

// expect calls and fails the test unless the answer has status want; it
// decodes a JSON body into out when out is not nil.
func (s *testShop) expect(t *testing.T, method, path, token, body string, want int, out any) *http.Response {
	t.Helper()
	resp, b := s.call(t, method, path, token, body)
	if resp.StatusCode != want {
		t.Fatalf("%s %s: %s %s, want %d", method, path, resp.Status, b, want)
	}
	if out != nil {
		if err := json.Unmarshal(b, out); err != nil {
			t.Fatalf("%s %s: %v in %s", method, path, err, b)
		}
	}
	return resp
}

// login returns a token for the account, signing it up first unless it is
// the administrator.
func (s *testShop) login(t *testing.T, email, password string) string {
	t.Helper()
	if email != users.AdminEmail {
		s.expect(t, "POST", "/v1/users", "", `{"email":"`+email+`","password":"`+password+`","name":"Test"}`, http.StatusCreated, nil)
	}
	var session struct{ Token string }
	s.expect(t, "POST", "/v1/sessions", "", `{"email":"`+email+`","password":"`+password+`"}`, http.StatusOK, &session)
	return session.Token
}

// eventually calls check until it reports done, for effects that travel
// through the event stream; it fails the test after a minute.
func eventually(t *testing.T, what string, check func() bool) {
	t.Helper()
	deadline := time.Now().Add(time.Minute)
	for !check() {
		if time.Now().After(deadline) {
			t.Fatalf("%s did not happen within a minute", what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

type productPage struct {
	ID          string   `json:"id"`
	Name        string   `json:"name"`
	Unavailable []string `json:"unavailable"`
	Stock       *struct {
		Available int64 `json:"available"`
	} `json:"stock"`
	Reviews *struct {
		Count   int64   `json:"count"`
		Average float64 `json:"average"`
	} `json:"reviews"`
}

// TestWalkthrough is the README's walkthrough, through the gateway: sign up,
// log in, read one's account, list the products; as the administrator
// create one with its stock, which the inventory learns from the catalog's
// event, set the stock, and see both on the product page.
func TestWalkthrough(t *testing.T) { onEachDatabase(t, walkthrough) }

func walkthrough(t *testing.T, db string) {
	s := startTestShop(t, db, nil)
	customer := s.login(t, "ada@example.com", "correct horse battery")
	var me struct{ Email, Role string }
	s.expect(t, "GET", "/v1/users/me", customer, "", http.StatusOK, &me)
	if me.Email != "ada@example.com" || me.Role != "customer" {
		t.Fatalf("me = %+v, want ada@example.com, a customer", me)
	}
	s.expect(t, "GET", "/v1/products", "", "", http.StatusOK, nil)

	admin := s.login(t, users.AdminEmail, testAdminPassword)
	var mug struct{ ID string }
	s.expect(t, "POST", "/v1/products", admin, `{"name":"Mug","description":"Blue","price":{"amount":1299,"currency":"EUR"},"stock":5}`, http.StatusCreated, &mug)
	var page productPage
	eventually(t, "the inventory learning the mug's stock", func() bool {
		s.expect(t, "GET", "/v1/products/"+mug.ID, "", "", http.StatusOK, &page)
		return page.Stock != nil && page.Stock.Available == 5
	})
	if page.Name != "Mug" || len(page.Unavailable) != 0 {
		t.Fatalf("product page %+v, want the mug with nothing unavailable", page)
	}
	s.expect(t, "PUT", "/v1/admin/stock/"+mug.ID, admin, `{"available":7}`, http.StatusOK, nil)
	s.expect(t, "GET", "/v1/products/"+mug.ID, "", "", http.StatusOK, &page)
	if page.Stock == nil || page.Stock.Available != 7 {
		t.Fatalf("product page after setting the stock: %+v, want 7 available", page.Stock)
	}
	var counts struct {
		ProductsCreated int64 `json:"products_created"`
	}
	eventually(t, "the stats counting the mug", func() bool {
		s.expect(t, "GET", "/v1/stats", "", "", http.StatusOK, &counts)
		return counts.ProductsCreated == 1
	})

	// Ada orders two mugs: the saga reserves them, charges her and
	// confirms; a repeat with the same key is the same order, and another
	// order under that key is refused.
	order := `{"items":[{"product_id":"` + mug.ID + `","quantity":2}]}`
	var placed struct {
		ID, Status string
		Total      int64
	}
	resp, body := s.call(t, "POST", "/v1/orders", customer, order, "Idempotency-Key", "walkthrough-1")
	if resp.StatusCode != http.StatusCreated || json.Unmarshal(body, &placed) != nil || placed.Status != "confirmed" || placed.Total != 2*1299 {
		t.Fatalf("placing the order: %s %s, want 201 confirmed for 2598", resp.Status, body)
	}
	resp, again := s.call(t, "POST", "/v1/orders", customer, order, "Idempotency-Key", "walkthrough-1")
	if resp.StatusCode != http.StatusCreated || string(again) != string(body) || resp.Header.Get("Idempotent-Replayed") != "true" {
		t.Fatalf("the same order again: %s %s, want the first answer replayed", resp.Status, again)
	}
	resp, other := s.call(t, "POST", "/v1/orders", customer, strings.Replace(order, `"quantity":2`, `"quantity":3`, 1), "Idempotency-Key", "walkthrough-1")
	if resp.StatusCode != http.StatusUnprocessableEntity && resp.StatusCode != http.StatusConflict {
		t.Fatalf("another order under the same key: %s %s, want 422 or 409", resp.Status, other)
	}
	s.expect(t, "GET", "/v1/orders/"+placed.ID, customer, "", http.StatusOK, nil)
	s.expect(t, "GET", "/v1/orders/"+placed.ID, s.login(t, "bob@example.com", "correct horse battery"), "", http.StatusNotFound, nil)
	s.expect(t, "GET", "/v1/products/"+mug.ID, "", "", http.StatusOK, &page)
	if page.Stock == nil || page.Stock.Available != 5 {
		t.Fatalf("stock after the order: %+v, want 7 - 2 = 5", page.Stock)
	}

	// Once the reviews service has learnt of the purchase, Ada reviews
	// the mug and the product page shows it.
	review := `{"rating":5,"title":"Good mug","body":"Keeps the tea hot."}`
	eventually(t, "the reviews service learning of Ada's purchase", func() bool {
		resp, body := s.call(t, "POST", "/v1/products/"+mug.ID+"/reviews", customer, review)
		if resp.StatusCode != http.StatusCreated && resp.StatusCode != http.StatusForbidden {
			t.Fatalf("reviewing: %s %s, want 201, or 403 until the purchase is known", resp.Status, body)
		}
		return resp.StatusCode == http.StatusCreated
	})
	s.expect(t, "GET", "/v1/products/"+mug.ID, "", "", http.StatusOK, &page)
	if page.Reviews == nil || page.Reviews.Count != 1 || page.Reviews.Average != 5 {
		t.Fatalf("reviews on the product page: %+v, want one of 5 stars", page.Reviews)
	}
}

// TestTokensRefusedAtTheGateway: tokens that must not verify are refused
// with 401 and a Bearer challenge, and a customer cannot do what only the
// administrator may. The gateway checks tokens against the users
// service's published keys, whatever its database, so it runs on SQLite
// only.
func TestTokensRefusedAtTheGateway(t *testing.T) {
	s := startTestShop(t, sqliteFiles, nil)
	customer := s.login(t, "bob@example.com", "correct horse battery")
	signer, err := auth.NewSigner(users.Issuer, users.Audience, auth.WithSigningKey(s.key))
	if err != nil {
		t.Fatal(err)
	}
	forge := func(method jwt.SigningMethod, key any, claims jwt.MapClaims) string {
		tok := jwt.NewWithClaims(method, claims)
		tok.Header["kid"] = signer.KeyID()
		signed, err := tok.SignedString(key)
		if err != nil {
			t.Fatal(err)
		}
		return signed
	}
	now := time.Now()
	valid := jwt.MapClaims{"iss": users.Issuer, "aud": users.Audience, "sub": "someone", "roles": []string{"admin"}, "exp": now.Add(time.Hour).Unix(), "iat": now.Unix()}
	with := func(k string, v any) jwt.MapClaims {
		c := jwt.MapClaims{}
		for key, val := range valid {
			c[key] = val
		}
		c[k] = v
		return c
	}
	otherKey, err := auth.GenerateKey()
	if err != nil {
		t.Fatal(err)
	}
	header, payload, _ := strings.Cut(customer, ".")
	payload, signature, _ := strings.Cut(payload, ".")
	claims, err := base64.RawURLEncoding.DecodeString(payload)
	if err != nil {
		t.Fatal(err)
	}
	tampered := header + "." + base64.RawURLEncoding.EncodeToString([]byte(strings.Replace(string(claims), `"customer"`, `"admin"`, 1))) + "." + signature

	for name, token := range map[string]string{
		"alg none":       forge(jwt.SigningMethodNone, jwt.UnsafeAllowNoneSignatureType, valid),
		"tampered":       tampered,
		"expired":        forge(jwt.SigningMethodEdDSA, s.key, with("exp", now.Add(-time.Hour).Unix())),
		"wrong issuer":   forge(jwt.SigningMethodEdDSA, s.key, with("iss", "someone-else")),
		"wrong key":      forge(jwt.SigningMethodEdDSA, otherKey, valid),
		"wrong audience": forge(jwt.SigningMethodEdDSA, s.key, with("aud", "another-shop")),
	} {
		t.Run(name, func(t *testing.T) {
			for _, route := range []struct{ method, path, body string }{
				{"GET", "/v1/users/me", ""},
				{"POST", "/v1/products", `{"name":"Forged","price":{"amount":1,"currency":"EUR"}}`},
			} {
				resp, body := s.call(t, route.method, route.path, token, route.body)
				if resp.StatusCode != http.StatusUnauthorized || !strings.Contains(resp.Header.Get("WWW-Authenticate"), `error="invalid_token"`) {
					t.Errorf("%s %s: %s %q %s, want 401 with an invalid_token challenge", route.method, route.path, resp.Status, resp.Header.Get("WWW-Authenticate"), body)
				}
			}
		})
	}
	// The checks are what refused them: the same claims signed with the
	// shop's key pass.
	s.expect(t, "POST", "/v1/products", forge(jwt.SigningMethodEdDSA, s.key, valid), `{"name":"Mug","price":{"amount":1,"currency":"EUR"}}`, http.StatusCreated, nil)

	resp := s.expect(t, "POST", "/v1/products", customer, `{"name":"Mug","price":{"amount":1,"currency":"EUR"}}`, http.StatusForbidden, nil)
	if !strings.Contains(resp.Header.Get("WWW-Authenticate"), `error="insufficient_scope"`) {
		t.Errorf("customer creating a product: WWW-Authenticate %q, want insufficient_scope", resp.Header.Get("WWW-Authenticate"))
	}
	s.expect(t, "POST", "/v1/products", "", `{"name":"Mug","price":{"amount":1,"currency":"EUR"}}`, http.StatusUnauthorized, nil)
	s.expect(t, "PUT", "/v1/admin/stock/0190d9a4-7c1e-7b5e-8f3a-2b1c4d5e6f70", customer, `{"available":1}`, http.StatusForbidden, nil)
}

// TestCatalogDownAndBack: with the catalog stopped, the product page still
// answers, marking the catalog's part unavailable, and the product list is
// a 503 naming the catalog, refused at once rather than timed out; once the
// catalog runs again the gateway uses it without a restart.
func TestCatalogDownAndBack(t *testing.T) { onEachDatabase(t, catalogDownAndBack) }

func catalogDownAndBack(t *testing.T, db string) {
	s := startTestShop(t, db, nil)
	admin := s.login(t, users.AdminEmail, testAdminPassword)
	var mug struct{ ID string }
	s.expect(t, "POST", "/v1/products", admin, `{"name":"Mug","price":{"amount":1299,"currency":"EUR"},"stock":3}`, http.StatusCreated, &mug)
	var page productPage
	eventually(t, "the inventory learning the mug's stock", func() bool {
		s.expect(t, "GET", "/v1/products/"+mug.ID, "", "", http.StatusOK, &page)
		return page.Stock != nil && page.Stock.Available == 3
	})

	if err := s.stopService("catalog"); err != nil {
		t.Fatal(err)
	}
	page = productPage{}
	s.expect(t, "GET", "/v1/products/"+mug.ID, "", "", http.StatusOK, &page)
	if !slices.Equal(page.Unavailable, []string{"catalog"}) || page.Stock == nil || page.Stock.Available != 3 || page.Name != "" {
		t.Fatalf("product page without the catalog: %+v, want the stock with the catalog marked unavailable", page)
	}
	resp, body := s.call(t, "GET", "/v1/products", "", "")
	var problem thttp.Problem
	if err := json.Unmarshal(body, &problem); resp.StatusCode != http.StatusServiceUnavailable || err != nil || resp.Header.Get("Content-Type") != "application/problem+json" {
		t.Fatalf("product list without the catalog: %s %q %s (%v), want 503 problem+json", resp.Status, resp.Header.Get("Content-Type"), body, err)
	}
	if !strings.Contains(problem.Detail, "catalog") || problem.Kind != "unavailable" || resp.Header.Get("Retry-After") == "" {
		t.Fatalf("product list without the catalog: %+v, Retry-After %q; want the catalog named, kind unavailable (not a timeout) and a Retry-After",
			problem, resp.Header.Get("Retry-After"))
	}

	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := s.start(ctx, "catalog"); err != nil {
		t.Fatal(err)
	}
	s.expect(t, "GET", "/v1/products", "", "", http.StatusOK, nil)
	page = productPage{}
	s.expect(t, "GET", "/v1/products/"+mug.ID, "", "", http.StatusOK, &page)
	if page.Name != "Mug" || len(page.Unavailable) != 0 {
		t.Fatalf("product page after the catalog came back: %+v, want the whole mug", page)
	}
}

// TestOpenAPIDocumentsEveryPublicRoute: the gateway's document is OpenAPI
// 3.1 and has an operation for each route it serves to users. (The
// libopenapi validation of the merged document is in
// openapi/internal/validate.) The document is the same whatever the
// database, so it runs on SQLite only.
func TestOpenAPIDocumentsEveryPublicRoute(t *testing.T) {
	s := startTestShop(t, sqliteFiles, nil)
	var doc struct {
		OpenAPI string                    `json:"openapi"`
		Paths   map[string]map[string]any `json:"paths"`
	}
	s.expect(t, "GET", "/openapi.json", "", "", http.StatusOK, &doc)
	var ops []string
	for path, methods := range doc.Paths {
		for method := range methods {
			ops = append(ops, strings.ToUpper(method)+" "+path)
		}
	}
	slices.Sort(ops)
	want := []string{
		"GET /v1/admin/payments", "GET /v1/admin/payments/faults", "GET /v1/orders", "GET /v1/orders/{id}",
		"GET /v1/products", "GET /v1/products/{id}", "GET /v1/products/{id}/reviews", "GET /v1/stats", "GET /v1/users/me",
		"POST /v1/orders", "POST /v1/products", "POST /v1/products/{id}/reviews", "POST /v1/sessions", "POST /v1/users", "PUT /v1/admin/payments/faults", "PUT /v1/admin/stock/{product_id}",
	}
	if doc.OpenAPI != "3.1.0" || !slices.Equal(ops, want) {
		t.Fatalf("document: OpenAPI %q with %q; want 3.1.0 with %q", doc.OpenAPI, ops, want)
	}
}

// TestRateLimits: the gateway refuses a client that goes over its rate,
// per IP address and per user, with 429 and a Retry-After, and lets other
// users through. The gateway keeps its counts in memory, so it runs on
// SQLite only.
func TestRateLimits(t *testing.T) {
	s := startTestShop(t, sqliteFiles, func(c *config) {
		c.gateway.PerIP = resilience.RateLimitConfig{Rate: 0.001, Burst: 20}
		c.gateway.PerUser = resilience.RateLimitConfig{Rate: 0.001, Burst: 2}
	})
	ada := s.login(t, "ada@example.com", "correct horse battery") // 2 of the IP's 20
	bob := s.login(t, "bob@example.com", "correct horse battery") // 4 of 20
	refused := func(resp *http.Response) bool {
		return resp.StatusCode == http.StatusTooManyRequests && resp.Header.Get("Retry-After") != "" &&
			resp.Header.Get("Content-Type") == "application/problem+json"
	}
	for i := range 3 { // Ada's burst is 2
		resp, body := s.call(t, "GET", "/v1/users/me", ada, "")
		if got, want := refused(resp), i == 2; got != want {
			t.Fatalf("Ada's request %d: %s %q %s; refused %v, want %v", i+1, resp.Status, resp.Header.Get("Retry-After"), body, got, want)
		}
	}
	s.expect(t, "GET", "/v1/users/me", bob, "", http.StatusOK, nil) // 8 of 20
	for i := range 13 {
		resp, body := s.call(t, "GET", "/v1/products", "", "")
		if got, want := refused(resp), i == 12; got != want {
			t.Fatalf("anonymous request %d: %s %s; refused %v, want %v", i+1, resp.Status, body, got, want)
		}
	}
}

// TestOrdersThroughTheGateway: 200 orders at once for 50 units end with
// exactly 50 confirmed and the rest cancelled for lack of stock, every
// confirmed one charged once for its total and no cancelled one charged,
// and the stock adding up; with payments stopped an order is refused at
// once with a 503 naming it while the catalog still answers, and once
// payments runs again orders confirm without a restart.
func TestOrdersThroughTheGateway(t *testing.T) { onEachDatabase(t, ordersThroughTheGateway) }

func ordersThroughTheGateway(t *testing.T, db string) {
	// 200 orders at once keep a test machine's cores (the more so under
	// the race detector) busy for several seconds: the gateway waits
	// for them rather than give up after its default 5 s. This test is
	// of what the orders end as, not of how fast they are.
	s := startTestShop(t, db, func(c *config) { c.gateway.Timeout = time.Minute })
	admin := s.login(t, users.AdminEmail, testAdminPassword)
	const orders, units = 200, 50
	hat := s.product(t, admin, "Hat", 500, units)
	buyer := s.login(t, "carol@example.com", "correct horse battery")
	order := `{"items":[{"product_id":"` + hat + `","quantity":1}]}`

	count := map[string]int{}
	for _, o := range s.placeAtOnce(t, buyer, "hat", order, orders) {
		count[o.Status]++
		if o.Status == "cancelled" && !strings.Contains(o.Reason, "not enough stock") {
			t.Errorf("order %s is cancelled for %q, want the shortage named", o.ID, o.Reason)
		}
	}
	if count["confirmed"] != units || count["cancelled"] != orders-units {
		t.Fatalf("outcomes %v; want %d confirmed, %d cancelled", count, units, orders-units)
	}
	if recorded := checkOrders(t, s.database, hat, units); len(recorded) != orders {
		t.Errorf("%d orders recorded, want %d", len(recorded), orders)
	}
	var page productPage
	s.expect(t, "GET", "/v1/products/"+hat, "", "", http.StatusOK, &page)
	if page.Stock == nil || page.Stock.Available != 0 {
		t.Fatalf("stock on the product page: %+v, want none left", page.Stock)
	}

	if err := s.stopService("payments"); err != nil {
		t.Fatal(err)
	}
	resp, body := s.call(t, "POST", "/v1/orders", buyer, order, "Idempotency-Key", "while-payments-is-down")
	var problem thttp.Problem
	if err := json.Unmarshal(body, &problem); resp.StatusCode != http.StatusServiceUnavailable || err != nil ||
		!strings.Contains(problem.Detail, "payments") || resp.Header.Get("Retry-After") == "" {
		t.Fatalf("an order with payments stopped: %s %s, want 503 naming payments with a Retry-After", resp.Status, body)
	}
	s.expect(t, "GET", "/v1/products", "", "", http.StatusOK, nil)

	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := s.start(ctx, "payments"); err != nil {
		t.Fatal(err)
	}
	s.expect(t, "PUT", "/v1/admin/stock/"+hat, admin, `{"available":1}`, http.StatusOK, nil)
	var o struct{ Status string }
	s.expect(t, "POST", "/v1/orders", buyer, order, http.StatusBadRequest, nil) // no Idempotency-Key
	resp, body = s.call(t, "POST", "/v1/orders", buyer, order, "Idempotency-Key", "payments-back")
	if resp.StatusCode != http.StatusCreated || json.Unmarshal(body, &o) != nil || o.Status != "confirmed" {
		t.Fatalf("an order once payments is back: %s %s, want 201 confirmed", resp.Status, body)
	}
}

// TestPaymentsDecliningHalf: with the card processor declining half the
// charges, set by the administrator, the declined orders end cancelled
// for it with their stock back and nothing charged, and the others
// confirmed and charged once.
func TestPaymentsDecliningHalf(t *testing.T) { onEachDatabase(t, paymentsDecliningHalf) }

func paymentsDecliningHalf(t *testing.T, db string) {
	s := startTestShop(t, db, nil)
	admin := s.login(t, users.AdminEmail, testAdminPassword)
	const orders, units = 40, 100
	scarf := s.product(t, admin, "Scarf", 1990, units)
	s.expect(t, "PUT", "/v1/admin/payments/faults", admin, `{"failure_rate":0.5,"latency_ms":0,"unavailable_rate":0}`, http.StatusOK, nil)
	buyer := s.login(t, "dan@example.com", "correct horse battery")

	count := map[string]int{}
	for _, o := range s.placeAtOnce(t, buyer, "scarf", `{"items":[{"product_id":"`+scarf+`","quantity":1}]}`, orders) {
		count[o.Status]++
		if o.Status == "cancelled" && o.Reason != "payment declined" {
			t.Errorf("order %s is cancelled for %q, want the payment declined", o.ID, o.Reason)
		}
	}
	// Each of 40 charges is declined with a chance of a half: all or none
	// declined has a chance of 2 in 2⁴⁰.
	if count["confirmed"] == 0 || count["cancelled"] == 0 || count["confirmed"]+count["cancelled"] != orders {
		t.Fatalf("outcomes %v; want %d orders, some confirmed and some declined", count, orders)
	}
	recorded := checkOrders(t, s.database, scarf, units)
	for id, o := range recorded {
		if o.status == "cancelled" && !slices.Equal(o.payments, []string{"declined"}) {
			t.Errorf("cancelled order %s: payments %q, want one declined", id, o.payments)
		}
	}
	var page productPage
	s.expect(t, "GET", "/v1/products/"+scarf, "", "", http.StatusOK, &page)
	if want := int64(units - count["confirmed"]); page.Stock == nil || page.Stock.Available != want {
		t.Fatalf("stock on the product page: %+v, want %d available: the declined orders' units back", page.Stock, want)
	}
}

// product creates a product with its stock, as the administrator, and
// returns its id once the inventory has learnt of it.
func (s *testShop) product(t *testing.T, admin, name string, price, stock int64) string {
	t.Helper()
	var p struct{ ID string }
	s.expect(t, "POST", "/v1/products", admin, fmt.Sprintf(`{"name":%q,"price":{"amount":%d,"currency":"EUR"},"stock":%d}`, name, price, stock), http.StatusCreated, &p)
	eventually(t, "the inventory learning the stock of "+name, func() bool {
		var page productPage
		s.expect(t, "GET", "/v1/products/"+p.ID, "", "", http.StatusOK, &page)
		return page.Stock != nil && page.Stock.Available == stock
	})
	return p.ID
}

// placedOrder is an order as the gateway answers it.
type placedOrder struct{ ID, Status, Reason string }

// placeAtOnce places n orders with body at once, as the customer with
// token, each under its own Idempotency-Key, and returns them once each
// has ended: answered 201, or 202 and then read until it is no longer
// pending. As a client should, it sends an order again under its key
// when the answer is a refusal to retry: 409 (the key is in progress),
// or 503 (the gateway gave up waiting on the saturated shop, or the
// orders service refused at once).
func (s *testShop) placeAtOnce(t *testing.T, token, keyPrefix, body string, n int) []placedOrder {
	t.Helper()
	placed := make([]placedOrder, n)
	var resent atomic.Int64
	var wg sync.WaitGroup
	deadline := time.Now().Add(time.Minute)
	for i := range n {
		wg.Go(func() {
			for {
				resp, b := s.call(t, "POST", "/v1/orders", token, body, "Idempotency-Key", fmt.Sprintf("%s-%d", keyPrefix, i))
				switch {
				case resp.StatusCode == http.StatusCreated || resp.StatusCode == http.StatusAccepted:
					if err := json.Unmarshal(b, &placed[i]); err != nil {
						t.Errorf("order %d: %v in %s", i, err, b)
					}
					return
				case (resp.StatusCode == http.StatusConflict || resp.StatusCode == http.StatusServiceUnavailable) && time.Now().Before(deadline):
					resent.Add(1)
					retry, _ := strconv.Atoi(resp.Header.Get("Retry-After"))
					time.Sleep(min(time.Duration(retry)*time.Second, 500*time.Millisecond))
				default:
					t.Errorf("order %d: %s %s, want 201, 202 pending, or a refusal to retry (409, 503) for up to a minute", i, resp.Status, b)
					return
				}
			}
		})
	}
	wg.Wait()
	if t.Failed() {
		t.FailNow()
	}
	if resent.Load() > 0 {
		t.Logf("%d orders at once: %d answers were 409 or 503, and the order sent again", n, resent.Load())
	}
	for i := range placed {
		if placed[i].Status == "pending" {
			eventually(t, "order "+placed[i].ID+" ending", func() bool {
				s.expect(t, "GET", "/v1/orders/"+placed[i].ID, token, "", http.StatusOK, &placed[i])
				return placed[i].Status != "pending"
			})
		}
	}
	return placed
}

// orderRecord is what the services' databases hold of one order.
type orderRecord struct {
	status   string
	total    int64
	units    int64
	reserved string   // the state of its reservation, or ""
	payments []string // the statuses of its payments
	charges  int      // how many of them charged
	charged  int64    // and their amount
}

// checkOrders reads the orders', the inventory's and the payments'
// databases through open and checks that they agree on the orders, all of
// one product with initial units in stock: every order is confirmed or
// cancelled; each confirmed one has its reservation committed and exactly
// one charge of its total; each cancelled one has its reservation
// released, or none, and no charge; the stock adds up, available +
// reserved + sold = initial, none reserved and the confirmed orders'
// units sold. It returns the orders by id.
func checkOrders(t *testing.T, open func(t *testing.T, service string) *sql.DB, productID string, initial int64) map[string]*orderRecord {
	t.Helper()
	orderDB, inventoryDB, paymentsDB := open(t, "orders"), open(t, "inventory"), open(t, "payments")
	orders := map[string]*orderRecord{}
	var id string
	var o orderRecord
	eachRow(t, orderDB, `SELECT o.id, o.status, o.total, CAST(SUM(l.quantity) AS BIGINT) FROM orders o JOIN order_lines l ON l.order_id = o.id GROUP BY o.id, o.status, o.total`,
		[]any{&id, &o.status, &o.total, &o.units}, func() { copied := o; orders[id] = &copied })
	var state string
	eachRow(t, inventoryDB, `SELECT id, state FROM reservations`, []any{&id, &state}, func() {
		order, _ := strings.CutSuffix(id, "/reserve")
		if orders[order] == nil {
			t.Errorf("reservation %s (%s) is of no order", id, state)
			return
		}
		orders[order].reserved = state
	})
	var amount int64
	eachRow(t, paymentsDB, `SELECT order_id, status, amount FROM payments`, []any{&id, &state, &amount}, func() {
		o := orders[id]
		if o == nil {
			t.Errorf("payment of order %s (%s) is of no order", id, state)
			return
		}
		o.payments = append(o.payments, state)
		if state == "charged" {
			o.charges++
			o.charged += amount
		}
	})

	count := map[string]int{}
	var confirmedUnits int64
	for id, o := range orders {
		count[o.status]++
		switch o.status {
		case "confirmed":
			confirmedUnits += o.units
			if o.reserved != "committed" || o.charges != 1 || o.charged != o.total {
				t.Errorf("confirmed order %s of %d: reservation %q, payments %q charging %d; want the reservation committed and one charge of the total", id, o.total, o.reserved, o.payments, o.charged)
			}
		case "cancelled":
			if (o.reserved != "" && o.reserved != "released") || o.charges != 0 {
				t.Errorf("cancelled order %s: reservation %q, payments %q; want the reservation released or none, and no charge", id, o.reserved, o.payments)
			}
		default:
			t.Errorf("order %s is %s, want confirmed or cancelled", id, o.status)
		}
	}

	var available, reserved, sold int64
	if err := inventoryDB.QueryRow(`SELECT available, reserved FROM stock WHERE product_id = $1`, productID).Scan(&available, &reserved); err != nil {
		t.Fatalf("inventory: the stock of %s: %v", productID, err)
	}
	if err := inventoryDB.QueryRow(`SELECT CAST(COALESCE(SUM(i.quantity), 0) AS BIGINT) FROM reservation_items i JOIN reservations r ON r.id = i.reservation_id WHERE r.state = 'committed' AND i.product_id = $1`, productID).Scan(&sold); err != nil {
		t.Fatalf("inventory: the units of %s sold: %v", productID, err)
	}
	t.Logf("%d orders: %v; stock: %d available + %d reserved + %d sold", len(orders), count, available, reserved, sold)
	if available+reserved+sold != initial || reserved != 0 || sold != confirmedUnits {
		t.Errorf("stock: %d available + %d reserved + %d sold; want %d in all, none reserved, and %d sold (the confirmed orders' units)",
			available, reserved, sold, initial, confirmedUnits)
	}
	return orders
}

// eachRow runs query on db and, for each row, scans it into dest and
// calls f.
func eachRow(t *testing.T, db *sql.DB, query string, dest []any, f func()) {
	t.Helper()
	rows, err := db.Query(query)
	if err != nil {
		t.Fatalf("%s: %v", query, err)
	}
	defer rows.Close()
	for rows.Next() {
		if err := rows.Scan(dest...); err != nil {
			t.Fatalf("%s: %v", query, err)
		}
		f()
	}
	if err := rows.Err(); err != nil {
		t.Fatalf("%s: %v", query, err)
	}
}
