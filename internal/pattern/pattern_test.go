package pattern

import (
	"net/http"
	"net/http/httptest"
	"testing"
)

type recorder struct {
	http.ResponseWriter
	got string
}

func (r *recorder) RecordPattern(p string) { r.got = p }

type wrapper struct{ http.ResponseWriter }

func (w wrapper) Unwrap() http.ResponseWriter { return w.ResponseWriter }

type opaque struct{ http.ResponseWriter }

func TestRecord(t *testing.T) {
	for _, tc := range []struct {
		name string
		wrap func(*recorder) http.ResponseWriter
		want string
	}{
		{"the recorder itself", func(r *recorder) http.ResponseWriter { return r }, "GET /v1/x/{id}"},
		{"under two wrappers", func(r *recorder) http.ResponseWriter { return wrapper{wrapper{r}} }, "GET /v1/x/{id}"},
		{"under a wrapper without Unwrap", func(r *recorder) http.ResponseWriter { return wrapper{opaque{r}} }, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := &recorder{ResponseWriter: httptest.NewRecorder()}
			Record(tc.wrap(r), "GET /v1/x/{id}")
			if r.got != tc.want {
				t.Errorf("recorded %q, want %q", r.got, tc.want)
			}
		})
	}
	Record(httptest.NewRecorder(), "GET /") // no recorder: nothing to do, no panic
}
