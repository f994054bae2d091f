package outbox_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/tailorkit/tailor/messaging"
	"github.com/tailorkit/tailor/messaging/embedded"
	"github.com/tailorkit/tailor/messaging/outbox"
	"github.com/tailorkit/tailor/sqlite"
)

type ProductCreated struct {
	ID   string `json:"id"`
	Name string `json:"name"`
}

// A service writes its change and the event that announces it in one
// transaction; the relay publishes the event once the transaction has
// committed, and never if it rolled back.
func Example() {
	dir, _ := os.MkdirTemp("", "outbox-example-")
	defer os.RemoveAll(dir)
	ctx := context.Background()

	srv, err := embedded.New(embedded.Config{StoreDir: filepath.Join(dir, "nats")})
	if err != nil {
		panic(err)
	}
	if err := srv.Start(ctx); err != nil {
		panic(err)
	}
	defer srv.Stop(ctx)
	nc, err := srv.Connect()
	if err != nil {
		panic(err)
	}
	defer nc.Close()
	js, _ := jetstream.New(nc)
	if err := messaging.EnsureStream(ctx, js, "CATALOG", []string{"catalog.>"}); err != nil {
		panic(err)
	}

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
	for _, p := range []ProductCreated{{"p-1", "Teapot"}, {"p-2", "Kettle"}} {
		tx, _ := db.BeginTx(ctx, nil)
		tx.ExecContext(ctx, `INSERT INTO products (id, name) VALUES ($1, $2)`, p.ID, p.Name)
		e, _ := created.New(p.ID, p)
		if err := ob.Add(ctx, tx, "catalog.product.created", e); err != nil {
			panic(err)
		}
		if p.ID == "p-2" {
			tx.Rollback() // the kettle is not stored, so it is not announced
			continue
		}
		tx.Commit()
	}

	// A service adds the relay with svc.Add; PublishPending is one pass.
	relay, _ := outbox.NewRelay(db, js)
	fmt.Println(relay.PublishPending(ctx))
	fmt.Println(relay.PublishPending(ctx))
	stream, _ := js.Stream(ctx, "CATALOG")
	info, _ := stream.Info(ctx)
	fmt.Println(info.State.Msgs, "message in the stream")
	// Output:
	// 1 <nil>
	// 0 <nil>
	// 1 message in the stream
}
