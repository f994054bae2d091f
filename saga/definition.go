package saga

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/cenkalti/backoff/v5"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/trace"

	"github.com/tailorkit/tailor/fault"
	"github.com/tailorkit/tailor/observability/status"
	"github.com/tailorkit/tailor/resilience"
)

// DefaultTimeout bounds each call of a step that sets no [Step.Timeout].
const DefaultTimeout = 10 * time.Second

// Step is one step of a saga whose data is a T.
type Step[T any] struct {
	// Name names the step in the history and in its idempotency keys; it
	// must be unique in its saga and must not change once sagas that use
	// it have been recorded.
	Name string
	// Action does the step. key is the step's idempotency key ([Key]),
	// the same on every call for this saga: the callee must apply the
	// effect once per key. data is the saga's data; changes the action
	// makes to it (a payment id to refund, say) are recorded with the
	// step's outcome and seen by later steps and compensations. Required.
	Action func(ctx context.Context, key string, data *T) error
	// Compensate undoes Action, with its own idempotency key
	// ([CompensationKey]). It is called when this step or a later one
	// fails, even if Action never took effect, in which case it must
	// succeed doing nothing. It is retried until it succeeds. Nil means
	// the step has nothing to undo.
	Compensate func(ctx context.Context, key string, data *T) error
	// Timeout bounds each call of Action or Compensate. Default
	// [DefaultTimeout].
	Timeout time.Duration
	// Retry says how often Action is tried again when its error is
	// retryable ([fault.IsRetryable]). Every call is treated as
	// idempotent, since each carries the step's idempotency key. The zero
	// value makes up to 3 attempts (see [resilience.RetryConfig]); a
	// MaxAttempts of 1 turns retries off. When the retry budget or the
	// deadline of [Orchestrator.Run]'s context stops the retries before the
	// last attempt, the step has not failed: the saga stays where it is,
	// for a later Run or a [Recovery] to try again.
	Retry resilience.RetryConfig
}

// Definition is a saga's name and steps, registered with an
// [Orchestrator] by [Define]. It is safe for concurrent use.
type Definition[T any] struct {
	o       *Orchestrator
	name    string
	steps   []Step[T]
	retries []*resilience.Retry
	tries   []int // the most attempts of each step's action
}

// Define registers the saga called name, whose data is a T (recorded as
// JSON), and whose steps run in the order given, with o, and returns it.
// Every saga o runs must be defined on it, under the name it was started
// with, before o runs any saga: Define is not safe to call concurrently
// with the orchestrator's other methods. Define fails when a name is empty or repeated, an action is
// missing, or a step's attempts could outlast o's lease.
func Define[T any](o *Orchestrator, name string, steps ...Step[T]) (*Definition[T], error) {
	switch {
	case name == "":
		return nil, errors.New("saga: empty saga name; name the saga, such as \"order\"")
	case len(steps) == 0:
		return nil, fmt.Errorf("saga: saga %q has no steps; give it at least one", name)
	case o.defs[name] != nil:
		return nil, fmt.Errorf("saga: saga %q is defined twice on this orchestrator; give each saga its own name", name)
	}
	d := &Definition[T]{o: o, name: name, steps: make([]Step[T], len(steps))}
	seen := map[string]bool{}
	for i, s := range steps {
		switch {
		case s.Name == "":
			return nil, fmt.Errorf("saga: step %d of saga %q has no name; name every step", i+1, name)
		case seen[s.Name]:
			return nil, fmt.Errorf("saga: saga %q has two steps named %q; give each step its own name", name, s.Name)
		case s.Action == nil:
			return nil, fmt.Errorf("saga: step %q of saga %q has no Action; set it", s.Name, name)
		}
		seen[s.Name] = true
		if s.Timeout <= 0 {
			s.Timeout = DefaultTimeout
		}
		cfg := s.Retry
		cfg.AllIdempotent = true
		tries := orDefault(cfg.MaxAttempts, 3)
		maxDelay := orDefault(cfg.MaxDelay, time.Second)
		if worst := time.Duration(tries)*s.Timeout + time.Duration(tries-1)*maxDelay; worst+o.cfg.recordLimit >= o.cfg.lease {
			return nil, fmt.Errorf("saga: step %q of saga %q may take %v (%d attempts of up to %v), not well within the lease of %v; shorten its Timeout, make fewer attempts or lengthen the lease (saga.WithLease)",
				s.Name, name, worst, tries, s.Timeout, o.cfg.lease)
		}
		if s.Compensate != nil && s.Timeout+o.cfg.compMax+o.cfg.recordLimit >= o.cfg.lease {
			return nil, fmt.Errorf("saga: step %q of saga %q: a compensation of up to %v after a backoff of up to %v is not well within the lease of %v; shorten its Timeout or the backoff (saga.WithCompensationBackoff), or lengthen the lease (saga.WithLease)",
				s.Name, name, s.Timeout, o.cfg.compMax, o.cfg.lease)
		}
		d.steps[i] = s
		d.retries = append(d.retries, resilience.NewRetry(cfg))
		d.tries = append(d.tries, tries)
	}
	o.defs[name] = d
	o.ended[name] = &tally{}
	if t, ok := o.cfg.tel.(sagaTracker); ok {
		// Listed for as long as the telemetry lives, as the orchestrator.
		t.TrackSagas(func() status.Saga { return o.report(name) })
	}
	return d, nil
}

func orDefault[N int | time.Duration](v, def N) N {
	if v <= 0 {
		return def
	}
	return v
}

// Name returns the saga's name.
func (d *Definition[T]) Name() string { return d.name }

// Execer runs a statement: the *sql.Tx in which the service makes the
// change the saga carries on, so both commit or neither does (a *sql.DB
// also does, without that guarantee).
type Execer interface {
	ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error)
}

// Start records a new saga with id and data through tx, to be run by
// [Orchestrator.Run] once tx commits; if it rolls back, there is no saga.
// A [Recovery] leaves the saga to its starter for the orchestrator's
// lease, then runs it if it is still unfinished. An id already used gets
// [ErrExists].
func (d *Definition[T]) Start(ctx context.Context, tx Execer, id string, data T) error {
	if id == "" {
		return fault.New(fault.InvalidArgument, "saga: empty saga id; pass an id that names the process, such as the order's id")
	}
	body, err := json.Marshal(data)
	if err != nil {
		return fmt.Errorf("saga: encode the data of saga %q as JSON: %w; make it a type encoding/json can encode", id, err)
	}
	now := d.o.now()
	res, err := tx.ExecContext(ctx, `INSERT INTO tailor_sagas (id, name, data, state, step, events, created_us, updated_us, claim_token, claimed_until_us)
VALUES ($1, $2, $3, $4, 0, 1, $5, $5, '', $6) ON CONFLICT (id) DO NOTHING`,
		id, d.name, body, Running, now.UnixMicro(), now.Add(d.o.cfg.lease).UnixMicro())
	if err != nil {
		return fmt.Errorf("saga: record saga %q: %w; has saga.Migrate run on this database?", id, err)
	}
	if n, err := res.RowsAffected(); err == nil && n == 0 {
		return fmt.Errorf("saga %q: %w", id, ErrExists)
	}
	if _, err := tx.ExecContext(ctx, `INSERT INTO tailor_saga_events (saga_id, seq, step, kind, attempts, error, started_us, at_us)
VALUES ($1, 1, '', $2, 0, '', $3, $3)`, id, Started, now.UnixMicro()); err != nil {
		return fmt.Errorf("saga: record saga %q: %w", id, err)
	}
	return nil
}

// stepName is the name of step i, or "" past either end.
func (d *Definition[T]) stepName(i int) string {
	if i < 0 || i >= len(d.steps) {
		return ""
	}
	return d.steps[i].Name
}

// compensable returns the last step at or before i that has a
// compensation, or -1.
func (d *Definition[T]) compensable(i int) int {
	for ; i >= 0 && d.steps[i].Compensate == nil; i-- {
	}
	return i
}

// run drives the claimed saga c from its recorded state to its end.
func (d *Definition[T]) run(ctx context.Context, c *claim) (Status, error) {
	o := d.o
	var data T
	if err := json.Unmarshal(c.data, &data); err != nil {
		o.release(ctx, c)
		return Status{}, fmt.Errorf("saga: decode the data of saga %q: %w; was its type changed incompatibly since it was started?", c.id, err)
	}
	for c.state == Running && c.step < len(d.steps) {
		i := c.step
		st := d.steps[i]
		if c.stopping() {
			o.release(ctx, c)
			return c.status(st.Name, o.now()), d.interrupted(c, st.Name, ErrStopping)
		}
		key := Key(c.id, st.Name)
		began := o.now()
		attempts := 0
		call := func(ctx context.Context, _ any) (any, error) {
			attempts++
			return nil, d.callOnce(ctx, st.Timeout, st.Action, key, &data)
		}
		sctx, span := d.span(ctx, c, st.Name, st.Name, key)
		_, err := d.retries[i].Middleware()(call)(sctx, nil)
		endSpan(span, attempts, err)
		if err != nil && (ctx.Err() != nil || (fault.IsRetryable(err) && attempts < d.tries[i])) {
			if ctx.Err() != nil {
				err = ctx.Err()
			}
			o.release(ctx, c)
			return c.status(st.Name, began), d.interrupted(c, st.Name, err)
		}
		body, merr := json.Marshal(&data)
		if merr != nil {
			o.release(ctx, c)
			return c.status(st.Name, began), fmt.Errorf("saga: encode the data of saga %q as JSON after step %q: %w", c.id, st.Name, merr)
		}
		t := transition{state: Running, step: i + 1, data: body, kind: StepDone, stepName: st.Name, attempts: attempts, began: began}
		if i+1 == len(d.steps) {
			t.state = Completed
		}
		if err != nil {
			t.kind, t.err = StepFailed, err.Error()
			t.state, t.step = Compensating, d.compensable(i)
			if t.step < 0 {
				t.state = Compensated
			}
		}
		if err := o.record(ctx, c, t); err != nil {
			return c.status(st.Name, began), err
		}
		o.at("record " + key)
	}
	for c.state == Compensating {
		st := d.steps[c.step]
		key := CompensationKey(c.id, st.Name)
		began := o.now()
		wait := &backoff.ExponentialBackOff{InitialInterval: o.cfg.compBase, RandomizationFactor: 0.2, Multiplier: 2, MaxInterval: o.cfg.compMax}
		wait.Reset()
		for attempts := 1; ; attempts++ {
			sctx, span := d.span(ctx, c, "compensate "+st.Name, st.Name, key)
			err := d.callOnce(sctx, st.Timeout, st.Compensate, key, &data)
			endSpan(span, attempts, err)
			if err != nil && ctx.Err() != nil {
				o.release(ctx, c)
				return c.status(st.Name, began), d.interrupted(c, st.Name, ctx.Err())
			}
			body, merr := json.Marshal(&data)
			if merr != nil {
				o.release(ctx, c)
				return c.status(st.Name, began), fmt.Errorf("saga: encode the data of saga %q as JSON after compensating step %q: %w", c.id, st.Name, merr)
			}
			t := transition{state: Compensating, step: c.step, data: body, kind: StepCompensated, stepName: st.Name, attempts: attempts, began: began}
			if err == nil {
				t.step = d.compensable(c.step - 1)
				if t.step < 0 {
					t.state = Compensated
				}
			} else {
				t.kind, t.err = CompensationFailed, err.Error()
			}
			if err := o.record(ctx, c, t); err != nil {
				return c.status(st.Name, began), err
			}
			o.at("record " + key)
			if t.kind == StepCompensated {
				break
			}
			if err := sleep(ctx, c.stop, wait.NextBackOff()); err != nil {
				o.release(ctx, c)
				return c.status(st.Name, began), d.interrupted(c, st.Name, err)
			}
		}
	}
	return c.status("", o.now()), nil
}

// span starts the span of a step's call, named "saga NAME what".
func (d *Definition[T]) span(ctx context.Context, c *claim, what, step, key string) (context.Context, trace.Span) {
	return d.o.tracer.Start(ctx, "saga "+d.name+" "+what, trace.WithAttributes(
		attribute.String("saga.name", d.name), attribute.String("saga.id", c.id),
		attribute.String("saga.step", step), attribute.String("saga.idempotency_key", key)))
}

// endSpan ends a step's span with the attempts it took and its error.
func endSpan(span trace.Span, attempts int, err error) {
	span.SetAttributes(attribute.Int("saga.attempts", attempts))
	if err != nil {
		span.RecordError(err)
		span.SetStatus(codes.Error, err.Error())
	}
	span.End()
}

// callOnce calls fn, an action or a compensation, once, within timeout.
func (d *Definition[T]) callOnce(ctx context.Context, timeout time.Duration, fn func(context.Context, string, *T) error, key string, data *T) error {
	d.o.at("call " + key)
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	err := fn(ctx, key, data)
	d.o.at("return " + key)
	return err
}

// interrupted is the error of a Run that stopped before the saga's end.
func (d *Definition[T]) interrupted(c *claim, step string, err error) error {
	return fmt.Errorf("saga: saga %q stopped at step %q, %s, before its end: %w; it stays %s, and a Recovery or another Run finishes it",
		c.id, step, c.state, err, c.state)
}

// sleep waits d, or until ctx ends or stop closes, when it returns why.
func sleep(ctx context.Context, stop <-chan struct{}, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	case <-stop:
		return ErrStopping
	}
}

// stopping reports whether the run of c should end before its next step.
func (c *claim) stopping() bool {
	select {
	case <-c.stop:
		return true
	default:
		return false
	}
}
