package servicetest_test

import (
	"io"
	"net/http"
	"testing"

	"github.com/tailorkit/tailor/service"
	"github.com/tailorkit/tailor/service/servicetest"
)

// A test that runs a service and calls it over real HTTP. The test's
// cleanup stops the service and fails the test if it did not stop
// cleanly.
func ExampleStart() {
	testProducts := func(t *testing.T) {
		svc := servicetest.New(t, service.Config{Name: "catalog"})
		svc.Router().HandleFunc("GET /v1/products", func(w http.ResponseWriter, r *http.Request) {
			_, _ = io.WriteString(w, "[]")
		})
		s := servicetest.Start(t, svc)

		resp, err := s.Client().Get(s.URL() + "/v1/products")
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			t.Errorf("GET /v1/products: got %d, want 200", resp.StatusCode)
		}
	}
	_ = testProducts // in a _test.go file: func TestProducts(t *testing.T) { ... }
}
