package users

import (
	"context"
	"crypto"
	"crypto/rand"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"strings"
	"time"

	"github.com/google/uuid"

	"github.com/tailorkit/tailor/auth"
	"github.com/tailorkit/tailor/fault"
)

// Names the service's tokens and settings carry.
const (
	// Issuer is the "iss" of the service's tokens.
	Issuer = "shop-users"
	// Audience is the "aud" of the service's tokens: every shop service
	// that accepts them verifies for this audience.
	Audience = "shop"
	// JWKSPath is where [RegisterHTTP] serves the public keys that verify
	// the service's tokens, for [auth.NewRemoteKeys].
	JWKSPath = "/.well-known/jwks.json"
	// AdminEmail is the address of the administrator [Service.EnsureAdmin]
	// creates.
	AdminEmail = "admin@shop.local"
	// DefaultTokenTTL is how long a token is valid unless [WithTokenTTL]
	// says otherwise.
	DefaultTokenTTL = time.Hour

	// EnvAdminPassword names the environment variable that holds the
	// administrator's first password, for main to pass to
	// [Service.EnsureAdmin].
	EnvAdminPassword = "SHOP_ADMIN_PASSWORD"
	// EnvSigningKey names the environment variable that holds the
	// signing key as PKCS#8 PEM text; see [SigningKeyFromEnv].
	EnvSigningKey = "SHOP_USERS_SIGNING_KEY"
	// EnvSigningKeyFile names the environment variable that holds the
	// path of a PKCS#8 PEM file with the signing key; see
	// [SigningKeyFromEnv].
	EnvSigningKeyFile = "SHOP_USERS_SIGNING_KEY_FILE"
)

// Role is what a user may do.
type Role string

// The roles. Sign-up makes customers; the one administrator is made by
// [Service.EnsureAdmin].
const (
	RoleCustomer Role = "customer"
	RoleAdmin    Role = "admin"
)

// User is an account, as the API shows it: never with its password.
type User struct {
	ID        string    `json:"id"`
	Email     string    `json:"email"`
	Name      string    `json:"name"`
	Role      Role      `json:"role"`
	CreatedAt time.Time `json:"created_at"`
}

// Session is the answer to a login: a bearer token and when it expires.
type Session struct {
	Token     string    `json:"token"`
	ExpiresAt time.Time `json:"expires_at"`
}

// String shows when the session expires, never its token.
func (s Session) String() string {
	return "session expiring at " + s.ExpiresAt.Format(time.RFC3339)
}

// GoString is String, for the %#v verb.
func (s Session) GoString() string { return s.String() }

// LogValue shows when the session expires, never its token.
func (s Session) LogValue() slog.Value {
	return slog.GroupValue(slog.Time("expires_at", s.ExpiresAt))
}

// MeRequest is the (empty) request of GET /v1/users/me: the caller is the
// subject of the request's verified token.
type MeRequest struct{}

// Errors a [Repository] returns, for [Service] to classify with
// [errors.Is].
var (
	// ErrNotFound means no user matches.
	ErrNotFound = errors.New("users: no such user")
	// ErrEmailTaken means another user has the email address already.
	ErrEmailTaken = errors.New("users: email address already registered")
)

// Repository stores users. [Store] implements it over SQL; the service
// owns the interface so its logic can be tested on anything that keeps
// these promises. Implementations must be safe for concurrent use.
type Repository interface {
	// Insert stores u with its password hash. It fails with
	// [ErrEmailTaken] when a user has u.Email already, which the store
	// must enforce itself (a unique constraint), not by a prior read.
	Insert(ctx context.Context, u User, passwordHash string) error
	// ByEmail returns the user whose normalised email is email, with
	// its password hash, or [ErrNotFound].
	ByEmail(ctx context.Context, email string) (u User, passwordHash string, err error)
	// ByID returns the user with the given ID, or [ErrNotFound].
	ByID(ctx context.Context, id string) (User, error)
}

// Service is the users service's business logic: sign-up, login and the
// caller's own account. It is safe for concurrent use. Make one with
// [NewService]; the zero value is not usable.
type Service struct {
	repo     Repository
	hasher   *hasher
	signer   *auth.Signer
	verifier *auth.Verifier
	ttl      time.Duration
}

// Option configures a [Service].
type Option func(*config)

type config struct {
	key    crypto.Signer
	ttl    time.Duration
	params Params
}

// WithSigningKey makes the service sign tokens with key (see
// [auth.WithSigningKey] for the kinds it takes) instead of an Ed25519 key
// generated at start. Replicas must share their key, and a generated key
// lasts as long as the process: its tokens stop verifying at a restart.
// A nil key keeps the default, so the result of [SigningKeyFromEnv] can
// be passed as it is.
func WithSigningKey(key crypto.Signer) Option {
	return func(c *config) {
		if key != nil {
			c.key = key
		}
	}
}

// WithTokenTTL sets how long tokens stay valid; the default is
// [DefaultTokenTTL]. Values of zero or less keep the default.
func WithTokenTTL(d time.Duration) Option {
	return func(c *config) {
		if d > 0 {
			c.ttl = d
		}
	}
}

// WithParams sets the argon2id cost of new password hashes; zero fields
// take the defaults of [Params].
func WithParams(p Params) Option {
	return func(c *config) { c.params = p }
}

// NewService returns the service over repo. It signs tokens for
// [Issuer] and [Audience] with an Ed25519 key it generates unless
// [WithSigningKey] gives one, and hashes a random password once, for
// logins with an unknown address to check against. It fails when the key
// cannot sign tokens or the [WithParams] parameters are out of range.
func NewService(repo Repository, opts ...Option) (*Service, error) {
	if repo == nil {
		return nil, errors.New("users: NewService needs a Repository; use NewStore over the service's database")
	}
	c := config{ttl: DefaultTokenTTL}
	for _, o := range opts {
		o(&c)
	}
	var signerOpts []auth.SignerOption
	if c.key != nil {
		signerOpts = append(signerOpts, auth.WithSigningKey(c.key))
	}
	signer, err := auth.NewSigner(Issuer, Audience, signerOpts...)
	if err != nil {
		return nil, err
	}
	verifier, err := auth.NewVerifier(signer, Issuer, Audience)
	if err != nil {
		return nil, err
	}
	h, err := newHasher(c.params)
	if err != nil {
		return nil, err
	}
	return &Service{repo: repo, hasher: h, signer: signer, verifier: verifier, ttl: c.ttl}, nil
}

// Signer returns the signer of the service's tokens. It is a
// [auth.KeySource], for a verifier in the same process; other processes
// fetch its keys from [JWKSPath].
func (s *Service) Signer() *auth.Signer { return s.signer }

// SignUp creates a customer account and returns it. Bad input is a 422
// ([SignUpRequest.Validate]); an email address that another account has,
// in any case, is a [fault.Conflict].
func (s *Service) SignUp(ctx context.Context, req SignUpRequest) (User, error) {
	if err := req.Validate(); err != nil {
		return User{}, err
	}
	email, _ := normalizeEmail(req.Email)
	return s.create(ctx, email, strings.TrimSpace(req.Name), RoleCustomer, string(req.Password))
}

func (s *Service) create(ctx context.Context, email, name string, role Role, password string) (User, error) {
	id, err := uuid.NewV7()
	if err != nil {
		return User{}, fault.Wrap(err, fault.Internal, "could not make a user id")
	}
	hash, err := s.hasher.hash(ctx, password)
	if err != nil {
		return User{}, fault.Wrap(err, fault.KindOf(err), "could not hash the password")
	}
	u := User{ID: id.String(), Email: email, Name: name, Role: role, CreatedAt: time.Now().UTC().Truncate(time.Microsecond)}
	err = s.repo.Insert(ctx, u, hash)
	if errors.Is(err, ErrEmailTaken) {
		return User{}, fault.Wrap(err, fault.Conflict, fmt.Sprintf("an account with the email address %q exists already; log in with POST /v1/sessions", email))
	}
	if err != nil {
		return User{}, fault.Wrap(err, fault.KindOf(err), "could not store the account")
	}
	return u, nil
}

// badCredentials is the one answer to a login with an unknown email
// address or a wrong password, so the answer does not tell which.
func badCredentials() error {
	return fault.New(fault.Unauthenticated, "the email address or the password is wrong")
}

// Login checks an email address and password and returns a token for the
// account. An unknown address and a wrong password get the same
// [fault.Unauthenticated] error, after the same work: for an unknown
// address the password is checked against a hash of a random password.
func (s *Service) Login(ctx context.Context, req LoginRequest) (Session, error) {
	if err := req.Validate(); err != nil {
		return Session{}, err
	}
	var (
		u     User
		hash  = s.hasher.dummy
		known bool
	)
	if email, ok := normalizeEmail(req.Email); ok {
		found, h, err := s.repo.ByEmail(ctx, email)
		switch {
		case err == nil:
			u, hash, known = found, h, true
		case !errors.Is(err, ErrNotFound):
			return Session{}, fault.Wrap(err, fault.KindOf(err), "could not look the account up")
		}
	}
	ok, err := s.hasher.verify(ctx, hash, string(req.Password))
	if err != nil {
		return Session{}, fault.Wrap(err, fault.KindOf(err), "could not check the password")
	}
	if !known || !ok {
		return Session{}, badCredentials()
	}
	token, err := s.signer.Sign(auth.Claims{Subject: u.ID, Roles: []string{string(u.Role)}}, s.ttl)
	if err != nil {
		return Session{}, fault.Wrap(err, fault.Internal, "could not issue a token")
	}
	// The token's own "exp", which the signer rounds to whole seconds.
	claims, err := s.verifier.Verify(ctx, token)
	if err != nil {
		return Session{}, fault.Wrap(err, fault.Internal, "could not read back the token just issued")
	}
	return Session{Token: token, ExpiresAt: claims.ExpiresAt.UTC()}, nil
}

// Me returns the account of the request's caller, the subject of the
// verified token in ctx ([auth.ClaimsFrom]). Without claims it is a
// [fault.Unauthenticated] error; an account deleted since the token was
// issued is [fault.NotFound].
func (s *Service) Me(ctx context.Context, _ MeRequest) (User, error) {
	claims, ok := auth.ClaimsFrom(ctx)
	if !ok {
		return User{}, fault.Wrap(auth.ErrNoToken, fault.Unauthenticated, "this operation needs a bearer token from POST /v1/sessions; send Authorization: Bearer <token>")
	}
	u, err := s.repo.ByID(ctx, claims.Subject)
	if errors.Is(err, ErrNotFound) {
		return User{}, fault.Wrap(err, fault.NotFound, "the token's account no longer exists")
	}
	if err != nil {
		return User{}, fault.Wrap(err, fault.KindOf(err), "could not read the account")
	}
	return u, nil
}

// EnsureAdmin creates the administrator, [AdminEmail] with role admin,
// unless it exists; an existing administrator is left as it is, its
// password included. password is its password, held to the rules of
// sign-up; when empty, EnsureAdmin makes a random one. It returns that
// random password when it created the administrator with it, for the
// caller to show once, and "" otherwise. Several instances may call it at
// once: one creates the administrator, the others find it.
func (s *Service) EnsureAdmin(ctx context.Context, password string) (generated string, err error) {
	_, _, err = s.repo.ByEmail(ctx, AdminEmail)
	if err == nil {
		return "", nil
	}
	if !errors.Is(err, ErrNotFound) {
		return "", fmt.Errorf("users: looking for the administrator %s: %w", AdminEmail, err)
	}
	if password == "" {
		generated = rand.Text()
		password = generated
	} else if d := passwordProblem(password); d != "" {
		return "", fmt.Errorf("users: the administrator's password (-admin-password or %s) %s", EnvAdminPassword, d)
	}
	_, err = s.create(ctx, AdminEmail, "Administrator", RoleAdmin, password)
	if errors.Is(err, fault.Conflict) {
		return "", nil // another instance created it meanwhile
	}
	if err != nil {
		return "", fmt.Errorf("users: creating the administrator %s: %w", AdminEmail, err)
	}
	return generated, nil
}

// SigningKeyFromEnv loads the token signing key from the environment, as
// lookup (os.LookupEnv) reads it: PKCS#8 PEM text in [EnvSigningKey], or
// a PEM file named by [EnvSigningKeyFile]. With neither set it returns
// nil and no error, and the service generates a key at start (see
// [WithSigningKey]); with both set it fails, as it cannot tell which is
// meant.
func SigningKeyFromEnv(lookup func(string) (string, bool)) (crypto.Signer, error) {
	text, hasText := lookup(EnvSigningKey)
	path, hasPath := lookup(EnvSigningKeyFile)
	switch {
	case hasText && hasPath:
		return nil, fmt.Errorf("users: both %s and %s are set; set one", EnvSigningKey, EnvSigningKeyFile)
	case hasText:
		key, err := auth.ParsePrivateKeyPEM([]byte(text))
		if err != nil {
			return nil, fmt.Errorf("users: %s: %w", EnvSigningKey, err)
		}
		return key, nil
	case hasPath:
		data, err := os.ReadFile(path)
		if err != nil {
			return nil, fmt.Errorf("users: reading the signing key named by %s: %w", EnvSigningKeyFile, err)
		}
		key, err := auth.ParsePrivateKeyPEM(data)
		if err != nil {
			return nil, fmt.Errorf("users: signing key %s (from %s): %w", path, EnvSigningKeyFile, err)
		}
		return key, nil
	}
	return nil, nil
}
