package gateway

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/go-kit/kit/endpoint"
	kithttp "github.com/go-kit/kit/transport/http"

	"github.com/tailorkit/tailor/discovery"
	"github.com/tailorkit/tailor/discovery/client"
	"github.com/tailorkit/tailor/fault"
	"github.com/tailorkit/tailor/requestid"
	"github.com/tailorkit/tailor/resilience"
	thttp "github.com/tailorkit/tailor/transport/http"
)

// forwardedHeaders are the request headers the gateway sends on to a
// service, besides the request ID and the trace context.
var forwardedHeaders = [...]string{"Content-Type", "Accept", "Authorization", "Idempotency-Key"}

// answerHeaders are the headers of a service's answer the gateway passes
// back to the client, in canonical form.
var answerHeaders = [...]string{"Content-Type", "Cache-Control", "Retry-After", "Www-Authenticate", "Allow", "Location", "Idempotent-Replayed"}

// upstreamRequest is one request as the gateway sends it to a service.
type upstreamRequest struct {
	method string
	target string // the escaped path and the query: "/v1/products?limit=2"
	header http.Header
	body   []byte
}

// newUpstreamRequest is r, with body, as it goes to the service.
func newUpstreamRequest(r *http.Request, body []byte) *upstreamRequest {
	h := make(http.Header, len(forwardedHeaders))
	for _, k := range forwardedHeaders {
		if v, ok := r.Header[k]; ok {
			h[k] = v
		}
	}
	target := r.URL.EscapedPath()
	if r.URL.RawQuery != "" {
		target += "?" + r.URL.RawQuery
	}
	return &upstreamRequest{method: r.Method, target: target, header: h, body: body}
}

// answer is a service's answer, read whole.
type answer struct {
	status int
	header http.Header // the answerHeaders it has
	body   []byte
}

// failedAnswer is the cause of the error a 5xx answer makes: the call
// failed, and counts against the instance, but the answer is kept so that
// the client can be given it.
type failedAnswer struct {
	service string
	answer  *answer
}

func (e *failedAnswer) Error() string {
	return fmt.Sprintf("%s answered %d %s", e.service, e.answer.status, http.StatusText(e.answer.status))
}

// forward returns the Factory of the endpoints that send an
// *upstreamRequest to one instance of service and return its *answer. An
// answer below 500 is a success, whatever its status: the service
// answered. A 5xx answer is an error of the status's kind whose cause is a
// *failedAnswer, so the client's breakers count it and a retry may try
// another instance; a call that got no answer is an error of kind
// Unavailable or DeadlineExceeded.
func forward(service string, opts []kithttp.ClientOption) client.Factory {
	return func(inst discovery.Instance) (endpoint.Endpoint, io.Closer, error) {
		if inst.Protocol == discovery.ProtocolGRPC {
			return nil, nil, fmt.Errorf("%w: instance %q of %q speaks gRPC; the gateway calls the HTTP ones", client.ErrProtocol, inst.ID, service)
		}
		base := "http://" + inst.HostPort()
		create := func(ctx context.Context, request any) (*http.Request, error) {
			req := request.(*upstreamRequest)
			body := io.Reader(http.NoBody)
			if len(req.body) > 0 {
				body = bytes.NewReader(req.body)
			}
			r, err := http.NewRequestWithContext(ctx, req.method, base+req.target, body)
			if err != nil {
				return nil, err
			}
			for k, v := range req.header {
				r.Header[k] = v
			}
			if id := requestid.FromContext(ctx); id != "" {
				r.Header[requestid.Header] = []string{id}
			}
			return r, nil
		}
		e := kithttp.NewExplicitClient(create, decodeAnswer(service), opts...).Endpoint()
		return func(ctx context.Context, request any) (any, error) {
			response, err := e(ctx, request)
			if err != nil {
				return nil, classify(ctx, service, err)
			}
			return response, nil
		}, nil, nil
	}
}

// decodeAnswer reads a service's answer whole, bounded by
// MaxResponseBytes; see forward.
func decodeAnswer(service string) kithttp.DecodeResponseFunc {
	return func(_ context.Context, resp *http.Response) (any, error) {
		body, err := io.ReadAll(io.LimitReader(resp.Body, MaxResponseBytes+1))
		if err != nil {
			return nil, err
		}
		if len(body) > MaxResponseBytes {
			return nil, fault.New(fault.Internal, fmt.Sprintf("%s answered with more than %d bytes, more than the gateway passes on", service, MaxResponseBytes))
		}
		a := &answer{status: resp.StatusCode, header: make(http.Header, 2), body: body}
		for _, k := range answerHeaders {
			if v, ok := resp.Header[k]; ok {
				a.header[k] = v
			}
		}
		if a.status < 500 {
			return a, nil
		}
		fa := &failedAnswer{service: service, answer: a}
		return nil, &fault.Error{Kind: fault.FromHTTPStatus(a.status), Detail: fa.Error(), RetryAfter: retryAfter(resp.Header.Get("Retry-After")), Cause: fa}
	}
}

// retryAfter reads a Retry-After header given in seconds; zero when it is
// absent or not a number of seconds.
func retryAfter(v string) time.Duration {
	secs, err := strconv.ParseUint(v, 10, 16)
	if err != nil {
		return 0
	}
	return time.Duration(secs) * time.Second
}

// classify gives an error of a call that got no answer its kind, as
// transport/http's client does: a refused or lost connection is
// Unavailable, a timeout DeadlineExceeded.
func classify(ctx context.Context, service string, err error) error {
	if _, ok := errors.AsType[*fault.Error](err); ok {
		return err
	}
	if ctx.Err() != nil && errors.Is(err, ctx.Err()) {
		return err
	}
	if op, ok := errors.AsType[*net.OpError](err); ok && op.Op == "dial" {
		return fault.Wrap(err, fault.KindOf(err), "could not connect to "+service+", so nothing was sent")
	}
	return fault.Wrap(err, fault.KindOf(err), "the call to "+service+" got no answer")
}

// proxy is the handler of a route the gateway passes on to service as it
// is. Reads (GET, HEAD) are marked idempotent, so the client's policy may
// retry them on another instance, and so are the requests of a keyed
// route that carry an Idempotency-Key, which the service de-duplicates
// by; nothing else is retried.
func (g *Gateway) proxy(service string, keyed bool) http.Handler {
	call := g.call[service]
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, err := g.readBody(r)
		if err != nil {
			thttp.WriteError(w, r, err)
			return
		}
		ctx := r.Context()
		if r.Method == http.MethodGet || r.Method == http.MethodHead || keyed && r.Header.Get("Idempotency-Key") != "" {
			ctx = resilience.WithIdempotent(ctx)
		}
		response, err := call(ctx, newUpstreamRequest(r, body))
		if err != nil {
			g.fail(w, r, err, service)
			return
		}
		writeAnswer(w, response.(*answer))
	})
}

// readBody reads r's body, bounded by the gateway's MaxBodyBytes.
func (g *Gateway) readBody(r *http.Request) ([]byte, error) {
	tooLarge := &fault.Error{
		Kind:   fault.InvalidArgument,
		Status: http.StatusRequestEntityTooLarge,
		Detail: fmt.Sprintf("the request body is larger than the %d bytes the shop accepts; send a smaller one", g.maxBody),
	}
	if r.ContentLength > g.maxBody {
		return nil, tooLarge
	}
	if r.Body == nil || r.Body == http.NoBody {
		return nil, nil
	}
	b, err := io.ReadAll(io.LimitReader(r.Body, g.maxBody+1))
	switch {
	case err != nil:
		return nil, fault.Wrap(err, fault.InvalidArgument, "the request body could not be read to its end; send it again")
	case int64(len(b)) > g.maxBody:
		return nil, tooLarge
	}
	return b, nil
}

// writeAnswer passes a service's answer on unchanged: status, the
// answerHeaders, body.
func writeAnswer(w http.ResponseWriter, a *answer) {
	h := w.Header()
	for k, v := range a.header {
		h[k] = v
	}
	if _, ok := a.header["Content-Type"]; !ok {
		h["Content-Type"] = nil // no type was given; none is guessed
	}
	w.WriteHeader(a.status)
	_, _ = w.Write(a.body) // the status is sent; a write error means the client left
}

// fail answers a request whose call to services failed with err: with the
// service's own answer when it gave one (a 5xx), and otherwise with a 503
// naming the services.
func (g *Gateway) fail(w http.ResponseWriter, r *http.Request, err error, services ...string) {
	if fa, ok := errors.AsType[*failedAnswer](err); ok {
		g.log.WarnContext(r.Context(), "gateway: a service failed", "peer.service", fa.service, "status", fa.answer.status)
		writeAnswer(w, fa.answer)
		return
	}
	if r.Context().Err() != nil {
		return // the client left; no one reads an answer
	}
	g.unavailable(w, r, err, services...)
}

// unavailableRetryAfter is the Retry-After of a 503 the gateway answers
// itself, unless the error asks for longer.
const unavailableRetryAfter = time.Second

// unavailable answers 503 problem+json naming services, with a
// Retry-After. transport/http's EncodeError would replace the detail of a
// 5xx with a generic one, which could not say which part of the shop is
// down, so the gateway writes this problem itself: its detail holds only
// service names.
func (g *Gateway) unavailable(w http.ResponseWriter, r *http.Request, err error, services ...string) {
	names := strings.Join(services, " and ")
	g.log.WarnContext(r.Context(), "gateway: a service is unavailable", "peer.service", names, "error", err)
	verb := "is"
	if len(services) > 1 {
		verb = "are"
	}
	p := thttp.NewProblem(fault.New(fault.Unavailable, ""), requestid.FromContext(r.Context()))
	p.Detail = fmt.Sprintf("%s %s unavailable; try again shortly", names, verb)
	wait := max(fault.RetryAfter(err), unavailableRetryAfter)
	h := w.Header()
	h.Set("Content-Type", thttp.ProblemContentType)
	h.Set("Retry-After", strconv.FormatInt(int64((wait+time.Second-1)/time.Second), 10))
	w.WriteHeader(p.Status)
	_ = json.NewEncoder(w).Encode(p) // the status is sent; a write error means the client left
}
