package catalog

import (
	"context"
	"database/sql"
	"embed"

	"github.com/tailorkit/tailor/messaging/outbox"
	"github.com/tailorkit/tailor/migrate"
)

//go:embed migrations/*.sql
var migrations embed.FS

// Migrate brings db's schema up to date with this version of the catalog:
// its own tables, and the outbox its events wait in.
func Migrate(ctx context.Context, db *sql.DB) error {
	if _, err := migrate.Up(ctx, db, migrations, migrate.WithDir("migrations")); err != nil {
		return err
	}
	return outbox.Migrate(ctx, db, 0)
}
