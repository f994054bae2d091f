package inbox_test

import (
	"context"
	"database/sql"
	"fmt"
	"os"
	"path/filepath"

	"github.com/tailorkit/tailor/messaging"
	"github.com/tailorkit/tailor/messaging/inbox"
	"github.com/tailorkit/tailor/sqlite"
)

type ProductCreated struct {
	ID   string `json:"id"`
	Name string `json:"name"`
}

// An event delivered twice takes effect once: the second delivery finds
// its id recorded and does not call the effect again.
func ExampleHandle() {
	dir, _ := os.MkdirTemp("", "inbox-example-")
	defer os.RemoveAll(dir)
	db, err := sqlite.Open(filepath.Join(dir, "projection.db"))
	if err != nil {
		panic(err)
	}
	defer db.Close()
	ctx := context.Background()
	if err := inbox.Migrate(ctx, db, 0); err != nil {
		panic(err)
	}
	db.Exec(`CREATE TABLE product_names (id TEXT PRIMARY KEY, name TEXT NOT NULL)`)

	created := messaging.Type[ProductCreated]{Name: "product.created"}
	in, _ := inbox.New(db, "shop-projection")
	h := inbox.Handle(in, created, func(ctx context.Context, tx *sql.Tx, e messaging.Event, p ProductCreated) error {
		fmt.Println("applying", p.Name)
		_, err := tx.ExecContext(ctx, `INSERT INTO product_names (id, name) VALUES ($1, $2)`, p.ID, p.Name)
		return err
	})

	e, _ := created.New("p-1", ProductCreated{ID: "p-1", Name: "Teapot"})
	fmt.Println(h(ctx, e)) // a consumer hands the handler each delivery
	fmt.Println(h(ctx, e)) // and delivers again after a lost ack
	var n int
	db.QueryRow(`SELECT count(*) FROM product_names`).Scan(&n)
	fmt.Println(n, "product")
	// Output:
	// applying Teapot
	// <nil>
	// <nil>
	// 1 product
}

// Apply reports whether the event took effect now, or had before.
func ExampleInbox_Apply() {
	dir, _ := os.MkdirTemp("", "inbox-example-")
	defer os.RemoveAll(dir)
	db, err := sqlite.Open(filepath.Join(dir, "projection.db"))
	if err != nil {
		panic(err)
	}
	defer db.Close()
	ctx := context.Background()
	if err := inbox.Migrate(ctx, db, 0); err != nil {
		panic(err)
	}
	in, _ := inbox.New(db, "shop-projection")
	e, _ := messaging.Type[ProductCreated]{Name: "product.created"}.New("p-1", ProductCreated{ID: "p-1"})
	for range 2 {
		applied, err := in.Apply(ctx, e, func(tx *sql.Tx) error { return nil })
		fmt.Println(applied, err)
	}
	// Output:
	// true <nil>
	// false <nil>
}

// A Pruner forgets applied ids older than its keep time, at Start and
// then every interval; a service runs it beside its consumer with svc.Add.
func ExampleInbox_Pruner() {
	dir, _ := os.MkdirTemp("", "inbox-example-")
	defer os.RemoveAll(dir)
	db, err := sqlite.Open(filepath.Join(dir, "projection.db"))
	if err != nil {
		panic(err)
	}
	defer db.Close()
	ctx := context.Background()
	if err := inbox.Migrate(ctx, db, 0); err != nil {
		panic(err)
	}
	in, _ := inbox.New(db, "shop-projection")
	p := in.Pruner() // keeps ids 8 days, prunes hourly
	fmt.Println(p.Start(ctx))
	fmt.Println(p.Stop(ctx))
	// Output:
	// <nil>
	// <nil>
}
