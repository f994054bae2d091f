package gateway_test

import (
	"context"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"net/http/httptest"
	"strconv"

	"github.com/tailorkit/tailor/auth"
	"github.com/tailorkit/tailor/discovery"
	"github.com/tailorkit/tailor/discovery/memory"
	"github.com/tailorkit/tailor/examples/shop/catalog"
	"github.com/tailorkit/tailor/examples/shop/gateway"
	"github.com/tailorkit/tailor/examples/shop/users"
	"github.com/tailorkit/tailor/openapi"
	thttp "github.com/tailorkit/tailor/transport/http"
)

// serve runs h on loopback as an instance of service and registers it in
// reg.
func serve(reg *memory.Registry, service string, h http.HandlerFunc) (stop func()) {
	srv := httptest.NewServer(h)
	host, port, _ := net.SplitHostPort(srv.Listener.Addr().String())
	p, _ := strconv.Atoi(port)
	if err := reg.Register(context.Background(), discovery.Instance{ID: service + "-1", Service: service, Address: host, Port: p}); err != nil {
		log.Fatal(err)
	}
	return srv.Close
}

// The gateway in front of a catalog, an inventory and a reviews service
// registered in an in-process registry: the product page joins their
// answers, and a token that does not verify is refused before any is
// called. main builds it
// the same way, with the shop's registry, the users service's verifier
// and the services' documents.
func ExampleNew() {
	reg := memory.New()
	defer serve(reg, gateway.CatalogService, func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		_, _ = io.WriteString(w, `{"id":"p1","name":"Mug","description":"Blue","price":{"amount":1299,"currency":"EUR"},"created_at":"2026-01-02T03:04:05Z"}`)
	})()
	defer serve(reg, gateway.InventoryService, func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		_, _ = io.WriteString(w, `{"product_id":"p1","available":3}`)
	})()
	defer serve(reg, gateway.ReviewsService, func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		_, _ = io.WriteString(w, `{"count":3,"average":4.3,"ratings":[0,0,0,2,1]}`)
	})()

	// The users service signs the tokens; the gateway verifies them.
	signer, err := auth.NewSigner(users.Issuer, users.Audience)
	if err != nil {
		log.Fatal(err)
	}
	verifier, err := auth.NewVerifier(signer, users.Issuer, users.Audience)
	if err != nil {
		log.Fatal(err)
	}
	catalogDoc := openapi.New("catalog", "1.0.0")
	catalog.DescribeHTTP(catalogDoc)

	gw, err := gateway.New(gateway.Config{
		Resolver: reg,
		Verifier: verifier,
		Docs:     []*openapi.Document{catalogDoc},
	})
	if err != nil {
		log.Fatal(err)
	}
	defer gw.Close()
	router := thttp.NewRouter()
	gw.Register(router)
	srv := httptest.NewServer(router)
	defer srv.Close()

	resp, err := http.Get(srv.URL + "/v1/products/p1")
	if err != nil {
		log.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	fmt.Print(resp.StatusCode, " ", string(body))

	req, _ := http.NewRequest("GET", srv.URL+"/v1/products/p1", nil)
	req.Header.Set("Authorization", "Bearer not.a.token")
	resp, err = http.DefaultClient.Do(req)
	if err != nil {
		log.Fatal(err)
	}
	resp.Body.Close()
	fmt.Println(resp.StatusCode, resp.Header.Get("Content-Type"))
	// Output:
	// 200 {"id":"p1","name":"Mug","description":"Blue","price":{"amount":1299,"currency":"EUR"},"created_at":"2026-01-02T03:04:05Z","stock":{"available":3},"reviews":{"count":3,"average":4.3}}
	// 401 application/problem+json
}
