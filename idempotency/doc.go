// Package idempotency makes an HTTP handler honour the Idempotency-Key
// header (IETF httpapi draft "The Idempotency-Key HTTP Header Field"), so
// that a client may retry a POST that timed out without the operation
// taking effect twice. Keys and the answers made under them are kept in
// the service's own database, PostgreSQL or SQLite.
//
// Start with [Migrate], which creates the table tailor_idempotency (its
// migrations recorded in [MigrationsTable]), then [New], and wrap the
// handler of each route that needs it with [Store.Handler]; run the
// store's [Pruner] beside the service to delete expired keys:
//
//	if err := idempotency.Migrate(ctx, db); err != nil {
//		return err
//	}
//	idem, err := idempotency.New(db, idempotency.Required())
//	if err != nil {
//		return err
//	}
//	svc.Router().Handle("POST /v1/orders", idem.Handler(placeOrder))
//	svc.Add(idem.Pruner())
//
// # Where it runs
//
// Wrap one route's handler, as above: the middleware then runs after
// routing, so the request's Pattern names the route, and after the
// service's router-wide middlewares, so the caller's [auth.Claims] are in
// the context. [Store.Middleware] gives the same wrapper for chains that
// take a middleware. Installed router-wide (thttp.WithMiddleware) it runs
// before routing, with no pattern known; the request target still tells
// routes apart, but [Required] would then demand a key on every unsafe
// request of the service. Requests with a safe method (GET, HEAD, OPTIONS,
// TRACE) always pass untouched.
//
// # The key
//
// Idempotency-Key is a Structured Field string, "8e03978e-...", of 1 to
// [MaxKeyLength] (255) printable ASCII bytes; a bare key without quotes
// and without spaces is accepted too. A header sent twice, empty, too long
// or with other bytes is refused with 400. A request without the header
// passes to the handler untouched, or, with [Required], is refused with a
// 400 that asks for one.
//
// Keys are scoped by the caller: the subject of the verified token
// ([auth.ClaimsFrom]) when there is one, otherwise what the function given
// to [WithScope] returns, otherwise one scope shared by all anonymous
// callers (whose keys must then be unguessable). Two callers who pick the
// same key never meet.
//
// The request's fingerprint is the SHA-256 of its scope, method, route
// pattern, target (path and query) and body. The body is read whole
// before the handler runs, up to [WithMaxBodyBytes] (1 MiB by default; a
// larger one is refused with 413), and handed to the handler unchanged.
//
// # What a request meets
//
//	key in the table              answer
//	----------------------------  -------------------------------------------
//	none                          the handler runs; its answer is stored
//	done, same fingerprint        the stored status, headers and body, with
//	                              Idempotent-Replayed: true; the handler
//	                              does not run
//	done, other fingerprint       422 problem: the key was used for another
//	                              request; resend that one or use a new key
//	in progress                   409 problem with Retry-After: 1; the first
//	                              request is still running, never a second
//	expired, or lease ended       as "none": the key is taken over
//
// The draft answers a key reused for a different request with 422
// Unprocessable Content, as here: the request is well-formed, but cannot
// be processed with that key. A concurrent duplicate gets 409 Conflict, as
// the draft says; Retry-After tells the client when to ask again for the
// answer. Every refusal is an application/problem+json body (see
// transport/http) that says what went wrong and what to do.
//
// A key is claimed by inserting its row in the state "in progress" (an
// INSERT ... ON CONFLICT DO NOTHING on the table's primary key, scope and
// key), so of concurrent duplicates exactly one runs the handler. Its
// answer is written to the client as the handler writes it, and kept:
//
//   - an answer of 2xx, 3xx or 4xx is stored for replay (a 4xx means the
//     request was processed and refused, and would be refused again);
//   - a 5xx, 401, 408, 429 or 499 answer, or a handler that panicked,
//     releases the key (its row is deleted): the request was not carried
//     out, for a reason that may pass (credentials missing, a timeout, a
//     rate limit, a client that left, a failure of the server), and the
//     client may retry with the same key;
//   - an answer whose body is larger than [WithMaxBodyBytes] is sent but
//     not stored, and releases the key;
//   - an answer that cannot be stored (the database failed meanwhile) has
//     been sent already; the failure is logged ([WithLogger]) and the key
//     released.
//
// When the database cannot be reached before the handler runs, the
// request is answered 503 with Retry-After and the handler does not run.
//
// Only the headers that describe the answer are stored and replayed:
// Content-Type, Content-Language, Content-Location, Location, ETag,
// Last-Modified, Cache-Control and Retry-After, and those named with
// [WithHeaders].
//
// # Expiry
//
// A stored answer is replayed for [WithTTL] after the handler answered
// (24 hours by default); then the key may be used again. A key in
// progress is held for a lease, [WithLease] (one minute by default): when
// the process died mid-request, a retry after the lease runs the handler.
// Set the lease above the handler's timeout, for a handler still running
// past its lease may run twice; its late answer is then not stored. The
// [Pruner] deletes expired rows every hour by default; expired rows it has
// not reached yet are treated as absent.
//
// Times come from [WithClock], time.Now by default.
//
// # The table
//
// One row per key: scope and idem_key (the primary key), fingerprint,
// state ("in_progress" or "done"), token (which request holds the key,
// so a request that lost its lease cannot overwrite or release the key of
// the one that took it over), the status, headers (JSON) and body of the
// stored answer, and created_us and expires_us in Unix microseconds:
// expires_us is the end of the lease while the key is in progress and the
// end of the replay once it is done. The same SQL runs on PostgreSQL and
// SQLite.
package idempotency
