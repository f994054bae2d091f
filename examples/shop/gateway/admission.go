package gateway

import (
	"net/http"
	"net/netip"
	"strings"

	"github.com/tailorkit/tailor/auth"
	thttp "github.com/tailorkit/tailor/transport/http"
)

// admit puts next behind the gateway's checks, in order: the per-IP rate
// limit, the bearer token's verification, and the per-user rate limit for
// requests with a verified token. Each refuses before the body is read and
// before any service is called.
func (g *Gateway) admit(next http.Handler) http.Handler {
	h := g.cfg.Verifier.HTTPMiddleware()(g.limitUser(next))
	if g.perIP != nil {
		h = thttp.RateLimit(g.perIP, func(r *http.Request) string {
			return clientIP(r.RemoteAddr, r.Header["X-Forwarded-For"], g.trusted)
		})(h)
	}
	return h
}

// limitUser refuses the requests of a user whose rate limit is spent;
// anonymous requests pass.
func (g *Gateway) limitUser(next http.Handler) http.Handler {
	if g.perUser == nil {
		return next
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if c, ok := auth.ClaimsFrom(r.Context()); ok {
			if err := g.perUser.Allow(c.Subject); err != nil {
				thttp.WriteError(w, r, err)
				return
			}
		}
		next.ServeHTTP(w, r)
	})
}

// clientIP is the address a request's rate limit is counted against: the
// TCP peer's (remoteAddr, "host:port"), unless the peer is one of trusted,
// the proxies in front of the gateway. Then it is the last address of the
// X-Forwarded-For values xff that is not a trusted proxy, read from the
// right, as each proxy appends the address it got the request from; when
// every address is trusted it is the leftmost one, and a malformed entry
// stops the walk at the last address read. A remoteAddr that is not an
// address is returned as it is.
func clientIP(remoteAddr string, xff []string, trusted []netip.Prefix) string {
	ip, err := peerAddr(remoteAddr)
	if err != nil {
		return remoteAddr
	}
	if !isTrusted(ip, trusted) {
		return ip.String()
	}
	for i := len(xff) - 1; i >= 0; i-- {
		hops := strings.Split(xff[i], ",")
		for j := len(hops) - 1; j >= 0; j-- {
			hop, err := netip.ParseAddr(strings.TrimSpace(hops[j]))
			if err != nil {
				return ip.String()
			}
			ip = hop.Unmap()
			if !isTrusted(ip, trusted) {
				return ip.String()
			}
		}
	}
	return ip.String()
}

// peerAddr is the address of a "host:port" remote address, or of a bare
// address.
func peerAddr(remoteAddr string) (netip.Addr, error) {
	if ap, err := netip.ParseAddrPort(remoteAddr); err == nil {
		return ap.Addr().Unmap(), nil
	}
	a, err := netip.ParseAddr(remoteAddr)
	return a.Unmap(), err
}

func isTrusted(ip netip.Addr, trusted []netip.Prefix) bool {
	for _, p := range trusted {
		if p.Contains(ip) {
			return true
		}
	}
	return false
}
