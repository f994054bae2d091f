package auth

import (
	"context"
	"slices"
	"time"
)

// Claims is what a verified token says about its bearer. [Verifier] puts
// them in the request's context ([ClaimsFrom]); [Signer.Sign] issues a
// token carrying them. The zero value is no one, with no roles.
type Claims struct {
	// Subject identifies the bearer, such as a user ID ("sub").
	Subject string
	// Roles are the bearer's roles ("roles", an array of strings), checked
	// by [RequireRole] and [Claims.HasRole].
	Roles []string
	// Issuer names who issued the token ("iss").
	Issuer string
	// Audience names the services the token is meant for ("aud").
	Audience []string
	// ExpiresAt, IssuedAt and NotBefore are the token's "exp", "iat" and
	// "nbf" times, in whole seconds; the zero time when absent.
	ExpiresAt time.Time
	IssuedAt  time.Time
	NotBefore time.Time
	// ID is the token's unique ID ("jti"), if it has one.
	ID string
}

// HasRole reports whether the claims list role.
func (c Claims) HasRole(role string) bool {
	return slices.Contains(c.Roles, role)
}

type claimsKey struct{}

// ContextWithClaims returns a copy of ctx carrying c, as the verifier's
// middlewares do for a request with a valid token. Use it to call an
// endpoint with given claims, in tests for instance.
func ContextWithClaims(ctx context.Context, c Claims) context.Context {
	return context.WithValue(ctx, claimsKey{}, c)
}

// ClaimsFrom returns the claims of the request's verified token, and false
// when the request carries none (it is anonymous).
func ClaimsFrom(ctx context.Context) (Claims, bool) {
	c, ok := ctx.Value(claimsKey{}).(Claims)
	return c, ok
}
