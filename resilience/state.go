package resilience

import (
	"fmt"
	"time"
)

// State is the state of a [Breaker] or a [Throttle].
type State uint8

// The states.
const (
	StateClosed     State = iota // calls go through
	StateHalfOpen                // a few probes go through; the rest are refused
	StateOpen                    // every call is refused until the open timeout ends
	StateThrottling              // a Throttle is refusing a share of calls
)

// String returns "closed", "half-open", "open" or "throttling".
func (s State) String() string {
	switch s {
	case StateClosed:
		return "closed"
	case StateHalfOpen:
		return "half-open"
	case StateOpen:
		return "open"
	case StateThrottling:
		return "throttling"
	}
	return fmt.Sprintf("State(%d)", uint8(s))
}

// StateChange is the event a [Breaker] or a [Throttle] emits when its state
// changes (see [WithStateChange]).
type StateChange struct {
	Breaker  string    // the breaker's name
	From, To State     // the states before and after
	At       time.Time // when
	Reason   string    // why, in words: "after 5 consecutive failures", "probe succeeded"
}
