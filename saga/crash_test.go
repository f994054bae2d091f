package saga_test

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/stdlib"

	"github.com/tailorkit/tailor/fault"
	"github.com/tailorkit/tailor/internal/testenv"
	"github.com/tailorkit/tailor/saga"
	"github.com/tailorkit/tailor/sqlite"
)

// The environment of a crashing child process (see crashChild).
const (
	envCrashAt   = "SAGA_CRASH_AT"   // the point to die at, or "list" to print them all
	envCrashDB   = "SAGA_CRASH_DB"   // "sqlite:PATH" or "postgres:SCHEMA"
	envCrashFail = "SAGA_CRASH_FAIL" // a key whose every call fails for good
)

func TestMain(m *testing.M) {
	if at := os.Getenv(envCrashAt); at != "" {
		if err := crashChild(at); err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
		os.Exit(0)
	}
	os.Exit(m.Run())
}

// openCrashDB opens the database named as envCrashDB names it.
func openCrashDB(name string) (*sql.DB, error) {
	kind, where, _ := strings.Cut(name, ":")
	if kind == "sqlite" {
		return sqlite.Open(where)
	}
	cfg, err := pgx.ParseConfig(testenv.PostgresURL())
	if err != nil {
		return nil, err
	}
	cfg.RuntimeParams["search_path"] = where
	return stdlib.OpenDB(*cfg), nil
}

// crashChild starts saga o1 and runs it, dying by SIGKILL the first time
// it reaches point at: "started" once the saga is committed, or one of
// the orchestrator's points (see saga.SetHook). With at "list" it prints
// every point it reaches instead.
func crashChild(at string) error {
	ctx := context.Background()
	db, err := openCrashDB(os.Getenv(envCrashDB))
	if err != nil {
		return err
	}
	s := newShop(db)
	if key := os.Getenv(envCrashFail); key != "" {
		s.failAlways(key, fault.New(fault.FailedPrecondition, "declined"))
	}
	o, err := saga.New(db, saga.WithCompensationBackoff(time.Millisecond, 5*time.Millisecond))
	if err != nil {
		return err
	}
	def, err := saga.Define(o, "order", s.steps()...)
	if err != nil {
		return err
	}
	seen := map[string]bool{}
	point := func(p string) {
		switch {
		case at == "list" && !seen[p]:
			seen[p] = true
			fmt.Println(p)
		case p == at:
			syscall.Kill(os.Getpid(), syscall.SIGKILL)
		}
	}
	saga.SetHook(o, point)
	tx, err := db.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	if err := def.Start(ctx, tx, "o1", order{Items: 2}); err != nil {
		return err
	}
	if err := tx.Commit(); err != nil {
		return err
	}
	point("started")
	_, err = o.Run(ctx, "o1")
	return err
}

// crashDB is a fresh database for one child process: its name for the
// child (envCrashDB) and a handle for the parent.
type crashDB func(t *testing.T) (name string, db *sql.DB)

// TestCrashAtEveryPoint kills a process running a saga at every point
// where it can die, before and after each step's action and each recorded
// transition, forward and compensating, and checks that a Recovery over
// the same database ends the saga as an uninterrupted run would, with
// every effect applied once per idempotency key.
func TestCrashAtEveryPoint(t *testing.T) {
	testenv.Short(t, "crash")
	dbs := map[string]crashDB{
		"sqlite": func(t *testing.T) (string, *sql.DB) {
			path := filepath.Join(t.TempDir(), "orders.db")
			db, err := sqlite.Open(path)
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { db.Close() })
			prepare(t, db)
			return "sqlite:" + path, db
		},
		"postgres": func(t *testing.T) (string, *sql.DB) {
			db := testenv.Postgres(t, "sagacrash")()
			prepare(t, db)
			var schema string
			if err := db.QueryRow(`SELECT current_schema()`).Scan(&schema); err != nil {
				t.Fatal(err)
			}
			return "postgres:" + schema, db
		},
	}
	scenarios := []struct {
		name    string
		fail    string
		state   saga.State
		effects []string
		history []string
	}{
		{
			name: "forward", state: saga.Completed,
			effects: []string{"o1/charge", "o1/confirm", "o1/reserve"},
			history: []string{"started", "step_done reserve", "step_done charge", "step_done confirm"},
		},
		{
			name: "compensating", fail: "o1/confirm", state: saga.Compensated,
			effects: []string{"o1/charge", "o1/charge/compensate", "o1/reserve", "o1/reserve/compensate"},
			history: []string{"started", "step_done reserve", "step_done charge", "step_failed confirm", "step_compensated charge", "step_compensated reserve"},
		},
	}
	for _, kind := range []string{"sqlite", "postgres"} {
		t.Run(kind, func(t *testing.T) {
			fresh := dbs[kind]
			for _, sc := range scenarios {
				t.Run(sc.name, func(t *testing.T) {
					name, _ := fresh(t)
					out, err := child(name, sc.fail, "list").Output()
					if err != nil {
						t.Fatalf("a run without a crash: %v", err)
					}
					points := strings.Split(strings.TrimSpace(string(out)), "\n")
					if len(points) < 10 {
						t.Fatalf("got the points %v, want every step's", points)
					}
					for _, p := range points {
						t.Run(p, func(t *testing.T) {
							crashAndRecover(t, fresh, sc.fail, p, sc.state, sc.effects, sc.history)
						})
					}
				})
			}
		})
	}
}

// child is the test binary run as a child process that dies at point at.
func child(db, fail, at string) *exec.Cmd {
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), envCrashAt+"="+at, envCrashDB+"="+db, envCrashFail+"="+fail)
	cmd.Stderr = os.Stderr
	return cmd
}

// crashAndRecover runs a child that dies at point at, then recovers the
// saga in this process and checks its end.
func crashAndRecover(t *testing.T, fresh crashDB, fail, at string, state saga.State, wantEffects, history []string) {
	name, db := fresh(t)
	err := child(name, fail, at).Run()
	var exit *exec.ExitError
	if !errors.As(err, &exit) || !exit.Sys().(syscall.WaitStatus).Signaled() {
		t.Fatalf("the child did not die at %q: %v", at, err)
	}
	s := newShop(db)
	if fail != "" {
		s.failAlways(fail, fault.New(fault.FailedPrecondition, "declined"))
	}
	o, _ := setup(t, db, s)
	saga.Ahead(o, 2*time.Minute) // past the dead process's lease
	if _, err := saga.NewRecovery(o, saga.RecoveryConfig{}).RecoverPending(context.Background()); err != nil {
		t.Fatal(err)
	}
	st, err := o.Status(context.Background(), "o1")
	if err != nil || st.State != state {
		t.Fatalf("got %+v, %v; want %s", st, err, state)
	}
	if got := effects(t, db); !slices.Equal(got, wantEffects) {
		t.Errorf("effects: got %v, want %v", got, wantEffects)
	}
	if got := kinds(t, o, "o1"); !slices.Equal(got, history) {
		t.Errorf("history: got %v, want %v, as if nothing had happened", got, history)
	}
	calls := keys(t, db, `SELECT key FROM saga_calls`)
	count := map[string]int{}
	for _, k := range calls {
		count[k]++
	}
	again := 0
	for k, n := range count {
		if n > 1 {
			again++
		}
		if n > 2 {
			t.Errorf("%s called %d times; want at most twice: once before the crash and once after", k, n)
		}
	}
	if again > 1 {
		t.Errorf("calls %v: more than the one step in hand at the crash was called again", count)
	}
}
