package main

import (
	"context"
	"encoding/json"
	"net"
	"net/http"

	"github.com/tailorkit/tailor/bench/internal/order"
)

// serveRaw is the baseline: the standard library alone, as a team without
// a toolkit would write the handler.
func serveRaw(ctx context.Context, addr string, ready func(...net.Addr)) error {
	mux := http.NewServeMux()
	mux.HandleFunc("POST "+order.Path, func(w http.ResponseWriter, r *http.Request) {
		var req order.Request
		if err := json.NewDecoder(r.Body).Decode(&req); err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		resp, err := order.Place(r.Context(), req)
		if err != nil {
			http.Error(w, err.Error(), http.StatusInternalServerError)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(resp)
	})
	return serveHTTP(ctx, addr, mux, ready)
}
