package observability

import (
	"bufio"
	"context"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"

	kithttp "github.com/go-kit/kit/transport/http"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/propagation"
	"go.opentelemetry.io/otel/trace"

	"github.com/tailorkit/tailor/fault"
	"github.com/tailorkit/tailor/resilience"
)

// Attribute keys of the semantic conventions used here.
const (
	keyHTTPMethod     = attribute.Key("http.request.method")
	keyHTTPRoute      = attribute.Key("http.route")
	keyHTTPStatus     = attribute.Key("http.response.status_code")
	keyURLPath        = attribute.Key("url.path")
	keyURLScheme      = attribute.Key("url.scheme")
	keyURLFull        = attribute.Key("url.full")
	keyServerAddress  = attribute.Key("server.address")
	keyServerPort     = attribute.Key("server.port")
	keyClientAddress  = attribute.Key("client.address")
	keyUserAgent      = attribute.Key("user_agent.original")
	keyErrorType      = attribute.Key("error.type")
	keyNetProtoVer    = attribute.Key("network.protocol.version")
	keyRPCSystem      = attribute.Key("rpc.system")
	keyRPCService     = attribute.Key("rpc.service")
	keyRPCMethod      = attribute.Key("rpc.method")
	keyRPCGRPCStatus  = attribute.Key("rpc.grpc.status_code")
	keyResilienceName = attribute.Key("tailor.resilience.name")
)

const (
	kindHTTPServer uint8 = iota
	kindHTTPClient
	kindRPCServer
	kindRPCClient
)

// HTTPMiddleware observes every request that next serves. Put it inside
// the Router, so that it sees the route template once routing is done:
//
//	router := thttp.NewRouter(thttp.WithMiddleware(inst.HTTPMiddleware))
//
// Around a plain [http.ServeMux] it works as well; elsewhere requests are
// named by their method alone. For each request it:
//
//   - continues the caller's trace (W3C traceparent and baggage headers)
//     in a server span named "METHOD /route/{template}", with
//     http.request.method, http.route, http.response.status_code, url.path,
//     url.scheme, server.address, client.address and user_agent.original;
//     a 5xx answer sets the status to Error and error.type to its fault
//     kind (a 4xx does not);
//   - records http.server.request.duration by method, route, status and
//     error.type;
//   - logs the request, when [Config.AccessLog] is set;
//   - counts it in its route's last minute, when [Config.EndpointStats]
//     is set (see [Telemetry.Endpoints]);
//   - counts it in [Telemetry.Rejections] and
//     tailor.resilience.rejections, under the name [ServerRejections] and
//     its reason, when package transport/http's RateLimit or Shed inside
//     refused it.
//
// The context the handler sees carries the span, so logs written with it
// through [NewLogHandler] name the trace.
func (in *Telemetry) HTTPMiddleware(next http.Handler) http.Handler {
	return &httpServer{in: in, next: next}
}

type httpServer struct {
	in   *Telemetry
	next http.Handler
}

// recorder notes the status and size of a response. Recorders are pooled:
// one per request in flight.
type recorder struct {
	http.ResponseWriter
	status int
	bytes  int64
	// pattern is what a router recorded through the writer: the pattern
	// it matched on a copy of the request this middleware cannot see
	// (package transport/http's Router does).
	pattern string
	// refused is why a middleware inside refused the request, if one did
	// (package transport/http's RateLimit and Shed tell).
	refused resilience.Rejection
}

// RecordPattern takes the pattern the request matched (see package
// internal/pattern).
func (w *recorder) RecordPattern(p string) { w.pattern = p }

// RecordRefusal takes the reason the request was refused (see package
// internal/refusal).
func (w *recorder) RecordRefusal(r resilience.Rejection) { w.refused = r }

var recorders = sync.Pool{New: func() any { return new(recorder) }}

// spanAttrs holds the arrays a server span's attributes are built in.
var spanAttrs = sync.Pool{New: func() any { return new([9]attribute.KeyValue) }}

// spanName returns "METHOD /route", made once per method and route.
func (in *Telemetry) spanName(method, route string) string {
	k := [2]string{method, route}
	if name, ok := in.names.lookup(k); ok {
		return name
	}
	return in.names.keep(k, method+" "+route)
}

func (w *recorder) WriteHeader(code int) {
	if w.status == 0 && code >= 200 {
		w.status = code
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *recorder) Write(p []byte) (int, error) {
	if w.status == 0 {
		w.status = http.StatusOK
	}
	n, err := w.ResponseWriter.Write(p)
	w.bytes += int64(n)
	return n, err
}

// Flush sends buffered data to the client, when the underlying writer can.
func (w *recorder) Flush() {
	if w.status == 0 {
		w.status = http.StatusOK
	}
	_ = http.NewResponseController(w.ResponseWriter).Flush()
}

// Hijack lets a handler take over the connection, when the underlying
// writer can.
func (w *recorder) Hijack() (net.Conn, *bufio.ReadWriter, error) {
	if w.status == 0 {
		w.status = http.StatusSwitchingProtocols
	}
	return http.NewResponseController(w.ResponseWriter).Hijack()
}

// Unwrap gives [http.ResponseController] the underlying writer.
func (w *recorder) Unwrap() http.ResponseWriter { return w.ResponseWriter }

func (h *httpServer) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	in := h.in
	start := time.Now()
	rec := recorders.Get().(*recorder)
	rec.ResponseWriter = w

	var span trace.Span
	if in.tracing {
		ctx := in.propagator.Extract(r.Context(), headerCarrier(r.Header))
		ctx, span = in.tracer.Start(ctx, r.Method, in.serverSpan...)
		r = r.WithContext(ctx)
	}
	done := false
	defer func() {
		if !done { // the handler panicked; the Router's recovery answers 500
			rec.status = http.StatusInternalServerError
			h.finish(r, rec, span, start)
		}
	}()
	h.next.ServeHTTP(rec, r)
	done = true
	h.finish(r, rec, span, start)
}

func (h *httpServer) finish(r *http.Request, rec *recorder, span trace.Span, start time.Time) {
	in := h.in
	elapsed := time.Since(start)
	status := rec.status
	if status == 0 {
		status = http.StatusOK
	}
	matched := r.Pattern
	if matched == "" {
		matched = rec.pattern
	}
	route := routeOf(matched)
	method := knownMethod(r.Method)
	sch := scheme(r)
	serverFault := status >= 500
	if span != nil {
		if span.IsRecording() {
			if matched != "" {
				span.SetName(in.spanName(method, route))
			}
			// The span copies the attributes, so they are built in a pooled
			// array: with every request traced, a fresh one per span is a
			// good part of what the collector has to sweep.
			kv := spanAttrs.Get().(*[9]attribute.KeyValue)
			kv[0] = keyHTTPMethod.String(method)
			kv[1] = keyHTTPRoute.String(route)
			kv[2] = keyHTTPStatus.Int(status)
			kv[3] = keyURLPath.String(r.URL.Path)
			kv[4] = keyURLScheme.String(sch)
			kv[5] = keyServerAddress.String(r.Host)
			kv[6] = keyClientAddress.String(clientAddr(r.RemoteAddr))
			kv[7] = keyUserAgent.String(r.UserAgent())
			n := 8
			if serverFault {
				kind := fault.FromHTTPStatus(status).String()
				kv[8] = keyErrorType.String(kind)
				n++
				span.SetStatus(codes.Error, kind)
			}
			span.SetAttributes(kv[:n]...)
			*kv = [9]attribute.KeyValue{}
			spanAttrs.Put(kv)
		}
		span.End()
	}
	opt := in.recordOptions(attrKey{kind: kindHTTPServer, method: method, route: route, scheme: sch, status: status}, func() []attribute.KeyValue {
		kv := []attribute.KeyValue{keyHTTPMethod.String(method), keyHTTPRoute.String(route), keyHTTPStatus.Int(status), keyURLScheme.String(sch)}
		if serverFault {
			kv = append(kv, keyErrorType.String(fault.FromHTTPStatus(status).String()))
		}
		return kv
	})
	in.httpServer.Record(r.Context(), elapsed.Seconds(), opt...)
	if in.endpoints != nil {
		o := outcomeOK
		if serverFault {
			o = outcomeFailed
		}
		in.endpoints.record([2]string{method, route}, start.Add(elapsed), elapsed, o)
	}
	if rec.refused != "" {
		in.reject(r.Context(), ServerRejections, rejectionReason(rec.refused))
	}
	if in.accessLog {
		in.logger.LogAttrs(r.Context(), slog.LevelInfo, "request",
			slog.String("method", r.Method), slog.String("route", route), slog.String("path", r.URL.Path),
			slog.Int("status", status), slog.Duration("duration", elapsed), slog.Int64("bytes", rec.bytes),
			slog.String("remote", r.RemoteAddr))
	}
	*rec = recorder{}
	recorders.Put(rec)
}

// routeOf returns the path part of a ServeMux pattern: "GET
// example.com/v1/{id}" becomes "/v1/{id}". An empty pattern (no router
// told us) is reported as "", which names no route.
func routeOf(pattern string) string {
	if pattern == "" {
		return ""
	}
	if i := strings.IndexByte(pattern, ' '); i >= 0 {
		pattern = strings.TrimLeft(pattern[i+1:], " \t")
	}
	if i := strings.IndexByte(pattern, '/'); i > 0 {
		pattern = pattern[i:]
	}
	return pattern
}

func scheme(r *http.Request) string {
	if r.TLS != nil {
		return "https"
	}
	return "http"
}

func clientAddr(remote string) string {
	if host, _, err := net.SplitHostPort(remote); err == nil {
		return host
	}
	return remote
}

// headerCarrier reads the propagation headers from an http.Header without
// canonicalising their names on every request.
type headerCarrier http.Header

func (c headerCarrier) Get(key string) string {
	var v []string
	switch key {
	case "traceparent":
		v = c["Traceparent"]
	case "tracestate":
		v = c["Tracestate"]
	case "baggage":
		v = c["Baggage"]
	default:
		return http.Header(c).Get(key)
	}
	if len(v) == 0 {
		return ""
	}
	return v[0]
}

func (c headerCarrier) Set(key, value string) { http.Header(c).Set(key, value) }

func (c headerCarrier) Keys() []string { return propagation.HeaderCarrier(c).Keys() }

// HTTPClientOptions returns go-kit client options that observe each call
// a go-kit HTTP client endpoint makes (each attempt, under a retry):
//
//	thttp.NewClient("GET", url, enc, dec, inst.HTTPClientOptions()...)
//
// They start a client span named after the method, send its trace context
// and baggage in the request headers, end it with the answer's status
// (any failed call sets the status to Error), and record
// http.client.request.duration by method, server address and port, status
// and error.type. They use go-kit's ClientBefore, ClientAfter and
// ClientFinalizer, and compose with other options of those kinds.
func (in *Telemetry) HTTPClientOptions() []kithttp.ClientOption {
	return []kithttp.ClientOption{
		kithttp.ClientBefore(in.clientBefore),
		kithttp.ClientAfter(clientAfter),
		kithttp.ClientFinalizer(in.clientFinalizer),
	}
}

type clientCallKey struct{}

// clientCall is one HTTP client call in flight.
type clientCall struct {
	start  time.Time
	method string
	host   string
	port   int
	status int
	span   trace.Span
}

func (in *Telemetry) clientBefore(ctx context.Context, r *http.Request) context.Context {
	c := &clientCall{start: time.Now(), method: knownMethod(r.Method)}
	c.host, c.port = hostPort(r.URL)
	if in.tracing {
		ctx, c.span = in.tracer.Start(ctx, c.method, in.clientSpan...)
		if c.span.IsRecording() {
			u := *r.URL
			u.User, u.RawQuery, u.Fragment = nil, "", ""
			c.span.SetAttributes(keyHTTPMethod.String(c.method), keyServerAddress.String(c.host), keyServerPort.Int(c.port), keyURLFull.String(u.String()))
		}
		in.propagator.Inject(ctx, propagation.HeaderCarrier(r.Header))
	}
	return context.WithValue(ctx, clientCallKey{}, c)
}

func clientAfter(ctx context.Context, resp *http.Response) context.Context {
	if c, ok := ctx.Value(clientCallKey{}).(*clientCall); ok {
		c.status = resp.StatusCode
	}
	return ctx
}

func (in *Telemetry) clientFinalizer(ctx context.Context, err error) {
	c, ok := ctx.Value(clientCallKey{}).(*clientCall)
	if !ok {
		return // the request could not be built; no call was made
	}
	elapsed := time.Since(c.start)
	var errType string
	switch {
	case c.status >= 400:
		errType = strconv.Itoa(c.status)
	case err != nil:
		errType = fault.KindOf(err).String()
	}
	if c.span != nil {
		if c.span.IsRecording() {
			if c.status != 0 {
				c.span.SetAttributes(keyHTTPStatus.Int(c.status))
			}
			if errType != "" {
				c.span.SetAttributes(keyErrorType.String(errType))
				if err != nil {
					c.span.RecordError(err)
				}
				c.span.SetStatus(codes.Error, errType)
			}
		}
		c.span.End()
	}
	opt := in.recordOptions(attrKey{kind: kindHTTPClient, method: c.method, host: c.host, port: c.port, status: c.status, errType: errType}, func() []attribute.KeyValue {
		kv := []attribute.KeyValue{keyHTTPMethod.String(c.method), keyServerAddress.String(c.host), keyServerPort.Int(c.port)}
		if c.status != 0 {
			kv = append(kv, keyHTTPStatus.Int(c.status))
		}
		if errType != "" {
			kv = append(kv, keyErrorType.String(errType))
		}
		return kv
	})
	in.httpClient.Record(ctx, elapsed.Seconds(), opt...)
}

func hostPort(u *url.URL) (string, int) {
	port, err := strconv.Atoi(u.Port())
	if err != nil {
		port = 80
		if u.Scheme == "https" {
			port = 443
		}
	}
	return u.Hostname(), port
}
