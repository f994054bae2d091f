package validate_test

import (
	"context"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/tailorkit/tailor/discovery"
	"github.com/tailorkit/tailor/discovery/memory"
	"github.com/tailorkit/tailor/examples/shop/catalog"
	"github.com/tailorkit/tailor/examples/shop/gateway"
	"github.com/tailorkit/tailor/examples/shop/reviews"
	"github.com/tailorkit/tailor/examples/shop/users"
	"github.com/tailorkit/tailor/openapi"
	thttp "github.com/tailorkit/tailor/transport/http"
)

// register puts the server at base ("http://host:port") in reg as the
// one instance of service.
func register(t *testing.T, reg *memory.Registry, service, base string) {
	t.Helper()
	host, port, err := net.SplitHostPort(strings.TrimPrefix(base, "http://"))
	if err != nil {
		t.Fatal(err)
	}
	p, _ := strconv.Atoi(port)
	if err := reg.Register(context.Background(), discovery.Instance{ID: service + "-1", Service: service, Address: host, Port: p}); err != nil {
		t.Fatal(err)
	}
}

// startGateway serves a gateway over reg on loopback, documented with the
// catalog's, the users service's and the reviews service's documents, and
// returns its URL. It trusts the tokens the catalog does.
func startGateway(t *testing.T, reg *memory.Registry) string {
	t.Helper()
	cat := openapi.New("catalog", "1.0.0")
	catalog.DescribeHTTP(cat)
	usr := openapi.New("users", "1.0.0")
	users.DescribeHTTP(usr)
	rev := openapi.New("reviews", "1.0.0")
	reviews.DescribeHTTP(rev)
	gw, err := gateway.New(gateway.Config{Resolver: reg, Verifier: tokens.verifier, Docs: []*openapi.Document{cat, usr, rev}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = gw.Close() })
	r := thttp.NewRouter()
	gw.Register(r)
	srv := httptest.NewServer(r)
	t.Cleanup(srv.Close)
	return srv.URL
}

// TestGatewayMatchesItsDocument checks the gateway's merged document as
// OpenAPI 3.1, then checks its product page against it in every shape:
// whole, without the inventory, without the reviews service, without the
// catalog, not found, and unavailable.
func TestGatewayMatchesItsDocument(t *testing.T) {
	reg := memory.New()
	catalogURL := startCatalog(t)
	register(t, reg, "catalog", catalogURL)
	var stocked atomic.Bool
	inventory := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		if !stocked.Load() {
			w.WriteHeader(http.StatusServiceUnavailable)
			return
		}
		_, _ = io.WriteString(w, `{"available":3}`)
	}))
	t.Cleanup(inventory.Close)
	register(t, reg, "inventory", inventory.URL)
	var rated atomic.Bool
	reviewsSrv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		if !rated.Load() {
			w.WriteHeader(http.StatusServiceUnavailable)
			return
		}
		_, _ = io.WriteString(w, `{"count":2,"average":4.5,"ratings":[0,0,0,1,1]}`)
	}))
	t.Cleanup(reviewsSrv.Close)
	register(t, reg, "reviews", reviewsSrv.URL)
	base := startGateway(t, reg)

	resp, spec := get(t, base+"/openapi.json")
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET /openapi.json = %d, want 200", resp.StatusCode)
	}
	v := newValidator(t, spec)

	created := do(t, v, "POST", base+"/v1/products", "application/json",
		`{"name":"Mug","description":"Blue","price":{"amount":1299,"currency":"EUR"}}`, true, http.StatusCreated)
	id := between(string(created), `"id":"`, `"`)

	page := do(t, v, "GET", base+"/v1/products/"+id, "", "", true, http.StatusOK)
	if !strings.Contains(string(page), `"stock":null,"reviews":null,"unavailable":["inventory","reviews"]`) {
		t.Errorf("without the inventory and the reviews service the page is %s", page)
	}
	stocked.Store(true)
	rated.Store(true)
	page = do(t, v, "GET", base+"/v1/products/"+id, "", "", true, http.StatusOK)
	if !strings.Contains(string(page), `"name":"Mug"`) || !strings.Contains(string(page), `"stock":{"available":3},"reviews":{"count":2,"average":4.5}}`) {
		t.Errorf("the whole page is %s", page)
	}
	do(t, v, "GET", base+"/v1/products/0190d9a4-7c1e-7b5e-8f3a-2b1c4d5e6f70", "", "", true, http.StatusNotFound)
	do(t, v, "GET", base+"/v1/products", "", "", true, http.StatusOK)

	// A gateway whose registry has the catalog and the inventory alone,
	// then one with the inventory and the reviews alone, then nothing.
	unrated := memory.New()
	register(t, unrated, "catalog", catalogURL)
	register(t, unrated, "inventory", inventory.URL)
	page = do(t, v, "GET", startGateway(t, unrated)+"/v1/products/"+id, "", "", true, http.StatusOK)
	if !strings.Contains(string(page), `"stock":{"available":3},"reviews":null,"unavailable":["reviews"]`) {
		t.Errorf("without the reviews service the page is %s", page)
	}
	alone := memory.New()
	register(t, alone, "inventory", inventory.URL)
	register(t, alone, "reviews", reviewsSrv.URL)
	page = do(t, v, "GET", startGateway(t, alone)+"/v1/products/"+id, "", "", true, http.StatusOK)
	if page := string(page); !strings.Contains(page, `"unavailable":["catalog"]`) || strings.Contains(page, `"name"`) {
		t.Errorf("without the catalog the page is %s", page)
	}
	do(t, v, "GET", startGateway(t, memory.New())+"/v1/products/"+id, "", "", true, http.StatusServiceUnavailable)
}
