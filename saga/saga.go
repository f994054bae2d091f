package saga

import (
	"context"
	"crypto/rand"
	"database/sql"
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"go.opentelemetry.io/otel/trace"
	"go.opentelemetry.io/otel/trace/noop"

	"github.com/tailorkit/tailor/fault"
	"github.com/tailorkit/tailor/migrate"
	"github.com/tailorkit/tailor/observability/status"
)

// MigrationsTable is where [Migrate] records the saga tables' migrations.
const MigrationsTable = "tailor_saga_migrations"

//go:embed migrations
var migrations embed.FS

// Migrations returns the saga tables' migrations for dialect d, for
// [migrate.Up] with [migrate.WithTable]([MigrationsTable]); [Migrate] does
// exactly that.
func Migrations(d migrate.Dialect) fs.FS {
	dir := "migrations/sqlite"
	if d == migrate.PostgreSQL {
		dir = "migrations/postgres"
	}
	sub, err := fs.Sub(migrations, dir)
	if err != nil {
		panic(err) // the folders are embedded; a missing one is a build bug
	}
	return sub
}

// Migrate creates or updates the saga tables in db. d is the dialect, or 0
// to tell it from db's driver. It is safe to call at every start, from
// several instances at once.
func Migrate(ctx context.Context, db *sql.DB, d migrate.Dialect) error {
	d, err := dialect(db, d)
	if err != nil {
		return err
	}
	if _, err := migrate.Up(ctx, db, Migrations(d), migrate.WithTable(MigrationsTable), migrate.WithDialect(d)); err != nil {
		return fmt.Errorf("saga: %w", err)
	}
	return nil
}

func dialect(db *sql.DB, d migrate.Dialect) (migrate.Dialect, error) {
	switch d {
	case migrate.PostgreSQL, migrate.SQLite:
		return d, nil
	case 0:
	default:
		return 0, fmt.Errorf("saga: unknown %v; pass migrate.PostgreSQL or migrate.SQLite", d)
	}
	d, err := migrate.DialectOf(db)
	if err != nil {
		return 0, fmt.Errorf("saga: %w", err)
	}
	return d, nil
}

// State is where a saga is in its life.
type State string

// The states. Running and Compensating are unfinished: a [Recovery] takes
// such sagas up when no process holds them.
const (
	// Running: the steps are being run forward.
	Running State = "running"
	// Compensating: a step failed and the compensations are being run, in
	// reverse order.
	Compensating State = "compensating"
	// Completed: every step succeeded. Final.
	Completed State = "completed"
	// Compensated: a step failed and every compensation succeeded. Final.
	Compensated State = "compensated"
)

// Final reports whether s is a state a saga never leaves.
func (s State) Final() bool { return s == Completed || s == Compensated }

// Status is a saga's current state.
type Status struct {
	// ID is the saga's id, as given to [Definition.Start].
	ID string
	// Name is the name of the saga's [Definition].
	Name string
	// State is where the saga is.
	State State
	// Step is the step being run (Running) or compensated (Compensating);
	// empty in the final states.
	Step string
	// FailedStep and Reason are the step that failed and its error, once
	// the saga compensates; empty otherwise.
	FailedStep, Reason string
	// Created is when the saga was started; Updated when its state last
	// changed.
	Created, Updated time.Time
}

// EventKind is what happened in an [Event].
type EventKind string

// The kinds of event.
const (
	// Started: the saga was recorded by [Definition.Start].
	Started EventKind = "started"
	// StepDone: a step's action succeeded.
	StepDone EventKind = "step_done"
	// StepFailed: a step's action failed for good; the saga compensates.
	StepFailed EventKind = "step_failed"
	// StepCompensated: a step's compensation succeeded.
	StepCompensated EventKind = "step_compensated"
	// CompensationFailed: an attempt at a step's compensation failed; it is
	// tried again after a backoff.
	CompensationFailed EventKind = "compensation_failed"
)

// Event is one entry of a saga's history.
type Event struct {
	// Seq numbers the saga's events from 1, in the order they happened.
	Seq int
	// Step is the step the event is about; empty for Started.
	Step string
	// Kind is what happened.
	Kind EventKind
	// Attempts is how many calls the outcome took (0 for Started).
	Attempts int
	// Err is the error of a failure; empty otherwise.
	Err string
	// Began is when the first of the calls began, and At when the event
	// was recorded.
	Began, At time.Time
}

// Errors of [Orchestrator.Run], [Orchestrator.Status] and
// [Definition.Start]; they carry a [fault.Kind], so a transport answers
// them with the right status.
var (
	// ErrNotFound: no saga has the id.
	ErrNotFound = fault.New(fault.NotFound, "saga: no saga has this id; check the id, and that the transaction that started the saga committed")
	// ErrExists: [Definition.Start] was given an id a saga already has.
	ErrExists = fault.New(fault.Conflict, "saga: a saga with this id exists already; give each saga its own id, or read the existing one's state with Orchestrator.Status")
	// ErrBusy: another process (or call) runs the saga now; it finishes it.
	ErrBusy = fault.New(fault.Conflict, "saga: the saga is being run elsewhere, which finishes it; read its state with Orchestrator.Status")
	// ErrLostClaim: the process's claim on the saga lapsed and another one
	// took it; this one stopped.
	ErrLostClaim = fault.New(fault.Conflict, "saga: the claim on the saga lapsed and another process took it, which finishes the saga; if this recurs, lengthen the lease (saga.WithLease)")
	// ErrStopping: the [Recovery] running the saga is stopping; the next
	// process to run finishes the saga.
	ErrStopping = fault.New(fault.Unavailable, "saga: the recovery is stopping; the next process to run the saga finishes it")
)

// settings are the options of [New] after defaults.
type settings struct {
	lease       time.Duration
	compBase    time.Duration
	compMax     time.Duration
	dialect     migrate.Dialect
	tel         Telemetry
	recordLimit time.Duration
}

// Option sets an optional property of an [Orchestrator].
type Option func(*settings)

// WithLease sets how long a claim on a saga lasts. Each recorded step
// renews it. A process that dies running a saga delays it by at most this
// much before a [Recovery] takes it, and [Define] refuses steps whose
// attempts could take longer. It also delays a [Recovery] from taking a
// saga just started, which is left to the [Orchestrator.Run] of its
// starter. Default 1 minute.
func WithLease(d time.Duration) Option { return func(s *settings) { s.lease = d } }

// WithCompensationBackoff sets the wait between attempts at a failing
// compensation: it starts at base and doubles, with jitter, up to max.
// Defaults 100ms and 30s; max must be shorter than the lease.
func WithCompensationBackoff(base, max time.Duration) Option {
	return func(s *settings) { s.compBase, s.compMax = base, max }
}

// WithDialect sets the database's SQL dialect. Default: told from the
// driver.
func WithDialect(d migrate.Dialect) Option { return func(s *settings) { s.dialect = d } }

// Telemetry is where an [Orchestrator] reports: a span per step (and per
// attempt at a compensation), and in the log the sagas a [Recovery] could
// not run. *observability.Telemetry, the service's one telemetry,
// satisfies it, and also lists each saga [Define] registers on the
// service's operations dashboard: how many are running, compensating and
// stuck, and how many this process completed and failed (see
// [github.com/tailorkit/tailor/observability/status.Saga]). A nil
// provider or logger observes nothing.
type Telemetry interface {
	TracerProvider() trace.TracerProvider
	Logger() *slog.Logger
}

// sagaTracker is a [Telemetry] that lists sagas on the service's
// dashboard, as *observability.Telemetry does.
type sagaTracker interface {
	TrackSagas(report func() status.Saga) (untrack func())
}

// WithTelemetry sets where the orchestrator reports. Default: nowhere.
func WithTelemetry(tel Telemetry) Option { return func(s *settings) { s.tel = tel } }

// Orchestrator runs the sagas recorded in one database. Make one with
// [New], register the sagas with [Define], and run them with
// [Orchestrator.Run] or a [Recovery]. Once its sagas are defined, it is
// safe for concurrent use.
type Orchestrator struct {
	db     *sql.DB
	cfg    settings
	defs   map[string]runner
	tracer trace.Tracer
	log    *slog.Logger

	// hook, when set, is called at each point a process may die: "call
	// KEY" before a step's action or compensation is called, "return KEY"
	// after it returned, and "record KEY" after its outcome was recorded.
	hook func(point string)
	// now tells the time of claims and records.
	now func() time.Time

	// ended counts, by saga name, the sagas this orchestrator ran to
	// their end; Define makes the entries.
	ended map[string]*tally
	// unfinished is the count of unfinished sagas as last read.
	unfinished unfinished
}

// tally is the sagas of one name that ended.
type tally struct{ completed, failed atomic.Int64 }

// unfinished is the unfinished sagas by name, as read at a time.
type unfinished struct {
	mu     sync.Mutex
	at     time.Time
	counts map[string]status.Saga
}

// runner is a [Definition] without its type parameter.
type runner interface {
	run(ctx context.Context, c *claim) (Status, error)
}

// New returns an Orchestrator over db, whose tables [Migrate] made.
func New(db *sql.DB, opts ...Option) (*Orchestrator, error) {
	cfg := settings{
		lease:       time.Minute,
		compBase:    100 * time.Millisecond,
		compMax:     30 * time.Second,
		recordLimit: 10 * time.Second,
	}
	for _, o := range opts {
		o(&cfg)
	}
	if _, err := dialect(db, cfg.dialect); err != nil {
		return nil, err
	}
	switch {
	case cfg.lease <= 0 || cfg.compBase <= 0 || cfg.compMax < cfg.compBase:
		return nil, errors.New("saga: the lease and the compensation backoff must be positive, and the backoff's maximum no less than its base")
	case cfg.compMax+cfg.recordLimit >= cfg.lease:
		return nil, fmt.Errorf("saga: the compensation backoff's maximum (%v) is not well short of the lease (%v); the claim would lapse between attempts. Lower the backoff or lengthen the lease", cfg.compMax, cfg.lease)
	}
	o := &Orchestrator{db: db, cfg: cfg, defs: map[string]runner{}, now: time.Now, ended: map[string]*tally{},
		tracer: noop.NewTracerProvider().Tracer(""), log: slog.New(slog.DiscardHandler)}
	if cfg.tel != nil {
		if tp := cfg.tel.TracerProvider(); tp != nil {
			o.tracer = tp.Tracer("github.com/tailorkit/tailor/saga")
		}
		if l := cfg.tel.Logger(); l != nil {
			o.log = l
		}
	}
	return o, nil
}

// Key is the idempotency key of step's action in saga id: id + "/" + step.
func Key(id, step string) string { return id + "/" + step }

// CompensationKey is the idempotency key of step's compensation in saga
// id: id + "/" + step + "/compensate".
func CompensationKey(id, step string) string { return id + "/" + step + "/compensate" }

// Status returns the current state of saga id, or [ErrNotFound].
func (o *Orchestrator) Status(ctx context.Context, id string) (Status, error) {
	var (
		st               Status
		step             int
		created, updated int64
	)
	err := o.db.QueryRowContext(ctx,
		`SELECT name, state, step, failed_step, reason, created_us, updated_us FROM tailor_sagas WHERE id = $1`, id).
		Scan(&st.Name, &st.State, &step, &st.FailedStep, &st.Reason, &created, &updated)
	if errors.Is(err, sql.ErrNoRows) {
		return Status{}, fmt.Errorf("saga %q: %w", id, ErrNotFound)
	}
	if err != nil {
		return Status{}, fmt.Errorf("saga: read the status of saga %q: %w; has saga.Migrate run on this database?", id, err)
	}
	st.ID = id
	st.Created, st.Updated = time.UnixMicro(created), time.UnixMicro(updated)
	if !st.State.Final() {
		st.Step = o.stepName(st.Name, step)
	}
	return st, nil
}

// stepName is the name of step i of the saga called name, or "" when
// this orchestrator does not know it.
func (o *Orchestrator) stepName(name string, i int) string {
	type named interface{ stepName(i int) string }
	if d, ok := o.defs[name].(named); ok {
		return d.stepName(i)
	}
	return ""
}

// History returns the events of saga id, oldest first, or [ErrNotFound].
func (o *Orchestrator) History(ctx context.Context, id string) ([]Event, error) {
	rows, err := o.db.QueryContext(ctx,
		`SELECT seq, step, kind, attempts, error, started_us, at_us FROM tailor_saga_events WHERE saga_id = $1 ORDER BY seq`, id)
	if err != nil {
		return nil, fmt.Errorf("saga: read the history of saga %q: %w; has saga.Migrate run on this database?", id, err)
	}
	defer rows.Close()
	var events []Event
	for rows.Next() {
		var (
			e         Event
			began, at int64
		)
		if err := rows.Scan(&e.Seq, &e.Step, &e.Kind, &e.Attempts, &e.Err, &began, &at); err != nil {
			return nil, fmt.Errorf("saga: read the history of saga %q: %w", id, err)
		}
		e.Began, e.At = time.UnixMicro(began), time.UnixMicro(at)
		events = append(events, e)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("saga: read the history of saga %q: %w", id, err)
	}
	if len(events) == 0 {
		return nil, fmt.Errorf("saga %q: %w", id, ErrNotFound)
	}
	return events, nil
}

// claim is a saga this process holds.
type claim struct {
	id, token          string
	stop               <-chan struct{} // closed when the run should end between steps
	name               string
	data               []byte
	state              State
	step               int
	failedStep, reason string
	created            int64
}

// claimQuery takes saga $3 for the holder of token $1 until $2, if it is
// unfinished and no live claim holds it; now is $4. The %s is where
// [Orchestrator.Run] also takes a saga that its starter's lease reserves
// (an empty token).
const claimQuery = `UPDATE tailor_sagas SET claim_token = $1, claimed_until_us = $2
WHERE id = $3 AND state IN ('running', 'compensating') AND (claimed_until_us IS NULL OR claimed_until_us < $4%s)
RETURNING name, data, state, step, failed_step, reason, created_us`

// Run drives saga id to its end: forward to [Completed], or, once a step
// fails, through the compensations to [Compensated]. It returns the
// saga's status. When ctx ends first, or a retryable failure outlasts
// ctx's deadline, or the database fails a record, Run returns an error
// and leaves the saga as recorded, for a [Recovery] (or another Run) to
// finish; after a failed record, another Run may take it at once. Run on
// a finished saga
// returns its status; on a saga another process runs, [ErrBusy].
func (o *Orchestrator) Run(ctx context.Context, id string) (Status, error) {
	return o.run(ctx, id, " OR claim_token = ''", nil)
}

// run claims saga id with the claim query completed by extra, and runs it
// until its end, ctx's, or stop's closing, whichever is first; stop is
// looked at between steps.
func (o *Orchestrator) run(ctx context.Context, id, extra string, stop <-chan struct{}) (Status, error) {
	c := &claim{id: id, token: rand.Text(), stop: stop}
	now := o.now()
	err := o.db.QueryRowContext(ctx, fmt.Sprintf(claimQuery, extra), c.token, now.Add(o.cfg.lease).UnixMicro(), id, now.UnixMicro()).
		Scan(&c.name, &c.data, &c.state, &c.step, &c.failedStep, &c.reason, &c.created)
	if errors.Is(err, sql.ErrNoRows) {
		st, err := o.Status(ctx, id)
		switch {
		case err != nil:
			return Status{}, err
		case st.State.Final():
			return st, nil
		}
		return st, fmt.Errorf("saga %q: %w", id, ErrBusy)
	}
	if err != nil {
		return Status{}, fmt.Errorf("saga: claim saga %q: %w; has saga.Migrate run on this database?", id, err)
	}
	d, ok := o.defs[c.name]
	if !ok {
		o.release(ctx, c)
		return Status{}, fmt.Errorf("saga: saga %q is a %q, which this orchestrator does not know; call saga.Define for it before running", id, c.name)
	}
	return d.run(ctx, c)
}

// release gives up the claim c, so that the saga can be taken at once.
func (o *Orchestrator) release(ctx context.Context, c *claim) {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), o.cfg.recordLimit)
	defer cancel()
	// A claim not released lapses after the lease: nothing is lost.
	_, _ = o.db.ExecContext(ctx, `UPDATE tailor_sagas SET claim_token = '', claimed_until_us = NULL WHERE id = $1 AND claim_token = $2`, c.id, c.token)
}

// transition is one recorded change of a saga.
type transition struct {
	state    State
	step     int // the next step to run or compensate
	data     []byte
	kind     EventKind
	stepName string
	attempts int
	err      string
	began    time.Time
}

// record writes t, renewing or (in a final state) ending c's claim, and
// the event that says why, in one transaction. It completes even when ctx
// has ended, so that a step that took effect is not called again for
// nothing. When it fails for another reason than a lost claim (a database
// too slow or away), it gives the claim up, so that the saga can be run
// again at once rather than after the lease: whether or not the record
// took effect, the next run resumes from what the database holds.
func (o *Orchestrator) record(ctx context.Context, c *claim, t transition) error {
	err := o.write(ctx, c, t)
	if err != nil && !errors.Is(err, ErrLostClaim) {
		o.release(ctx, c)
	}
	return err
}

// write is record's transaction.
func (o *Orchestrator) write(ctx context.Context, c *claim, t transition) error {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), o.cfg.recordLimit)
	defer cancel()
	now := o.now()
	token, until := c.token, sql.NullInt64{Int64: now.Add(o.cfg.lease).UnixMicro(), Valid: true}
	if t.state.Final() {
		token, until = "", sql.NullInt64{}
	}
	if t.kind == StepFailed {
		c.failedStep, c.reason = t.stepName, t.err
	}
	tx, err := o.db.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("saga: record step %q of saga %q: %w", t.stepName, c.id, err)
	}
	defer tx.Rollback() // a no-op after Commit
	var seq int
	err = tx.QueryRowContext(ctx, `UPDATE tailor_sagas SET state = $1, step = $2, data = $3, failed_step = $4, reason = $5,
	updated_us = $6, events = events + 1, claim_token = $7, claimed_until_us = $8
WHERE id = $9 AND claim_token = $10 RETURNING events`,
		t.state, t.step, t.data, c.failedStep, c.reason, now.UnixMicro(), token, until, c.id, c.token).Scan(&seq)
	if errors.Is(err, sql.ErrNoRows) {
		return fmt.Errorf("saga %q, step %q: %w", c.id, t.stepName, ErrLostClaim)
	}
	if err != nil {
		return fmt.Errorf("saga: record step %q of saga %q: %w", t.stepName, c.id, err)
	}
	if _, err := tx.ExecContext(ctx, `INSERT INTO tailor_saga_events (saga_id, seq, step, kind, attempts, error, started_us, at_us)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8)`, c.id, seq, t.stepName, t.kind, t.attempts, t.err, t.began.UnixMicro(), now.UnixMicro()); err != nil {
		return fmt.Errorf("saga: record step %q of saga %q: %w", t.stepName, c.id, err)
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("saga: record step %q of saga %q: %w", t.stepName, c.id, err)
	}
	c.state, c.step, c.data = t.state, t.step, t.data
	switch t.state {
	case Completed:
		o.ended[c.name].completed.Add(1)
	case Compensated:
		o.ended[c.name].failed.Add(1)
	}
	return nil
}

// unfinishedTTL is how long [Orchestrator.report] reuses the counts of
// unfinished sagas it read.
const unfinishedTTL = time.Second

// report is what the orchestrator tells an operator's dashboard of the
// sagas called name. It counts the unfinished sagas of every name in one
// query on the index of unfinished sagas, at most once a second whoever
// asks, and within that second reports what it read; when the read
// fails, it reports the last counts it could read.
func (o *Orchestrator) report(name string) status.Saga {
	now := o.now()
	u := &o.unfinished
	u.mu.Lock()
	if now.Sub(u.at) >= unfinishedTTL || now.Before(u.at) {
		u.at = now
		if counts, err := o.countUnfinished(now); err == nil {
			u.counts = counts
		}
	}
	st := u.counts[name]
	u.mu.Unlock()
	st.Name = name
	st.Completed, st.Failed = o.ended[name].completed.Load(), o.ended[name].failed.Load()
	return st
}

// countUnfinished counts the running, compensating and stuck sagas by
// name: stuck are those that no record advanced for longer than the
// lease before now.
func (o *Orchestrator) countUnfinished(now time.Time) (map[string]status.Saga, error) {
	ctx, cancel := context.WithTimeout(context.Background(), unfinishedTTL)
	defer cancel()
	rows, err := o.db.QueryContext(ctx, `SELECT name, state, count(*), count(CASE WHEN updated_us < $1 THEN 1 END)
FROM tailor_sagas WHERE state IN ('running', 'compensating') GROUP BY name, state`, now.Add(-o.cfg.lease).UnixMicro())
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	counts := map[string]status.Saga{}
	for rows.Next() {
		var (
			name         string
			state        State
			total, stuck int
		)
		if err := rows.Scan(&name, &state, &total, &stuck); err != nil {
			return nil, err
		}
		st := counts[name]
		if state == Running {
			st.Running += total
		} else {
			st.Compensating += total
		}
		st.Stuck += stuck
		counts[name] = st
	}
	return counts, rows.Err()
}

// status is the Status of the claimed saga c after its last record.
func (c *claim) status(stepName string, updated time.Time) Status {
	st := Status{ID: c.id, Name: c.name, State: c.state, FailedStep: c.failedStep, Reason: c.reason,
		Created: time.UnixMicro(c.created), Updated: updated}
	if !c.state.Final() {
		st.Step = stepName
	}
	return st
}

// at calls the test hook, when there is one.
func (o *Orchestrator) at(point string) {
	if o.hook != nil {
		o.hook(point)
	}
}
