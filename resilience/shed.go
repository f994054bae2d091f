package resilience

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/go-kit/kit/endpoint"

	"github.com/tailorkit/tailor/fault"
)

// ShedConfig configures a [Shedder]. The zero value starts at a limit of 20
// concurrent requests, adapts between 4 and 1000 every 100 ms, treats
// latency above 1.25 × the baseline as congestion, and re-measures the
// baseline at the lowest limit every 5 s while it sheds.
type ShedConfig struct {
	// InitialLimit is the concurrency limit before any measurement.
	// Default 20.
	InitialLimit int
	// MinLimit and MaxLimit bound the limit. Defaults 4 and 1000. MinLimit
	// is also the concurrency at which the baseline is measured, so it
	// should not exceed what the server serves without queueing.
	MinLimit, MaxLimit int
	// Tolerance is how much slower than the baseline the average latency
	// of a window may be before the limit comes down. Default 1.25.
	Tolerance float64
	// Window is how often the limit is revised, given at least 10
	// completed requests. Default 100 ms.
	Window time.Duration
	// Baseline is how many windows the baseline latency is the lowest
	// window average of, and how many windows apart a shedding Shedder
	// probes it. Default 50 (5 s at the default Window).
	Baseline int
	// RetryAfter is what a shed request is told to wait. Default 1 s.
	RetryAfter time.Duration
}

func (c ShedConfig) withDefaults() ShedConfig {
	if c.MinLimit <= 0 {
		c.MinLimit = 4
	}
	if c.MaxLimit <= 0 {
		c.MaxLimit = 1000
	}
	c.MaxLimit = max(c.MaxLimit, c.MinLimit)
	if c.InitialLimit <= 0 {
		c.InitialLimit = 20
	}
	c.InitialLimit = min(max(c.InitialLimit, c.MinLimit), c.MaxLimit)
	if c.Tolerance <= 1 {
		c.Tolerance = 1.25
	}
	if c.Window <= 0 {
		c.Window = 100 * time.Millisecond
	}
	if c.Baseline <= 0 {
		c.Baseline = 50
	}
	if c.RetryAfter <= 0 {
		c.RetryAfter = time.Second
	}
	return c
}

// minWindowSamples is how many requests a window needs before it revises the
// limit.
const minWindowSamples = 10

// Shedder is server-side adaptive load shedding: a concurrency limit that
// follows measured latency, so a server sent more than it can serve keeps
// serving close to its capacity at close to its unloaded latency and
// refuses the rest at once, before decoding them (the load-shedding
// scenario in SCENARIO.md asserts both). Build one with [NewShedder]; put
// it in front of an HTTP server's mux with transport/http's Shed, or on an
// endpoint with [Shedder.Middleware]. It is safe for concurrent use.
//
// The limit follows the gradient rule of Netflix's concurrency-limits
// (GradientLimit), revised once per window: when the window's average
// latency exceeds Tolerance × the baseline, the limit is multiplied by
// baseline ÷ average (at least ½), which brings the queue back to what the
// server can drain; otherwise, if the window used at least half the limit,
// it grows by one, the additive increase of concurrency-limits' AIMDLimit.
//
// The baseline is the lowest window average of the last Baseline windows:
// the latency of a server that does not queue. A server kept saturated
// queues in every window, though, and a baseline taken from queued windows
// lets the limit settle above what the server can serve without queueing.
// So a Shedder that sheds probes, at its first revision and then once
// every Baseline windows: it lowers the limit to MinLimit for one window,
// lets the queue drain, and takes the average latency of the requests
// admitted meanwhile as a window of the baseline, which therefore always
// holds a probe while the server is overloaded. This is the ProbeRTT phase
// of BBR congestion control (Cardwell et al., "BBR: Congestion-Based
// Congestion Control", ACM Queue 14(5), 2016), as Envoy's adaptive
// concurrency filter applies it to servers: a probe costs at most
// one window in Baseline of the capacity above MinLimit (2% at the
// defaults), and only while the server is overloaded.
//
// A shed request fails with a [fault.Unavailable] error (HTTP 503) whose
// RetryAfter is the config's and whose Cause is [ErrShed].
type Shedder struct {
	name  string
	cfg   ShedConfig
	epoch time.Time // times below are offsets from it

	inFlight atomic.Int64
	limit    atomic.Int64 // the limit enforced: MinLimit during a probe
	shed     atomic.Bool  // a request was shed during the window

	mu          sync.Mutex
	fLimit      float64 // the limit estimated
	windowStart time.Duration
	sum         time.Duration
	samples     int
	peak        int64 // most requests in flight during the window
	averages    []time.Duration
	next        int           // where the next window average goes in averages
	sinceProbe  int           // windows since the last probe
	probing     bool          // the window is a probe
	probeStart  time.Duration // when the probe began: only requests admitted since count
}

// NewShedder returns a shedder named name (for its errors).
func NewShedder(name string, cfg ShedConfig) *Shedder {
	cfg = cfg.withDefaults()
	s := &Shedder{
		name:       name,
		cfg:        cfg,
		epoch:      time.Now(),
		fLimit:     float64(cfg.InitialLimit),
		averages:   make([]time.Duration, 0, cfg.Baseline),
		sinceProbe: cfg.Baseline, // no baseline measured yet: probe at the first chance
	}
	s.limit.Store(int64(cfg.InitialLimit))
	return s
}

// Limit returns the concurrency limit enforced now: MinLimit during a
// probe of the baseline.
func (s *Shedder) Limit() int { return int(s.limit.Load()) }

// InFlight returns how many admitted requests have not finished.
func (s *Shedder) InFlight() int { return int(s.inFlight.Load()) }

// Acquire takes a place for a request, or returns the error that sheds it.
// The caller calls release once the request is done, exactly once; the
// shedder learns the request's latency from it.
func (s *Shedder) Acquire() (release func(), err error) {
	start, err := s.admit()
	if err != nil {
		return nil, err
	}
	return func() { s.done(start) }, nil
}

// admit takes a place for a request, returning when it started, or the
// error that sheds it.
func (s *Shedder) admit() (time.Duration, error) {
	n := s.inFlight.Add(1)
	if limit := s.limit.Load(); n > limit {
		s.inFlight.Add(-1)
		if !s.shed.Load() {
			s.shed.Store(true)
		}
		return 0, s.refusal(n-1, limit)
	}
	return time.Since(s.epoch), nil
}

// done gives the place back and records the request's latency.
func (s *Shedder) done(start time.Duration) {
	now := time.Since(s.epoch)
	n := s.inFlight.Add(-1) + 1
	s.mu.Lock()
	if !s.probing || start >= s.probeStart {
		s.sum += now - start
		s.samples++
	}
	s.peak = max(s.peak, n)
	if s.samples >= minWindowSamples && now-s.windowStart >= s.cfg.Window {
		s.revise(now)
	}
	s.mu.Unlock()
}

// revise ends a window and sets the limit; s.mu must be held.
func (s *Shedder) revise(now time.Duration) {
	avg := s.sum / time.Duration(s.samples)
	if len(s.averages) < cap(s.averages) {
		s.averages = append(s.averages, avg)
	} else {
		s.averages[s.next] = avg
	}
	s.next = (s.next + 1) % cap(s.averages)
	baseline := avg
	for _, a := range s.averages {
		baseline = min(baseline, a)
	}
	limit := s.fLimit
	switch {
	case s.probing:
		// The probe measured the baseline; the limit it interrupted
		// resumes, to be revised against that baseline next window.
	case float64(avg) > s.cfg.Tolerance*float64(baseline):
		limit *= max(0.5, float64(baseline)/float64(avg))
	case float64(s.peak) >= limit/2:
		limit++
	}
	s.fLimit = min(max(limit, float64(s.cfg.MinLimit)), float64(s.cfg.MaxLimit))
	enforced := int64(s.fLimit)

	s.sinceProbe++
	if s.probing {
		s.sinceProbe = 0
	}
	// Probe before the last probe leaves the baseline's windows. Windows
	// that merely ran at MinLimit do not count: they may still drain a
	// queue from a higher limit.
	s.probing = s.sinceProbe >= s.cfg.Baseline-1 && s.shed.Load()
	if s.probing {
		enforced = int64(s.cfg.MinLimit)
		s.probeStart = now
	}
	s.limit.Store(enforced)
	s.shed.Store(false)
	s.windowStart, s.sum, s.samples, s.peak = now, 0, 0, 0
}

func (s *Shedder) refusal(inFlight, limit int64) error {
	return &fault.Error{
		Kind: fault.Unavailable,
		Detail: fmt.Sprintf("%q is shedding load: %d requests in flight at a limit of %d; retry in %s",
			s.name, inFlight, limit, s.cfg.RetryAfter),
		RetryAfter: s.cfg.RetryAfter,
		Cause:      ErrShed,
	}
}

// Middleware returns the shedder as an endpoint middleware. On HTTP
// servers prefer transport/http's Shed: it sheds before the body is read.
func (s *Shedder) Middleware() endpoint.Middleware {
	return func(next endpoint.Endpoint) endpoint.Endpoint {
		return func(ctx context.Context, request any) (any, error) {
			start, err := s.admit()
			if err != nil {
				return nil, err
			}
			defer s.done(start)
			return next(ctx, request)
		}
	}
}
