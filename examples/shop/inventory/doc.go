// Package inventory is the shop's stock: how many units of each product
// can be reserved, and the reservations that hold units for orders until
// they are paid (committed) or given up (released).
//
// Start with [Migrate] and [NewService] on the service's own database,
// then [RegisterHTTP], [DescribeHTTP], and [NewConsumer] with
// [Service.Pruner] to learn of new products from the catalog's events:
//
//	GET  /v1/stock/{product_id}                    -> 200 {"product_id": "...", "available": 7}
//	PUT  /v1/admin/stock/{product_id} {"available": 10} -> 200 (role "admin")
//	POST /internal/v1/reservations {"reservation_id": "order-1", "items": [{"product_id": "...", "quantity": 2}]} -> 200
//	POST /internal/v1/reservations/{id}/release   -> 200
//	POST /internal/v1/reservations/{id}/commit    -> 200
//
// The /v1 routes are public; the product page reads the stock, and an
// administrator sets it (a verified token with the role "admin", see
// [RegisterHTTP]). The /internal routes are for the shop's own services,
// such as orders, and are not routed by the gateway.
//
// # Learning products
//
// The inventory learns of a product from the catalog's product.created
// event, which carries the product's initial stock: the consumer starts
// the product's stock at it, once per event however often it is delivered
// (an inbox, [github.com/tailorkit/tailor/messaging/inbox], remembers what
// was applied), and never over a stock already set: an administrator who
// set the stock before the event arrived wins.
//
// # Never oversold
//
// Two things together make sure no unit is reserved twice, however many
// reservations run at once and however many instances serve them:
//
//   - the stock table's CHECK constraints refuse a negative available or
//     reserved count, so the database itself refuses an overdraft,
//     whatever code wrote it;
//   - a reservation takes each item with one conditional update,
//     UPDATE stock SET available = available - n ... WHERE product_id = p
//     AND available >= n, so the check and the take are one atomic step
//     and a reservation that finds too little changes nothing. All items
//     of a reservation are taken in one transaction: if any is short, the
//     whole reservation rolls back and the answer is 409, naming each
//     short product and what is available of it.
//
// # Idempotency
//
// Every call that changes stock can be repeated safely, so a caller that
// lost an answer just asks again:
//
//   - a reservation is named by its caller (reservation_id, such as the
//     order's id). Reserving again with an existing id and the same items
//     answers the existing reservation, in whatever state it is now,
//     without taking stock again; the same id with other items is a 409
//     Conflict.
//   - a reservation is reserved, then released or committed, and stays
//     there. Releasing a released reservation, or committing a committed
//     one, answers it unchanged; releasing a committed reservation, or
//     committing a released one, is a 409. Committing an unknown id is a
//     404; releasing one records it released with no items, so a
//     reservation that arrives after its release (a saga compensated a
//     call whose answer it lost) is a 409 and takes nothing.
//
// Errors are [*fault.Error] values, so they reach HTTP callers as
// problem+json: 422 with the violations for input that breaks a rule,
// 409 for a shortage or a state that does not allow the call (kind
// [fault.FailedPrecondition], answered 409 rather than 412, which HTTP
// keeps for conditional request headers) and for a reservation id used
// with other items ([fault.Conflict]).
package inventory
