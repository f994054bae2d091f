package http_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"

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
