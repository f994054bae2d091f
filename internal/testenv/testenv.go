// Package testenv holds the one rule tailor's integration tests follow
// when a real server they need (PostgreSQL, NATS, Consul, Prometheus) is
// missing: in CI (CI=true, as .ci/run sets it) the test fails and says
// how to start the server; elsewhere it is skipped, so that
// go test ./... on a laptop without the servers still runs everything
// else.
//
// Start with [Missing]: call it where a test finds its server unreachable,
// with a reason that says how to start it. [Short] skips such tests under
// go test -short outside CI; [CI] tells the two apart for the rare test
// that needs to know.
package testenv

import (
	"os"
	"strconv"
	"testing"
)

// CI reports whether the tests run in CI: the CI environment variable
// holds a true value as strconv.ParseBool reads it ("1", "true", "TRUE").
func CI() bool {
	ci, _ := strconv.ParseBool(os.Getenv("CI"))
	return ci
}

// Missing reports that what a test needs is not there: it fails the test
// in CI and skips it elsewhere. why says what is missing and how to get
// it, for instance "NATS at 127.0.0.1:4222 is unreachable: ...; start it
// with scripts/services.sh".
func Missing(t testing.TB, why string) {
	t.Helper()
	if CI() {
		t.Fatal(why)
	}
	t.Skip(why + " (skipped outside CI; CI=true makes this a failure)")
}

// Short skips a test that needs a real server under go test -short,
// outside CI; CI never skips it.
func Short(t testing.TB, what string) {
	t.Helper()
	if testing.Short() && !CI() {
		t.Skipf("%s tests skipped with -short (CI never skips them)", what)
	}
}
