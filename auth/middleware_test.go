package auth

import (
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/go-kit/kit/endpoint"
	kithttp "github.com/go-kit/kit/transport/http"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/health"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"

	"github.com/tailorkit/tailor/fault"
	thttp "github.com/tailorkit/tailor/transport/http"
)

// whoami is an endpoint that answers with the caller's subject.
func whoami(ctx context.Context, _ any) (any, error) {
	c, ok := ClaimsFrom(ctx)
	if !ok {
		return map[string]string{"subject": "anonymous"}, nil
	}
	return map[string]string{"subject": c.Subject}, nil
}

type response struct {
	status int
	header http.Header
	body   string
	kind   fault.Kind // for problem+json answers
}

func get(t *testing.T, url, authorization string) response {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, url, nil)
	if err != nil {
		t.Fatal(err)
	}
	if authorization != "" {
		req.Header.Set("Authorization", authorization)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = resp.Body.Close() }()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	r := response{status: resp.StatusCode, header: resp.Header, body: string(body)}
	if resp.Header.Get("Content-Type") == thttp.ProblemContentType {
		r.kind = thttp.ParseProblem(resp.StatusCode, thttp.ProblemContentType, body).Kind
	}
	return r
}

// tokens signed by s for the middleware tests.
type tokens struct {
	customer, admin, expired, tampered string
}

func newTokens(t *testing.T, s *Signer) tokens {
	t.Helper()
	tk := tokens{
		customer: sign(t, s, Claims{Subject: "user-1", Roles: []string{"customer"}}, time.Hour),
		admin:    sign(t, s, Claims{Subject: "root-1", Roles: []string{"customer", "admin"}}, time.Hour),
	}
	now := time.Now().Add(-2 * time.Hour)
	tk.expired = forge(t, s.current.method, s.current.key, s.KeyID(), registered(now))
	tk.tampered = tk.customer[:len(tk.customer)-4] + "AAAA"
	return tk
}

// TestGuardsOverKitHTTP runs go-kit endpoints behind HTTPToContext, the
// verifier's go-kit middleware and the guards, over loopback.
func TestGuardsOverKitHTTP(t *testing.T) {
	s, v := newSigner(t)
	tk := newTokens(t, s)
	mux := http.NewServeMux()
	serve := func(path string, guard endpoint.Middleware) {
		mux.Handle(path, thttp.NewServer(
			endpoint.Chain(v.Middleware(), guard)(whoami),
			thttp.DecodeRequest[struct{}](),
			thttp.EncodeJSON(http.StatusOK),
			kithttp.ServerBefore(HTTPToContext()),
		))
	}
	serve("/admin", RequireRole("admin"))
	serve("/staff", RequireRole("admin", "support"))
	serve("/me", RequireAuthenticated())
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)

	tests := []struct {
		name, path, authorization string
		wantStatus                int
		wantKind                  fault.Kind
	}{
		{"admin route without a token", "/admin", "", 401, fault.Unauthenticated},
		{"admin route, customer token", "/admin", "Bearer " + tk.customer, 403, fault.PermissionDenied},
		{"admin route, admin token", "/admin", "Bearer " + tk.admin, 200, 0},
		{"admin route, expired admin-looking token", "/admin", "Bearer " + tk.expired, 401, fault.Unauthenticated},
		{"admin route, tampered token", "/admin", "Bearer " + tk.tampered, 401, fault.Unauthenticated},
		{"either-role route, customer token", "/staff", "Bearer " + tk.customer, 403, fault.PermissionDenied},
		{"either-role route, admin token", "/staff", "Bearer " + tk.admin, 200, 0},
		{"authenticated route without a token", "/me", "", 401, fault.Unauthenticated},
		{"authenticated route, Basic credentials", "/me", "Basic dXNlcjpwYXNz", 401, fault.Unauthenticated},
		{"authenticated route, customer token", "/me", "Bearer " + tk.customer, 200, 0},
		{"authenticated route, lower-case scheme", "/me", "bearer " + tk.customer, 200, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := get(t, srv.URL+tt.path, tt.authorization)
			if r.status != tt.wantStatus {
				t.Fatalf("status = %d, want %d (body %s)", r.status, tt.wantStatus, r.body)
			}
			if tt.wantStatus != 200 && r.kind != tt.wantKind {
				t.Errorf("problem kind = %v, want %v (body %s)", r.kind, tt.wantKind, r.body)
			}
			// RFC 6750: a 401 challenges for a bearer token; a 403 says
			// the token lacks the scope. The expired and tampered tokens
			// were refused by the verifier already (invalid_token).
			want := map[int]string{401: "Bearer", 403: `Bearer error="insufficient_scope"`}[tt.wantStatus]
			if got := r.header.Get("WWW-Authenticate"); !strings.HasPrefix(got, want) || (want == "") != (got == "") {
				t.Errorf("WWW-Authenticate = %q, want %q", got, want)
			}
		})
	}
}

// TestHTTPMiddleware runs plain handlers and a guarded go-kit endpoint
// behind the net/http middleware, over loopback.
func TestHTTPMiddleware(t *testing.T) {
	s, v := newSigner(t)
	tk := newTokens(t, s)
	reached := 0
	mux := http.NewServeMux()
	mux.HandleFunc("/me", func(w http.ResponseWriter, r *http.Request) {
		reached++
		resp, _ := whoami(r.Context(), nil)
		_, _ = io.WriteString(w, resp.(map[string]string)["subject"])
	})
	mux.Handle("/admin", thttp.NewServer(RequireRole("admin")(whoami), thttp.DecodeRequest[struct{}](), thttp.EncodeJSON(http.StatusOK)))
	srv := httptest.NewServer(v.HTTPMiddleware()(mux))
	t.Cleanup(srv.Close)

	tests := []struct {
		name, path, authorization string
		wantStatus                int
		wantKind                  fault.Kind
		wantBody                  string
		wantChallenge             bool
	}{
		{"anonymous passes", "/me", "", 200, 0, "anonymous", false},
		{"Basic credentials pass as anonymous", "/me", "Basic dXNlcjpwYXNz", 200, 0, "anonymous", false},
		{"valid token", "/me", "Bearer " + tk.customer, 200, 0, "user-1", false},
		{"expired token", "/me", "Bearer " + tk.expired, 401, fault.Unauthenticated, "", true},
		{"tampered token", "/me", "Bearer " + tk.tampered, 401, fault.Unauthenticated, "", true},
		{"empty bearer", "/me", "Bearer ", 401, fault.Unauthenticated, "", true},
		{"guard without a token", "/admin", "", 401, fault.Unauthenticated, "", false},
		{"guard, customer token", "/admin", "Bearer " + tk.customer, 403, fault.PermissionDenied, "", false},
		{"guard, admin token", "/admin", "Bearer " + tk.admin, 200, 0, "", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			before := reached
			r := get(t, srv.URL+tt.path, tt.authorization)
			if r.status != tt.wantStatus {
				t.Fatalf("status = %d, want %d (body %s)", r.status, tt.wantStatus, r.body)
			}
			if tt.wantStatus != 200 && r.kind != tt.wantKind {
				t.Errorf("problem kind = %v, want %v (body %s)", r.kind, tt.wantKind, r.body)
			}
			if tt.wantBody != "" && r.body != tt.wantBody {
				t.Errorf("body = %q, want %q", r.body, tt.wantBody)
			}
			got := r.header.Get("WWW-Authenticate")
			if tt.wantChallenge && got != `Bearer error="invalid_token"` {
				t.Errorf("WWW-Authenticate = %q, want Bearer error=\"invalid_token\"", got)
			}
			if token := strings.TrimPrefix(tt.authorization, "Bearer "); len(token) > 8 && strings.Contains(r.body, token) {
				t.Errorf("the answer quotes the token: %s", r.body)
			}
			if tt.wantChallenge && reached != before {
				t.Error("the handler ran for a request with an invalid token")
			}
		})
	}
}

func TestHTTPMiddlewareKeysUnavailable(t *testing.T) {
	s, _ := newSigner(t)
	dead := httptest.NewServer(http.NotFoundHandler())
	dead.Close()
	v, _ := remoteVerifier(t, dead.URL, &clock{t: time.Now()})
	srv := httptest.NewServer(v.HTTPMiddleware()(http.NotFoundHandler()))
	t.Cleanup(srv.Close)
	r := get(t, srv.URL, "Bearer "+sign(t, s, Claims{Subject: "u"}, time.Hour))
	if r.status != http.StatusServiceUnavailable || r.kind != fault.Unavailable {
		t.Errorf("status = %d, kind %v, want 503 unavailable (body %s)", r.status, r.kind, r.body)
	}
	if got := r.header.Get("WWW-Authenticate"); got != "" {
		t.Errorf("WWW-Authenticate = %q, want none: the token was not found invalid", got)
	}
}

// TestGRPCInterceptors calls a real gRPC server over loopback.
func TestGRPCInterceptors(t *testing.T) {
	s, v := newSigner(t)
	tk := newTokens(t, s)
	seen := make(chan string, 1)
	record := func(ctx context.Context, req any, _ *grpc.UnaryServerInfo, handler grpc.UnaryHandler) (any, error) {
		c, ok := ClaimsFrom(ctx)
		if !ok {
			c.Subject = "anonymous"
		}
		seen <- c.Subject
		return handler(ctx, req)
	}
	recordStream := func(srv any, ss grpc.ServerStream, _ *grpc.StreamServerInfo, handler grpc.StreamHandler) error {
		c, ok := ClaimsFrom(ss.Context())
		if !ok {
			c.Subject = "anonymous"
		}
		seen <- c.Subject
		return handler(srv, ss)
	}
	gs := grpc.NewServer(
		grpc.ChainUnaryInterceptor(v.UnaryServerInterceptor(), record),
		grpc.ChainStreamInterceptor(v.StreamServerInterceptor(), recordStream),
	)
	healthpb.RegisterHealthServer(gs, health.NewServer())
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go func() { _ = gs.Serve(lis) }()
	t.Cleanup(gs.Stop)
	conn, err := grpc.NewClient(lis.Addr().String(), grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = conn.Close() })
	client := healthpb.NewHealthClient(conn)

	tests := []struct {
		name, authorization string
		wantCode            codes.Code
		wantSubject         string
	}{
		{"anonymous", "", codes.OK, "anonymous"},
		{"valid token", "Bearer " + tk.customer, codes.OK, "user-1"},
		{"expired token", "Bearer " + tk.expired, codes.Unauthenticated, ""},
		{"tampered token", "Bearer " + tk.tampered, codes.Unauthenticated, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel() // ends the Watch stream
			if tt.authorization != "" {
				ctx = metadata.AppendToOutgoingContext(ctx, "authorization", tt.authorization)
			}
			_, err := client.Check(ctx, &healthpb.HealthCheckRequest{})
			checkCall(t, "unary", err, tt.wantCode, tt.authorization)
			if tt.wantCode == codes.OK {
				if got := <-seen; got != tt.wantSubject {
					t.Errorf("unary handler saw subject %q, want %q", got, tt.wantSubject)
				}
			}

			// Watch answers once, then waits until canceled.
			stream, err := client.Watch(ctx, &healthpb.HealthCheckRequest{})
			if err != nil {
				t.Fatalf("Watch: %v", err)
			}
			_, err = stream.Recv()
			checkCall(t, "stream", err, tt.wantCode, tt.authorization)
			if tt.wantCode == codes.OK {
				if got := <-seen; got != tt.wantSubject {
					t.Errorf("stream handler saw subject %q, want %q", got, tt.wantSubject)
				}
			}
		})
	}
}

// checkCall checks a gRPC call's code, and that a refusal says why
// without quoting the token.
func checkCall(t *testing.T, kind string, err error, want codes.Code, authorization string) {
	t.Helper()
	if got := status.Code(err); got != want {
		t.Fatalf("%s code = %v, want %v (err %v)", kind, got, want, err)
	}
	if want == codes.OK {
		return
	}
	if msg := status.Convert(err).Message(); msg == "" || strings.Contains(msg, strings.TrimPrefix(authorization, "Bearer ")) {
		t.Errorf("%s message = %q, want a reason without the token", kind, msg)
	}
}

func TestGRPCToContext(t *testing.T) {
	s, v := newSigner(t)
	token := sign(t, s, Claims{Subject: "user-1", Roles: []string{"admin"}}, time.Hour)
	e := endpoint.Chain(v.Middleware(), RequireRole("admin"))(whoami)

	ctx := GRPCToContext()(context.Background(), metadata.Pairs("authorization", "Bearer "+token))
	resp, err := e(ctx, nil)
	if err != nil {
		t.Fatalf("endpoint: %v", err)
	}
	if got := resp.(map[string]string)["subject"]; got != "user-1" {
		t.Errorf("subject = %q, want user-1", got)
	}

	ctx = GRPCToContext()(context.Background(), metadata.MD{})
	if _, err := e(ctx, nil); !errors.Is(err, ErrNoToken) || fault.KindOf(err) != fault.Unauthenticated {
		t.Errorf("endpoint without a token: %v, want unauthenticated with ErrNoToken", err)
	}
}
