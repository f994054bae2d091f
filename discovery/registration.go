package discovery

import (
	"context"
	"sync"
)

// Registration is a service component that keeps one instance registered
// while the service is ready to serve it. Add it to a
// [github.com/tailorkit/tailor/service.Service]; the service calls its
// methods in this order:
//
//  1. Start: nothing yet; the listeners are bound but not serving.
//  2. Announce, once the service serves and every readiness check passes
//     (/readyz answers 200): Register, so no caller is sent to an
//     instance that cannot answer. While the checks fail, the instance
//     stays unregistered.
//  3. Drain, when a readiness check keeps failing (the service's
//     Config.FailuresToWithdraw checks in a row): Deregister, until the
//     checks pass and Announce registers it again.
//  4. Drain, right after the service reports not ready at shutdown and
//     before it stops accepting: Deregister, so callers' watches drop the
//     instance while it still answers, and in-flight and late calls
//     finish. Config.ShutdownDelay is the time the callers get to notice.
//  5. Stop: Deregister again if Drain did not run (Announce failed, or the
//     component is used without a service); otherwise nothing.
//
// A crash skips steps 3 and 4: the registry's health check (Consul's HTTP
// or TTL check) and the callers' per-instance breakers take the instance
// out instead.
//
// Registration needs no import of the service package: it has the methods
// service looks for. Build one with [NewRegistration]; the zero value is
// not usable. It is safe for concurrent use.
type Registration struct {
	registrar Registrar
	instance  func() Instance

	mu         sync.Mutex
	registered *Instance
}

// NewRegistration returns a component that registers the instance that
// instance describes through r. instance is called at Announce, after the
// listeners are bound, so it can read the port the service got:
//
//	discovery.NewRegistration(reg, func() discovery.Instance {
//		return discovery.Instance{Service: "inventory", Port: svc.HTTPAddr().Port}
//	})
//
// An instance without an ID gets [DefaultID].
func NewRegistration(r Registrar, instance func() Instance) *Registration {
	return &Registration{registrar: r, instance: instance}
}

// Start does nothing: registration waits for Announce.
func (g *Registration) Start(context.Context) error { return nil }

// Announce registers the instance. It is called each time the service
// turns ready; registering an instance already registered updates it.
// An error, such as an unreachable registry, stops the service: Run
// returns it, so a deployment notices at once.
func (g *Registration) Announce(ctx context.Context) error {
	inst := g.instance()
	if inst.ID == "" {
		inst.ID = DefaultID(inst)
	}
	if err := inst.Validate(); err != nil {
		return err
	}
	if err := g.registrar.Register(ctx, inst); err != nil {
		return err
	}
	g.mu.Lock()
	g.registered = &inst
	g.mu.Unlock()
	return nil
}

// Drain deregisters the instance, if registered. It is called when the
// service's readiness checks keep failing, and as the service turns not
// ready at shutdown, before it stops accepting.
func (g *Registration) Drain(ctx context.Context) error { return g.deregister(ctx) }

// Stop deregisters the instance if it is still registered.
func (g *Registration) Stop(ctx context.Context) error { return g.deregister(ctx) }

func (g *Registration) deregister(ctx context.Context) error {
	g.mu.Lock()
	inst := g.registered
	g.registered = nil
	g.mu.Unlock()
	if inst == nil {
		return nil
	}
	return g.registrar.Deregister(ctx, *inst)
}

// Registered returns the instance as registered, and whether it is.
func (g *Registration) Registered() (Instance, bool) {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.registered == nil {
		return Instance{}, false
	}
	return *g.registered, true
}

// String names the component in the service's logs.
func (g *Registration) String() string { return "discovery registration" }
