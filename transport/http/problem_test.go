package http_test

import (
	"encoding/json"
	"errors"
	"net/http"
	"strings"
	"testing"

	"github.com/tailorkit/tailor/fault"
	thttp "github.com/tailorkit/tailor/transport/http"
)

func TestProblemRoundTripEveryKind(t *testing.T) {
	kinds := []fault.Kind{fault.Internal, fault.InvalidArgument, fault.Unauthenticated, fault.PermissionDenied,
		fault.NotFound, fault.Conflict, fault.FailedPrecondition, fault.ResourceExhausted, fault.Canceled,
		fault.Unavailable, fault.DeadlineExceeded}
	for _, k := range kinds {
		t.Run(k.String(), func(t *testing.T) {
			sent := fault.Wrap(errors.New("internal secret"), k, "what went wrong")
			p := thttp.NewProblem(sent, "rid")
			if p.Status != k.HTTPStatus() {
				t.Fatalf("status = %d, want %d", p.Status, k.HTTPStatus())
			}
			body, _ := json.Marshal(p)
			got := thttp.ParseProblem(p.Status, thttp.ProblemContentType, body)
			if got.Kind != k {
				t.Fatalf("kind = %v, want %v", got.Kind, k)
			}
			if k.ServerFault() == (got.Detail == "what went wrong") {
				t.Errorf("detail = %q: want the detail only for client errors", got.Detail)
			}
			if strings.Contains(string(body), "internal secret") {
				t.Errorf("body %s leaks the cause", body)
			}
		})
	}
}

func TestParseProblemWithoutKind(t *testing.T) {
	tests := []struct {
		status      int
		contentType string
		body        string
		want        fault.Kind
	}{
		{404, "text/plain", "404 page not found", fault.NotFound},
		{413, thttp.ProblemContentType, `{"status":413,"detail":"too big"}`, fault.InvalidArgument},
		{502, "text/html", "<h1>bad gateway</h1>", fault.Unavailable},
		{500, thttp.ProblemContentType, `{not json`, fault.Internal},
		{409, thttp.ProblemContentType, `{"kind":"no_such_kind"}`, fault.Conflict},
		{400, thttp.ProblemContentType, `{"kind":"internal"}`, fault.InvalidArgument},
		{503, thttp.ProblemContentType, `{"kind":"not_found"}`, fault.Unavailable},
		{429, thttp.ProblemContentType, `{"kind":"resource_exhausted"}`, fault.ResourceExhausted},
		{418, "", "", fault.InvalidArgument},
	}
	for _, tt := range tests {
		got := thttp.ParseProblem(tt.status, tt.contentType, []byte(tt.body))
		if got.Kind != tt.want || got.HTTPStatus() != tt.status {
			t.Errorf("ParseProblem(%d, %q, %q) = kind %v status %d; want %v and %d", tt.status, tt.contentType, tt.body, got.Kind, got.HTTPStatus(), tt.want, tt.status)
		}
	}
}

func FuzzParseProblem(f *testing.F) {
	f.Add(404, thttp.ProblemContentType, []byte(`{"title":"Not Found","status":404,"detail":"x","kind":"not_found"}`))
	f.Add(422, thttp.ProblemContentType, []byte(`{"status":422,"kind":"invalid_argument","violations":[{"field":"a","description":"b"}]}`))
	f.Add(500, "application/problem+json; charset=utf-8", []byte(`{"kind":"internal"`))
	f.Add(503, "text/plain", []byte("down"))
	f.Add(200, "", []byte(nil))
	f.Fuzz(func(t *testing.T, status int, contentType string, body []byte) {
		fe := thttp.ParseProblem(status, contentType, body)
		if fe == nil {
			t.Fatal("ParseProblem returned nil")
		}
		if fe.Cause == nil {
			t.Fatal("ParseProblem returned no cause")
		}
		_ = fe.Error()
		var se *thttp.StatusError
		if !errors.As(fe, &se) || se.Status != status {
			t.Fatalf("cause %v does not record status %d", fe.Cause, status)
		}
		if status >= 400 && status < 500 && status != http.StatusRequestTimeout && fe.Kind.ServerFault() {
			t.Fatalf("status %d parsed as server fault %v", status, fe.Kind)
		}
		if got := fe.HTTPStatus(); status > 0 && got != status {
			t.Fatalf("HTTPStatus() = %d, want %d", got, status)
		}
	})
}

func TestProblemTitleForOverriddenStatus(t *testing.T) {
	p := thttp.NewProblem(&fault.Error{Kind: fault.InvalidArgument, Status: http.StatusRequestEntityTooLarge, Detail: "big"}, "")
	if p.Title != "Request Entity Too Large" || p.Status != 413 {
		t.Fatalf("problem = %+v, want title %q and status 413", p, "Request Entity Too Large")
	}
}
