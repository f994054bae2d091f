package idempotency_test

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"

	"github.com/tailorkit/tailor/idempotency"
	"github.com/tailorkit/tailor/sqlite"
	thttp "github.com/tailorkit/tailor/transport/http"
)

// A POST route that needs an Idempotency-Key: a retry with the same key
// and request gets the first answer again, and the order is placed once.
func Example() {
	dir, err := os.MkdirTemp("", "idempotency")
	if err != nil {
		panic(err)
	}
	defer os.RemoveAll(dir)
	db, err := sqlite.Open(filepath.Join(dir, "orders.db"))
	if err != nil {
		panic(err)
	}
	defer db.Close()
	ctx := context.Background()
	if err := idempotency.Migrate(ctx, db); err != nil {
		panic(err)
	}
	idem, err := idempotency.New(db, idempotency.Required())
	if err != nil {
		panic(err)
	}

	placed := 0
	placeOrder := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		placed++
		w.Header().Set("Location", fmt.Sprintf("/v1/orders/%d", placed))
		w.WriteHeader(http.StatusCreated)
		fmt.Fprintf(w, "order %d placed\n", placed)
	})
	router := thttp.NewRouter()
	router.Handle("POST /v1/orders", idem.Handler(placeOrder))
	srv := httptest.NewServer(router)
	defer srv.Close()

	post := func(key, body string) {
		req, _ := http.NewRequest(http.MethodPost, srv.URL+"/v1/orders", strings.NewReader(body))
		if key != "" {
			req.Header.Set(idempotency.Header, key)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			panic(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		if resp.StatusCode >= 400 {
			fmt.Println(resp.StatusCode, resp.Header.Get("Content-Type"))
			return
		}
		fmt.Printf("%d %s replayed=%q %s", resp.StatusCode, resp.Header.Get("Location"), resp.Header.Get(idempotency.ReplayedHeader), b)
	}
	post(`"5f0c7a52-8f43-4b7e-9d0e-1c2a3b4c5d6e"`, `{"sku":"tee"}`)
	post(`"5f0c7a52-8f43-4b7e-9d0e-1c2a3b4c5d6e"`, `{"sku":"tee"}`) // a retry
	post(`"5f0c7a52-8f43-4b7e-9d0e-1c2a3b4c5d6e"`, `{"sku":"mug"}`) // the key reused for another order
	post("", `{"sku":"mug"}`)                                       // no key
	fmt.Println("orders placed:", placed)
	// Output:
	// 201 /v1/orders/1 replayed="" order 1 placed
	// 201 /v1/orders/1 replayed="true" order 1 placed
	// 422 application/problem+json
	// 400 application/problem+json
	// orders placed: 1
}
