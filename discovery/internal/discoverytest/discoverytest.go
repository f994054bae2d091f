// Package discoverytest holds what the discovery packages' tests share.
// Start with [Wait], which waits, within a bound, for a watch to report
// the state a test expects.
package discoverytest

import (
	"testing"
	"time"

	"github.com/go-kit/kit/sd"

	"github.com/tailorkit/tailor/discovery"
)

// Wait waits up to wait for w's state to satisfy ok and returns that
// state; otherwise it fails the test, saying what did not happen and what
// the watch holds.
func Wait(t testing.TB, w discovery.Instancer, wait time.Duration, what string, ok func(discovery.State) bool) discovery.State {
	t.Helper()
	ch := make(chan sd.Event, 1)
	w.Register(ch) // the buffer takes the first state at once
	defer w.Deregister(ch)
	timeout := time.After(wait)
	for {
		if st := w.State(); ok(st) {
			return st
		}
		select {
		case <-ch:
		case <-time.After(50 * time.Millisecond):
		case <-timeout:
			st := w.State()
			t.Fatalf("after %s: %s did not happen; the watch has %d healthy of %d registered, err %v", wait, what, len(st.Instances), st.Registered, st.Err)
			return st
		}
	}
}
