package main

import (
	"context"
	"encoding/json"
	"net"
	"net/http"

	"github.com/go-kit/kit/endpoint"
	kithttp "github.com/go-kit/kit/transport/http"

	"github.com/tailorkit/tailor/bench/internal/order"
)

// serveGokit is plain go-kit: an endpoint behind go-kit's HTTP server with
// the decoder and encoder a go-kit user writes.
func serveGokit(ctx context.Context, addr string, ready func(...net.Addr)) error {
	mux := http.NewServeMux()
	mux.Handle("POST "+order.Path, kithttp.NewServer(placeEndpoint(), decodeOrder, kithttp.EncodeJSONResponse))
	return serveHTTP(ctx, addr, mux, ready)
}

// placeEndpoint is order.Place as a go-kit endpoint, written out by hand
// as go-kit users do.
func placeEndpoint() endpoint.Endpoint {
	return func(ctx context.Context, request any) (any, error) {
		return order.Place(ctx, request.(order.Request))
	}
}

func decodeOrder(_ context.Context, r *http.Request) (any, error) {
	var req order.Request
	err := json.NewDecoder(r.Body).Decode(&req)
	return req, err
}
