package http_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/tailorkit/tailor"
	"github.com/tailorkit/tailor/fault"
	thttp "github.com/tailorkit/tailor/transport/http"
)

type greetRequest struct {
	Name  string `json:"name"`
	Times int    `json:"times"`
}

func (r greetRequest) Validate() error {
	if r.Times < 0 {
		return fault.Invalid(fault.Violation{Field: "times", Description: "must be zero or more"})
	}
	if r.Name == "nobody" {
		return errors.New("name must not be nobody")
	}
	return nil
}

type greetResponse struct {
	Greeting string `json:"greeting"`
}

func greet(_ context.Context, req greetRequest) (greetResponse, error) {
	switch req.Name {
	case "missing":
		return greetResponse{}, fault.New(fault.NotFound, `no one is called "missing"`)
	case "broken":
		return greetResponse{}, fault.Wrap(errors.New("secret database password wrong"), fault.Internal, "db failed")
	case "panic":
		panic("boom")
	}
	return greetResponse{Greeting: strings.Repeat("hello "+req.Name+"! ", max(1, req.Times))}, nil
}

func newGreetServer(t testing.TB, opts ...thttp.DecodeOption) *httptest.Server {
	t.Helper()
	r := thttp.NewRouter()
	r.Handle("POST /greet", thttp.NewServer(tailor.Endpoint(greet), thttp.DecodeJSON[greetRequest](opts...), thttp.EncodeJSON(http.StatusOK)))
	srv := httptest.NewServer(r)
	t.Cleanup(srv.Close)
	return srv
}

func readProblem(t *testing.T, resp *http.Response) thttp.Problem {
	t.Helper()
	if ct := resp.Header.Get("Content-Type"); ct != thttp.ProblemContentType {
		t.Fatalf("Content-Type = %q, want %q", ct, thttp.ProblemContentType)
	}
	var p thttp.Problem
	if err := json.NewDecoder(resp.Body).Decode(&p); err != nil {
		t.Fatalf("decode problem: %v", err)
	}
	if p.Status != resp.StatusCode {
		t.Errorf("problem status %d, response status %d: want them equal", p.Status, resp.StatusCode)
	}
	return p
}

func TestDecodeJSONOverHTTP(t *testing.T) {
	srv := newGreetServer(t, thttp.WithMaxBodyBytes(64))
	tests := []struct {
		name        string
		contentType string
		body        string
		wantStatus  int
		wantDetail  string // substring of the problem detail
	}{
		{"valid", "application/json", `{"name":"ann"}`, 200, ""},
		{"json with charset", "application/json; charset=utf-8", `{"name":"ann"}`, 200, ""},
		{"problem-style json type", "application/vnd.api+json", `{"name":"ann"}`, 200, ""},
		{"no content type", "", `{"name":"ann"}`, 200, ""},
		{"curl's default form type", "application/x-www-form-urlencoded", `{"name":"ann"}`, 200, ""},
		{"trailing white space", "application/json", "{\"name\":\"ann\"}\n\n ", 200, ""},
		{"malformed", "application/json", `{bad`, 400, "not valid JSON"},
		{"malformed via curl default", "application/x-www-form-urlencoded", `{bad`, 400, "not valid JSON"},
		{"empty", "application/json", ``, 400, "empty"},
		{"truncated", "application/json", `{"name":"an`, 400, "ends in the middle"},
		{"wrong type", "application/json", `{"name":42}`, 400, `field "name"`},
		{"not an object", "application/json", `[1,2]`, 400, "array"},
		{"unknown field", "application/json", `{"nmae":"ann"}`, 400, `unknown field "nmae"`},
		{"two values", "application/json", `{"name":"a"}{"name":"b"}`, 400, "after the JSON value"},
		{"too large", "application/json", `{"name":"` + strings.Repeat("x", 100) + `"}`, 413, "larger than 64 bytes"},
		{"text content type", "text/plain", `{"name":"ann"}`, 415, "application/json"},
		{"xml content type", "application/xml", `<name>ann</name>`, 415, `"application/xml"`},
		{"bad content type", "%%%", `{"name":"ann"}`, 415, "application/json"},
		{"field violation", "application/json", `{"name":"ann","times":-1}`, 422, "times: must be zero or more"},
		{"null body", "application/json", `null`, 400, "JSON null; send a JSON object"},
		{"fraction for an integer", "application/json", `{"name":"ann","times":1.5}`, 400, `field "times" is the JSON number 1.5; it must be an integer`},
		{"invalid UTF-8", "application/json", "{\"name\":\"a\xffn\"}", 400, "not valid UTF-8 (at byte 10)"},
		{"case-folded key", "application/json", `{"NAME":"ann"}`, 400, `key "NAME", but the field is "name"`},
		{"case-folded duplicate", "application/json", `{"name":"ann","Name":"bob"}`, 400, `key "Name", but the field is "name"`},
		{"duplicate key", "application/json", `{"name":"bob","name":"ann"}`, 400, `key "name" twice`},
		{"escaped duplicate key", "application/json", `{"name":"bob","\u006eame":"ann"}`, 400, `key "name" twice`},
		{"gzip body", "application/json", `{"name":"ann"}`, 415, `Content-Encoding "gzip"`},
		{"plain validation error", "application/json", `{"name":"nobody"}`, 422, "must not be nobody"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req, _ := http.NewRequest("POST", srv.URL+"/greet", strings.NewReader(tt.body))
			if tt.contentType != "" {
				req.Header.Set("Content-Type", tt.contentType)
			}
			if tt.name == "gzip body" {
				req.Header.Set("Content-Encoding", "gzip")
			}
			resp, err := srv.Client().Do(req)
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			if resp.StatusCode != tt.wantStatus {
				b, _ := io.ReadAll(resp.Body)
				t.Fatalf("status = %d, want %d (body %s)", resp.StatusCode, tt.wantStatus, b)
			}
			if tt.wantStatus == 200 {
				var g greetResponse
				if err := json.NewDecoder(resp.Body).Decode(&g); err != nil || g.Greeting != "hello ann! " {
					t.Fatalf("greeting = %q, %v; want %q", g.Greeting, err, "hello ann! ")
				}
				return
			}
			p := readProblem(t, resp)
			if !strings.Contains(p.Detail, tt.wantDetail) {
				t.Errorf("detail = %q, want it to contain %q", p.Detail, tt.wantDetail)
			}
			if p.Kind != "invalid_argument" {
				t.Errorf("kind = %q, want invalid_argument", p.Kind)
			}
			if p.RequestID == "" || p.RequestID != resp.Header.Get("X-Request-Id") {
				t.Errorf("problem request_id = %q, header %q: want the same, non-empty", p.RequestID, resp.Header.Get("X-Request-Id"))
			}
		})
	}
}

func TestStrictContentTypeRejectsForms(t *testing.T) {
	srv := newGreetServer(t, thttp.WithStrictContentType())
	resp, err := http.Post(srv.URL+"/greet", "application/x-www-form-urlencoded", strings.NewReader(`{"name":"ann"}`))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusUnsupportedMediaType {
		t.Fatalf("status = %d, want 415", resp.StatusCode)
	}
}

func TestEndpointErrorsBecomeProblems(t *testing.T) {
	srv := newGreetServer(t)
	tests := []struct {
		name, body string
		wantStatus int
		wantKind   string
		wantDetail string
		forbidden  string
	}{
		{"not found", `{"name":"missing"}`, 404, "not_found", `no one is called "missing"`, ""},
		{"internal hides cause", `{"name":"broken"}`, 500, "internal", "request id", "password"},
		{"panic", `{"name":"panic"}`, 500, "internal", "request id", "boom"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			resp, err := http.Post(srv.URL+"/greet", "application/json", strings.NewReader(tt.body))
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			if resp.StatusCode != tt.wantStatus {
				t.Fatalf("status = %d, want %d", resp.StatusCode, tt.wantStatus)
			}
			p := readProblem(t, resp)
			if p.Kind != tt.wantKind || !strings.Contains(p.Detail, tt.wantDetail) {
				t.Errorf("problem = %+v, want kind %q and detail containing %q", p, tt.wantKind, tt.wantDetail)
			}
			if tt.forbidden != "" && strings.Contains(p.Detail+p.Title, tt.forbidden) {
				t.Errorf("problem %+v leaks %q", p, tt.forbidden)
			}
		})
	}
	// The server survived the panic.
	resp, err := http.Post(srv.URL+"/greet", "application/json", strings.NewReader(`{"name":"ann"}`))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Fatalf("after a panic: status = %d, want 200", resp.StatusCode)
	}
}

func TestEncodeErrorRetryAfter(t *testing.T) {
	rec := httptest.NewRecorder()
	thttp.EncodeError(context.Background(), &fault.Error{Kind: fault.ResourceExhausted, Detail: "slow down", RetryAfter: 1500e6}, rec)
	if rec.Code != 429 || rec.Header().Get("Retry-After") != "2" {
		t.Fatalf("status %d, Retry-After %q; want 429 and 2", rec.Code, rec.Header().Get("Retry-After"))
	}
}

// challenge is an error cause that asks for a header, as an
// authentication failure asks for WWW-Authenticate.
type challenge struct{}

func (challenge) Error() string        { return "no token" }
func (challenge) Headers() http.Header { return http.Header{"Www-Authenticate": {"Bearer"}} }

func TestEncodeErrorHeaderer(t *testing.T) {
	rec := httptest.NewRecorder()
	err := &fault.Error{Kind: fault.Unauthenticated, Detail: "send a token", Cause: challenge{}}
	thttp.EncodeError(context.Background(), fmt.Errorf("guard: %w", err), rec)
	if rec.Code != 401 || rec.Header().Get("WWW-Authenticate") != "Bearer" || rec.Header().Get("Content-Type") != thttp.ProblemContentType {
		t.Fatalf("status %d, WWW-Authenticate %q, Content-Type %q; want 401, Bearer, problem+json",
			rec.Code, rec.Header().Get("WWW-Authenticate"), rec.Header().Get("Content-Type"))
	}
}

func TestEncodeJSONStatusCoderAndNil(t *testing.T) {
	enc := thttp.EncodeJSON(http.StatusCreated)
	rec := httptest.NewRecorder()
	if err := enc(context.Background(), rec, nil); err != nil {
		t.Fatal(err)
	}
	if rec.Code != http.StatusCreated || rec.Body.Len() != 0 {
		t.Fatalf("nil response: status %d body %q; want 201 and no body", rec.Code, rec.Body.String())
	}
	rec = httptest.NewRecorder()
	if err := enc(context.Background(), rec, accepted{}); err != nil {
		t.Fatal(err)
	}
	if rec.Code != http.StatusAccepted || rec.Header().Get("Location") != "/jobs/1" {
		t.Fatalf("StatusCoder response: status %d Location %q; want 202 and /jobs/1", rec.Code, rec.Header().Get("Location"))
	}
}

type accepted struct{}

func (accepted) StatusCode() int              { return http.StatusAccepted }
func (accepted) Headers() http.Header         { return http.Header{"Location": {"/jobs/1"}} }
func (accepted) MarshalJSON() ([]byte, error) { return []byte(`{"job":1}`), nil }

func FuzzDecodeJSON(f *testing.F) {
	f.Add("application/json", []byte(`{"name":"ann","times":2}`))
	f.Add("application/json", []byte(`{bad`))
	f.Add("application/x-www-form-urlencoded", []byte(`{"name":"nobody"}`))
	f.Add("text/plain", []byte(`{}`))
	f.Add("", []byte(`{"name":"x"} {"name":"y"}`))
	f.Add("application/json", []byte(`{"times":-1}`))
	f.Add("application/json", []byte(`{"name":"`+strings.Repeat("é", 40)+`"}`))
	f.Add("application/json", []byte(`null`))
	f.Add("application/json", []byte(`{"times":1.5}`))
	f.Add("application/json", []byte("{\"name\":\"\xff\"}"))
	f.Add("application/json", []byte(`{"NAME":"a"}`))
	f.Add("application/json", []byte(`{"name":"a","name":"b"}`))
	f.Add("application/json", []byte(`{"name":"a","\u004eame":"b"}`))
	dec := thttp.DecodeJSON[greetRequest](thttp.WithMaxBodyBytes(64))
	f.Fuzz(func(t *testing.T, contentType string, body []byte) {
		req := httptest.NewRequest("POST", "/greet", strings.NewReader(string(body)))
		req.Header.Set("Content-Type", contentType)
		v, err := dec(context.Background(), req)
		if err == nil {
			if _, ok := v.(*greetRequest); !ok {
				t.Fatalf("decoded %T, want *greetRequest", v)
			}
			if len(body) > 64 {
				t.Fatalf("accepted a %d-byte body over the 64-byte limit", len(body))
			}
			return
		}
		fe := fault.As(err)
		if fe.Kind != fault.InvalidArgument {
			t.Fatalf("kind = %v, want invalid_argument for %q", fe.Kind, body)
		}
		if s := fe.HTTPStatus(); s < 400 || s >= 500 {
			t.Fatalf("status = %d, want a 4xx", s)
		}
		if fe.Detail == "" {
			t.Fatal("empty detail")
		}
	})
}

// labelled has a field of interface type, which JSON cannot fill.
type labelled struct {
	Label fmt.Stringer `json:"label"`
}

func TestDecodeJSONNamesTheWantedJSONType(t *testing.T) {
	tests := []struct {
		name, body string
		decode     func(*http.Request) error
		want       string // the detail starts with it
		notWant    string // the detail must not contain it
	}{
		{"number field", `{"name":"ann","times":"two"}`, decodeWith[greetRequest], `field "times" is a JSON string; it must be an integer`, ""},
		{"object body", `"ann"`, decodeWith[greetRequest], "the request body is a JSON string; send a JSON object", ""},
		{"interface field", `{"label":"x"}`, decodeWith[labelled], `field "label" is a JSON string`, "number"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.decode(httptest.NewRequest("POST", "/", strings.NewReader(tt.body)))
			got := fault.As(err).Detail
			if !strings.HasPrefix(got, tt.want) || (tt.notWant != "" && strings.Contains(got, tt.notWant)) {
				t.Errorf("got detail %q, want one starting %q and without %q", got, tt.want, tt.notWant)
			}
		})
	}
}

func decodeWith[T any](r *http.Request) error {
	_, err := thttp.DecodeJSON[T]()(context.Background(), r)
	return err
}
