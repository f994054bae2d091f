package outbox_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"testing"

	"github.com/tailorkit/tailor/messaging"
	"github.com/tailorkit/tailor/messaging/internal/testenv"
	"github.com/tailorkit/tailor/messaging/outbox"
	"github.com/tailorkit/tailor/sqlite"
)

func TestExec(t *testing.T) {
	t.Parallel()
	nc := testenv.External(t)
	js := testenv.JetStream(t, nc)
	for _, db := range testenv.Databases() {
		t.Run(db.Name, func(t *testing.T) {
			t.Parallel()
			ctx := context.Background()
			w := newWorld(t, db.Fresh(t), js)
			if _, err := w.db.Exec(`CREATE TABLE steps (aggregate TEXT NOT NULL, seq INTEGER NOT NULL PRIMARY KEY)`); err != nil {
				t.Fatal(err)
			}
			const change = `INSERT INTO steps (aggregate, seq) VALUES ($1, $2)`
			events := func(seqs ...int) []messaging.Event {
				var es []messaging.Event
				for _, s := range seqs {
					e, err := stepType.New("agg-1", Step{Seq: s})
					if err != nil {
						t.Fatal(err)
					}
					es = append(es, e)
				}
				return es
			}
			if err := w.ob.Exec(ctx, w.db, change, []any{"agg-1", 1}, w.subject, events(1, 2)...); err != nil {
				t.Fatal(err)
			}
			// A change that fails writes no event; an event that cannot be
			// written undoes the change.
			if err := w.ob.Exec(ctx, w.db, change, []any{"agg-1", 1}, w.subject, events(3)...); err == nil {
				t.Fatal("Exec of a change that breaks the primary key succeeded")
			}
			if err := w.ob.Exec(ctx, w.db, change, []any{"agg-1", 4}, "", events(4)...); err == nil {
				t.Fatal("Exec with an empty subject succeeded")
			}
			if got := w.count(`SELECT count(*) FROM steps`); got != 1 {
				t.Errorf("steps holds %d rows, want 1", got)
			}
			// Events added through a transaction keep the order given,
			// after those of Exec.
			tx, err := w.db.BeginTx(ctx, nil)
			if err != nil {
				t.Fatal(err)
			}
			if err := w.ob.Add(ctx, tx, w.subject, events(5, 6, 7)...); err != nil {
				t.Fatal(err)
			}
			if err := tx.Commit(); err != nil {
				t.Fatal(err)
			}
			rows, err := w.db.Query(`SELECT body FROM tailor_outbox ORDER BY seq`)
			if err != nil {
				t.Fatal(err)
			}
			defer rows.Close()
			var got []int
			for rows.Next() {
				var body []byte
				if err := rows.Scan(&body); err != nil {
					t.Fatal(err)
				}
				e, err := messaging.DecodeEvent(body)
				if err != nil {
					t.Fatal(err)
				}
				s, err := stepType.Decode(e)
				if err != nil {
					t.Fatal(err)
				}
				got = append(got, s.Seq)
			}
			if want := []int{1, 2, 5, 6, 7}; !slices.Equal(got, want) {
				t.Fatalf("outbox holds steps %v, want %v", got, want)
			}
			n, err := w.relay().PublishPending(ctx)
			if err != nil || n != 5 {
				t.Fatalf("PublishPending: %d, %v; want 5, nil", n, err)
			}
			if got := w.streamMsgs(); got != 5 {
				t.Errorf("stream holds %d events, want 5", got)
			}
		})
	}
}

// One statement makes the change and writes its event: on PostgreSQL, one
// round trip and no BEGIN or COMMIT of the caller's.
func ExampleOutbox_Exec() {
	ctx := context.Background()
	dir, _ := os.MkdirTemp("", "outbox-example-")
	defer os.RemoveAll(dir)
	db, err := sqlite.Open(filepath.Join(dir, "catalog.db"))
	if err != nil {
		panic(err)
	}
	defer db.Close()
	if err := outbox.Migrate(ctx, db, 0); err != nil {
		panic(err)
	}
	db.Exec(`CREATE TABLE products (id TEXT PRIMARY KEY, name TEXT NOT NULL)`)

	created := messaging.Type[ProductCreated]{Name: "product.created"}
	ob, _ := outbox.New()
	p := ProductCreated{ID: "p-1", Name: "Teapot"}
	e, _ := created.New(p.ID, p)
	err = ob.Exec(ctx, db, `INSERT INTO products (id, name) VALUES ($1, $2)`, []any{p.ID, p.Name}, "catalog.product.created", e)
	fmt.Println(err)
	var n int
	db.QueryRow(`SELECT count(*) FROM tailor_outbox WHERE sent_us IS NULL`).Scan(&n)
	fmt.Println(n, "event pending")
	// Output:
	// <nil>
	// 1 event pending
}
