package catalog_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"google.golang.org/grpc"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/grpc/metadata"

	"github.com/tailorkit/tailor/examples/shop/catalog"
	"github.com/tailorkit/tailor/examples/shop/catalog/catalogpb"
	"github.com/tailorkit/tailor/fault"
	"github.com/tailorkit/tailor/service"
	"github.com/tailorkit/tailor/service/servicetest"
	"github.com/tailorkit/tailor/sqlite"
	tgrpc "github.com/tailorkit/tailor/transport/grpc"
)

// grpcCatalog is a running catalog service with both transports, on loopback.
type grpcCatalog struct {
	grpc      *catalog.GRPCClient // calls as an administrator
	anonymous *catalog.GRPCClient // calls without a token
	conn      *grpc.ClientConn
	grpcAddr  string
	httpURL   string
}

// startGRPCCatalog runs the catalog as a real service on a fresh SQLite
// database, serving HTTP and gRPC on free loopback ports, and stops it
// when the test ends, failing the test if the shutdown is not clean.
func startGRPCCatalog(t *testing.T) *grpcCatalog {
	t.Helper()
	ctx := context.Background()
	db, err := sqlite.Open(filepath.Join(t.TempDir(), "catalog.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	if err := catalog.Migrate(ctx, db); err != nil {
		t.Fatal(err)
	}

	svc := servicetest.New(t, service.Config{Name: "catalog", GRPCAddr: "127.0.0.1:0"}, tokens.serviceOptions()...)
	cat := catalog.NewService(db)
	catalog.RegisterHTTP(svc.Router(), cat)
	catalog.RegisterGRPC(svc.GRPCServer(), cat)
	running := servicetest.Start(t, svc)

	s := &grpcCatalog{grpcAddr: running.GRPCAddr(), httpURL: running.URL()}
	s.grpc, s.conn = s.dial(t, grpc.WithPerRPCCredentials(bearer(tokens.admin)))
	s.anonymous, _ = s.dial(t)
	return s
}

// clientWith returns a client that calls with token.
func (s *grpcCatalog) clientWith(t *testing.T, token string) *catalog.GRPCClient {
	c, _ := s.dial(t, grpc.WithPerRPCCredentials(bearer(token)))
	return c
}

func (s *grpcCatalog) dial(t *testing.T, opts ...grpc.DialOption) (*catalog.GRPCClient, *grpc.ClientConn) {
	t.Helper()
	cc, err := tgrpc.NewConn(s.grpcAddr, opts...)
	if err != nil {
		t.Fatal(err)
	}
	// Registered after the service's cleanup, so it runs first: the
	// connection closes before the server drains.
	t.Cleanup(func() { cc.Close() })
	client, err := catalog.NewGRPCClient(cc)
	if err != nil {
		t.Fatal(err)
	}
	return client, cc
}

func grpcTestContext(t *testing.T) context.Context {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	t.Cleanup(cancel)
	return ctx
}

// httpJSON sends a request to the catalog's HTTP API and decodes a JSON
// answer into out when the status is want.
func (s *grpcCatalog) httpJSON(t *testing.T, method, path string, body any, want int, out any) {
	t.Helper()
	var r io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			t.Fatal(err)
		}
		r = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(grpcTestContext(t), method, s.httpURL+path, r)
	if err != nil {
		t.Fatal(err)
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	req.Header.Set("Authorization", "Bearer "+tokens.admin)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != want {
		t.Fatalf("%s %s: got status %d, want %d; body %s", method, path, resp.StatusCode, want, b)
	}
	if err := json.Unmarshal(b, out); err != nil {
		t.Fatalf("%s %s: cannot decode %s: %v", method, path, b, err)
	}
}

// productsEqual reports whether a and b are the same product, comparing
// times as instants.
func productsEqual(a, b catalog.Product) bool {
	return a.ID == b.ID && a.Name == b.Name && a.Description == b.Description &&
		a.Price == b.Price && a.CreatedAt.Equal(b.CreatedAt)
}

func checkProduct(t *testing.T, got, want catalog.Product) {
	t.Helper()
	if !productsEqual(got, want) {
		t.Errorf("got product %+v, want %+v", got, want)
	}
}

func TestGRPCCreateAndGet(t *testing.T) {
	s := startGRPCCatalog(t)
	ctx := grpcTestContext(t)

	before := time.Now()
	p, err := s.grpc.CreateProduct(ctx, catalog.CreateProductRequest{
		Name:        "  Mug  ",
		Description: "Blue, 300 ml",
		Price:       catalog.Money{Amount: 1299, Currency: "EUR"},
	})
	if err != nil {
		t.Fatalf("CreateProduct: %v", err)
	}
	if p.ID == "" {
		t.Error("CreateProduct returned no id")
	}
	if p.Name != "Mug" {
		t.Errorf("got name %q, want the trimmed %q", p.Name, "Mug")
	}
	if p.Description != "Blue, 300 ml" || p.Price != (catalog.Money{Amount: 1299, Currency: "EUR"}) {
		t.Errorf("got %+v, want the description and price sent", p)
	}
	if p.CreatedAt.Before(before.Add(-time.Second)) || p.CreatedAt.After(time.Now().Add(time.Second)) {
		t.Errorf("got created_at %v, want about %v", p.CreatedAt, before)
	}

	got, err := s.grpc.GetProduct(ctx, catalog.GetProductRequest{ID: p.ID})
	if err != nil {
		t.Fatalf("GetProduct: %v", err)
	}
	checkProduct(t, got, p)
}

func TestGRPCListPages(t *testing.T) {
	s := startGRPCCatalog(t)
	ctx := grpcTestContext(t)

	// An empty catalog has one empty page.
	page, err := s.grpc.ListProducts(ctx, catalog.ListProductsRequest{})
	if err != nil {
		t.Fatalf("ListProducts: %v", err)
	}
	if len(page.Items) != 0 || page.NextCursor != "" {
		t.Fatalf("empty catalog: got %d items and cursor %q, want none", len(page.Items), page.NextCursor)
	}

	var created []catalog.Product
	for i := range 5 {
		p, err := s.grpc.CreateProduct(ctx, catalog.CreateProductRequest{
			Name:  fmt.Sprintf("Product %d", i),
			Price: catalog.Money{Amount: int64(100 * (i + 1)), Currency: "EUR"},
		})
		if err != nil {
			t.Fatalf("CreateProduct %d: %v", i, err)
		}
		created = append(created, p)
	}

	// Pages of 2: 2, 2, 1, in the order of creation.
	var listed []catalog.Product
	var sizes []int
	req := catalog.ListProductsRequest{Limit: 2}
	for range 10 {
		page, err := s.grpc.ListProducts(ctx, req)
		if err != nil {
			t.Fatalf("ListProducts(%+v): %v", req, err)
		}
		listed = append(listed, page.Items...)
		sizes = append(sizes, len(page.Items))
		if page.NextCursor == "" {
			break
		}
		req.Cursor = page.NextCursor
	}
	if want := []int{2, 2, 1}; !slices.Equal(sizes, want) {
		t.Errorf("got page sizes %v, want %v", sizes, want)
	}
	if len(listed) != len(created) {
		t.Fatalf("got %d products over all pages, want %d", len(listed), len(created))
	}
	for i := range created {
		checkProduct(t, listed[i], created[i])
	}

	// The default page holds them all.
	page, err = s.grpc.ListProducts(ctx, catalog.ListProductsRequest{})
	if err != nil {
		t.Fatalf("ListProducts: %v", err)
	}
	if len(page.Items) != len(created) || page.NextCursor != "" {
		t.Errorf("default page: got %d items and cursor %q, want %d and none", len(page.Items), page.NextCursor, len(created))
	}
}

// TestGRPCAndHTTPShareProducts checks that both transports serve the same
// catalog: what one creates the other reads, identically.
func TestGRPCAndHTTPShareProducts(t *testing.T) {
	s := startGRPCCatalog(t)
	ctx := grpcTestContext(t)

	viaGRPC, err := s.grpc.CreateProduct(ctx, catalog.CreateProductRequest{
		Name: "Teapot", Description: "Cast iron", Price: catalog.Money{Amount: 4500, Currency: "EUR"},
	})
	if err != nil {
		t.Fatalf("CreateProduct over gRPC: %v", err)
	}
	var overHTTP catalog.Product
	s.httpJSON(t, http.MethodGet, "/v1/products/"+viaGRPC.ID, nil, http.StatusOK, &overHTTP)
	checkProduct(t, overHTTP, viaGRPC)

	var viaHTTP catalog.Product
	s.httpJSON(t, http.MethodPost, "/v1/products", catalog.CreateProductRequest{
		Name: "Kettle", Description: "Steel", Price: catalog.Money{Amount: 3900, Currency: "USD"},
	}, http.StatusCreated, &viaHTTP)
	overGRPC, err := s.grpc.GetProduct(ctx, catalog.GetProductRequest{ID: viaHTTP.ID})
	if err != nil {
		t.Fatalf("GetProduct over gRPC of a product created over HTTP: %v", err)
	}
	checkProduct(t, overGRPC, viaHTTP)

	// Both list the same two products in the same order.
	page, err := s.grpc.ListProducts(ctx, catalog.ListProductsRequest{})
	if err != nil {
		t.Fatalf("ListProducts over gRPC: %v", err)
	}
	var httpPage catalog.ListProductsResponse
	s.httpJSON(t, http.MethodGet, "/v1/products", nil, http.StatusOK, &httpPage)
	if len(page.Items) != 2 || len(httpPage.Items) != 2 {
		t.Fatalf("got %d products over gRPC and %d over HTTP, want 2 each", len(page.Items), len(httpPage.Items))
	}
	for i := range page.Items {
		checkProduct(t, page.Items[i], httpPage.Items[i])
	}
}

func TestGRPCErrors(t *testing.T) {
	s := startGRPCCatalog(t)
	ctx := grpcTestContext(t)

	t.Run("invalid product lists every violation", func(t *testing.T) {
		_, err := s.grpc.CreateProduct(ctx, catalog.CreateProductRequest{
			Name:  " ",
			Price: catalog.Money{Amount: -1, Currency: "euro"},
		})
		if !errors.Is(err, fault.InvalidArgument) {
			t.Fatalf("got error %v, want fault.InvalidArgument", err)
		}
		fe := fault.As(err)
		if fe == nil {
			t.Fatalf("got error %T %v, want a *fault.Error", err, err)
		}
		var fields []string
		for _, v := range fe.Violations {
			fields = append(fields, v.Field)
			if v.Description == "" {
				t.Errorf("violation of %q has no description", v.Field)
			}
		}
		if want := []string{"name", "price.amount", "price.currency"}; !slices.Equal(fields, want) {
			t.Errorf("got violations of %v, want %v (all: %+v)", fields, want, fe.Violations)
		}
	})

	t.Run("invalid product is not stored", func(t *testing.T) {
		page, err := s.grpc.ListProducts(ctx, catalog.ListProductsRequest{})
		if err != nil {
			t.Fatalf("ListProducts: %v", err)
		}
		if len(page.Items) != 0 {
			t.Errorf("got %d products after only invalid creates, want 0", len(page.Items))
		}
	})

	notFound := []struct {
		name string
		id   string
	}{
		{"unknown id", "0190d9a4-7c1e-7b5e-8f3a-2b1c4d5e6f70"},
		{"malformed id", "no-such-product"},
		{"empty id", ""},
	}
	for _, tc := range notFound {
		t.Run(tc.name, func(t *testing.T) {
			_, err := s.grpc.GetProduct(ctx, catalog.GetProductRequest{ID: tc.id})
			if !errors.Is(err, fault.NotFound) {
				t.Fatalf("GetProduct(%q): got error %v, want fault.NotFound", tc.id, err)
			}
		})
	}

	badPages := []struct {
		name  string
		req   catalog.ListProductsRequest
		field string
	}{
		{"limit too large", catalog.ListProductsRequest{Limit: catalog.MaxPageSize + 1}, "limit"},
		{"negative limit", catalog.ListProductsRequest{Limit: -1}, "limit"},
		{"limit beyond int32", catalog.ListProductsRequest{Limit: 1 << 32}, "limit"},
		{"foreign cursor", catalog.ListProductsRequest{Cursor: "not-a-cursor"}, "cursor"},
	}
	for _, tc := range badPages {
		t.Run(tc.name, func(t *testing.T) {
			_, err := s.grpc.ListProducts(ctx, tc.req)
			if !errors.Is(err, fault.InvalidArgument) {
				t.Fatalf("ListProducts(%+v): got error %v, want fault.InvalidArgument", tc.req, err)
			}
			fe := fault.As(err)
			if fe == nil || len(fe.Violations) != 1 || fe.Violations[0].Field != tc.field {
				t.Errorf("ListProducts(%+v): got violations %+v, want one of %q", tc.req, fe, tc.field)
			}
		})
	}
}

func TestGRPCHealthServing(t *testing.T) {
	s := startGRPCCatalog(t)
	ctx := grpcTestContext(t)

	health := healthpb.NewHealthClient(s.conn)
	for _, name := range []string{"", catalogpb.CatalogService_ServiceDesc.ServiceName} {
		resp, err := health.Check(ctx, &healthpb.HealthCheckRequest{Service: name})
		if err != nil {
			t.Fatalf("health check of %q: %v", name, err)
		}
		if got := resp.GetStatus(); got != healthpb.HealthCheckResponse_SERVING {
			t.Errorf("health of %q: got %v, want SERVING", name, got)
		}
	}
}

// The catalog served over gRPC and called with its typed client, here on a
// bare tailor gRPC server; in a shop service, register on
// service.Service.GRPCServer instead. The server verifies bearer tokens,
// and the caller, an administrator, sends one in the call's metadata.
func ExampleRegisterGRPC() {
	dir, err := os.MkdirTemp("", "catalog-example")
	if err != nil {
		log.Fatal(err)
	}
	defer os.RemoveAll(dir)
	db, err := sqlite.Open(filepath.Join(dir, "catalog.db"))
	if err != nil {
		log.Fatal(err)
	}
	defer db.Close()
	ctx := context.Background()
	if err := catalog.Migrate(ctx, db); err != nil {
		log.Fatal(err)
	}

	srv := tgrpc.NewServer(grpc.ChainUnaryInterceptor(tokens.verifier.UnaryServerInterceptor()))
	catalog.RegisterGRPC(srv, catalog.NewService(db))
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		log.Fatal(err)
	}
	go srv.Serve(ln)
	defer srv.GracefulStop()

	cc, err := tgrpc.NewConn(ln.Addr().String())
	if err != nil {
		log.Fatal(err)
	}
	defer cc.Close()
	client, err := catalog.NewGRPCClient(cc)
	if err != nil {
		log.Fatal(err)
	}

	ctx = metadata.AppendToOutgoingContext(ctx, "authorization", "Bearer "+tokens.admin)
	p, err := client.CreateProduct(ctx, catalog.CreateProductRequest{
		Name: "Mug", Price: catalog.Money{Amount: 1299, Currency: "EUR"},
	})
	if err != nil {
		log.Fatal(err)
	}
	got, err := client.GetProduct(ctx, catalog.GetProductRequest{ID: p.ID})
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(got.Name, got.Price.Amount, got.Price.Currency)

	_, err = client.CreateProduct(ctx, catalog.CreateProductRequest{Name: "Mug"})
	fmt.Println(errors.Is(err, fault.InvalidArgument), fault.As(err).Violations[0].Field)

	_, err = client.GetProduct(ctx, catalog.GetProductRequest{ID: "0190d9a4-7c1e-7b5e-8f3a-2b1c4d5e6f70"})
	fmt.Println(errors.Is(err, fault.NotFound))
	// Output:
	// Mug 1299 EUR
	// true price.currency
	// true
}
