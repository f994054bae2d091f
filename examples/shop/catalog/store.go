package catalog

import (
	"context"
	"database/sql"
	"embed"

	"github.com/tailorkit/tailor/migrate"
)

//go:embed migrations/*.sql
var migrations embed.FS

// Migrate brings db's schema up to date with this version of the catalog.
func Migrate(ctx context.Context, db *sql.DB) error {
	_, err := migrate.Up(ctx, db, migrations, migrate.WithDir("migrations"))
	return err
}
