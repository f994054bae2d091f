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
// median and 99th percentile latency. The login benchmark takes turns
// between a right password, a wrong one and an unknown email, so the
// three are measured under the same load, and reports each one's median:
// they should be about equal.
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

	signedUp := 0 // across runs of the sub-benchmark, as -count repeats it
	b.Run("sign-up", func(b *testing.B) {
		var lat latencies
		for b.Loop() {
			signedUp++
			body := signUpBody(fmt.Sprintf("user%d@example.com", signedUp), password, "User")
			lat.measure(b, func() (int, []byte) { return post(b, r, "/v1/users", body) }, http.StatusCreated)
		}
		lat.report(b, "")
	})

	b.Run("login", func(b *testing.B) {
		kinds := []struct {
			name, body string
			want       int
		}{
			{"", loginBody("bench@example.com", password), http.StatusOK},
			{"wrong-password-", loginBody("bench@example.com", password+"!"), http.StatusUnauthorized},
			{"unknown-email-", loginBody("nobody@example.com", password), http.StatusUnauthorized},
		}
		lat := make([]latencies, len(kinds))
		i := 0
		for b.Loop() {
			k := kinds[i%len(kinds)]
			lat[i%len(kinds)].measure(b, func() (int, []byte) { return post(b, r, "/v1/sessions", k.body) }, k.want)
			i++
		}
		for j, k := range kinds {
			lat[j].report(b, k.name)
		}
	})
}

type latencies []time.Duration

func (l *latencies) measure(b *testing.B, do func() (int, []byte), want int) {
	b.Helper()
	t0 := time.Now()
	status, body := do()
	*l = append(*l, time.Since(t0))
	if status != want {
		b.Fatalf("%d %s, want %d", status, body, want)
	}
}

func (l latencies) report(b *testing.B, prefix string) {
	if len(l) == 0 {
		return
	}
	slices.Sort(l)
	ms := func(q float64) float64 { return float64(l[int(q*float64(len(l)-1))]) / float64(time.Millisecond) }
	b.ReportMetric(ms(0.5), prefix+"p50-ms")
	b.ReportMetric(ms(0.99), prefix+"p99-ms")
}
