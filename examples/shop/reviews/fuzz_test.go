package reviews_test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/tailorkit/tailor/auth"
	"github.com/tailorkit/tailor/examples/shop/reviews"
	thttp "github.com/tailorkit/tailor/transport/http"
)

// fuzzRouter serves reviews in which every user bought the mug.
func fuzzRouter(f *testing.F) (*thttp.Router, *reviews.Service) {
	s, _ := newService(f)
	router := thttp.NewRouter()
	reviews.RegisterHTTP(router, s)
	return router, s
}

// serve sends body to the route through the router's real decoding, as
// user, and fails on a server error: bad input is a 4xx.
func serve(t *testing.T, router http.Handler, method, target, user, body string) *httptest.ResponseRecorder {
	req := httptest.NewRequest(method, target, strings.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	req = req.WithContext(auth.ContextWithClaims(req.Context(), auth.Claims{Subject: user}))
	rec := httptest.NewRecorder()
	router.ServeHTTP(rec, req)
	if rec.Code >= 500 {
		t.Fatalf("%s %s %q = %d %s: a server error for bad input", method, target, body, rec.Code, rec.Body)
	}
	return rec
}

// FuzzCreateReviewBody sends arbitrary review bodies, each by a new buyer
// of the mug: each is stored as a review that keeps every rule, or
// refused with a 4xx; never a server error.
func FuzzCreateReviewBody(f *testing.F) {
	router, s := fuzzRouter(f)
	for _, seed := range []string{
		`{"rating":5,"title":"Lovely","body":"Holds tea.\nBlue."}`,
		`{"rating":0,"title":"T","body":"B"}`,
		`{"rating":6,"title":"T","body":"B"}`,
		`{"rating":-9223372036854775808,"title":"T","body":"B"}`,
		`{"rating":4.5,"title":"T","body":"B"}`,
		`{"rating":1e0,"title":"T","body":"B"}`,
		`{"rating":3,"title":"a\nb","body":"\u0000"}`,
		`{"rating":3,"title":"\u202e","body":"\ud800"}`,
		`{"rating":1,"title":"SHIT","body":"crap!"}`,
		`{"rating":3,"title":"T","body":"B","user_id":"mallory"}`,
		`{"rating":3,"rating":4,"title":"T","body":"B"}`,
		`{"RATING":3,"title":"T","body":"B"}`,
		`[]`, `null`, `{`, "",
	} {
		f.Add(seed)
	}
	n := 0
	f.Fuzz(func(t *testing.T, body string) {
		n++
		user := fmt.Sprint("user-", n)
		buy(t, s, user, "mug")
		rec := serve(t, router, "POST", "/v1/products/mug/reviews", user, body)
		if rec.Code != http.StatusCreated {
			return
		}
		var r reviews.Review
		if err := json.Unmarshal(rec.Body.Bytes(), &r); err != nil {
			t.Fatalf("201 with %s: %v", rec.Body, err)
		}
		if r.UserID != user || r.ProductID != "mug" || r.Rating < 1 || r.Rating > 5 ||
			r.Title == "" || utf8.RuneCountInString(r.Title) > reviews.MaxTitleLen || strings.ContainsAny(r.Title, "\n\r\x00") ||
			r.Body == "" || utf8.RuneCountInString(r.Body) > reviews.MaxBodyLen || strings.ContainsRune(r.Body, 0) {
			t.Fatalf("stored %+v from %q, which breaks a rule", r, body)
		}
	})
}

// FuzzListReviewsQuery sends arbitrary queries to the list: each answers
// a page of at most 100 reviews, or a 4xx.
func FuzzListReviewsQuery(f *testing.F) {
	router, _ := fuzzRouter(f)
	for _, seed := range []string{"", "limit=2", "limit=0", "limit=101", "limit=-1", "limit=1e2", "limit=1&limit=2",
		"cursor=", "cursor=nope", "cursor=MDE5MGQ5YTQtN2MxZS03YjVlLThmM2EtMmIxYzRkNWU2Zjcw", "limit=%zz", "cursor=%00"} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, query string) {
		req := httptest.NewRequest("GET", "/v1/products/mug/reviews", nil)
		req.URL.RawQuery = query
		rec := httptest.NewRecorder()
		router.ServeHTTP(rec, req)
		if rec.Code >= 500 {
			t.Fatalf("?%s = %d %s: a server error for bad input", query, rec.Code, rec.Body)
		}
		if rec.Code != http.StatusOK {
			return
		}
		var page reviews.ListReviewsResponse
		if err := json.Unmarshal(rec.Body.Bytes(), &page); err != nil || len(page.Items) > reviews.MaxPageSize {
			t.Fatalf("?%s answered %s (%v)", query, rec.Body, err)
		}
	})
}
