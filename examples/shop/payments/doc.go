// Package payments is the shop's card processor, simulated: it charges
// and refunds orders, records every outcome in its own database, and
// fails on demand, declining cards, answering slowly or not at all, so
// that the shop's orders can be seen to cope.
//
// Start with [Migrate] and [NewService] on the service's own database,
// with the faults of [FaultsFromEnv], then [RegisterHTTP] and
// [DescribeHTTP]:
//
//	POST /internal/v1/charges {"key": "saga-1/charge", "order_id": "order-1", "user_id": "user-1", "amount": 1250, "currency": "EUR"} -> 200 Payment
//	POST /internal/v1/refunds {"key": "saga-1/charge", "order_id": "order-1"} -> 200 Payment
//	GET  /v1/admin/payments?order_id=order-1       -> 200 {"payments": [Payment, ...]} (role "admin")
//	GET  /v1/admin/payments/faults                 -> 200 Faults (role "admin")
//	PUT  /v1/admin/payments/faults {"failure_rate": 0.2, "latency_ms": 100, "unavailable_rate": 0.1} -> 200 Faults (role "admin")
//
// A [Payment] answers as
//
//	{"id": "0193…", "key": "saga-1/charge", "order_id": "order-1", "user_id": "user-1",
//	 "amount": 1250, "currency": "EUR", "status": "charged",
//	 "created_at": "2026-12-01T06:00:00Z", "updated_at": "2026-12-01T06:00:00Z"}
//
// The /internal routes are for the shop's own services (orders) and are
// not routed by the gateway. The /v1/admin routes need a verified token
// with the role "admin" (see [RegisterHTTP]). Refunds take the key in
// the body, not in the path, as keys such as "saga-1/charge" hold a "/".
//
// # Idempotency
//
// Every charge and refund names its idempotency key, so a caller that lost
// an answer asks again and nothing happens twice. The database holds at
// most one payment per key (a UNIQUE constraint), whatever happened under
// it, however many calls run at once and on however many instances:
//
//   - a charge under a new key charges the card, or is declined, and the
//     outcome is recorded. A repeat with the same key and the same
//     request (order, user, amount, currency) answers the recorded
//     outcome: the payment as it is now, with 200, or the same decline,
//     with 402; it never charges again, and never tosses the coin again.
//     The same key with another request is a 409 Conflict.
//   - a refund moves a charged payment to refunded. Refunding a refunded
//     payment, or a declined one (nothing was taken), answers it
//     unchanged.
//
// A successful charge answers 200 whether it charged now or repeats an
// earlier charge: the answer to a repeat is the answer to the first call,
// which is what lets a caller retry without knowing which it got.
//
// # Refund before charge: the tombstone
//
// An order saga compensates a charge by refunding its key. The charge may
// still be on its way (it timed out for the saga, but reaches the
// processor later), so a refund may arrive first. Refunding a key never
// charged therefore records the key as voided, a tombstone, and answers
// 200 with status "voided"; a charge that arrives later under that key is
// refused with 409 (kind failed_precondition), and nothing is taken for an
// order the saga already gave up. Refunding a voided key again answers it
// unchanged. A key belongs to one order: refunding it with another order
// id is a 409 Conflict.
//
// # Fault injection
//
// [Faults] are set when the service is made ([WithFaults], from
// [FaultsFromEnv]: SHOP_PAYMENTS_FAILURE_RATE, SHOP_PAYMENTS_LATENCY_MS,
// SHOP_PAYMENTS_UNAVAILABLE_RATE) and changed at run time with
// [Service.SetFaults] or PUT /v1/admin/payments/faults, whose body names
// all three (0 turns a fault off). Each instance
// keeps its own, in memory. For every charge and refund, in order:
//
//   - latency_ms: the service waits that long before going on; a call
//     whose context ends meanwhile fails with the context's error (504
//     over HTTP when its deadline passed) and changes nothing.
//   - unavailable_rate: that share of calls fails with an Unavailable
//     error, 503, which [fault.Kind.Retryable] says may be retried;
//     nothing is recorded, so the retry is a new call.
//   - failure_rate, charges under a new key only: that share is declined
//     by the card issuer, a FailedPrecondition error answered 402 Payment
//     Required, which is not retryable. The decline is recorded (status
//     "declined"), so a repeat answers the same decline.
//
// The draws come from [WithRandom]'s source; a seeded one makes them
// repeatable.
//
// Errors are [*fault.Error] values, so they reach HTTP callers as
// problem+json: 422 with the violations for input that breaks a rule,
// 402 for a decline, 409 for a key used with another request or a voided
// key, 503 for a simulated outage.
package payments
