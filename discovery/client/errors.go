package client

import (
	"fmt"
	"strings"
	"time"
)

// NoInstanceError is the cause of the error a [Client] returns when no
// instance can take a call; its message says which service, how many
// instances it has and why none could serve. The Client wraps it in a
// fault.Unavailable error, which a caller may retry.
type NoInstanceError struct {
	Service    string
	Registered int           // instances registered, healthy or not
	Healthy    int           // instances passing their health checks
	Ejected    int           // healthy instances whose circuit breaker is open
	Tried      int           // healthy instances this call already tried
	Err        error         // the registry's error, when it is unreachable
	Stale      time.Duration // how long since the registry last answered, when Err is set
}

// Error says what went wrong and what to do.
func (e *NoInstanceError) Error() string {
	var b strings.Builder
	switch {
	case e.Healthy == 0 && e.Registered == 0 && e.Err == nil:
		fmt.Fprintf(&b, "client: no instance of %q is registered; is the service running, and registered under that name?", e.Service)
	case e.Healthy == 0 && e.Registered == 0:
		fmt.Fprintf(&b, "client: no instance of %q is known", e.Service)
	case e.Healthy == 0:
		fmt.Fprintf(&b, "client: no healthy instance of %q (%d registered, %d failing checks); is the service running?", e.Service, e.Registered, e.Registered)
	default:
		fmt.Fprintf(&b, "client: no instance of %q could take the call (%d healthy", e.Service, e.Healthy)
		if e.Ejected > 0 {
			fmt.Fprintf(&b, ", %d ejected by their circuit breakers after failing", e.Ejected)
		}
		if e.Tried > 0 {
			fmt.Fprintf(&b, ", %d already tried by this call", e.Tried)
		}
		b.WriteString("); the service is failing: check its instances' logs")
	}
	switch {
	case e.Err != nil && e.Stale > 0:
		fmt.Fprintf(&b, "; the registry cannot be reached (for %s: %v), so this is the last known list", e.Stale.Round(time.Millisecond), e.Err)
	case e.Err != nil:
		fmt.Fprintf(&b, "; the registry has not answered yet (%v): is it running, and is its address right?", e.Err)
	}
	return b.String()
}

// Unwrap returns the registry's error.
func (e *NoInstanceError) Unwrap() error { return e.Err }
