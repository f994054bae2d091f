package http_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"

	"github.com/tailorkit/tailor"
	"github.com/tailorkit/tailor/fault"
	thttp "github.com/tailorkit/tailor/transport/http"
)

// send makes one request to url and prints the status and, for a
// problem+json answer, its detail; for a 200 it prints the body.
func send(method, url, contentType, body string) {
	r, _ := http.NewRequest(method, url, strings.NewReader(body))
	if contentType != "" {
		r.Header.Set("Content-Type", contentType)
	}
	resp, err := http.DefaultClient.Do(r)
	if err != nil {
		fmt.Println(err)
		return
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		var p thttp.Problem
		_ = json.NewDecoder(resp.Body).Decode(&p)
		fmt.Println(resp.StatusCode, p.Detail)
		return
	}
	var answer json.RawMessage
	_ = json.NewDecoder(resp.Body).Decode(&answer)
	fmt.Println(resp.StatusCode, string(answer))
}

type priceRequest struct {
	SKU    string `json:"-"`
	Amount int    `json:"amount"`
}

// BindHTTP takes the SKU from the path, after the body is decoded.
func (r *priceRequest) BindHTTP(req *http.Request) error {
	r.SKU = req.PathValue("sku")
	return nil
}

// DecodeJSON reads the body into the request type, then lets the type take
// what the body does not carry, here the path's SKU. Bodies it cannot read
// as that type are refused before the endpoint runs: a media type other
// than JSON with 415, a body over the limit with 413, a key the type does
// not have with 400.
func ExampleDecodeJSON() {
	setPrice := func(_ context.Context, req priceRequest) (string, error) {
		return fmt.Sprintf("%s costs %d", req.SKU, req.Amount), nil
	}
	router := thttp.NewRouter()
	router.Handle("PUT /v1/prices/{sku}", thttp.NewServer(
		tailor.Endpoint(setPrice),
		thttp.DecodeJSON[priceRequest](thttp.WithMaxBodyBytes(64)),
		thttp.EncodeJSON(http.StatusOK),
	))
	srv := httptest.NewServer(router)
	defer srv.Close()

	url := srv.URL + "/v1/prices/mug"
	send("PUT", url, "application/json", `{"amount": 1999}`)
	send("PUT", url, "text/plain", `{"amount": 1999}`)
	send("PUT", url, "application/json", `{"amount": 1999, "note": "`+strings.Repeat("x", 64)+`"}`)
	send("PUT", url, "application/json", `{"amount": 1999, "currency": "EUR"}`)
	// Output:
	// 200 "mug costs 1999"
	// 415 the request body has content type "text/plain"; send JSON with Content-Type: application/json
	// 413 the request body is larger than 64 bytes; send a smaller one
	// 400 the request body has an unknown field "currency"; check its spelling against the API
}

type listRequest struct {
	Limit int
}

// BindHTTP reads the query. A value that is not a number cannot be read
// as the request at all: a plain error, answered with 400.
func (r *listRequest) BindHTTP(req *http.Request) error {
	r.Limit = 20
	if v := req.URL.Query().Get("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil {
			return fmt.Errorf("limit=%q is not a whole number; send one such as limit=20", v)
		}
		r.Limit = n
	}
	return nil
}

// Validate checks a request that was read: a number out of range breaks a
// rule of the API, so 422.
func (r *listRequest) Validate() error {
	if r.Limit < 1 || r.Limit > 100 {
		return fault.Invalid(fault.Violation{Field: "limit", Description: "must be from 1 to 100"})
	}
	return nil
}

// DecodeRequest serves requests without a body: the request type reads
// the path and query itself ([thttp.Binder]) and checks itself
// ([thttp.Validator]).
func ExampleDecodeRequest() {
	list := func(_ context.Context, req listRequest) (listRequest, error) { return req, nil }
	router := thttp.NewRouter()
	router.Handle("GET /v1/products", thttp.NewServer(
		tailor.Endpoint(list),
		thttp.DecodeRequest[listRequest](),
		thttp.EncodeJSON(http.StatusOK),
	))
	srv := httptest.NewServer(router)
	defer srv.Close()

	send("GET", srv.URL+"/v1/products", "", "")
	send("GET", srv.URL+"/v1/products?limit=5", "", "")
	send("GET", srv.URL+"/v1/products?limit=five", "", "")
	send("GET", srv.URL+"/v1/products?limit=500", "", "")
	// Output:
	// 200 {"Limit":20}
	// 200 {"Limit":5}
	// 400 limit="five" is not a whole number; send one such as limit=20
	// 422 the request failed validation: limit: must be from 1 to 100
}

// DecodeJSONResponse reads a client's answer into the response type;
// [tailor.Call] then hands it over typed. A 204 is a zero value, and an
// answer that is not JSON for the type is an Internal error: the server
// broke its contract.
func ExampleDecodeJSONResponse() {
	router := thttp.NewRouter()
	router.HandleFunc("GET /v1/stock/mug", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		fmt.Fprint(w, `{"sku":"mug","units":7}`)
	})
	router.HandleFunc("GET /v1/stock/spoon", func(w http.ResponseWriter, _ *http.Request) {
		w.WriteHeader(http.StatusNoContent)
	})
	router.HandleFunc("GET /v1/stock/teapot", func(w http.ResponseWriter, _ *http.Request) {
		fmt.Fprint(w, "<html>maintenance</html>")
	})
	srv := httptest.NewServer(router)
	defer srv.Close()

	for _, sku := range []string{"mug", "spoon", "teapot"} {
		e, err := thttp.NewClient("GET", srv.URL+"/v1/stock/"+sku, thttp.EncodeJSONRequest, thttp.DecodeJSONResponse[stock]())
		if err != nil {
			fmt.Println(err)
			return
		}
		s, err := tailor.Call[any, stock](e)(context.Background(), nil)
		fmt.Printf("%+v %v\n", s, errors.Is(err, fault.Internal))
	}
	// Output:
	// {SKU:mug Units:7} false
	// {SKU: Units:0} false
	// {SKU: Units:0} true
}
