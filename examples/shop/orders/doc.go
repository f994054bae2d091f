// Package orders is the shop's orders service: a user places an order of
// products, and a saga reserves the stock in the inventory, charges the
// payment and confirms the order, or gives back whatever it took and
// cancels the order with a reason.
//
// Start with Migrate and NewService on the service's own database, with
// the registry that finds the catalog, the inventory and the payments
// service, then RegisterHTTP and DescribeHTTP, and add Service.Recovery
// and Service.Pruner to the service. Every route needs a verified token
// (an auth.Verifier's HTTPMiddleware on the router):
//
//	POST /v1/orders {"items": [{"product_id": "...", "quantity": 2}]}  (Idempotency-Key required)
//	     -> 201 Order (confirmed or cancelled), 202 Order (pending)
//	GET  /v1/orders?limit=20&cursor=...  -> 200 {"items": [Order, ...], "next_cursor": "..."}
//	GET  /v1/orders/{id}                 -> 200 Order with its saga's history
//
// An Order answers as
//
//	{"id": "0193…", "user_id": "…", "status": "confirmed",
//	 "items": [{"product_id": "…", "quantity": 2, "unit_price": 1250}],
//	 "total": 2500, "currency": "EUR", "created_at": "…", "updated_at": "…"}
//
// Users see their own orders; another user's order is 404, as an unknown
// one is. Administrators (role "admin") list and read every order, and see
// the errors in a saga's history.
//
// # Placing an order
//
// The items are checked first (1 to 50, each of 1 to 1000 units, no
// product twice; 422 naming each bad item), then priced from the catalog
// (GET /v1/products/{id}): a product the catalog does not have, and items
// priced in more than one currency, are 422 naming the item. The total is
// in the currency's minor units. Then, in one transaction, the order is
// recorded pending with its lines, its saga is started
// (github.com/tailorkit/tailor/saga) and an order.placed event is added to
// the outbox (github.com/tailorkit/tailor/messaging/outbox). The request
// then waits up to Config.Wait (2 s by default) for the saga:
//
//  1. reserve: the inventory reserves the items under the reservation id
//     "<order id>/reserve", the step's idempotency key. Compensation:
//     release the reservation (the inventory records the release of one
//     it has not seen, so a reservation still on its way takes nothing),
//     then cancel the order.
//  2. charge: the payments service charges the total under the key
//     "<order id>/charge". Compensation: refund the key, which voids it
//     when no charge arrived, so a charge still on its way takes nothing.
//  3. confirm: the inventory commits the reservation, then, in one
//     transaction, the order is marked confirmed and an order.confirmed
//     event added to the outbox.
//
// A step whose call fails in a way that may pass (the service is
// unavailable, a timeout) is tried up to three times; any other failure,
// or the last, fails the saga, which compensates the failed step and each
// before it, in reverse order, retrying each compensation until it
// succeeds. The compensation of the first step is the last to run, so it
// is where the order is marked cancelled, in one transaction with an
// order.cancelled event, whether the request or the Recovery runs it. Every
// call carries its step's idempotency key, and the inventory and the
// payments service apply each key once, so a call repeated after a crash
// or a lost answer never reserves or charges twice.
//
// # Statuses and reasons
//
// An order is pending until its saga ends, then confirmed or cancelled,
// and never changes again. A cancelled order's reason is one of
//
//	not enough stock of "Hat", "Scarf"     the inventory was short of those products
//	the inventory refused the reservation  the inventory refused it otherwise
//	payment declined                       the card issuer declined the charge
//	the payment was refused                the payments service refused the charge otherwise
//	inventory unavailable                  the inventory failed the saga with an outage
//	payments unavailable                   the payments service failed the saga with an outage
//	the reserved stock was released before the order was confirmed
//	                                       the inventory could not commit the reservation
//
// POST answers 201 with the order confirmed or cancelled. When the wait
// ends first, it answers 202 Accepted with the order pending and its URL in
// Location, and the saga goes on in the background; GET /v1/orders/{id}
// shows the outcome. The saga runs apart from the request, so neither the
// wait nor a client that leaves cuts a call to another service short.
// Should the process stop first, the saga stops after its step in hand,
// and the Recovery (Service.Recovery, a service component) of the next
// process, or of another instance, finishes it.
//
// # Idempotency
//
// POST /v1/orders requires an Idempotency-Key header
// (github.com/tailorkit/tailor/idempotency): without one it is 400. A
// retry with the same key and body gets the first answer again, with
// Idempotent-Replayed: true, and places nothing; the same key with another
// body is 422; a retry while the first request runs is 409. Keys are the
// caller's own (scoped by the token's subject), kept 24 hours, and deleted
// afterwards by Service.Pruner.
//
// # When a service is down
//
// An order needs the inventory and the payments service. Before it records
// anything, POST checks each: when the registry has no instance of one in
// rotation, or the circuit breaker the orders keep for it is open (after 5
// failures in a row, by default; see Config.Breaker), the order is refused
// at once with 503, a problem+json whose detail names the service
// ("payments is unavailable; try again shortly"), and a Retry-After;
// nothing is recorded or charged. A catalog that cannot answer refuses the
// order the same way. An order whose saga was cancelled because a service
// failed it with an outage is answered the same 503, with the cancelled
// order's URL in Location; nothing was charged for it, and since a 503
// releases the Idempotency-Key, the client retries with the same key.
// Reads of the catalog are retried on another instance; the saga's calls
// are retried by the saga, each repeat carrying the same idempotency key.
//
// # Events
//
// The events (order.placed, order.confirmed, order.cancelled on stream
// Stream) are written to the outbox in the transactions that make the
// changes they announce; an outbox relay over the service's database
// publishes them.
package orders
