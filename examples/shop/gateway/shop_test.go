package gateway

import (
	"context"
	"encoding/json"
	"net/http"
	"path/filepath"
	"strings"
	"testing"

	"github.com/tailorkit/tailor/auth"
	"github.com/tailorkit/tailor/examples/shop/catalog"
	"github.com/tailorkit/tailor/examples/shop/orders"
	"github.com/tailorkit/tailor/examples/shop/reviews"
	"github.com/tailorkit/tailor/examples/shop/users"
	"github.com/tailorkit/tailor/sqlite"
	thttp "github.com/tailorkit/tailor/transport/http"
)

// The real users, catalog and reviews services behind the gateway, each on
// its own listener with its own database: a customer signs up and logs
// in, the gateway accepts the users service's token, the catalog refuses
// the customer a product and lets the administrator create it, the
// product page shows it without the inventory, which is not running, and
// the customer reviews it once the reviews service knows they bought it.
func TestRealServicesBehindTheGateway(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	usersDB, err := sqlite.Open(filepath.Join(dir, "users.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { usersDB.Close() })
	catalogDB, err := sqlite.Open(filepath.Join(dir, "catalog.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { catalogDB.Close() })
	reviewsDB, err := sqlite.Open(filepath.Join(dir, "reviews.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { reviewsDB.Close() })
	if err := reviews.Migrate(ctx, reviewsDB); err != nil {
		t.Fatal(err)
	}
	opinions, err := reviews.NewService(reviewsDB)
	if err != nil {
		t.Fatal(err)
	}
	if err := users.Migrate(ctx, usersDB); err != nil {
		t.Fatal(err)
	}
	if err := catalog.Migrate(ctx, catalogDB); err != nil {
		t.Fatal(err)
	}
	accounts, err := users.NewService(users.NewStore(usersDB), users.WithParams(users.Params{Memory: 64, Time: 1, Threads: 1}))
	if err != nil {
		t.Fatal(err)
	}

	if _, err := accounts.EnsureAdmin(ctx, "a long admin passphrase"); err != nil {
		t.Fatal(err)
	}
	verifier, err := auth.NewVerifier(accounts.Signer(), users.Issuer, users.Audience)
	if err != nil {
		t.Fatal(err)
	}

	h := newHarness(t)
	ur := thttp.NewRouter()
	users.RegisterHTTP(ur, accounts)
	serveInstance(t, h.reg, UsersService, "users-1", ur)
	cr := thttp.NewRouter(thttp.WithMiddleware(verifier.HTTPMiddleware()))
	catalog.RegisterHTTP(cr, catalog.NewService(catalogDB))
	serveInstance(t, h.reg, CatalogService, "catalog-1", cr)
	rr := thttp.NewRouter(thttp.WithMiddleware(verifier.HTTPMiddleware()))
	reviews.RegisterHTTP(rr, opinions)
	serveInstance(t, h.reg, ReviewsService, "reviews-1", rr)
	h.start(t, unlimited, func(c *Config) { c.Verifier = verifier })

	if resp, body := h.do(t, "POST", "/v1/users", `{"email":"ada@example.com","password":"violet staple orbit 42","name":"Ada"}`,
		"Content-Type", "application/json"); resp.StatusCode != http.StatusCreated {
		t.Fatalf("sign up: got %d %s, want 201", resp.StatusCode, body)
	}
	resp, body := h.do(t, "POST", "/v1/sessions", `{"email":"ada@example.com","password":"violet staple orbit 42"}`, "Content-Type", "application/json")
	if resp.StatusCode != http.StatusOK || resp.Header.Get("Cache-Control") != "no-store" {
		t.Fatalf("log in: got %d %s (Cache-Control %q), want 200 no-store", resp.StatusCode, body, resp.Header.Get("Cache-Control"))
	}
	var session users.Session
	if err := json.Unmarshal(body, &session); err != nil {
		t.Fatal(err)
	}
	resp, body = h.do(t, "GET", "/v1/users/me", "", "Authorization", "Bearer "+session.Token)
	var me users.User
	if err := json.Unmarshal(body, &me); err != nil || resp.StatusCode != http.StatusOK || me.Email != "ada@example.com" {
		t.Fatalf("me: got %d %s, want Ada's account", resp.StatusCode, body)
	}
	resp, body = h.do(t, "GET", "/v1/users/me", "")
	if resp.StatusCode != http.StatusUnauthorized || resp.Header.Get("WWW-Authenticate") != "Bearer" {
		t.Fatalf("me without a token: got %d %s, want the users service's 401 with its challenge", resp.StatusCode, body)
	}

	mug := `{"name":"Mug","description":"Blue","price":{"amount":1299,"currency":"EUR"}}`
	resp, body = h.do(t, "POST", "/v1/products", mug, "Content-Type", "application/json", "Authorization", "Bearer "+session.Token)
	if resp.StatusCode != http.StatusForbidden || !strings.Contains(resp.Header.Get("WWW-Authenticate"), "insufficient_scope") {
		t.Fatalf("a customer creating a product: got %d %s, want the catalog's 403 with its challenge", resp.StatusCode, body)
	}
	resp, body = h.do(t, "POST", "/v1/sessions", `{"email":"`+users.AdminEmail+`","password":"a long admin passphrase"}`, "Content-Type", "application/json")
	var admin users.Session
	if err := json.Unmarshal(body, &admin); err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("admin log in: got %d %s, want 200", resp.StatusCode, body)
	}
	resp, body = h.do(t, "POST", "/v1/products", mug, "Content-Type", "application/json", "Authorization", "Bearer "+admin.Token)
	var p catalog.Product
	if err := json.Unmarshal(body, &p); err != nil || resp.StatusCode != http.StatusCreated {
		t.Fatalf("create: got %d %s, want 201", resp.StatusCode, body)
	}
	resp, body = h.do(t, "GET", "/v1/products/"+p.ID, "")
	var page ProductPage
	if err := json.Unmarshal(body, &page); err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("product page: got %d %s, want 200", resp.StatusCode, body)
	}
	if page.ID != p.ID || page.Product == nil || page.Name != "Mug" || page.Stock != nil || len(page.Unavailable) != 1 || page.Unavailable[0] != InventoryService ||
		page.Reviews == nil || *page.Reviews != (ReviewSummary{}) {
		t.Errorf("product page %s, want the product without its stock, the inventory named, and no reviews", body)
	}

	review := `{"rating":5,"title":"Lovely","body":"Holds tea."}`
	resp, body = h.do(t, "POST", "/v1/products/"+p.ID+"/reviews", review, "Content-Type", "application/json", "Authorization", "Bearer "+session.Token)
	if p := problem(t, resp, body); resp.StatusCode != http.StatusForbidden || !strings.Contains(p.Detail, "bought") {
		t.Fatalf("a review before the purchase is known: got %d %s, want the reviews service's 403", resp.StatusCode, body)
	}
	bought, err := orders.OrderConfirmedEvent().New("order-1", orders.OrderConfirmed{OrderID: "order-1", UserID: me.ID, Lines: []orders.Line{{ProductID: p.ID, Quantity: 1}}})
	if err != nil {
		t.Fatal(err)
	}
	if err := opinions.Handler()(ctx, bought); err != nil {
		t.Fatal(err)
	}
	resp, body = h.do(t, "POST", "/v1/products/"+p.ID+"/reviews", review, "Content-Type", "application/json", "Authorization", "Bearer "+session.Token)
	var r reviews.Review
	if err := json.Unmarshal(body, &r); err != nil || resp.StatusCode != http.StatusCreated || r.UserID != me.ID {
		t.Fatalf("a review by the buyer: got %d %s, want 201 by %s", resp.StatusCode, body, me.ID)
	}
	resp, body = h.do(t, "GET", "/v1/products/"+p.ID+"/reviews", "")
	if resp.StatusCode != http.StatusOK || !strings.Contains(string(body), `"title":"Lovely"`) {
		t.Errorf("reviews: got %d %s, want the review", resp.StatusCode, body)
	}
	resp, body = h.do(t, "GET", "/v1/products/"+p.ID, "")
	page = ProductPage{}
	if err := json.Unmarshal(body, &page); err != nil || resp.StatusCode != http.StatusOK || page.Reviews == nil || *page.Reviews != (ReviewSummary{Count: 1, Average: 5}) {
		t.Errorf("product page %d %s, want one review of 5 stars", resp.StatusCode, body)
	}
	resp, body = h.do(t, "GET", "/v1/products/0190d9a4-7c1e-7b5e-8f3a-2b1c4d5e6f70", "")
	if p := problem(t, resp, body); resp.StatusCode != http.StatusNotFound || p.Kind != "not_found" {
		t.Errorf("unknown product: got %d %s, want the catalog's 404", resp.StatusCode, body)
	}
}
