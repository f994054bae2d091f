package gateway

import (
	"encoding/base64"
	"net/http"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/tailorkit/tailor/auth"
	"github.com/tailorkit/tailor/examples/shop/users"
	"github.com/tailorkit/tailor/resilience"
)

// resilienceRate is a rate limit of rate a second with bursts of burst;
// the tests use rates so low that no token comes back while they run.
func resilienceRate(rate float64, burst int) resilience.RateLimitConfig {
	return resilience.RateLimitConfig{Rate: rate, Burst: burst}
}

// Tokens the gateway's verifier refuses are answered 401 at the gateway,
// and the service never hears of the request.
func TestBadTokensAreRefusedAtTheEdge(t *testing.T) {
	h := newHarness(t)
	u := startUpstream(t, h.reg, UsersService, "users-1", answerJSON(http.StatusOK, `{}`))
	h.start(t, unlimited)
	good := h.token(t, "u1", "customer")

	b64 := base64.RawURLEncoding.EncodeToString
	parts := strings.Split(good, ".")
	now := time.Now()
	claims := func(iss string, exp time.Time) jwt.MapClaims {
		return jwt.MapClaims{"iss": iss, "aud": users.Audience, "sub": "u1", "roles": []string{"admin"}, "iat": now.Add(-2 * time.Hour).Unix(), "exp": exp.Unix()}
	}
	signWith := func(claims jwt.MapClaims) string {
		tok := jwt.NewWithClaims(jwt.SigningMethodEdDSA, claims)
		tok.Header["kid"] = h.signer.KeyID()
		s, err := tok.SignedString(h.key)
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
	otherKey, err := auth.NewSigner(users.Issuer, users.Audience)
	if err != nil {
		t.Fatal(err)
	}
	wrongKey, err := otherKey.Sign(auth.Claims{Subject: "u1", Roles: []string{"admin"}}, time.Hour)
	if err != nil {
		t.Fatal(err)
	}

	tests := map[string]string{
		"alg none": b64([]byte(`{"alg":"none","typ":"JWT","kid":"`+h.signer.KeyID()+`"}`)) + "." + parts[1] + ".",
		"tampered": parts[0] + "." + b64([]byte(`{"iss":"`+users.Issuer+`","aud":["`+users.Audience+`"],"sub":"u1","roles":["admin"],"exp":`+
			jwt.NewNumericDate(now.Add(time.Hour)).String()+`}`)) + "." + parts[2],
		"expired":      signWith(claims(users.Issuer, now.Add(-time.Hour))),
		"wrong issuer": signWith(claims("someone-else", now.Add(time.Hour))),
		"wrong key":    wrongKey,
		"garbage":      "not-a-token",
	}
	for name, tok := range tests {
		t.Run(name, func(t *testing.T) {
			resp, body := h.do(t, "GET", "/v1/users/me", "", "Authorization", "Bearer "+tok)
			if resp.StatusCode != http.StatusUnauthorized {
				t.Fatalf("got %d %s, want 401", resp.StatusCode, body)
			}
			if p := problem(t, resp, body); p.Kind != "unauthenticated" {
				t.Errorf("kind %q, want unauthenticated", p.Kind)
			}
			if !strings.Contains(resp.Header.Get("WWW-Authenticate"), `error="invalid_token"`) {
				t.Errorf("WWW-Authenticate = %q, want an invalid_token challenge", resp.Header.Get("WWW-Authenticate"))
			}
			if n := u.calls(); n != 0 {
				t.Fatalf("users got %d calls, want none", n)
			}
		})
	}

	// The same request with the good token, and without one, goes through.
	for _, headers := range [][]string{{"Authorization", "Bearer " + good}, nil} {
		if resp, body := h.do(t, "GET", "/v1/users/me", "", headers...); resp.StatusCode != http.StatusOK {
			t.Fatalf("with %v: got %d %s, want 200", headers, resp.StatusCode, body)
		}
	}
}

// checkLimited checks a 429 problem with a Retry-After.
func checkLimited(t *testing.T, resp *http.Response, body []byte) {
	t.Helper()
	if resp.StatusCode != http.StatusTooManyRequests {
		t.Fatalf("got %d %s, want 429", resp.StatusCode, body)
	}
	if p := problem(t, resp, body); p.Kind != "resource_exhausted" {
		t.Errorf("kind %q, want resource_exhausted", p.Kind)
	}
	if resp.Header.Get("Retry-After") == "" {
		t.Error("no Retry-After")
	}
}

// Each client IP has its rate limit, counted by the TCP peer: a client
// cannot pick another bucket with X-Forwarded-For.
func TestRateLimitPerIP(t *testing.T) {
	h := newHarness(t)
	u := startUpstream(t, h.reg, StatsService, "stats-1", answerJSON(http.StatusOK, `{}`))
	h.start(t, func(c *Config) { c.PerIP = resilienceRate(0.01, 2) })
	for i := range 2 {
		if resp, body := h.do(t, "GET", "/v1/stats", "", "X-Forwarded-For", "203.0.113.9"); resp.StatusCode != http.StatusOK {
			t.Fatalf("request %d: got %d %s, want 200", i+1, resp.StatusCode, body)
		}
	}
	resp, body := h.do(t, "GET", "/v1/stats", "", "X-Forwarded-For", "198.51.100.7")
	checkLimited(t, resp, body)
	if n := u.calls(); n != 2 {
		t.Errorf("stats got %d calls, want 2", n)
	}
}

// Behind a trusted proxy, X-Forwarded-For names the client, so clients
// behind one proxy have buckets of their own.
func TestRateLimitPerIPBehindTrustedProxy(t *testing.T) {
	h := newHarness(t)
	startUpstream(t, h.reg, StatsService, "stats-1", answerJSON(http.StatusOK, `{}`))
	h.start(t, func(c *Config) {
		c.PerIP = resilienceRate(0.01, 1)
		c.TrustedProxies = []netip.Prefix{netip.MustParsePrefix("127.0.0.0/8")}
	})
	for _, client := range []string{"203.0.113.9", "198.51.100.7"} {
		if resp, body := h.do(t, "GET", "/v1/stats", "", "X-Forwarded-For", client); resp.StatusCode != http.StatusOK {
			t.Fatalf("client %s: got %d %s, want 200", client, resp.StatusCode, body)
		}
	}
	resp, body := h.do(t, "GET", "/v1/stats", "", "X-Forwarded-For", "10.1.1.1, 203.0.113.9")
	checkLimited(t, resp, body)
}

// Each user has a rate limit besides their IP's; anonymous requests have
// only the IP's.
func TestRateLimitPerUser(t *testing.T) {
	h := newHarness(t)
	u := startUpstream(t, h.reg, UsersService, "users-1", answerJSON(http.StatusOK, `{}`))
	h.start(t, func(c *Config) {
		c.PerIP.Rate = -1
		c.PerUser = resilienceRate(0.01, 1)
	})
	ada, bob := h.token(t, "ada"), h.token(t, "bob")
	if resp, body := h.do(t, "GET", "/v1/users/me", "", "Authorization", "Bearer "+ada); resp.StatusCode != http.StatusOK {
		t.Fatalf("ada's first: got %d %s, want 200", resp.StatusCode, body)
	}
	resp, body := h.do(t, "GET", "/v1/users/me", "", "Authorization", "Bearer "+ada)
	checkLimited(t, resp, body)
	if resp, body := h.do(t, "GET", "/v1/users/me", "", "Authorization", "Bearer "+bob); resp.StatusCode != http.StatusOK {
		t.Fatalf("bob: got %d %s, want 200", resp.StatusCode, body)
	}
	for range 3 {
		if resp, body := h.do(t, "POST", "/v1/sessions", "{}"); resp.StatusCode != http.StatusOK {
			t.Fatalf("anonymous: got %d %s, want 200", resp.StatusCode, body)
		}
	}
	if n := u.calls(); n != 5 {
		t.Errorf("users got %d calls, want 5", n)
	}
}

func TestClientIP(t *testing.T) {
	trusted := []netip.Prefix{netip.MustParsePrefix("10.0.0.0/8"), netip.MustParsePrefix("::1/128")}
	tests := []struct {
		name, remote string
		xff          []string
		want         string
	}{
		{"peer", "192.0.2.1:5000", nil, "192.0.2.1"},
		{"untrusted peer's header ignored", "192.0.2.1:5000", []string{"203.0.113.9"}, "192.0.2.1"},
		{"trusted proxy", "10.0.0.2:5000", []string{"203.0.113.9"}, "203.0.113.9"},
		{"chain of trusted proxies", "10.0.0.2:5000", []string{"198.51.100.1, 203.0.113.9, 10.0.0.3"}, "203.0.113.9"},
		{"several headers", "10.0.0.2:5000", []string{"198.51.100.1", "203.0.113.9"}, "203.0.113.9"},
		{"all trusted", "10.0.0.2:5000", []string{"10.0.0.9"}, "10.0.0.9"},
		{"malformed entry", "10.0.0.2:5000", []string{"junk, 10.0.0.9"}, "10.0.0.9"},
		{"no header", "10.0.0.2:5000", nil, "10.0.0.2"},
		{"IPv6 peer", "[::1]:5000", []string{"2001:db8::1"}, "2001:db8::1"},
		{"IPv4 in IPv6", "[::ffff:192.0.2.1]:5000", nil, "192.0.2.1"},
		{"not an address", "pipe", nil, "pipe"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := clientIP(tt.remote, tt.xff, trusted); got != tt.want {
				t.Errorf("clientIP(%q, %q) = %q, want %q", tt.remote, tt.xff, got, tt.want)
			}
		})
	}
}

// The default per-IP limit admits a burst of 40, and 20 a second after
// it: the requests admitted before the first 429 are 40 plus those the
// elapsed time paid for.
func TestDefaultRateLimitPerIP(t *testing.T) {
	h := newHarness(t)
	startUpstream(t, h.reg, StatsService, "stats-1", answerJSON(http.StatusOK, `{}`))
	h.start(t)
	start := time.Now()
	admitted := 0
	for {
		resp, body := h.do(t, "GET", "/v1/stats", "")
		if resp.StatusCode == http.StatusTooManyRequests {
			checkLimited(t, resp, body)
			break
		}
		if admitted++; admitted > 1000 {
			t.Fatal("no 429 after 1000 requests")
		}
	}
	refilled := int(time.Since(start).Seconds()*DefaultIPRate) + 1
	if admitted < 2*DefaultIPRate || admitted > 2*DefaultIPRate+refilled {
		t.Errorf("%d requests admitted before a 429, want 40 plus up to %d refilled", admitted, refilled)
	}
}
