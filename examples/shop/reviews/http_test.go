package reviews_test

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/tailorkit/tailor/auth"
	"github.com/tailorkit/tailor/examples/shop/reviews"
	"github.com/tailorkit/tailor/fault"
	thttp "github.com/tailorkit/tailor/transport/http"
)

// The issuer and audience of the shop's tokens (users.Issuer and
// users.Audience).
const (
	issuer   = "shop-users"
	audience = "shop"
)

// server is the reviews service served over loopback, as main serves it:
// the verifier's middleware on the router puts the caller's claims in the
// context, and the reviews' routes decide what a caller may do.
type server struct {
	base   string
	signer *auth.Signer
	s      *reviews.Service
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
	reviews.RegisterHTTP(router, s)
	srv := httptest.NewServer(router)
	t.Cleanup(srv.Close)
	return server{base: srv.URL, signer: signer, s: s}
}

// token signs a token for the customer user.
func (s server) token(t *testing.T, user string) string {
	t.Helper()
	tok, err := s.signer.Sign(auth.Claims{Subject: user, Roles: []string{"customer"}}, time.Minute)
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

// fields lists the fields of the answer's violations.
func (a answer) fields() string {
	var f []string
	for _, v := range a.problem.Violations {
		f = append(f, v.Field)
	}
	return strings.Join(f, " ")
}

func decode[T any](t *testing.T, a answer) T {
	t.Helper()
	var v T
	if err := json.Unmarshal(a.body, &v); err != nil {
		t.Fatalf("answer %s: %v", a.body, err)
	}
	return v
}

func TestReviewsOverHTTP(t *testing.T) {
	srv := startServer(t)
	ann, bob := srv.token(t, "ann"), srv.token(t, "bob")
	const body = `{"rating":4,"title":"Holds tea","body":"Blue.\nSturdy."}`

	a := srv.do(t, "GET", "/v1/products/mug/reviews", "", "")
	a.want(t, 200, 0)
	if string(a.body) != `{"items":[],"summary":{"count":0,"ratings":[0,0,0,0,0]}}`+"\n" {
		t.Errorf("reviews of a product without any: %s", a.body)
	}
	a = srv.do(t, "GET", "/v1/products/mug/reviews/summary", "", "")
	a.want(t, 200, 0)
	if string(a.body) != `{"count":0,"ratings":[0,0,0,0,0]}`+"\n" {
		t.Errorf("summary of a product without reviews: %s", a.body)
	}

	// A review needs a caller, and a caller who bought the product.
	a = srv.do(t, "POST", "/v1/products/mug/reviews", "", body)
	a.want(t, 401, fault.Unauthenticated, "bearer token")
	if got := a.header.Get("WWW-Authenticate"); got != "Bearer" {
		t.Errorf("WWW-Authenticate %q, want Bearer", got)
	}
	srv.do(t, "POST", "/v1/products/mug/reviews", "not-a-token", body).want(t, 401, fault.Unauthenticated)
	srv.do(t, "POST", "/v1/products/mug/reviews", ann, body).want(t, 403, fault.PermissionDenied, "only a customer who bought this product", "may take a moment")
	// A non-buyer learns nothing about the body but that.
	srv.do(t, "POST", "/v1/products/mug/reviews", ann, `{"rating":9}`).want(t, 403, fault.PermissionDenied)

	buy(t, srv.s, "ann", "mug")
	a = srv.do(t, "POST", "/v1/products/mug/reviews", ann, body)
	a.want(t, 201, 0)
	r := decode[reviews.Review](t, a)
	if r.ID == "" || r.ProductID != "mug" || r.UserID != "ann" || r.Rating != 4 || r.Title != "Holds tea" || r.Body != "Blue.\nSturdy." {
		t.Errorf("created %s", a.body)
	}
	srv.do(t, "POST", "/v1/products/mug/reviews", ann, body).want(t, 409, fault.Conflict, "reviewed this product already")
	srv.do(t, "POST", "/v1/products/mug/reviews", bob, body).want(t, 403, fault.PermissionDenied)

	buy(t, srv.s, "bob", "mug")
	for _, tt := range []struct {
		name, body string
		status     int
		fields     string
	}{
		{"no rating", `{"title":"T","body":"B"}`, 422, "rating"},
		{"rating 0", `{"rating":0,"title":"T","body":"B"}`, 422, "rating"},
		{"rating 6", `{"rating":6,"title":"T","body":"B"}`, 422, "rating"},
		{"banned words", `{"rating":1,"title":"Crap","body":"Total bullshit."}`, 422, "title body"},
		{"empty", `{"rating":3}`, 422, "title body"},
		{"two-line title", `{"rating":3,"title":"a\nb","body":"B"}`, 422, "title"},
		{"fraction", `{"rating":4.5,"title":"T","body":"B"}`, 400, ""},
		{"rating as text", `{"rating":"4","title":"T","body":"B"}`, 400, ""},
		{"malformed", `{"rating":`, 400, ""},
	} {
		t.Run(tt.name, func(t *testing.T) {
			a := srv.do(t, "POST", "/v1/products/mug/reviews", bob, tt.body)
			a.want(t, tt.status, fault.InvalidArgument)
			if got := a.fields(); got != tt.fields {
				t.Errorf("violations on %q, want %q", got, tt.fields)
			}
			if strings.Contains(strings.ToLower(string(a.body)), "crap") || strings.Contains(strings.ToLower(string(a.body)), "bullshit") {
				t.Errorf("the answer repeats a banned word: %s", a.body)
			}
		})
	}
	srv.do(t, "POST", "/v1/products/mug/reviews", bob, `{"rating":2,"title":"Chipped","body":"Arrived chipped."}`).want(t, 201, 0)

	a = srv.do(t, "GET", "/v1/products/mug/reviews/summary", "", "")
	a.want(t, 200, 0)
	if string(a.body) != `{"count":2,"average":3,"ratings":[0,1,0,1,0]}`+"\n" {
		t.Errorf("summary %s", a.body)
	}

	// Newest first, a page at a time.
	a = srv.do(t, "GET", "/v1/products/mug/reviews?limit=1", "", "")
	a.want(t, 200, 0)
	page := decode[reviews.ListReviewsResponse](t, a)
	if len(page.Items) != 1 || page.Items[0].UserID != "bob" || page.NextCursor == "" || page.Summary.Count != 2 {
		t.Fatalf("first page %s", a.body)
	}
	a = srv.do(t, "GET", "/v1/products/mug/reviews?limit=1&cursor="+page.NextCursor, "", "")
	a.want(t, 200, 0)
	page = decode[reviews.ListReviewsResponse](t, a)
	if len(page.Items) != 1 || page.Items[0].UserID != "ann" || page.NextCursor != "" {
		t.Fatalf("second page %s", a.body)
	}
	for _, tt := range []struct {
		query  string
		status int
	}{
		{"limit=0", 422}, {"limit=101", 422}, {"limit=99999999999999999999", 422},
		{"limit=two", 400}, {"limit=1&limit=2", 400}, {"cursor=nope", 422},
	} {
		srv.do(t, "GET", "/v1/products/mug/reviews?"+tt.query, "", "").want(t, tt.status, fault.InvalidArgument)
	}
}
