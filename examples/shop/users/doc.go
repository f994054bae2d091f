// Package users is the shop's accounts service: sign-up, login with a
// signed token, and the caller's own account. Other services trust its
// tokens by fetching its public keys.
//
// Start with [Migrate] and [NewService] over a [Store] on the service's
// own database, then [Service.EnsureAdmin] and [RegisterHTTP]:
//
//	POST /v1/users        {"email": "ada@example.com", "password": "...", "name": "Ada"} -> 201
//	POST /v1/sessions     {"email": "ada@example.com", "password": "..."} -> 200 {"token": "...", "expires_at": "..."}
//	GET  /v1/users/me     Authorization: Bearer <token> -> 200
//	GET  /.well-known/jwks.json
//
// # Accounts
//
// An email address is stored and compared normalised: surrounding white
// space removed, then, as a bare address that net/mail.ParseAddress reads
// back unchanged, lower-cased whole, local part included (Ada@Example.COM
// and ada@example.com are one account). A unique index on the normalised
// address makes a second account with it a 409 Conflict, however the two
// sign-ups interleave. A password has [MinPasswordLen] to
// [MaxPasswordLen] characters and is not on a list of a few hundred
// commonly chosen passwords, compared ignoring case; a password that
// breaks a rule is a 422 naming the "password" field. Sign-up makes
// customers (role "customer"); the one administrator (role "admin",
// [AdminEmail]) is made by [Service.EnsureAdmin] at the first start.
//
// # Passwords
//
// Passwords are hashed with argon2id (RFC 9106, golang.org/x/crypto/argon2)
// and stored in the PHC string format,
// $argon2id$v=19$m=47104,t=1,p=1$<salt>$<hash>: by default 46 MiB of
// memory (m, in KiB), one pass (t), one lane (p), a 16-byte random salt
// and a 32-byte hash, both in unpadded base64 ([Params], [WithParams]).
// Each hash records its parameters, so raising them later leaves older
// hashes verifiable. At most one hash per CPU runs at a time, so a burst
// of logins waits its turn instead of taking memory without bound. A
// login compares hashes in constant time, and a login with an unknown
// address checks the password against a hash of a random password, so it
// takes as long as one with a wrong password and gets the same 401 answer.
// Passwords never appear in errors, and [Password] and [Session] print and
// log as redacted.
//
// # Tokens
//
// A login returns a JWT signed by an [auth.Signer] with EdDSA (Ed25519),
// issued by [Issuer] for [Audience], whose subject is the user's ID and
// whose "roles" claim holds the user's role; it is valid for
// [DefaultTokenTTL] unless [WithTokenTTL] says otherwise. The key comes
// from [WithSigningKey], usually loaded by [SigningKeyFromEnv] from
// [EnvSigningKey] (PEM text) or [EnvSigningKeyFile] (a PEM file); without
// one the service generates a key at start, which suits one process but
// not replicas, and whose tokens stop verifying when the process restarts.
// Other services verify tokens with an [auth.Verifier] for [Issuer] and
// [Audience] over [auth.NewRemoteKeys] pointed at [JWKSPath].
package users
