package gateway

import (
	"encoding/json"
	"net/netip"
	"strings"
	"testing"
)

// The services' answers the product page reads: anything decodes or
// fails without a panic, and what decodes says what the JSON said.
func FuzzDecodeAnswers(f *testing.F) {
	for _, seed := range []string{
		productJSON, `{"available":3}`, `{"available":-1,"product_id":"x"}`, `{"available":null}`,
		`{"available":1e3}`, `{"id":""}`, `null`, `[]`, `{`, "\xff", `{"price":{"amount":"1"}}`,
		`{"count":2,"average":4.5,"ratings":[0,0,0,1,1]}`, `{"count":0}`, `{"count":-1}`, `{"count":1,"average":9}`, `{"count":1.5}`,
	} {
		f.Add([]byte(seed))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		if p, err := decodeProduct(body); err == nil {
			if p == nil || p.ID == "" {
				t.Fatalf("decodeProduct(%q) = %+v without an error, want a product with an id", body, p)
			}
		}
		if r, err := decodeReviews(body); err == nil {
			if r == nil || r.Count < 0 || r.Average != 0 && (r.Average < 1 || r.Average > 5) {
				t.Fatalf("decodeReviews(%q) = %+v without an error, want a count of 0 or more and an average of 1 to 5", body, r)
			}
		}
		s, err := decodeStock(body)
		if err != nil {
			return
		}
		var raw struct {
			Available json.Number `json:"available"`
		}
		if json.Unmarshal(body, &raw) != nil || raw.Available.String() == "" {
			t.Fatalf("decodeStock(%q) = %+v, but the body has no available number", body, s)
		}
		if n, err := raw.Available.Int64(); err != nil || n != s.Available {
			t.Fatalf("decodeStock(%q) = %d, want %s", body, s.Available, raw.Available)
		}
	})
}

// The client IP is read from the peer's address and, behind a trusted
// proxy, X-Forwarded-For: whatever they hold, the key is the peer's
// address, an address from the header, or the remote address as it came.
func FuzzClientIP(f *testing.F) {
	f.Add("10.0.0.2:5000", "203.0.113.9, 10.0.0.3")
	f.Add("192.0.2.1:1", "198.51.100.1")
	f.Add("[::1]:80", "junk,,2001:db8::1")
	f.Add("pipe", "")
	f.Add("10.0.0.2:5000", "fe80::1%eth0")
	trusted := []netip.Prefix{netip.MustParsePrefix("10.0.0.0/8"), netip.MustParsePrefix("::1/128")}
	f.Fuzz(func(t *testing.T, remote, xff string) {
		got := clientIP(remote, []string{xff}, trusted)
		peer, err := peerAddr(remote)
		switch {
		case err != nil:
			if got != remote {
				t.Fatalf("clientIP(%q) = %q, want the remote address as it came", remote, got)
			}
		case !isTrusted(peer, trusted):
			if got != peer.String() {
				t.Fatalf("clientIP(%q, %q) = %q, want the untrusted peer %s", remote, xff, got, peer)
			}
		default:
			if got != peer.String() && !unmappedIn(got, xff) {
				t.Fatalf("clientIP(%q, %q) = %q, neither the peer nor from the header", remote, xff, got)
			}
		}
	})
}

// unmappedIn reports whether ip is the unmapped form of an address in
// xff.
func unmappedIn(ip, xff string) bool {
	for hop := range strings.SplitSeq(xff, ",") {
		if a, err := netip.ParseAddr(strings.TrimSpace(hop)); err == nil && a.Unmap().String() == ip {
			return true
		}
	}
	return false
}

// A Retry-After is whole seconds or nothing.
func FuzzRetryAfter(f *testing.F) {
	for _, seed := range []string{"", "0", "7", "-1", "99999999999", "Wed, 21 Oct 2015 07:28:00 GMT", " 3"} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, v string) {
		if d := retryAfter(v); d < 0 || d%1e9 != 0 {
			t.Fatalf("retryAfter(%q) = %v, want whole seconds, not negative", v, d)
		}
	})
}
