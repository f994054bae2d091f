package users_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"

	"github.com/tailorkit/tailor/auth"
	"github.com/tailorkit/tailor/examples/shop/users"
	"github.com/tailorkit/tailor/sqlite"
)

// The service over its own database: an administrator made at the first
// start, a customer who signs up and logs in, and a token that verifies
// for the rest of the shop. In main, [users.RegisterHTTP] then serves it.
func ExampleNewService() {
	ctx := context.Background()
	dir, err := os.MkdirTemp("", "users-example")
	if err != nil {
		panic(err)
	}
	defer os.RemoveAll(dir)
	db, err := sqlite.Open(filepath.Join(dir, "users.db"))
	if err != nil {
		panic(err)
	}
	defer db.Close()
	if err := users.Migrate(ctx, db); err != nil {
		panic(err)
	}

	// The signing key from SHOP_USERS_SIGNING_KEY(_FILE), or nil: then the
	// service generates one.
	key, err := users.SigningKeyFromEnv(os.LookupEnv)
	if err != nil {
		panic(err)
	}
	accounts, err := users.NewService(users.NewStore(db), users.WithSigningKey(key))
	if err != nil {
		panic(err)
	}
	// With no password given (-admin-password, SHOP_ADMIN_PASSWORD), a
	// random one, which main prints once.
	generated, err := accounts.EnsureAdmin(ctx, "")
	if err != nil {
		panic(err)
	}
	fmt.Println("administrator created with a random password:", generated != "")

	u, err := accounts.SignUp(ctx, users.SignUpRequest{Email: "Ada@Example.com", Password: "violet staple orbit 42", Name: "Ada"})
	if err != nil {
		panic(err)
	}
	fmt.Println(u.Email, u.Role)

	session, err := accounts.Login(ctx, users.LoginRequest{Email: "ada@example.com", Password: "violet staple orbit 42"})
	if err != nil {
		panic(err)
	}
	verifier, err := auth.NewVerifier(accounts.Signer(), users.Issuer, users.Audience)
	if err != nil {
		panic(err)
	}
	claims, err := verifier.Verify(ctx, session.Token)
	if err != nil {
		panic(err)
	}
	fmt.Println(claims.Subject == u.ID, claims.Roles)
	// Output:
	// administrator created with a random password: true
	// ada@example.com customer
	// true [customer]
}
