package migrate_test

import (
	"context"
	"embed"
	"fmt"
	"log"
	"os"
	"path/filepath"

	"github.com/tailorkit/tailor/migrate"
	"github.com/tailorkit/tailor/sqlite"
)

// A service embeds its migrations; here they are
// testdata/migrations/0001_create_products.sql and
// testdata/migrations/0002_index_products_by_name.sql.
//
//go:embed testdata/migrations/*.sql
var migrations embed.FS

func ExampleUp() {
	dir, err := os.MkdirTemp("", "migrate-example")
	if err != nil {
		log.Fatal(err)
	}
	defer os.RemoveAll(dir)
	db, err := sqlite.Open(filepath.Join(dir, "catalog.db"))
	if err != nil {
		log.Fatal(err)
	}
	defer db.Close()

	ctx := context.Background()
	applied, err := migrate.Up(ctx, db, migrations, migrate.WithDir("testdata/migrations"))
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println("applied at the first start:", applied)

	// The next start finds the database up to date.
	applied, err = migrate.Up(ctx, db, migrations, migrate.WithDir("testdata/migrations"))
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println("applied at the next start:", applied)
	// Output:
	// applied at the first start: 2
	// applied at the next start: 0
}
