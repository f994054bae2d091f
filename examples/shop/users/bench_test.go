package users_test

import (
	"fmt"
	"net/http"
	"slices"
	"testing"
	"time"

	"github.com/tailorkit/tailor/examples/shop/users"
)

// BenchmarkHTTP measures sign-up and login over loopback HTTP on SQLite,
// with the default argon2id cost, one request at a time, and reports the
// median and 99th percentile latency. The three kinds of login should
// take about as long as each other.
//
//	go test -run XXX -bench HTTP -benchtime 200x ./examples/shop/users
func BenchmarkHTTP(b *testing.B) {
	s, err := users.NewService(users.NewStore(freshSQLite(b)))
	if err != nil {
		b.Fatal(err)
	}
	r := start(b, s)
	const password = "violet staple orbit 42"
	if resp, body := call(b, r, "POST", "/v1/users", signUpBody("bench@example.com", password, "Bench"), ""); resp.StatusCode != http.StatusCreated {
		b.Fatalf("sign up: %d %s", resp.StatusCode, body)
	}
	n := 0
	cases := []struct {
		name string
		want int
		body func() string
	}{
		{"sign-up", http.StatusCreated, func() string {
			n++
			return signUpBody(fmt.Sprintf("user%d@example.com", n), password, "User")
		}},
		{"login", http.StatusOK, func() string { return loginBody("bench@example.com", password) }},
		{"login-wrong-password", http.StatusUnauthorized, func() string { return loginBody("bench@example.com", password+"!") }},
		{"login-unknown-email", http.StatusUnauthorized, func() string { return loginBody("nobody@example.com", password) }},
	}
	for _, c := range cases {
		path := "/v1/sessions"
		if c.name == "sign-up" {
			path = "/v1/users"
		}
		b.Run(c.name, func(b *testing.B) {
			var lat []time.Duration
			for b.Loop() {
				body := c.body()
				t0 := time.Now()
				resp, got := call(b, r, "POST", path, body, "")
				lat = append(lat, time.Since(t0))
				if resp.StatusCode != c.want {
					b.Fatalf("%d %s, want %d", resp.StatusCode, got, c.want)
				}
			}
			slices.Sort(lat)
			ms := func(q float64) float64 { return float64(lat[int(q*float64(len(lat)-1))]) / 1e6 }
			b.ReportMetric(ms(0.5), "p50-ms")
			b.ReportMetric(ms(0.99), "p99-ms")
		})
	}
}
