package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"

	"github.com/tailorkit/tailor/bench/internal/order"
)

// rawCaller is the baseline: the standard library's client, with as many
// idle connections per host as tailor's transport keeps (the default of 2
// would make 32 callers reconnect, which measures the pool, not the
// client).
func rawCaller(url string) (func(context.Context) error, error) {
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.MaxIdleConnsPerHost = 64
	client := &http.Client{Transport: tr}
	body := []byte(order.Body)
	return func(ctx context.Context) error {
		req, err := http.NewRequestWithContext(ctx, http.MethodPost, url, bytes.NewReader(body))
		if err != nil {
			return err
		}
		req.Header.Set("Content-Type", "application/json")
		resp, err := client.Do(req)
		if err != nil {
			return err
		}
		defer resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			_, _ = io.Copy(io.Discard, resp.Body)
			return fmt.Errorf("status %d", resp.StatusCode)
		}
		var r order.Receipt
		return json.NewDecoder(resp.Body).Decode(&r)
	}, nil
}
