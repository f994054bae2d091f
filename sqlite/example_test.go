package sqlite_test

import (
	"context"
	"fmt"
	"log"
	"os"
	"path/filepath"

	"github.com/tailorkit/tailor/sqlite"
)

func ExampleOpen() {
	dir, err := os.MkdirTemp("", "sqlite-example")
	if err != nil {
		log.Fatal(err)
	}
	defer os.RemoveAll(dir)

	// The folder "data" does not exist yet: Open creates it.
	db, err := sqlite.Open(filepath.Join(dir, "data", "catalog.db"))
	if err != nil {
		log.Fatal(err)
	}
	defer db.Close()

	var mode string
	if err := db.QueryRowContext(context.Background(), "PRAGMA journal_mode").Scan(&mode); err != nil {
		log.Fatal(err)
	}
	fmt.Println("journal mode:", mode)
	// Output: journal mode: wal
}
