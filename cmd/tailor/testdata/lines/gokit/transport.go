package main

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"

	"github.com/go-kit/kit/endpoint"
	"github.com/go-kit/kit/transport"
	httptransport "github.com/go-kit/kit/transport/http"
	"github.com/go-kit/log"
)

// NewHTTPHandler serves the endpoints of s over HTTP with JSON bodies.
func NewHTTPHandler(s Set, logger log.Logger) http.Handler {
	options := []httptransport.ServerOption{
		httptransport.ServerErrorEncoder(errorEncoder),
		httptransport.ServerErrorHandler(transport.NewLogErrorHandler(logger)),
	}
	m := http.NewServeMux()
	m.Handle("POST /v1/sum", httptransport.NewServer(s.SumEndpoint, decodeJSON[SumRequest], encodeResponse, options...))
	m.Handle("POST /v1/concat", httptransport.NewServer(s.ConcatEndpoint, decodeJSON[ConcatRequest], encodeResponse, options...))
	m.Handle("POST /v1/max", httptransport.NewServer(s.MaxEndpoint, decodeJSON[MaxRequest], encodeResponse, options...))
	m.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(http.StatusOK) })
	return m
}

type badRequest struct{ error }

func decodeJSON[T any](_ context.Context, r *http.Request) (interface{}, error) {
	var req T
	if err := json.NewDecoder(r.Body).Decode(&req); err != nil {
		return nil, badRequest{err}
	}
	return req, nil
}

func encodeResponse(ctx context.Context, w http.ResponseWriter, response interface{}) error {
	if f, ok := response.(endpoint.Failer); ok && f.Failed() != nil {
		errorEncoder(ctx, f.Failed(), w)
		return nil
	}
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	return json.NewEncoder(w).Encode(response)
}

func errorEncoder(_ context.Context, err error, w http.ResponseWriter) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(errToCode(err))
	json.NewEncoder(w).Encode(map[string]string{"error": err.Error()})
}

func errToCode(err error) int {
	var bad badRequest
	switch {
	case errors.As(err, &bad):
		return http.StatusBadRequest
	case errors.Is(err, ErrIntOverflow), errors.Is(err, ErrTooLong), errors.Is(err, ErrEmpty):
		return http.StatusUnprocessableEntity
	}
	return http.StatusInternalServerError
}
