package payments

import (
	"context"
	"fmt"
	"strconv"
	"time"

	"github.com/tailorkit/tailor/fault"
)

// MaxLatencyMS is the longest simulated latency, in milliseconds: one
// minute.
const MaxLatencyMS = 60_000

// The environment variables [FaultsFromEnv] reads.
const (
	EnvFailureRate     = "SHOP_PAYMENTS_FAILURE_RATE"     // Faults.FailureRate, 0 to 1; default 0
	EnvLatencyMS       = "SHOP_PAYMENTS_LATENCY_MS"       // Faults.LatencyMS, 0 to MaxLatencyMS; default 0
	EnvUnavailableRate = "SHOP_PAYMENTS_UNAVAILABLE_RATE" // Faults.UnavailableRate, 0 to 1; default 0
)

// Faults are the failures the simulated card processor injects, so that
// the shop's orders can be seen to cope with them. The zero value injects
// none.
type Faults struct {
	// FailureRate is the share of new charges, from 0 to 1, that the card
	// issuer declines: a permanent failure, answered 402, that is recorded
	// under the charge's key so that a repeat answers the same decline.
	FailureRate float64 `json:"failure_rate" jsonschema:"minimum=0,maximum=1"`
	// LatencyMS is a delay, in milliseconds from 0 to [MaxLatencyMS],
	// added before every charge and refund is answered. A call whose
	// context ends during the delay fails with the context's error and
	// changes nothing.
	LatencyMS int64 `json:"latency_ms" jsonschema:"minimum=0,maximum=60000"`
	// UnavailableRate is the share of charges and refunds, from 0 to 1,
	// answered 503 as if the processor were down: a transient failure,
	// retryable, that changes and records nothing.
	UnavailableRate float64 `json:"unavailable_rate" jsonschema:"minimum=0,maximum=1"`
}

// Validate lists every problem with f: rates from 0 to 1 and a latency
// from 0 to [MaxLatencyMS].
func (f Faults) Validate() error {
	var v []fault.Violation
	if !(f.FailureRate >= 0 && f.FailureRate <= 1) {
		v = append(v, fault.Violation{Field: "failure_rate", Description: fmt.Sprintf("must be a rate from 0 to 1, got %v", f.FailureRate)})
	}
	if f.LatencyMS < 0 || f.LatencyMS > MaxLatencyMS {
		v = append(v, fault.Violation{Field: "latency_ms", Description: fmt.Sprintf("must be from 0 to %d milliseconds, got %d", MaxLatencyMS, f.LatencyMS)})
	}
	if !(f.UnavailableRate >= 0 && f.UnavailableRate <= 1) {
		v = append(v, fault.Violation{Field: "unavailable_rate", Description: fmt.Sprintf("must be a rate from 0 to 1, got %v", f.UnavailableRate)})
	}
	if len(v) > 0 {
		return fault.Invalid(v...)
	}
	return nil
}

// FaultsFromEnv reads [EnvFailureRate], [EnvLatencyMS] and
// [EnvUnavailableRate] through lookup (pass [os.LookupEnv]). Unset or
// empty variables are 0; a value that is not a number, or is out of
// range, is an error that names the variable, the value and the values
// it takes.
func FaultsFromEnv(lookup func(string) (string, bool)) (Faults, error) {
	var f Faults
	rate := func(name string, dst *float64) error {
		v, ok := lookup(name)
		if !ok || v == "" {
			return nil
		}
		r, err := strconv.ParseFloat(v, 64)
		if err != nil || !(r >= 0 && r <= 1) {
			return fmt.Errorf("payments: %s=%q is not a rate from 0 to 1; use a number such as 0.1 (one call in ten), or 0 for none", name, v)
		}
		*dst = r
		return nil
	}
	if err := rate(EnvFailureRate, &f.FailureRate); err != nil {
		return Faults{}, err
	}
	if err := rate(EnvUnavailableRate, &f.UnavailableRate); err != nil {
		return Faults{}, err
	}
	if v, ok := lookup(EnvLatencyMS); ok && v != "" {
		ms, err := strconv.ParseInt(v, 10, 64)
		if err != nil || ms < 0 || ms > MaxLatencyMS {
			return Faults{}, fmt.Errorf("payments: %s=%q is not a latency from 0 to %d milliseconds; use a whole number such as 200, or 0 for none", EnvLatencyMS, v, MaxLatencyMS)
		}
		f.LatencyMS = ms
	}
	return f, nil
}

// Faults returns the failures the service injects now.
func (s *Service) Faults() Faults {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.faults
}

// SetFaults replaces the failures the service injects, from the next call
// on, and returns them; faults that break a rule of [Faults.Validate]
// are refused with an InvalidArgument error (422) and change nothing.
// The faults live in this instance's memory: each instance has its own,
// and a restart goes back to those it was made with ([WithFaults]).
func (s *Service) SetFaults(_ context.Context, f Faults) (Faults, error) {
	if err := f.Validate(); err != nil {
		return Faults{}, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.faults = f
	return f, nil
}

// toss reports whether a draw of the random source falls under rate; it
// draws nothing when rate is 0.
func (s *Service) toss(rate func(Faults) float64) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	r := rate(s.faults)
	return r > 0 && s.random() < r
}

// inject plays the faults that come before a charge or a refund: the
// latency, during which the call's context may end, then the outage.
func (s *Service) inject(ctx context.Context) error {
	if ms := s.Faults().LatencyMS; ms > 0 {
		t := time.NewTimer(time.Duration(ms) * time.Millisecond)
		defer t.Stop()
		select {
		case <-t.C:
		case <-ctx.Done():
			err := ctx.Err()
			return fault.Wrap(err, fault.KindOf(err), "the call ended before the payment processor answered; nothing was charged or refunded")
		}
	}
	if s.toss(func(f Faults) float64 { return f.UnavailableRate }) {
		return fault.New(fault.Unavailable, "the payment processor is unavailable (a simulated outage); nothing was charged or refunded; retry later")
	}
	return nil
}
