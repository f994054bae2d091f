package http

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"time"

	"github.com/go-kit/kit/endpoint"
	kithttp "github.com/go-kit/kit/transport/http"

	"github.com/tailorkit/tailor/fault"
	"github.com/tailorkit/tailor/requestid"
)

// NewTransport returns an [http.Transport] tuned for calls between
// services: dial timeout 5s with 30s keep-alive, TLS handshake timeout 5s,
// up to 256 idle connections and 64 per host (the standard library keeps
// only 2 per host, so busy clients would keep reconnecting), idle
// connections closed after 90s, HTTP/2 attempted over TLS. It sets no
// overall timeout: a call's deadline comes from its context. Share one
// transport per process, or per downstream, so connections are reused.
func NewTransport() *http.Transport {
	d := &net.Dialer{Timeout: 5 * time.Second, KeepAlive: 30 * time.Second}
	return &http.Transport{
		Proxy:                 http.ProxyFromEnvironment,
		DialContext:           d.DialContext,
		ForceAttemptHTTP2:     true,
		MaxIdleConns:          256,
		MaxIdleConnsPerHost:   64,
		IdleConnTimeout:       90 * time.Second,
		TLSHandshakeTimeout:   5 * time.Second,
		ExpectContinueTimeout: 1 * time.Second,
	}
}

// NewClient returns an endpoint that calls method target with go-kit's HTTP
// client. On top of go-kit it:
//
//   - sends the context's request ID as X-Request-Id;
//   - turns error responses into [*fault.Error] of the server's kind (see
//     [ParseProblem]), so errors.Is(err, fault.NotFound) works across the
//     wire;
//   - reports a call that never got an answer (connection refused, reset)
//     as [fault.Unavailable], and a context's end as DeadlineExceeded or
//     Canceled.
//
// enc builds the request (see [EncodeJSONRequest]); dec reads a successful
// response (see [DecodeJSONResponse]); dec is only called for 2xx and 3xx
// answers. Without go-kit's SetClient option the endpoint uses its own
// [http.Client] on [NewTransport]; give several endpoints one client
// (&http.Client{Transport: NewTransport()}) with SetClient so they share
// connections. It is an error if target is not an absolute http or https
// URL.
func NewClient(method, target string, enc kithttp.EncodeRequestFunc, dec kithttp.DecodeResponseFunc, opts ...kithttp.ClientOption) (endpoint.Endpoint, error) {
	u, err := url.Parse(target)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, fmt.Errorf("http: client target %q is not an absolute http:// or https:// URL; give one such as http://127.0.0.1:8080/v1/products", target)
	}
	all := make([]kithttp.ClientOption, 0, len(opts)+2)
	all = append(all, kithttp.SetClient(&http.Client{Transport: NewTransport()}), kithttp.ClientBefore(setRequestID))
	all = append(all, opts...)
	// go-kit's NewClient formats the URL for every request; format it once.
	url := u.String()
	create := func(ctx context.Context, request any) (*http.Request, error) {
		r, err := http.NewRequestWithContext(ctx, method, url, nil)
		if err != nil {
			return nil, err
		}
		if err := enc(ctx, r, request); err != nil {
			return nil, err
		}
		return r, nil
	}
	e := kithttp.NewExplicitClient(create, checkStatus(dec), all...).Endpoint()
	return func(ctx context.Context, request any) (any, error) {
		response, err := e(ctx, request)
		if err != nil {
			return nil, classify(ctx, err)
		}
		return response, nil
	}, nil
}

func setRequestID(ctx context.Context, r *http.Request) context.Context {
	if id := requestid.FromContext(ctx); id != "" {
		r.Header[requestid.Header] = []string{id}
	}
	return ctx
}

// checkStatus turns error statuses into fault errors before dec sees them,
// and reads what dec leaves of the body so the connection is reused.
func checkStatus(dec kithttp.DecodeResponseFunc) kithttp.DecodeResponseFunc {
	return func(ctx context.Context, resp *http.Response) (any, error) {
		if resp.StatusCode >= 400 {
			return nil, errorResponse(resp)
		}
		response, err := dec(ctx, resp)
		drain(resp.Body)
		return response, err
	}
}

// classify gives transport failures their kind with [fault.KindOf], the
// classification metrics and spans use too; errors that already have a
// kind pass through, and so do the context's own errors.
func classify(ctx context.Context, err error) error {
	var fe *fault.Error
	switch {
	case errors.As(err, &fe):
		return err
	case ctx.Err() != nil && errors.Is(err, ctx.Err()):
		return err // fault.KindOf sees DeadlineExceeded or Canceled
	}
	switch kind := fault.KindOf(err); kind {
	case fault.DeadlineExceeded:
		return &fault.Error{Kind: kind, Detail: "the call timed out before an answer came", Cause: err}
	case fault.Unavailable:
		return &fault.Error{Kind: kind, Detail: noAnswer(err), Cause: err}
	}
	return err
}

// noAnswer says why a call that failed at the transport got no answer:
// either no connection could be made (nothing was sent: is the server
// running at that address?) or the connection was lost.
func noAnswer(err error) string {
	if op, ok := errors.AsType[*net.OpError](err); ok && op.Op == "dial" {
		return "the call could not connect, so nothing was sent; is the server running at that address?"
	}
	return "the call got no answer: the connection was lost"
}

// EncodeJSONRequest is a go-kit request encoder that sends request as a
// JSON body with a Content-Length (go-kit's own encoder streams a chunked
// body, which costs a round of framing per call), and lets the server's
// request be rebuilt for redirects and retries.
func EncodeJSONRequest(_ context.Context, r *http.Request, request any) error {
	b, err := json.Marshal(request)
	if err != nil {
		return fmt.Errorf("http: encode %T as JSON: %w", request, err)
	}
	r.Header.Set("Content-Type", "application/json")
	r.ContentLength = int64(len(b))
	r.Body = io.NopCloser(bytes.NewReader(b))
	r.GetBody = func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(b)), nil }
	return nil
}

// DecodeJSONResponse returns a go-kit response decoder that reads the body
// as JSON into a new T and returns a *T ([tailor.Call] takes a *Resp as
// well as a Resp). A 204 answer gives a zero T. A body that is not valid
// JSON for T is an Internal error: the server broke its contract.
func DecodeJSONResponse[T any]() kithttp.DecodeResponseFunc {
	return func(_ context.Context, resp *http.Response) (any, error) {
		v := new(T)
		if resp.StatusCode == http.StatusNoContent {
			return v, nil
		}
		if err := json.NewDecoder(resp.Body).Decode(v); err != nil {
			return nil, &fault.Error{Kind: fault.Internal, Detail: fmt.Sprintf("the server's %d answer is not JSON for %T", resp.StatusCode, *v), Cause: err}
		}
		return v, nil
	}
}
