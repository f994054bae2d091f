package outbox

import (
	"errors"
	"time"
)

// ErrCrash is what a relay made to crash after publishing returns.
var ErrCrash = errors.New("simulated crash after publishing")

// CrashAfterPublish makes r fail between publishing a batch and marking
// it sent, as a process that dies there would.
func CrashAfterPublish(r *Relay) { r.afterPub = func() error { return ErrCrash } }

// SetClock makes r tell the time of its dashboard report by now.
func SetClock(r *Relay, now func() time.Time) { r.now = now }
