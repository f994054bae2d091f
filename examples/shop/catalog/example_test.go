package catalog_test

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/metadata"

	"github.com/tailorkit/tailor/auth"
	"github.com/tailorkit/tailor/examples/shop/catalog"
	"github.com/tailorkit/tailor/fault"
	"github.com/tailorkit/tailor/sqlite"
	tgrpc "github.com/tailorkit/tailor/transport/grpc"
	thttp "github.com/tailorkit/tailor/transport/http"
)

// openCatalog opens a migrated catalog database in a new folder; cleanup
// closes it and removes the folder.
func openCatalog() (db *sql.DB, cleanup func()) {
	dir, err := os.MkdirTemp("", "catalog")
	if err != nil {
		panic(err)
	}
	db, err = sqlite.Open(filepath.Join(dir, "catalog.db"))
	if err != nil {
		panic(err)
	}
	if err := catalog.Migrate(context.Background(), db); err != nil {
		panic(err)
	}
	return db, func() {
		db.Close()
		os.RemoveAll(dir)
	}
}

// A catalog over its own SQLite database, served over HTTP on loopback:
// migrate the schema, make the service, register its routes behind the
// verifier of the users service's tokens. Anyone may read; only an
// administrator may create.
func ExampleNewService() {
	db, cleanup := openCatalog()
	defer cleanup()

	// In the shop the users service signs the tokens and the catalog
	// verifies them with its published keys; here one signer does both.
	signer, err := auth.NewSigner("shop-users", "shop")
	if err != nil {
		panic(err)
	}
	verifier, err := auth.NewVerifier(signer, "shop-users", "shop")
	if err != nil {
		panic(err)
	}
	admin, err := signer.Sign(auth.Claims{Subject: "admin-1", Roles: []string{catalog.AdminRole}}, time.Hour)
	if err != nil {
		panic(err)
	}

	router := thttp.NewRouter(thttp.WithMiddleware(verifier.HTTPMiddleware()))
	catalog.RegisterHTTP(router, catalog.NewService(db))
	srv := httptest.NewServer(router)
	defer srv.Close()

	for _, c := range []struct{ token, body string }{
		{"", `{"name": "Mug", "description": "Blue", "price": {"amount": 1299, "currency": "EUR"}}`},
		{admin, `{"name": "Mug", "description": "Blue", "price": {"amount": 1299, "currency": "EUR"}, "stock": 10}`},
		{admin, `{"name": "", "price": {"amount": -1, "currency": "eur"}}`},
	} {
		req, _ := http.NewRequest(http.MethodPost, srv.URL+"/v1/products", strings.NewReader(c.body))
		req.Header.Set("Content-Type", "application/json")
		if c.token != "" {
			req.Header.Set("Authorization", "Bearer "+c.token)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			panic(err)
		}
		resp.Body.Close()
		fmt.Println("POST", resp.StatusCode)
	}

	resp, err := http.Get(srv.URL + "/v1/products")
	if err != nil {
		panic(err)
	}
	defer resp.Body.Close()
	var page catalog.ListProductsResponse
	if err := json.NewDecoder(resp.Body).Decode(&page); err != nil {
		panic(err)
	}
	for _, p := range page.Items {
		fmt.Println(p.Name, p.Price.Amount, p.Price.Currency)
	}
	// Output:
	// POST 401
	// POST 201
	// POST 422
	// Mug 1299 EUR
}

// A caller of the catalog's gRPC API speaks the catalog's Go types, and
// gets the server's errors back as fault errors of the same kind.
func ExampleNewGRPCClient() {
	db, cleanup := openCatalog()
	defer cleanup()

	// The server verifies tokens as in ExampleNewService; tokens holds
	// that example's verifier and an administrator's token.
	srv := tgrpc.NewServer(grpc.ChainUnaryInterceptor(tokens.verifier.UnaryServerInterceptor()))
	catalog.RegisterGRPC(srv, catalog.NewService(db))
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		panic(err)
	}
	go func() { _ = srv.Serve(lis) }()
	defer srv.Stop()

	conn, err := tgrpc.NewConn(lis.Addr().String())
	if err != nil {
		panic(err)
	}
	defer conn.Close()
	client, err := catalog.NewGRPCClient(conn)
	if err != nil {
		panic(err)
	}

	// The token goes in the call's "authorization" metadata.
	ctx := metadata.AppendToOutgoingContext(context.Background(), "authorization", "Bearer "+tokens.admin)
	mug, err := client.CreateProduct(ctx, catalog.CreateProductRequest{
		Name: "Mug", Price: catalog.Money{Amount: 1299, Currency: "EUR"},
	})
	if err != nil {
		panic(err)
	}
	got, err := client.GetProduct(ctx, catalog.GetProductRequest{ID: mug.ID})
	fmt.Println(got.Name, got.Price.Amount, err)
	_, err = client.GetProduct(ctx, catalog.GetProductRequest{ID: "00000000-0000-0000-0000-000000000000"})
	fmt.Println(errors.Is(err, fault.NotFound))
	// Output:
	// Mug 1299 <nil>
	// true
}
