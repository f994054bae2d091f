package http_test

import (
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/tailorkit/tailor/requestid"
	thttp "github.com/tailorkit/tailor/transport/http"
)

func TestWithMiddlewareSeesRouteAndRequestID(t *testing.T) {
	var pattern, id string
	mw := func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			next.ServeHTTP(w, r)
			pattern, id = r.Pattern, requestid.FromContext(r.Context())
		})
	}
	rt := thttp.NewRouter(thttp.WithMiddleware(mw))
	rt.HandleFunc("GET /v1/products/{id}", func(w http.ResponseWriter, r *http.Request) {})

	tests := []struct {
		name, path, wantPattern string
	}{
		{"route", "/v1/products/42", "GET /v1/products/{id}"},
		{"no route", "/nowhere", "/"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req := httptest.NewRequest("GET", tt.path, nil)
			req.Header.Set(requestid.Header, "abc")
			rt.ServeHTTP(httptest.NewRecorder(), req)
			if pattern != tt.wantPattern {
				t.Errorf("got pattern %q, want %q", pattern, tt.wantPattern)
			}
			if id != "abc" {
				t.Errorf("got request id %q, want %q", id, "abc")
			}
		})
	}
}
