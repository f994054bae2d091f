package embedded_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/tailorkit/tailor/messaging"
	"github.com/tailorkit/tailor/messaging/embedded"
)

// An embedded server with JetStream, its streams kept in a data folder,
// and a client connected in-process.
func Example() {
	dir, _ := os.MkdirTemp("", "shop-data-")
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
	err = messaging.EnsureStream(ctx, js, "CATALOG", []string{"catalog.>"})
	fmt.Println(err, messaging.Check(nc)(ctx))
	// Output: <nil> <nil>
}
