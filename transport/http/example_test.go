package http_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"

	kithttp "github.com/go-kit/kit/transport/http"

	"github.com/tailorkit/tailor"
	"github.com/tailorkit/tailor/fault"
	thttp "github.com/tailorkit/tailor/transport/http"
)

type lookupRequest struct {
	SKU string
}

// BindHTTP takes the SKU from the path.
func (r *lookupRequest) BindHTTP(req *http.Request) error {
	r.SKU = req.PathValue("sku")
	return nil
}

type stock struct {
	SKU   string `json:"sku"`
	Units int    `json:"units"`
}

func lookup(_ context.Context, req lookupRequest) (stock, error) {
	if req.SKU != "mug" {
		return stock{}, fault.New(fault.NotFound, fmt.Sprintf("no stock for %q", req.SKU))
	}
	return stock{SKU: "mug", Units: 7}, nil
}

// A server and a client of the same endpoint: the client gets the typed
// response, and the server's NotFound back as a NotFound.
func Example() {
	router := thttp.NewRouter()
	router.Handle("GET /v1/stock/{sku}", thttp.NewServer(
		tailor.Endpoint(lookup),
		thttp.DecodeRequest[lookupRequest](),
		thttp.EncodeJSON(http.StatusOK),
	))
	srv := httptest.NewServer(router)
	defer srv.Close()

	get := func(sku string) (stock, error) {
		e, err := thttp.NewClient("GET", srv.URL+"/v1/stock/"+sku, thttp.EncodeJSONRequest, thttp.DecodeJSONResponse[stock]())
		if err != nil {
			return stock{}, err
		}
		return tailor.Call[any, stock](e)(context.Background(), nil)
	}
	s, err := get("mug")
	fmt.Println(s.Units, err)
	_, err = get("teapot")
	fmt.Println(errors.Is(err, fault.NotFound), fault.As(err).Detail)
	// Output:
	// 7 <nil>
	// true no stock for "teapot"
}

// Errors are problem+json bodies whose kind and status come from the error.
func ExampleEncodeError() {
	rec := httptest.NewRecorder()
	thttp.EncodeError(context.Background(), fault.New(fault.Conflict, `a product named "Mug" exists`), rec)
	fmt.Println(rec.Code, rec.Header().Get("Content-Type"))
	fmt.Print(rec.Body.String())
	// Output:
	// 409 application/problem+json
	// {"title":"Conflict","status":409,"detail":"a product named \"Mug\" exists","kind":"conflict"}
}

// A Router gives every request an ID and answers what no route takes as
// problem+json: an unknown path, a method the path does not serve, a path
// not in canonical form.
func ExampleNewRouter() {
	router := thttp.NewRouter()
	router.HandleFunc("GET /v1/ping", func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintln(w, "pong")
	})
	srv := httptest.NewServer(router)
	defer srv.Close()

	for _, req := range []struct{ method, path string }{
		{"GET", "/v1/ping"}, {"GET", "/v1/pong"}, {"DELETE", "/v1/ping"}, {"GET", "/v1//ping"},
	} {
		r, _ := http.NewRequest(req.method, srv.URL+req.path, nil)
		resp, err := http.DefaultClient.Do(r)
		if err != nil {
			fmt.Println(err)
			return
		}
		resp.Body.Close()
		fmt.Println(req.method, req.path, resp.StatusCode, resp.Header.Get("Content-Type"), resp.Header.Get("X-Request-Id") != "")
	}
	// Output:
	// GET /v1/ping 200 text/plain; charset=utf-8 true
	// GET /v1/pong 404 application/problem+json true
	// DELETE /v1/ping 405 application/problem+json true
	// GET /v1//ping 400 application/problem+json true
}

type renameRequest struct {
	Name string `json:"name"`
}

// Validate refuses an empty name: well-formed input that breaks a rule,
// so 422.
func (r renameRequest) Validate() error {
	if r.Name == "" {
		return fault.Invalid(fault.Violation{Field: "name", Description: "is required"})
	}
	return nil
}

// NewServer serves an endpoint; DecodeJSON answers input that cannot be
// read with 400 and input that breaks a rule with 422.
func ExampleNewServer() {
	rename := func(_ context.Context, req renameRequest) (renameRequest, error) { return req, nil }
	router := thttp.NewRouter()
	router.Handle("PUT /v1/name", thttp.NewServer(tailor.Endpoint(rename), thttp.DecodeJSON[renameRequest](), thttp.EncodeJSON(http.StatusOK)))
	srv := httptest.NewServer(router)
	defer srv.Close()

	for _, body := range []string{`{"name":"Ann"}`, `{"NAME":"Ann"}`, `null`, `{"name":""}`} {
		r, _ := http.NewRequest("PUT", srv.URL+"/v1/name", strings.NewReader(body))
		resp, err := http.DefaultClient.Do(r)
		if err != nil {
			fmt.Println(err)
			return
		}
		if resp.StatusCode == http.StatusOK {
			resp.Body.Close()
			fmt.Println(resp.StatusCode)
			continue
		}
		var p thttp.Problem
		_ = json.NewDecoder(resp.Body).Decode(&p)
		resp.Body.Close()
		fmt.Println(resp.StatusCode, p.Detail)
	}
	// Output:
	// 200
	// 400 the request body has the key "NAME", but the field is "name"; JSON keys are case-sensitive, so spell it exactly
	// 400 the request body is JSON null; send a JSON object
	// 422 the request failed validation: name: is required
}

// NewClient checks its target when it is built, and returns what the
// server answered as a fault error; a server nobody runs is Unavailable.
func ExampleNewClient() {
	_, err := thttp.NewClient("GET", "localhost:8080/v1/stock", thttp.EncodeJSONRequest, thttp.DecodeJSONResponse[stock]())
	fmt.Println(err)

	srv := httptest.NewServer(http.NotFoundHandler())
	url := srv.URL
	srv.Close() // nobody listens there now
	e, err := thttp.NewClient("GET", url+"/v1/stock/mug", thttp.EncodeJSONRequest, thttp.DecodeJSONResponse[stock]())
	if err != nil {
		fmt.Println(err)
		return
	}
	_, err = e(context.Background(), nil)
	fmt.Println(errors.Is(err, fault.Unavailable), fault.IsRetryable(err))
	// Output:
	// http: client target "localhost:8080/v1/stock" is not an absolute http:// or https:// URL; give one such as http://127.0.0.1:8080/v1/products
	// true true
}

// One transport per process, shared by every client endpoint, so
// connections are reused.
func ExampleNewTransport() {
	client := &http.Client{Transport: thttp.NewTransport()}
	e, err := thttp.NewClient("GET", "http://127.0.0.1:8080/v1/stock/mug", thttp.EncodeJSONRequest, thttp.DecodeJSONResponse[stock](),
		kithttp.SetClient(client))
	fmt.Println(e != nil, err)
	// Output:
	// true <nil>
}

// NewProblem describes an error for a client, without the text of a
// server-side cause.
func ExampleNewProblem() {
	p := thttp.NewProblem(fault.Wrap(errors.New("pq: too many connections"), fault.Unavailable, "the database is busy"), "req-7")
	fmt.Printf("%d %s %q %s\n", p.Status, p.Kind, p.Detail, p.RequestID)
	// Output:
	// 503 unavailable "the service is unavailable; retry later" req-7
}
