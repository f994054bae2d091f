package saga_test

import (
	"context"
	"database/sql"
	"path/filepath"
	"strconv"
	"testing"

	"github.com/tailorkit/tailor/internal/testenv"
	"github.com/tailorkit/tailor/saga"
	"github.com/tailorkit/tailor/sqlite"
)

// BenchmarkThreeStepSaga measures one saga of three trivial in-process
// steps, end to end: Start in a transaction, then Run, which records each
// step's outcome in its own transaction (four durable commits a saga).
// ms/saga is the latency of one saga.
func BenchmarkThreeStepSaga(b *testing.B) {
	open := map[string]func(b *testing.B) *sql.DB{
		"sqlite": func(b *testing.B) *sql.DB {
			db, err := sqlite.Open(filepath.Join(b.TempDir(), "orders.db"))
			if err != nil {
				b.Fatal(err)
			}
			b.Cleanup(func() { db.Close() })
			return db
		},
		"postgres": func(b *testing.B) *sql.DB { return testenv.Postgres(b, "sagabench")() },
	}
	for _, kind := range []string{"sqlite", "postgres"} {
		b.Run(kind, func(b *testing.B) {
			ctx := context.Background()
			db := open[kind](b)
			if err := saga.Migrate(ctx, db, 0); err != nil {
				b.Fatal(err)
			}
			o, err := saga.New(db)
			if err != nil {
				b.Fatal(err)
			}
			nop := func(context.Context, string, *order) error { return nil }
			def, err := saga.Define(o, "order",
				saga.Step[order]{Name: "reserve", Action: nop, Compensate: nop},
				saga.Step[order]{Name: "charge", Action: nop, Compensate: nop},
				saga.Step[order]{Name: "confirm", Action: nop})
			if err != nil {
				b.Fatal(err)
			}
			for i := 0; b.Loop(); i++ {
				id := strconv.Itoa(i)
				tx, err := db.BeginTx(ctx, nil)
				if err != nil {
					b.Fatal(err)
				}
				if err := def.Start(ctx, tx, id, order{Items: 1}); err != nil {
					b.Fatal(err)
				}
				if err := tx.Commit(); err != nil {
					b.Fatal(err)
				}
				if st, err := o.Run(ctx, id); err != nil || st.State != saga.Completed {
					b.Fatalf("got %+v, %v; want completed", st, err)
				}
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/1e6, "ms/saga")
		})
	}
}
