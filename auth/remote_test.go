package auth

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/go-jose/go-jose/v4"
	"github.com/golang-jwt/jwt/v5"

	"github.com/tailorkit/tailor/fault"
)

// clock is a hand-moved clock for the cache's decisions; the tokens
// themselves are checked against real time.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *clock) advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

// jwksServer serves a signer's JWKS over loopback, counting fetches, and
// can be made to fail.
type jwksServer struct {
	*httptest.Server
	fetches atomic.Int64
	down    atomic.Bool
}

func newJWKSServer(t *testing.T, s *Signer) *jwksServer {
	t.Helper()
	js := &jwksServer{}
	h := s.JWKSHandler()
	js.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		js.fetches.Add(1)
		if js.down.Load() {
			http.Error(w, "maintenance", http.StatusInternalServerError)
			return
		}
		h.ServeHTTP(w, r)
	}))
	t.Cleanup(js.Close)
	return js
}

// remoteVerifier returns a verifier over the JWKS at url whose cache runs
// on clk.
func remoteVerifier(t *testing.T, url string, clk *clock, opts ...RemoteOption) (*Verifier, *RemoteKeys) {
	t.Helper()
	keys, err := NewRemoteKeys(url, opts...)
	if err != nil {
		t.Fatalf("NewRemoteKeys: %v", err)
	}
	keys.now = clk.now
	v, err := NewVerifier(keys, testIssuer, testAudience)
	if err != nil {
		t.Fatal(err)
	}
	return v, keys
}

func wantFetches(t *testing.T, js *jwksServer, want int64) {
	t.Helper()
	if got := js.fetches.Load(); got != want {
		t.Errorf("JWKS fetched %d times, want %d", got, want)
	}
}

func TestRemoteKeysCachesUntilMaxAge(t *testing.T) {
	s, _ := newSigner(t)
	js := newJWKSServer(t, s)
	clk := &clock{t: time.Now()}
	v, _ := remoteVerifier(t, js.URL, clk, WithMaxAge(time.Minute))
	token := sign(t, s, Claims{Subject: "user-1"}, time.Hour)

	for range 5 {
		if _, err := v.Verify(context.Background(), token); err != nil {
			t.Fatalf("Verify: %v", err)
		}
	}
	wantFetches(t, js, 1)
	clk.advance(time.Minute - time.Nanosecond)
	if _, err := v.Verify(context.Background(), token); err != nil {
		t.Fatalf("Verify: %v", err)
	}
	wantFetches(t, js, 1)
	clk.advance(time.Nanosecond)
	if _, err := v.Verify(context.Background(), token); err != nil {
		t.Fatalf("Verify: %v", err)
	}
	wantFetches(t, js, 2)
}

func TestRemoteKeysRefreshOnUnknownKeyAfterRotation(t *testing.T) {
	s, _ := newSigner(t)
	js := newJWKSServer(t, s)
	clk := &clock{t: time.Now()}
	v, _ := remoteVerifier(t, js.URL, clk)
	old := sign(t, s, Claims{Subject: "user-1"}, time.Hour)
	if _, err := v.Verify(context.Background(), old); err != nil {
		t.Fatalf("Verify: %v", err)
	}

	next, _ := GenerateKey()
	if err := s.Rotate(next); err != nil {
		t.Fatal(err)
	}
	fresh := sign(t, s, Claims{Subject: "user-2"}, time.Hour)

	// Within the refresh interval the unknown key is refused without a fetch.
	clk.advance(DefaultRefreshInterval - time.Nanosecond)
	_, err := v.Verify(context.Background(), fresh)
	wantUnauthenticated(t, err, fresh)
	if !errors.Is(err, ErrUnknownKey) {
		t.Errorf("err = %v, want ErrUnknownKey", err)
	}
	wantFetches(t, js, 1)

	clk.advance(time.Nanosecond)
	if _, err := v.Verify(context.Background(), fresh); err != nil {
		t.Fatalf("Verify of a token from the new key: %v", err)
	}
	wantFetches(t, js, 2)
	if _, err := v.Verify(context.Background(), old); err != nil {
		t.Errorf("Verify of a token from the retired key: %v, want still accepted", err)
	}
	wantFetches(t, js, 2)
}

func TestRemoteKeysRateLimitsUnknownKeys(t *testing.T) {
	s, _ := newSigner(t)
	js := newJWKSServer(t, s)
	clk := &clock{t: time.Now()}
	v, _ := remoteVerifier(t, js.URL, clk)
	now := time.Now()

	burst := func() {
		var wg sync.WaitGroup
		for i := range 50 {
			wg.Go(func() {
				token := forge(t, jwt.SigningMethodEdDSA, s.current.key, fmt.Sprintf("made-up-%d", i), registered(now))
				_, err := v.Verify(context.Background(), token)
				if !errors.Is(err, ErrUnknownKey) || fault.KindOf(err) != fault.Unauthenticated {
					t.Errorf("Verify of a made-up kid: %v, want unauthenticated with ErrUnknownKey", err)
				}
			})
		}
		wg.Wait()
	}
	burst()
	wantFetches(t, js, 1)
	burst()
	wantFetches(t, js, 1)
	clk.advance(DefaultRefreshInterval)
	burst()
	wantFetches(t, js, 2)
}

func TestRemoteKeysServerDownKeepsCachedKeys(t *testing.T) {
	s, _ := newSigner(t)
	js := newJWKSServer(t, s)
	clk := &clock{t: time.Now()}
	v, _ := remoteVerifier(t, js.URL, clk)
	old := sign(t, s, Claims{Subject: "user-1"}, time.Hour)
	if _, err := v.Verify(context.Background(), old); err != nil {
		t.Fatalf("Verify: %v", err)
	}

	js.down.Store(true)
	clk.advance(DefaultMaxAge)
	if _, err := v.Verify(context.Background(), old); err != nil {
		t.Fatalf("Verify with the JWKS server down: %v, want the cached key used", err)
	}
	wantFetches(t, js, 2)

	next, _ := GenerateKey()
	if err := s.Rotate(next); err != nil {
		t.Fatal(err)
	}
	fresh := sign(t, s, Claims{Subject: "user-2"}, time.Hour)
	clk.advance(DefaultRefreshInterval)
	_, err := v.Verify(context.Background(), fresh)
	if fault.KindOf(err) != fault.Unavailable || !errors.Is(err, ErrKeysUnavailable) {
		t.Fatalf("Verify of a new key with the JWKS server down: %v, want unavailable with ErrKeysUnavailable", err)
	}
	for _, want := range []string{js.URL, "500", s.KeyID()} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not mention %q", err, want)
		}
	}

	// Once the server is back, the next allowed fetch brings the new key.
	js.down.Store(false)
	clk.advance(DefaultRefreshInterval)
	if _, err := v.Verify(context.Background(), fresh); err != nil {
		t.Errorf("Verify once the JWKS server is back: %v", err)
	}
}

func TestRemoteKeysUnreachable(t *testing.T) {
	s, _ := newSigner(t)
	srv := httptest.NewServer(http.NotFoundHandler())
	url := srv.URL
	srv.Close()
	v, _ := remoteVerifier(t, url, &clock{t: time.Now()})
	token := sign(t, s, Claims{Subject: "user-1"}, time.Hour)
	_, err := v.Verify(context.Background(), token)
	if fault.KindOf(err) != fault.Unavailable || !errors.Is(err, ErrKeysUnavailable) {
		t.Fatalf("Verify: %v, want unavailable with ErrKeysUnavailable", err)
	}
	if !strings.Contains(err.Error(), url) {
		t.Errorf("error %q does not name the JWKS URL", err)
	}
	if strings.Contains(err.Error(), token) {
		t.Errorf("error quotes the token: %v", err)
	}
}

func TestRemoteKeysRefusesBadDocuments(t *testing.T) {
	s, _ := newSigner(t)
	good, err := json.Marshal(s.JWKS())
	if err != nil {
		t.Fatal(err)
	}
	goodKey := strings.TrimSuffix(strings.TrimPrefix(string(good), `{"keys":[`), `]}`)
	manyKeys := make([]string, MaxJWKSKeys+1)
	for i := range manyKeys {
		manyKeys[i] = strings.Replace(goodKey, s.KeyID(), fmt.Sprintf("k%d", i), 1)
	}
	tests := []struct {
		name   string
		status int
		body   string
		want   string
	}{
		{"error status", http.StatusNotFound, `{"keys":[]}`, "404"},
		{"not JSON", http.StatusOK, "<html>", "not a JWKS"},
		{"too large", http.StatusOK, `{"keys":[` + goodKey + `],"pad":"` + strings.Repeat("x", MaxJWKSBytes) + `"}`, "larger than"},
		{"too many keys", http.StatusOK, `{"keys":[` + strings.Join(manyKeys, ",") + `]}`, "more than"},
		{"duplicate kid", http.StatusOK, `{"keys":[` + goodKey + "," + goodKey + `]}`, "unique"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
				w.Header().Set("Content-Type", "application/json")
				w.WriteHeader(tt.status)
				_, _ = w.Write([]byte(tt.body))
			}))
			t.Cleanup(srv.Close)
			keys, err := NewRemoteKeys(srv.URL)
			if err != nil {
				t.Fatal(err)
			}
			_, err = keys.VerificationKey(context.Background(), s.KeyID())
			if !errors.Is(err, ErrKeysUnavailable) || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("VerificationKey: %v, want ErrKeysUnavailable saying %q", err, tt.want)
			}
		})
	}
}

func TestRemoteKeysSkipsUnusableKeys(t *testing.T) {
	s, _ := newSigner(t)
	weak, err := rsa.GenerateKey(rand.Reader, 1024)
	if err != nil {
		t.Fatal(err)
	}
	set := s.JWKS()
	set.Keys = append(set.Keys,
		jose.JSONWebKey{Key: []byte("0123456789abcdef0123456789abcdef"), KeyID: "hmac", Algorithm: "HS256"},
		jose.JSONWebKey{Key: weak.Public(), KeyID: "weak"},
	)
	doc, err := json.Marshal(set)
	if err != nil {
		t.Fatal(err)
	}
	doc = []byte(strings.Replace(string(doc), `{"keys":[`, `{"keys":[{"kty":"future","kid":"new"},`, 1))
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { _, _ = w.Write(doc) }))
	t.Cleanup(srv.Close)
	v, keys := remoteVerifier(t, srv.URL, &clock{t: time.Now()})
	if _, err := v.Verify(context.Background(), sign(t, s, Claims{Subject: "u"}, time.Minute)); err != nil {
		t.Fatalf("Verify with odd keys beside the good one: %v", err)
	}
	for _, kid := range []string{"hmac", "weak", "new"} {
		if _, err := keys.VerificationKey(context.Background(), kid); !errors.Is(err, ErrUnknownKey) {
			t.Errorf("VerificationKey(%s) = %v, want ErrUnknownKey: the key cannot verify", kid, err)
		}
	}
}

func TestRemoteKeysCallerGivesUp(t *testing.T) {
	s, _ := newSigner(t)
	release := make(chan struct{})
	arrived := make(chan struct{}, 1)
	h := s.JWKSHandler()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		arrived <- struct{}{}
		<-release
		h.ServeHTTP(w, r)
	}))
	t.Cleanup(srv.Close)
	t.Cleanup(func() { close(release) })
	v, _ := remoteVerifier(t, srv.URL, &clock{t: time.Now()})

	ctx, cancel := context.WithCancel(context.Background())
	go func() {
		<-arrived
		cancel()
	}()
	_, err := v.Verify(ctx, sign(t, s, Claims{Subject: "u"}, time.Minute))
	if !errors.Is(err, context.Canceled) {
		t.Errorf("Verify with a canceled context: %v, want context.Canceled", err)
	}
}

func TestRemoteKeysFetchTimeout(t *testing.T) {
	s, _ := newSigner(t)
	release := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(http.ResponseWriter, *http.Request) { <-release }))
	t.Cleanup(srv.Close)
	t.Cleanup(func() { close(release) })
	v, _ := remoteVerifier(t, srv.URL, &clock{t: time.Now()}, WithFetchTimeout(20*time.Millisecond))
	_, err := v.Verify(context.Background(), sign(t, s, Claims{Subject: "u"}, time.Minute))
	if !errors.Is(err, ErrKeysUnavailable) || !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("Verify against a JWKS server that never answers: %v, want ErrKeysUnavailable after the fetch deadline", err)
	}
}

func TestNewRemoteKeysRefusesBadURL(t *testing.T) {
	for _, u := range []string{"", "jwks.json", "ftp://issuer/jwks", "https://"} {
		if _, err := NewRemoteKeys(u); err == nil {
			t.Errorf("NewRemoteKeys(%q) succeeded, want an error", u)
		}
	}
}

func TestRemoteKeysOptions(t *testing.T) {
	s, _ := newSigner(t)
	h := s.JWKSHandler()
	var fetches, marked atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fetches.Add(1)
		if r.Header.Get("X-Client") == "auth-test" {
			marked.Add(1)
		}
		h.ServeHTTP(w, r)
	}))
	t.Cleanup(srv.Close)
	client := &http.Client{Transport: roundTripper(func(r *http.Request) (*http.Response, error) {
		r = r.Clone(r.Context())
		r.Header.Set("X-Client", "auth-test")
		return http.DefaultTransport.RoundTrip(r)
	})}
	clk := &clock{t: time.Now()}
	_, keys := remoteVerifier(t, srv.URL, clk, WithHTTPClient(client), WithRefreshInterval(time.Minute))

	if _, err := keys.VerificationKey(context.Background(), s.KeyID()); err != nil {
		t.Fatalf("VerificationKey: %v", err)
	}
	if marked.Load() != 1 {
		t.Errorf("%d fetches went through the given client, want 1", marked.Load())
	}
	clk.advance(time.Minute - time.Nanosecond)
	if _, err := keys.VerificationKey(context.Background(), "unknown"); !errors.Is(err, ErrUnknownKey) {
		t.Errorf("VerificationKey(unknown): %v, want ErrUnknownKey", err)
	}
	if fetches.Load() != 1 {
		t.Errorf("fetched %d times within the refresh interval, want 1", fetches.Load())
	}
	clk.advance(time.Nanosecond)
	_, _ = keys.VerificationKey(context.Background(), "unknown")
	if fetches.Load() != 2 {
		t.Errorf("fetched %d times once the refresh interval passed, want 2", fetches.Load())
	}
}

type roundTripper func(*http.Request) (*http.Response, error)

func (f roundTripper) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }

// gatedTransport serves a JWKS handler in memory, each request once gate
// closes.
type gatedTransport struct {
	handler http.Handler
	gate    chan struct{}
}

func (g gatedTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	<-g.gate
	rec := httptest.NewRecorder()
	g.handler.ServeHTTP(rec, req)
	return rec.Result(), nil
}

// TestRemoteKeysColdCacheSharesTheFirstFetch: tokens that arrive while the
// first fetch is under way wait for it, rather than being refused for a
// key the cache does not hold yet, as a service's first requests after its
// start do.
func TestRemoteKeysColdCacheSharesTheFirstFetch(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		s, _ := newSigner(t)
		gate := make(chan struct{})
		keys, err := NewRemoteKeys("http://issuer.test/.well-known/jwks.json",
			WithHTTPClient(&http.Client{Transport: gatedTransport{handler: s.JWKSHandler(), gate: gate}}))
		if err != nil {
			t.Fatal(err)
		}
		v, err := NewVerifier(keys, testIssuer, testAudience)
		if err != nil {
			t.Fatal(err)
		}
		token := sign(t, s, Claims{Subject: "user-1"}, time.Hour)
		errs := make(chan error, 5)
		go func() { _, err := v.Verify(context.Background(), token); errs <- err }()
		synctest.Wait() // the first fetch has started and waits at the gate
		for range cap(errs) - 1 {
			go func() { _, err := v.Verify(context.Background(), token); errs <- err }()
		}
		synctest.Wait()
		close(gate)
		for range cap(errs) {
			if err := <-errs; err != nil {
				t.Errorf("Verify during the first fetch: %v, want the token accepted once the fetch ends", err)
			}
		}
	})
}
