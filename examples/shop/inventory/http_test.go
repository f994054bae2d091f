package inventory_test

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/tailorkit/tailor/auth"
	"github.com/tailorkit/tailor/examples/shop/inventory"
	"github.com/tailorkit/tailor/fault"
	thttp "github.com/tailorkit/tailor/transport/http"
)

// The issuer and audience of the shop's tokens (users.Issuer and
// users.Audience).
const (
	issuer   = "shop-users"
	audience = "shop"
)

// server is the inventory served over loopback, as main serves it: the
// verifier's middleware on the router puts the caller's claims in the
// context, and the inventory's routes decide what a caller may do.
type server struct {
	base   string
	signer *auth.Signer
}

func startServer(t *testing.T) server {
	t.Helper()
	s, _ := newService(t)
	signer, err := auth.NewSigner(issuer, audience)
	if err != nil {
		t.Fatal(err)
	}
	verifier, err := auth.NewVerifier(signer, issuer, audience)
	if err != nil {
		t.Fatal(err)
	}
	router := thttp.NewRouter(thttp.WithMiddleware(verifier.HTTPMiddleware()))
	inventory.RegisterHTTP(router, s)
	srv := httptest.NewServer(router)
	t.Cleanup(srv.Close)
	return server{base: srv.URL, signer: signer}
}

// token signs a token for a caller with role.
func (s server) token(t *testing.T, role string) string {
	t.Helper()
	tok, err := s.signer.Sign(auth.Claims{Subject: role + "-1", Roles: []string{role}}, time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	return tok
}

type answer struct {
	status  int
	header  http.Header
	body    []byte
	problem thttp.Problem
}

// do sends a request with a bearer token when token is not empty.
func (s server) do(t *testing.T, method, path, token, body string) answer {
	t.Helper()
	req, err := http.NewRequest(method, s.base+path, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
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
	a := answer{status: resp.StatusCode, header: resp.Header, body: b}
	if resp.StatusCode >= 400 {
		if ct := resp.Header.Get("Content-Type"); ct != thttp.ProblemContentType {
			t.Fatalf("%s %s = %d with Content-Type %q, want %s", method, path, resp.StatusCode, ct, thttp.ProblemContentType)
		}
		if err := json.Unmarshal(b, &a.problem); err != nil {
			t.Fatalf("%s %s = %d %s: not a problem: %v", method, path, resp.StatusCode, b, err)
		}
		if a.problem.Status != resp.StatusCode {
			t.Errorf("problem status %d, answer status %d", a.problem.Status, resp.StatusCode)
		}
	}
	return a
}

// want fails unless the answer has status and, for an error, kind and a
// detail that contains every one of words.
func (a answer) want(t *testing.T, status int, kind fault.Kind, words ...string) {
	t.Helper()
	if a.status != status {
		t.Fatalf("got %d %s, want %d", a.status, a.body, status)
	}
	if status < 400 {
		return
	}
	if a.problem.Kind != kind.String() {
		t.Errorf("problem kind %q, want %q", a.problem.Kind, kind)
	}
	for _, w := range words {
		if !strings.Contains(a.problem.Detail, w) {
			t.Errorf("detail %q does not say %q", a.problem.Detail, w)
		}
	}
}

func decode[T any](t *testing.T, a answer) T {
	t.Helper()
	var v T
	if err := json.Unmarshal(a.body, &v); err != nil {
		t.Fatalf("answer %s: %v", a.body, err)
	}
	return v
}

func TestStockOverHTTP(t *testing.T) {
	srv := startServer(t)
	admin, customer := srv.token(t, "admin"), srv.token(t, "customer")

	srv.do(t, "GET", "/v1/stock/mug", "", "").want(t, 404, fault.NotFound, `"mug"`, "has not heard of")

	// Only an administrator sets stock; the refusals say why, and come
	// before the body is judged.
	a := srv.do(t, "PUT", "/v1/admin/stock/mug", "", `{"available":10}`)
	a.want(t, 401, fault.Unauthenticated, "bearer token")
	if got := a.header.Get("WWW-Authenticate"); got != "Bearer" {
		t.Errorf("WWW-Authenticate %q, want Bearer", got)
	}
	srv.do(t, "PUT", "/v1/admin/stock/mug", "not-a-token", `{"available":10}`).want(t, 401, fault.Unauthenticated)
	srv.do(t, "PUT", "/v1/admin/stock/mug", customer, `{"available":10}`).want(t, 403, fault.PermissionDenied, `"admin"`)
	srv.do(t, "PUT", "/v1/admin/stock/mug", customer, `{"available":-1}`).want(t, 403, fault.PermissionDenied)
	srv.do(t, "GET", "/v1/stock/mug", "", "").want(t, 404, fault.NotFound)

	a = srv.do(t, "PUT", "/v1/admin/stock/mug", admin, `{"available":10}`)
	a.want(t, 200, 0)
	if got := decode[inventory.Stock](t, a); got != (inventory.Stock{ProductID: "mug", Available: 10}) {
		t.Errorf("PUT answered %+v, want mug with 10", got)
	}
	a = srv.do(t, "GET", "/v1/stock/mug", "", "")
	a.want(t, 200, 0)
	if string(a.body) != `{"product_id":"mug","available":10}`+"\n" {
		t.Errorf("GET answered %s", a.body)
	}

	for _, tt := range []struct {
		name, body string
		status     int
		field      string
	}{
		{"negative", `{"available":-1}`, 422, "available"},
		{"too many", `{"available":1000001}`, 422, "available"},
		{"missing", `{}`, 422, "available"},
		{"null", `{"available":null}`, 422, "available"},
		{"fraction", `{"available":1.5}`, 400, ""},
		{"malformed", `{"available":`, 400, ""},
	} {
		t.Run(tt.name, func(t *testing.T) {
			a := srv.do(t, "PUT", "/v1/admin/stock/mug", admin, tt.body)
			a.want(t, tt.status, fault.InvalidArgument)
			if tt.field != "" && (len(a.problem.Violations) != 1 || a.problem.Violations[0].Field != tt.field) {
				t.Errorf("violations %+v, want one on %q", a.problem.Violations, tt.field)
			}
		})
	}
	if got := decode[inventory.Stock](t, srv.do(t, "GET", "/v1/stock/mug", "", "")); got.Available != 10 {
		t.Errorf("available %d after refused changes, want 10", got.Available)
	}
}

func TestReservationsOverHTTP(t *testing.T) {
	srv := startServer(t)
	admin := srv.token(t, "admin")
	srv.do(t, "PUT", "/v1/admin/stock/mug", admin, `{"available":5}`).want(t, 200, 0)
	srv.do(t, "PUT", "/v1/admin/stock/hat", admin, `{"available":1}`).want(t, 200, 0)

	body := `{"reservation_id":"order-1","items":[{"product_id":"mug","quantity":2},{"product_id":"hat","quantity":1}]}`
	for range 2 { // the repeat answers the same and takes nothing
		a := srv.do(t, "POST", "/internal/v1/reservations", "", body)
		a.want(t, 200, 0)
		if string(a.body) != `{"id":"order-1","state":"reserved","items":[{"product_id":"hat","quantity":1},{"product_id":"mug","quantity":2}]}`+"\n" {
			t.Errorf("reserve answered %s", a.body)
		}
	}
	if got := decode[inventory.Stock](t, srv.do(t, "GET", "/v1/stock/mug", "", "")); got.Available != 3 {
		t.Errorf("mug available %d, want 3", got.Available)
	}

	srv.do(t, "POST", "/internal/v1/reservations", "", `{"reservation_id":"order-1","items":[{"product_id":"mug","quantity":1}]}`).
		want(t, 409, fault.Conflict, `"order-1"`, "other items")
	srv.do(t, "POST", "/internal/v1/reservations", "", `{"reservation_id":"order-2","items":[{"product_id":"mug","quantity":1},{"product_id":"hat","quantity":1}]}`).
		want(t, 409, fault.FailedPrecondition, `"hat" has 0 available, 1 wanted`)
	a := srv.do(t, "POST", "/internal/v1/reservations", "", `{"reservation_id":"","items":[{"product_id":"mug","quantity":0},{"product_id":"mug","quantity":1}]}`)
	a.want(t, 422, fault.InvalidArgument)
	var fields []string
	for _, v := range a.problem.Violations {
		fields = append(fields, v.Field)
	}
	if strings.Join(fields, " ") != "reservation_id items[0].quantity items[1].product_id" {
		t.Errorf("violations on %q", fields)
	}
	srv.do(t, "POST", "/internal/v1/reservations", "", `{"reservation_id":"x","items":[{"product_id":"mug","quantity":"2"}]}`).
		want(t, 400, fault.InvalidArgument, `"items.quantity"`, "integer")

	a = srv.do(t, "POST", "/internal/v1/reservations/order-1/release", "", "")
	a.want(t, 200, 0)
	if got := decode[inventory.Reservation](t, a); got.State != inventory.Released {
		t.Errorf("release answered %+v", got)
	}
	srv.do(t, "POST", "/internal/v1/reservations/order-1/release", "", `{}`).want(t, 200, 0)
	srv.do(t, "POST", "/internal/v1/reservations/order-1/commit", "", "").want(t, 409, fault.FailedPrecondition, "cannot commit", "released")
	if got := decode[inventory.Stock](t, srv.do(t, "GET", "/v1/stock/mug", "", "")); got.Available != 5 {
		t.Errorf("mug available %d after the release, want 5", got.Available)
	}

	srv.do(t, "POST", "/internal/v1/reservations", "", `{"reservation_id":"order-3","items":[{"product_id":"mug","quantity":5}]}`).want(t, 200, 0)
	for range 2 {
		a := srv.do(t, "POST", "/internal/v1/reservations/order-3/commit", "", "")
		a.want(t, 200, 0)
		if got := decode[inventory.Reservation](t, a); got.State != inventory.Committed {
			t.Errorf("commit answered %+v", got)
		}
	}
	srv.do(t, "POST", "/internal/v1/reservations/order-3/release", "", "").want(t, 409, fault.FailedPrecondition, "cannot release", "committed")
	srv.do(t, "POST", "/internal/v1/reservations/nope/commit", "", "").want(t, 404, fault.NotFound, `"nope"`)
	if got := decode[inventory.Reservation](t, srv.do(t, "POST", "/internal/v1/reservations/nope/release", "", "")); got.State != inventory.Released || got.Items == nil || len(got.Items) != 0 {
		t.Errorf("release of an unknown reservation answered %+v, want it released with no items", got)
	}
	if got := decode[inventory.Stock](t, srv.do(t, "GET", "/v1/stock/mug", "", "")); got.Available != 0 {
		t.Errorf("mug available %d after the commit, want 0", got.Available)
	}
}
