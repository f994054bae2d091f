package refusal

import (
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/tailorkit/tailor/resilience"
)

type recorder struct {
	http.ResponseWriter
	got resilience.Rejection
}

func (r *recorder) RecordRefusal(rej resilience.Rejection) { r.got = rej }

type wrapper struct{ http.ResponseWriter }

func (w wrapper) Unwrap() http.ResponseWriter { return w.ResponseWriter }

type opaque struct{ http.ResponseWriter }

func TestRecord(t *testing.T) {
	for _, tc := range []struct {
		name string
		wrap func(*recorder) http.ResponseWriter
		want resilience.Rejection
	}{
		{"the recorder itself", func(r *recorder) http.ResponseWriter { return r }, resilience.ErrShed},
		{"through wrappers", func(r *recorder) http.ResponseWriter { return wrapper{wrapper{r}} }, resilience.ErrShed},
		{"behind a writer that hides it", func(r *recorder) http.ResponseWriter { return wrapper{opaque{r}} }, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rec := &recorder{ResponseWriter: httptest.NewRecorder()}
			Record(tc.wrap(rec), resilience.ErrShed)
			if rec.got != tc.want {
				t.Errorf("recorded %q, want %q", rec.got, tc.want)
			}
		})
	}
	Record(httptest.NewRecorder(), resilience.ErrShed) // no recorder: nothing happens
}
