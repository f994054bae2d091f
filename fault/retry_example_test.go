package fault_test

import (
	"fmt"
	"time"

	"github.com/tailorkit/tailor/fault"
)

// A caller decides whether to try again from the error alone: its kind
// says whether a retry may succeed, and the server may say how long to
// wait first.
func ExampleIsRetryable() {
	busy := &fault.Error{Kind: fault.Unavailable, Detail: "the database is busy", RetryAfter: 2 * time.Second}
	for _, err := range []error{busy, fault.New(fault.InvalidArgument, "sku is empty")} {
		fmt.Println(fault.IsRetryable(err), fault.RetryAfter(err))
	}
	// Output:
	// true 2s
	// false 0s
}
