package reviews

import (
	"context"
	"database/sql"
	"embed"

	"github.com/tailorkit/tailor/messaging/inbox"
	"github.com/tailorkit/tailor/migrate"
)

//go:embed migrations/*.sql
var migrations embed.FS

// MigrationsTable is the table in which [Migrate] records the service's
// migrations, apart from other services' records should they share a
// database.
const MigrationsTable = "reviews_schema_migrations"

// Migrate brings db's schema up to date with this version of the reviews
// service: its own tables, and the inbox that applies each
// order.confirmed event once. It works on SQLite and PostgreSQL.
func Migrate(ctx context.Context, db *sql.DB) error {
	if _, err := migrate.Up(ctx, db, migrations, migrate.WithDir("migrations"), migrate.WithTable(MigrationsTable)); err != nil {
		return err
	}
	return inbox.Migrate(ctx, db, 0)
}
