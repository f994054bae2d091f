package discovery

import (
	"context"
	"errors"
	"fmt"
	"net"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/go-kit/kit/sd"
)

// Protocol is the protocol an instance serves on its port.
type Protocol string

// The protocols. The zero value of an Instance's Protocol means ProtocolHTTP.
const (
	ProtocolHTTP Protocol = "http"
	ProtocolGRPC Protocol = "grpc"
)

// Instance is one registered copy of a service. The zero value is not
// registrable: Service and Port are required, and registrars need an ID
// ([Registration] makes one when it is empty).
type Instance struct {
	// ID identifies the instance in its registry; unique per registry.
	ID string
	// Service is the name callers use: "inventory".
	Service string
	// Address is the host or IP callers dial. Empty lets the registry
	// choose: Consul uses its agent's node address, the memory registry
	// 127.0.0.1.
	Address string
	// Port is the TCP port the instance serves on.
	Port int
	// Tags are free-form labels ("primary", "canary").
	Tags []string
	// Version is the version of the code the instance runs: "1.4.2".
	Version string
	// Zone is where the instance runs: an availability zone or rack.
	Zone string
	// Protocol is what the port speaks. Default ProtocolHTTP.
	Protocol Protocol
	// Meta holds further metadata. The keys "version", "zone" and
	// "protocol" are reserved for the fields above.
	Meta map[string]string
}

// HostPort returns the address to dial, "host:port", as go-kit's
// sd.Instancer reports instances.
func (i Instance) HostPort() string {
	return net.JoinHostPort(i.Address, strconv.Itoa(i.Port))
}

// Validate reports whether i can be registered, naming the first field
// that is missing or wrong.
func (i Instance) Validate() error {
	switch {
	case i.Service == "":
		return fmt.Errorf("discovery: instance %q has no Service name; set Instance.Service to the name callers use", i.ID)
	case i.ID == "":
		return fmt.Errorf("discovery: instance of %q has no ID; set Instance.ID (for example %q)", i.Service, DefaultID(i))
	case i.Port <= 0 || i.Port > 65535:
		return fmt.Errorf("discovery: instance %q of %q has port %d, want 1-65535; set Instance.Port to the port it serves on", i.ID, i.Service, i.Port)
	case i.Protocol != "" && i.Protocol != ProtocolHTTP && i.Protocol != ProtocolGRPC:
		return fmt.Errorf("discovery: instance %q of %q has protocol %q, want %q or %q", i.ID, i.Service, i.Protocol, ProtocolHTTP, ProtocolGRPC)
	}
	for _, k := range []string{"version", "zone", "protocol"} {
		if _, ok := i.Meta[k]; ok {
			return fmt.Errorf("discovery: instance %q of %q sets Meta[%q]; use the Instance field of that name instead", i.ID, i.Service, k)
		}
	}
	return nil
}

// DefaultID returns the ID [Registration] gives an instance that has none:
// service, host and port, "inventory-10.0.0.7-8080", which stays the same
// across restarts on the same address.
func DefaultID(i Instance) string {
	host := i.Address
	if host == "" {
		host = "local"
	}
	host = strings.NewReplacer(":", "_", "[", "", "]", "").Replace(host)
	return fmt.Sprintf("%s-%s-%d", i.Service, host, i.Port)
}

// Registrar registers instances in a registry and removes them. Both
// backends implement it. Implementations are safe for concurrent use.
type Registrar interface {
	// Register adds inst, or replaces the instance with the same ID.
	Register(ctx context.Context, inst Instance) error
	// Deregister removes the instance with inst's ID. Removing an
	// instance that is not registered is not an error.
	Deregister(ctx context.Context, inst Instance) error
}

// Resolver watches services by name. Both backends implement it.
// Implementations are safe for concurrent use.
type Resolver interface {
	// Resolve starts a watch of service's healthy instances. Call Stop on
	// the Instancer when done with it.
	Resolve(service string) (Instancer, error)
}

// Instancer is a watch of one service's healthy instances: go-kit's
// sd.Instancer, whose events list the instances as "host:port", plus the
// full [State]. Implementations are safe for concurrent use.
//
// Like go-kit's, an Instancer sends the current state to a channel as soon
// as it is registered and again on every change, and blocks until the
// channel takes it: read registered channels promptly, or Deregister them.
// When the registry cannot be reached, events carry the error together with
// the last known instances, which callers keep using.
type Instancer interface {
	sd.Instancer
	// State returns the latest view of the service.
	State() State
}

// State is what a watch knows about a service.
type State struct {
	// Service is the name watched.
	Service string
	// Instances are the instances whose health checks pass, sorted by ID.
	// While the registry is unreachable they are the last known ones.
	Instances []Instance
	// Registered counts the instances registered, healthy or not.
	Registered int
	// Updated is when the registry last answered; zero until it first has.
	Updated time.Time
	// Err is the error of the registry's last answer, nil when it
	// succeeded: when set, Instances may be stale.
	Err error
	// Failures counts the registry queries that failed in a row.
	Failures int
}

// Equal reports whether s and t list the same instances, counts and error
// text; Updated and Failures are not compared. Watches use it to send an
// event only when something a caller acts on changed.
func (s State) Equal(t State) bool {
	if s.Service != t.Service || s.Registered != t.Registered || len(s.Instances) != len(t.Instances) {
		return false
	}
	if (s.Err == nil) != (t.Err == nil) || (s.Err != nil && s.Err.Error() != t.Err.Error()) {
		return false
	}
	for k := range s.Instances {
		if !instanceEqual(s.Instances[k], t.Instances[k]) {
			return false
		}
	}
	return true
}

func instanceEqual(a, b Instance) bool {
	if a.ID != b.ID || a.Service != b.Service || a.Address != b.Address || a.Port != b.Port ||
		a.Version != b.Version || a.Zone != b.Zone || a.Protocol != b.Protocol ||
		!slices.Equal(a.Tags, b.Tags) || len(a.Meta) != len(b.Meta) {
		return false
	}
	for k, v := range a.Meta {
		if w, ok := b.Meta[k]; !ok || w != v {
			return false
		}
	}
	return true
}

// Event returns s as go-kit sees it: the instances as "host:port", sorted,
// and the error.
func (s State) Event() sd.Event {
	ev := sd.Event{Instances: make([]string, len(s.Instances)), Err: s.Err}
	for k, inst := range s.Instances {
		ev.Instances[k] = inst.HostPort()
	}
	slices.Sort(ev.Instances)
	return ev
}

// ErrStopped is returned by Register and Resolve on a registry that was
// closed (the Consul backend's Registry.Close), and by the calls of a
// client (package [github.com/tailorkit/tailor/discovery/client]) that was
// closed.
var ErrStopped = errors.New("discovery: stopped")
