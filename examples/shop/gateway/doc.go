// Package gateway is the shop's one public entry. It serves the public
// API by calling the shop's services, each found by name in a discovery
// registry ("users", "catalog", "inventory", "stats", "reviews"), with a
// circuit breaker per instance, retries of what is safe to send again
// and a timeout, and it
// checks tokens and rate limits at the edge, before any service is
// called.
//
// Start with [New] over a [Config] (the registry and a token verifier are
// required), serve it on a transport/http Router with [Gateway.Register],
// and [Gateway.Close] it when done.
//
// # Routes
//
//	POST /v1/users                      users
//	POST /v1/sessions                   users
//	GET  /v1/users/me                   users
//	GET  /v1/products                   catalog
//	POST /v1/products                   catalog
//	GET  /v1/products/{id}              catalog, inventory and reviews: the product page
//	GET  /v1/products/{id}/reviews      reviews
//	POST /v1/products/{id}/reviews      reviews
//	POST /v1/orders                     orders (with an Idempotency-Key)
//	GET  /v1/orders                     orders
//	GET  /v1/orders/{id}                orders
//	PUT  /v1/admin/stock/{product_id}   inventory
//	GET  /v1/admin/payments             payments (the payments of an order)
//	GET  /v1/admin/payments/faults      payments (the simulated faults)
//	PUT  /v1/admin/payments/faults      payments
//	GET  /v1/stats                      stats
//	GET  /openapi.json                  the public OpenAPI document
//
// Every other path is the Router's 404. A route is passed on to one
// instance of its service as it came: method, path, query, body and the
// headers Content-Type, Accept, Authorization and Idempotency-Key, with
// the request's ID (X-Request-Id) and, with telemetry, its trace context.
// The service's answer comes back as it gave it, whatever its status:
// status, body and the headers Content-Type, Cache-Control, Retry-After,
// WWW-Authenticate, Allow, Location and Idempotent-Replayed. A redirect
// is passed back, not followed. A request body is bounded by
// [Config.MaxBodyBytes] (1 MiB by default; 413 beyond) and an answer by
// [MaxResponseBytes].
//
// The product page, GET /v1/products/{id}, asks the catalog for the
// product, the inventory for its stock and the reviews service for the
// summary of its reviews, all at once, and answers one [ProductPage]:
// the product's members with "stock": {"available": n} and "reviews":
// {"count": n, "average": a}. It degrades rather than fail: with the
// inventory unavailable it is 200 with "stock": null and "unavailable":
// ["inventory"]; with the reviews service unavailable, "reviews": null
// and "unavailable": ["reviews"]; with the catalog unavailable it is 200
// with only "id", "stock", "reviews" and "unavailable": ["catalog"]; with
// neither the catalog nor the inventory it is 503. The catalog's answers
// other than 200 (404 for a product that does not exist) are passed on
// as they are, the inventory's 404 (a product it has not heard of yet)
// is a stock of 0, and a product without reviews has "reviews":
// {"count": 0}.
//
// GET /openapi.json serves [Gateway.Document]: the services' documents
// ([Config.Docs]) merged with openapi.Merge, keeping only the routes above,
// with the gateway's own product page in place of the catalog's
// GET /v1/products/{id}.
//
// # Unavailable services
//
// A service is unavailable when no instance is registered or healthy,
// when every instance's breaker is open, or when its instances refuse
// connections, time out or answer 5xx. Then the gateway answers 503
// application/problem+json whose detail names the service ("catalog is
// unavailable; try again shortly") with a Retry-After, except that a
// service's own 5xx answer is passed on as it is. Once the instances'
// breakers are open the answer comes at once, without waiting for a
// timeout; an instance that registers again is called at once, and one
// whose breaker opened is probed again after the breaker's open time.
//
// # Calls, retries and breakers
//
// Each service has one discovery/client Client: its instances are
// balanced (power of two choices over latency) and each has a circuit
// breaker ([Config.InstanceBreaker]; by default ejected after 5 failures
// in a row and probed again after 5 s). Failures are 5xx answers and
// calls that got no answer; 4xx answers are the service answering and
// never count. Every call is bounded by [Config.Timeout] (5 s by
// default), retries included. Reads (GET and HEAD, the product page's
// two calls included) are retried: up to 3 attempts, each on an instance
// not tried yet, after a failure that may be retried (503, 502, 504, no
// answer), under a retry budget. So is POST /v1/orders when it carries an
// Idempotency-Key, which the orders service de-duplicates by: a retry
// of an order that was placed replays its answer, and one still running
// on an instance that died is answered 409 until its key's lease ends.
// Other POSTs and PUTs are sent once, except to the next instance when
// the one picked cannot be reached at all (its connection refused):
// nothing was sent, so nothing can happen twice.
//
// # Tokens and rate limits
//
// A bearer token is verified with [Config.Verifier] before anything
// else is done with the request: one that does not verify (unsigned with
// alg none, tampered, expired, from another issuer, signed with an
// unknown key) is answered 401 and no service is called. A request
// without a token passes on as anonymous: the services decide what each
// caller may do (the catalog's POST /v1/products wants an administrator,
// and its 403 comes back through the gateway).
//
// Every request is counted against its client IP's rate limit
// ([Config.PerIP]; 20 requests a second with bursts of 40 by default),
// and a request with a verified token also against its user's
// ([Config.PerUser], keyed by the token's subject; 10 a second with bursts
// of 20). A request beyond either is answered 429 problem+json with a
// Retry-After before its body is read. The client IP is the TCP peer's
// address; X-Forwarded-For is believed only from the proxies listed in
// [Config.TrustedProxies].
package gateway
