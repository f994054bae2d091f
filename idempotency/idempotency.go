package idempotency

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"database/sql"
	"embed"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"net/http"
	"time"

	"github.com/tailorkit/tailor/auth"
	"github.com/tailorkit/tailor/fault"
	"github.com/tailorkit/tailor/migrate"
	thttp "github.com/tailorkit/tailor/transport/http"
)

// The header fields the middleware reads and writes.
const (
	// Header carries the client's idempotency key.
	Header = "Idempotency-Key"
	// ReplayedHeader is set to "true" on an answer replayed from the
	// store rather than made by the handler.
	ReplayedHeader = "Idempotent-Replayed"
)

// The defaults of [New].
const (
	DefaultTTL          = 24 * time.Hour
	DefaultLease        = time.Minute
	DefaultMaxBodyBytes = 1 << 20
)

// retryAfter is what a request that meets its key in progress is told to
// wait before it tries again.
const retryAfter = time.Second

// storeTimeout bounds the writes made once the handler has answered,
// which no longer follow the request's context (the client may be gone,
// the answer must still be stored or the key released).
const storeTimeout = 10 * time.Second

// MigrationsTable is where [Migrate] records the migrations of the
// idempotency table (tailor_idempotency).
const MigrationsTable = "tailor_idempotency_migrations"

//go:embed migrations
var migrations embed.FS

// Migrations returns the migrations for dialect d, for [migrate.Up] with
// [migrate.WithTable]([MigrationsTable]), for a database whose driver
// [migrate.DialectOf] does not know; [Migrate] does exactly that for the
// others.
func Migrations(d migrate.Dialect) fs.FS {
	dir := "migrations/sqlite"
	if d == migrate.PostgreSQL {
		dir = "migrations/postgres"
	}
	sub, err := fs.Sub(migrations, dir)
	if err != nil {
		panic(err) // the folders are embedded; a missing one is a build bug
	}
	return sub
}

// Migrate creates or updates the idempotency table in db, a PostgreSQL or
// SQLite database, telling which from its driver. It is safe to call at
// every start, from several instances at once.
func Migrate(ctx context.Context, db *sql.DB) error {
	d, err := migrate.DialectOf(db)
	if err != nil {
		return fmt.Errorf("idempotency: %w", err)
	}
	if _, err := migrate.Up(ctx, db, Migrations(d), migrate.WithTable(MigrationsTable), migrate.WithDialect(d)); err != nil {
		return fmt.Errorf("idempotency: %w", err)
	}
	return nil
}

// settings are the options of [New] after defaults.
type settings struct {
	required bool
	ttl      time.Duration
	lease    time.Duration
	maxBody  int64
	scope    func(*http.Request) string
	headers  []string
	now      func() time.Time
	log      *slog.Logger
}

// Option sets an optional property of a [Store].
type Option func(*settings)

// Required makes a request without an Idempotency-Key a 400 problem that
// asks for one. Without it, such a request passes to the handler
// untouched.
func Required() Option { return func(s *settings) { s.required = true } }

// WithTTL sets how long a stored answer is replayed, counted from when
// the handler answered; after that the key is forgotten and may be used
// again. Default, and when d is not positive: [DefaultTTL], 24 hours.
func WithTTL(d time.Duration) Option { return func(s *settings) { s.ttl = d } }

// WithLease sets how long a key stays "in progress" without an answer
// before another request with it may run the handler: the lease covers a
// process that died mid-request. Set it above the longest the handler may
// take (its timeout); a handler still running when its lease ends may run
// a second time. Default, and when d is not positive: [DefaultLease], one
// minute.
func WithLease(d time.Duration) Option { return func(s *settings) { s.lease = d } }

// WithMaxBodyBytes bounds both the request body read to fingerprint the
// request (a larger one is refused with 413) and the answer stored for
// replay (a larger one is sent but not stored, and the key is released).
// Default, and when n is not positive: [DefaultMaxBodyBytes], 1 MiB.
func WithMaxBodyBytes(n int64) Option { return func(s *settings) { s.maxBody = n } }

// WithScope sets how keys of requests without an authenticated subject
// are scoped: two requests share a key only when scope returns the same
// for both (a tenant, an API key's ID). Requests whose context carries
// [auth.Claims] with a subject are always scoped by that subject. Default:
// all such requests share one scope, so their keys must be unguessable
// (random UUIDs).
func WithScope(scope func(*http.Request) string) Option {
	return func(s *settings) { s.scope = scope }
}

// WithHeaders adds header fields to those stored with an answer and
// replayed: by default Content-Type, Content-Language, Content-Location,
// Location, ETag, Last-Modified, Cache-Control and Retry-After. Others,
// such as Set-Cookie and X-Request-Id, are not replayed.
func WithHeaders(names ...string) Option {
	return func(s *settings) { s.headers = append(s.headers, names...) }
}

// WithClock sets the clock that times leases and expiries. Default
// time.Now.
func WithClock(now func() time.Time) Option { return func(s *settings) { s.now = now } }

// WithLogger sets where failures to store an answer, to release a key and
// to prune are logged. Default: nowhere.
func WithLogger(l *slog.Logger) Option { return func(s *settings) { s.log = l } }

// Store keeps idempotency keys and their answers in a database and makes
// HTTP handlers honour them. The zero value is not usable; make one with
// [New]. A Store is safe for concurrent use, and cheap: a service whose
// routes need different options makes one Store per set of options over
// the same database.
type Store struct {
	db  *sql.DB
	cfg settings
}

// New returns a Store over db, whose schema [Migrate] has set up.
func New(db *sql.DB, opts ...Option) (*Store, error) {
	if db == nil {
		return nil, errors.New("idempotency: nil database; pass the service's *sql.DB, migrated with idempotency.Migrate")
	}
	cfg := settings{
		headers: []string{"Content-Type", "Content-Language", "Content-Location", "Location", "ETag", "Last-Modified", "Cache-Control", "Retry-After"},
		now:     time.Now,
	}
	for _, o := range opts {
		o(&cfg)
	}
	if cfg.ttl <= 0 {
		cfg.ttl = DefaultTTL
	}
	if cfg.lease <= 0 {
		cfg.lease = DefaultLease
	}
	if cfg.maxBody <= 0 {
		cfg.maxBody = DefaultMaxBodyBytes
	}
	if cfg.log == nil {
		cfg.log = slog.New(slog.DiscardHandler)
	}
	for i, h := range cfg.headers {
		cfg.headers[i] = http.CanonicalHeaderKey(h)
	}
	return &Store{db: db, cfg: cfg}, nil
}

// Middleware returns [Store.Handler] as a middleware, for the chains that
// take one. Give it to one route's handler, not to the whole router: see
// the package documentation.
func (s *Store) Middleware() func(http.Handler) http.Handler { return s.Handler }

// Handler returns next made idempotent by the Idempotency-Key header, as
// the package documentation describes. Requests with a safe method (GET,
// HEAD, OPTIONS, TRACE) pass untouched.
func (s *Store) Handler(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.Method {
		case http.MethodGet, http.MethodHead, http.MethodOptions, http.MethodTrace:
			next.ServeHTTP(w, r)
			return
		}
		key, err := parseKey(r.Header.Values(Header))
		if err != nil {
			thttp.WriteError(w, r, fault.Wrap(err, fault.InvalidArgument, err.Error()))
			return
		}
		if key == "" {
			if s.cfg.required {
				thttp.WriteError(w, r, fault.New(fault.InvalidArgument, "this request needs an Idempotency-Key header, so that retrying it cannot take effect twice; "+
					"send a new unique key for each operation, such as a random UUID, and the same key when you retry it"))
				return
			}
			next.ServeHTTP(w, r)
			return
		}
		body, ferr := s.readBody(r)
		if ferr != nil {
			thttp.WriteError(w, r, ferr)
			return
		}
		scope := s.scopeOf(r)
		token, replay, ferr := s.claim(r.Context(), scope, key, fingerprint(r, scope, body))
		switch {
		case ferr != nil:
			thttp.WriteError(w, r, ferr)
		case replay != nil:
			replay.write(w)
		default:
			s.run(w, r, next, scope, key, token)
		}
	})
}

// readBody reads the request body for its fingerprint and puts it back
// for the handler.
func (s *Store) readBody(r *http.Request) ([]byte, *fault.Error) {
	if r.Body == nil || r.Body == http.NoBody {
		return nil, nil
	}
	body, err := io.ReadAll(io.LimitReader(r.Body, s.cfg.maxBody+1))
	limit := s.cfg.maxBody
	var tooLarge *http.MaxBytesError // from an http.MaxBytesReader put on the body before
	if errors.As(err, &tooLarge) {
		limit = tooLarge.Limit
	}
	if int64(len(body)) > s.cfg.maxBody || tooLarge != nil {
		return nil, &fault.Error{Kind: fault.InvalidArgument, Status: http.StatusRequestEntityTooLarge, Cause: err,
			Detail: fmt.Sprintf("the request body is larger than the %d bytes accepted; send a smaller body", limit)}
	}
	if err != nil {
		return nil, &fault.Error{Kind: fault.InvalidArgument, Cause: err,
			Detail: "the request body could not be read to the end; send the request again, whole"}
	}
	r.Body = struct {
		io.Reader
		io.Closer
	}{bytes.NewReader(body), r.Body}
	return body, nil
}

// scopeOf names whose keys r's key is among.
func (s *Store) scopeOf(r *http.Request) string {
	if c, ok := auth.ClaimsFrom(r.Context()); ok && c.Subject != "" {
		return "subject:" + c.Subject
	}
	if s.cfg.scope != nil {
		return "scope:" + s.cfg.scope(r)
	}
	return ""
}

// fingerprint is the SHA-256 of what makes two requests the same: the
// scope, the method, the route pattern, the request target and the body,
// each prefixed with its length so that no two requests run together
// into one.
func fingerprint(r *http.Request, scope string, body []byte) []byte {
	h := sha256.New()
	for _, part := range [][]byte{[]byte(scope), []byte(r.Method), []byte(r.Pattern), []byte(r.URL.RequestURI()), body} {
		var n [8]byte
		binary.BigEndian.PutUint64(n[:], uint64(len(part)))
		h.Write(n[:])
		h.Write(part)
	}
	return h.Sum(nil)
}

// answer is a stored answer.
type answer struct {
	status int
	header http.Header
	body   []byte
}

// write replays a.
func (a *answer) write(w http.ResponseWriter) {
	h := w.Header()
	for k, vs := range a.header {
		h[k] = vs
	}
	h.Set(ReplayedHeader, "true")
	w.WriteHeader(a.status)
	_, _ = w.Write(a.body) // the status is sent; a write error means the client left
}

// claimAttempts bounds how often claim retries a key whose row changes
// under it.
const claimAttempts = 3

// claim takes the key for this request, returning the token that proves
// it, or returns the stored answer to replay, or the problem to answer.
func (s *Store) claim(ctx context.Context, scope, key string, fp []byte) (string, *answer, *fault.Error) {
	for range claimAttempts {
		now := s.cfg.now()
		token := rand.Text()
		res, err := s.db.ExecContext(ctx,
			`INSERT INTO tailor_idempotency (scope, idem_key, fingerprint, state, token, created_us, expires_us) VALUES ($1, $2, $3, 'in_progress', $4, $5, $6) ON CONFLICT DO NOTHING`,
			scope, key, fp, token, now.UnixMicro(), now.Add(s.cfg.lease).UnixMicro())
		if err != nil {
			return "", nil, s.unavailable(ctx, "record", key, err)
		}
		if n, err := res.RowsAffected(); err != nil {
			return "", nil, s.unavailable(ctx, "record", key, err)
		} else if n == 1 {
			return token, nil, nil
		}
		var (
			oldFP           []byte
			state, oldToken string
			status          sql.NullInt64
			headers         sql.NullString
			body            []byte
			expiresUS       int64
		)
		err = s.db.QueryRowContext(ctx,
			`SELECT fingerprint, state, token, status, headers, body, expires_us FROM tailor_idempotency WHERE scope = $1 AND idem_key = $2`,
			scope, key).Scan(&oldFP, &state, &oldToken, &status, &headers, &body, &expiresUS)
		if errors.Is(err, sql.ErrNoRows) {
			continue // released since the insert: try again
		}
		if err != nil {
			return "", nil, s.unavailable(ctx, "read", key, err)
		}
		if expiresUS <= now.UnixMicro() {
			// An expired key, or the lease of a request that never
			// finished: take it over, unless another request just did.
			res, err := s.db.ExecContext(ctx,
				`UPDATE tailor_idempotency SET fingerprint = $3, state = 'in_progress', token = $4, status = NULL, headers = NULL, body = NULL, created_us = $5, expires_us = $6
				 WHERE scope = $1 AND idem_key = $2 AND token = $7 AND expires_us <= $5`,
				scope, key, fp, token, now.UnixMicro(), now.Add(s.cfg.lease).UnixMicro(), oldToken)
			if err != nil {
				return "", nil, s.unavailable(ctx, "take over", key, err)
			}
			if n, err := res.RowsAffected(); err != nil {
				return "", nil, s.unavailable(ctx, "take over", key, err)
			} else if n == 1 {
				return token, nil, nil
			}
			continue
		}
		if !bytes.Equal(oldFP, fp) {
			return "", nil, &fault.Error{Kind: fault.InvalidArgument, Status: http.StatusUnprocessableEntity,
				Detail: fmt.Sprintf("the Idempotency-Key %q was used with a different request (another method, path or body); "+
					"send the same request again to get its answer, or a new key for a new request", key)}
		}
		if state != "done" {
			return "", nil, inProgress(key)
		}
		a := &answer{status: int(status.Int64), body: body}
		if err := json.Unmarshal([]byte(headers.String), &a.header); err != nil {
			return "", nil, s.unavailable(ctx, "read the headers of", key, err)
		}
		return "", a, nil
	}
	return "", nil, inProgress(key)
}

// inProgress is the problem of a request whose key another request holds.
func inProgress(key string) *fault.Error {
	return &fault.Error{Kind: fault.Conflict, RetryAfter: retryAfter,
		Detail: fmt.Sprintf("a request with the Idempotency-Key %q is still in progress; retry after it finishes (see Retry-After) to get its answer", key)}
}

// unavailable logs a store failure and returns the problem to answer.
// A failure because the client gave up or ran out of time is neither
// logged nor blamed on the store.
func (s *Store) unavailable(ctx context.Context, what, key string, err error) *fault.Error {
	if ctx.Err() != nil {
		return &fault.Error{Kind: fault.KindOf(ctx.Err()), Cause: err,
			Detail: "the request ended before its Idempotency-Key was checked; send it again with the same key"}
	}
	s.cfg.log.ErrorContext(ctx, "idempotency: "+what+" the key failed; has idempotency.Migrate run on this database?", "key", key, "error", err.Error())
	return &fault.Error{Kind: fault.Unavailable, RetryAfter: retryAfter, Cause: err,
		Detail: "the idempotency keys cannot be reached; retry later with the same key"}
}

// run calls next under the claimed key and stores its answer, or
// releases the key when the answer is not one to replay.
func (s *Store) run(w http.ResponseWriter, r *http.Request, next http.Handler, scope, key, token string) {
	rec := &recorder{ResponseWriter: w, keep: s.cfg.headers, max: s.cfg.maxBody}
	ctx, cancel := context.WithTimeout(context.WithoutCancel(r.Context()), storeTimeout)
	defer cancel()
	stored := false
	defer func() {
		// Also when next panics: the panic goes on to the router's
		// recovery, and the key is free for a retry.
		if !stored {
			s.release(ctx, scope, key, token)
		}
	}()
	next.ServeHTTP(rec, r)
	rec.finish()
	if transient(rec.status) || rec.overflow {
		return
	}
	stored = s.store(ctx, scope, key, token, rec)
}

// transient reports whether an answer with status says the request was
// not carried out and may succeed when tried again: server errors, 401
// Unauthorized (credentials missing; a retry brings them), 408 Request
// Timeout, 429 Too Many Requests and 499 (the client gave up).
func transient(status int) bool {
	switch status {
	case http.StatusUnauthorized, http.StatusRequestTimeout, http.StatusTooManyRequests, 499:
		return true
	}
	return status >= 500
}

// store saves rec's answer under the key and reports whether it did.
func (s *Store) store(ctx context.Context, scope, key, token string, rec *recorder) bool {
	headers, err := json.Marshal(rec.header)
	if err != nil {
		s.cfg.log.ErrorContext(ctx, "idempotency: encoding the answer's headers failed; the key is released", "key", key, "error", err.Error())
		return false
	}
	res, err := s.db.ExecContext(ctx,
		`UPDATE tailor_idempotency SET state = 'done', status = $4, headers = $5, body = $6, expires_us = $7 WHERE scope = $1 AND idem_key = $2 AND token = $3`,
		scope, key, token, rec.status, string(headers), rec.body.Bytes(), s.cfg.now().Add(s.cfg.ttl).UnixMicro())
	if err != nil {
		s.cfg.log.ErrorContext(ctx, "idempotency: storing the answer failed; the key is released, so a retry runs the handler again", "key", key, "error", err.Error())
		return false
	}
	if n, _ := res.RowsAffected(); n == 0 {
		s.cfg.log.WarnContext(ctx, "idempotency: the handler outlived its lease and another request took the key over; its answer is not stored (raise WithLease above the handler's timeout)", "key", key)
	}
	return true
}

// release deletes the key, if this request still holds it.
func (s *Store) release(ctx context.Context, scope, key, token string) {
	if _, err := s.db.ExecContext(ctx, `DELETE FROM tailor_idempotency WHERE scope = $1 AND idem_key = $2 AND token = $3`, scope, key, token); err != nil {
		s.cfg.log.ErrorContext(ctx, "idempotency: releasing the key failed; it is free again when its lease ends", "key", key, "error", err.Error())
	}
}

// Prune deletes the keys that have expired, stored answers and abandoned
// leases alike, and returns how many. A [Pruner] calls it on an interval.
func (s *Store) Prune(ctx context.Context) (int64, error) {
	res, err := s.db.ExecContext(ctx, `DELETE FROM tailor_idempotency WHERE expires_us <= $1`, s.cfg.now().UnixMicro())
	if err != nil {
		return 0, fmt.Errorf("idempotency: delete expired keys: %w; has idempotency.Migrate run on this database?", err)
	}
	n, _ := res.RowsAffected()
	return n, nil
}

// recorder passes an answer to the client and keeps its status, the
// headers to replay and its body, up to max bytes.
type recorder struct {
	http.ResponseWriter
	keep     []string
	max      int64
	status   int
	header   http.Header
	body     bytes.Buffer
	overflow bool
}

// WriteHeader notes the status and the headers of the final answer.
func (rec *recorder) WriteHeader(code int) {
	if rec.status == 0 && code >= 200 {
		rec.status = code
		rec.snapshot()
	}
	rec.ResponseWriter.WriteHeader(code)
}

func (rec *recorder) snapshot() {
	rec.header = http.Header{}
	h := rec.ResponseWriter.Header()
	for _, k := range rec.keep {
		if vs := h[k]; len(vs) > 0 {
			rec.header[k] = append([]string(nil), vs...)
		}
	}
}

// Write keeps p while the body fits in max.
func (rec *recorder) Write(p []byte) (int, error) {
	if rec.status == 0 {
		rec.WriteHeader(http.StatusOK)
	}
	if !rec.overflow {
		if int64(rec.body.Len()+len(p)) > rec.max {
			rec.overflow = true
			rec.body = bytes.Buffer{}
		} else {
			rec.body.Write(p)
		}
	}
	return rec.ResponseWriter.Write(p)
}

// finish gives an answer the handler never wrote its status: 200, as
// net/http sends.
func (rec *recorder) finish() {
	if rec.status == 0 {
		rec.status = http.StatusOK
		rec.snapshot()
	}
}

// Unwrap gives [http.ResponseController] the underlying writer.
func (rec *recorder) Unwrap() http.ResponseWriter { return rec.ResponseWriter }
