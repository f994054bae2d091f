package http_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"testing"

	thttp "github.com/tailorkit/tailor/transport/http"
)

// TestDecodeJSONAllocatesAsEncodingJSON pins that DecodeJSON's checks
// (body size, UTF-8, duplicate and case-folded keys, trailing data) add no
// allocation per request to what encoding/json's own Decoder makes for the
// same body and type.
func TestDecodeJSONAllocatesAsEncodingJSON(t *testing.T) {
	if raceEnabled {
		t.Skip("the race detector makes sync.Pool drop items, so allocations are not counted")
	}
	type order struct {
		SKU      string `json:"sku"`
		Quantity int    `json:"quantity"`
		Note     string `json:"note,omitempty"`
	}
	body := []byte(`{"sku":"mug-blue","quantity":2,"note":"gift wrap"}`)
	rd := bytes.NewReader(body)
	r := httptest.NewRequest(http.MethodPost, "/v1/orders", nil)
	r.Header.Set("Content-Type", "application/json")
	r.Body = io.NopCloser(rd)

	decode := thttp.DecodeJSON[order]()
	ctx := context.Background()
	tailor := testing.AllocsPerRun(100, func() {
		rd.Reset(body)
		if _, err := decode(ctx, r); err != nil {
			t.Fatal(err)
		}
	})
	plain := testing.AllocsPerRun(100, func() {
		rd.Reset(body)
		v := new(order)
		if err := json.NewDecoder(r.Body).Decode(v); err != nil {
			t.Fatal(err)
		}
	})
	if tailor > plain {
		t.Errorf("DecodeJSON makes %v allocations per request, want at most the %v of json.Decoder", tailor, plain)
	}
}
