package users

import (
	"context"
	"database/sql"
	"embed"
	"errors"

	"github.com/tailorkit/tailor/migrate"
)

//go:embed migrations/*.sql
var migrations embed.FS

// MigrationsTable is the table in which [Migrate] records the service's
// migrations, apart from other services' records should they share a
// database.
const MigrationsTable = "users_schema_migrations"

// Migrate brings db's schema up to date with this version of the service.
// It works on SQLite and PostgreSQL.
func Migrate(ctx context.Context, db *sql.DB) error {
	_, err := migrate.Up(ctx, db, migrations, migrate.WithDir("migrations"), migrate.WithTable(MigrationsTable))
	return err
}

// Store is the [Repository] over a SQL database (SQLite or PostgreSQL)
// whose schema [Migrate] has set up. It is safe for concurrent use. Make
// one with [NewStore]; the zero value is not usable.
type Store struct {
	db *sql.DB
}

var _ Repository = (*Store)(nil)

// NewStore returns the store over db.
func NewStore(db *sql.DB) *Store {
	return &Store{db: db}
}

// Insert implements [Repository]: the unique index on users.email decides
// whether the address is taken, so two sign-ups at once cannot both get it.
func (s *Store) Insert(ctx context.Context, u User, passwordHash string) error {
	res, err := s.db.ExecContext(ctx,
		`INSERT INTO users (id, email, name, role, password_hash, created_at) VALUES ($1, $2, $3, $4, $5, $6)
		 ON CONFLICT (email) DO NOTHING`,
		u.ID, u.Email, u.Name, string(u.Role), passwordHash, u.CreatedAt)
	if err != nil {
		return err
	}
	n, err := res.RowsAffected()
	if err != nil {
		return err
	}
	if n == 0 {
		return ErrEmailTaken
	}
	return nil
}

// ByEmail implements [Repository].
func (s *Store) ByEmail(ctx context.Context, email string) (User, string, error) {
	var u User
	var hash string
	err := s.db.QueryRowContext(ctx,
		`SELECT id, email, name, role, created_at, password_hash FROM users WHERE email = $1`, email).
		Scan(&u.ID, &u.Email, &u.Name, &u.Role, &u.CreatedAt, &hash)
	if errors.Is(err, sql.ErrNoRows) {
		return User{}, "", ErrNotFound
	}
	if err != nil {
		return User{}, "", err
	}
	u.CreatedAt = u.CreatedAt.UTC()
	return u, hash, nil
}

// ByID implements [Repository].
func (s *Store) ByID(ctx context.Context, id string) (User, error) {
	var u User
	err := s.db.QueryRowContext(ctx,
		`SELECT id, email, name, role, created_at FROM users WHERE id = $1`, id).
		Scan(&u.ID, &u.Email, &u.Name, &u.Role, &u.CreatedAt)
	if errors.Is(err, sql.ErrNoRows) {
		return User{}, ErrNotFound
	}
	if err != nil {
		return User{}, err
	}
	u.CreatedAt = u.CreatedAt.UTC()
	return u, nil
}
