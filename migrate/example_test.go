package migrate_test

import (
	"context"
	"embed"
	"errors"
	"fmt"
	"log"
	"os"
	"path/filepath"
	"testing/fstest"

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

// An older instance of a service meets a database that a newer one has
// already migrated, as happens during a rolling deploy. If the newer schema
// stays compatible with the older code, the instance may go on serving.
func ExampleUp_databaseAhead() {
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

	older := fstest.MapFS{
		"0001_create_products.sql": {Data: []byte("CREATE TABLE products (id TEXT PRIMARY KEY);")},
	}
	newer := fstest.MapFS{
		"0001_create_products.sql": older["0001_create_products.sql"],
		"0002_add_price.sql":       {Data: []byte("ALTER TABLE products ADD COLUMN price INTEGER NOT NULL DEFAULT 0;")},
	}
	if _, err := migrate.Up(ctx, db, newer); err != nil {
		log.Fatal(err)
	}

	_, err = migrate.Up(ctx, db, older)
	if errors.Is(err, migrate.ErrDatabaseAhead) {
		fmt.Println(err)
		// Log it, and serve: the added column has a default.
	}
	// Output:
	// migrate: database is ahead of the code: it has version(s) 2 (0002_add_price.sql) applied, and folder "." holds no file for them; run the version of the service that has these migrations, or restore their files
}
