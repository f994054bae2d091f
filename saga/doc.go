// Package saga runs orchestrated sagas whose state lives in the service's
// own database (PostgreSQL or SQLite): a multi-step business process
// across other services, such as reserve stock, charge, confirm, with
// compensations (release the stock, refund) when a step fails, and no
// workflow server to run beside the service.
//
// Start with [Migrate], which creates the saga tables (tailor_sagas and
// tailor_saga_events, with their migrations recorded in
// tailor_saga_migrations), then make an [Orchestrator] and [Define] the
// sagas on it. A request handler records a saga with [Definition.Start] in
// the same transaction as its own change, and drives it with
// [Orchestrator.Run]; a [Recovery], added to the service as a component,
// finishes every saga that a crash, a restart or an ended request left
// unfinished:
//
//	orch, _ := saga.New(db)
//	order, _ := saga.Define(orch, "order", reserve, charge, confirm)
//	svc.Add(saga.NewRecovery(orch, saga.RecoveryConfig{}))
//
//	tx, _ := db.BeginTx(ctx, nil)
//	// ... INSERT the order ...
//	order.Start(ctx, tx, orderID, Order{...})
//	tx.Commit()
//	st, err := orch.Run(ctx, orderID) // within the request's deadline
//
// # Guarantees
//
// A saga runs its steps in order. Its state is recorded after every step,
// in one transaction with the step's event in its history, so a process
// that dies at any point leaves a saga that a [Recovery] resumes from its
// last recorded step, forward or compensating, as if nothing had
// happened.
//
// Steps are called at least once: a step whose outcome was not recorded
// before a crash is called again. Each call carries an idempotency key
// that is the same on every call of that step of that saga, sagaID + "/" +
// step name for an action and sagaID + "/" + step name + "/compensate" for
// its compensation ([Key], [CompensationKey]). A callee that applies an
// effect once per key (an idempotent endpoint, or a table keyed by it)
// therefore applies every effect exactly once: at-least-once calls plus
// idempotency keys make effectively-once effects.
//
// A step's action whose error is retryable ([fault.IsRetryable]) is tried
// again as its [Step.Retry] says; an error that is not, or the last of the
// attempts, fails the step, and the saga compensates: it calls the
// compensation of the failed step and then of every step before it, in
// reverse order. The failed step is compensated too because an error does
// not prove that nothing happened (the callee may have charged and the
// answer been lost); a compensation must therefore succeed, doing nothing,
// when its action never took effect. Compensations are retried, with
// backoff, until they succeed: they are never abandoned. A saga ends
// [Completed], or [Compensated] with the failed step and its error
// recorded ([Status.FailedStep], [Status.Reason]).
//
// Only one process runs a saga at a time. Running claims the saga with a
// lease (see [WithLease]) that each recorded step renews; a process that
// dies holding it delays the saga by at most the lease, after which a
// [Recovery] takes it. Every record is conditional on the claim, so a
// process that lost its claim stops at its next record. [Define] refuses a
// step whose attempts could outlast the lease, so a live claim never
// lapses in the middle of a step (assuming the instances' clocks agree to
// well within the lease).
//
// [Orchestrator.Status] and [Orchestrator.History] show a saga's state and
// every step's outcomes, with times, attempts and errors, for support.
// [WithTelemetry] makes a span per step, with its idempotency key, and,
// given the service's telemetry, lists each saga [Define] registers on
// the service's operations dashboard: the unfinished ones in the database,
// running, compensating and stuck (not advanced for longer than the
// lease), and those this process completed and failed since it started.
// The unfinished are counted on their index at most once a second.
package saga
