package process

import (
	"fmt"
	"io"
	"slices"

	"github.com/tailorkit/tailor/examples/shop/payments"
	"github.com/tailorkit/tailor/examples/shop/users"
	"github.com/tailorkit/tailor/messaging"
	"github.com/tailorkit/tailor/observability"
)

// The variables Run reads itself, besides those of the tables below.
const (
	EnvDiscovery   = "SHOP_DISCOVERY"
	EnvDNSServer   = "SHOP_DNS_SERVER"
	EnvConsulAddr  = "CONSUL_HTTP_ADDR"
	EnvDatabaseURL = "DATABASE_URL"
	// EnvStreamReplicas is the number of copies of each stream the
	// service creates (messaging.WithReplicas).
	EnvStreamReplicas = "SHOP_STREAM_REPLICAS"
)

// The values of EnvDiscovery: how the services find each other.
const (
	// DiscoveryConsul registers each instance in Consul, with a health
	// check, and finds the others there. The default.
	DiscoveryConsul = "consul"
	// DiscoveryDNS registers nothing, the platform publishing the ready
	// instances in DNS (Kubernetes' headless Services), and finds the
	// others in the SRV records _http._tcp.<service>, which the resolver's
	// search list completes.
	DiscoveryDNS = "dns"
)

// variable is one environment variable a service's program reads.
type variable struct {
	name  string
	usage string
	// required marks one the program refuses to start without; example
	// is a value to show when it is missing.
	required bool
	example  string
	// unless, on a required variable, names another that may stand in
	// for it; with unlessIs, only when it has that value.
	unless   string
	unlessIs string
}

// environment is every variable the program of the service called name
// reads: what -help lists under "Environment:" and what Run checks and
// reads. The variables read by the OpenTelemetry SDK and the Consul
// client are read by those libraries.
func environment(name string) []variable {
	vars := []variable{
		{name: EnvDiscovery, usage: "how the services find each other: consul (default), registering in Consul; or dns, finding them in the DNS SRV records _http._tcp.<service> (Kubernetes' headless Services), the platform registering the instances"},
		{name: EnvConsulAddr, usage: "the Consul agent's HTTP API, where the service registers and finds the others; required unless " + EnvDiscovery + " is " + DiscoveryDNS,
			required: true, unless: EnvDiscovery, unlessIs: DiscoveryDNS, example: "127.0.0.1:8500"},
		{name: EnvDNSServer, usage: "with " + EnvDiscovery + "=" + DiscoveryDNS + ": the DNS server to ask, ip:port, such as 10.96.0.10:53; default: those of /etc/resolv.conf"},
		{name: "CONSUL_HTTP_TOKEN", usage: "the Consul ACL token (read by the Consul client)"},
		{name: "CONSUL_HTTP_SSL", usage: "true to talk to Consul over HTTPS (read by the Consul client)"},
		{name: "CONSUL_CACERT", usage: "the CA certificate file that checks Consul's (read by the Consul client)"},
		{name: "CONSUL_CLIENT_CERT", usage: "the client certificate file for Consul (read by the Consul client)"},
		{name: "CONSUL_CLIENT_KEY", usage: "the client key file for Consul (read by the Consul client)"},
	}
	if name != "gateway" {
		vars = append(vars, variable{name: EnvDatabaseURL, required: true,
			usage:   "the service's own database: a PostgreSQL URL, the database created when missing, or an SQLite file path; migrated at start",
			example: "postgres://postgres@127.0.0.1:5432/shop_" + name + "?sslmode=disable"})
	}
	if slices.Contains([]string{"catalog", "inventory", "orders", "reviews", "stats"}, name) {
		vars = append(vars, variable{name: messaging.EnvURL, required: true,
			usage: "the NATS server (JetStream) or cluster the events go through", example: "nats://127.0.0.1:4222"},
			variable{name: EnvStreamReplicas, usage: "how many servers of a JetStream cluster keep each of the shop's streams, when the service creates or updates them at start: 1 (default) to 5; 3 keeps them through the loss of one server"})
	}
	switch name {
	case "users":
		vars = append(vars,
			variable{name: users.EnvSigningKeyFile, required: true, unless: users.EnvSigningKey, example: "/run/secrets/users-signing-key.pem",
				usage: "a PKCS#8 PEM file with the key tokens are signed with; every users instance needs the same one"},
			variable{name: users.EnvSigningKey, usage: "the signing key itself, as PKCS#8 PEM text, instead of " + users.EnvSigningKeyFile},
			variable{name: users.EnvAdminPassword, usage: "the password of " + users.AdminEmail + " when it is first created (default: random, printed once)"})
	case "payments":
		vars = append(vars,
			variable{name: payments.EnvFailureRate, usage: "the share of charges the simulated card processor declines, 0 to 1"},
			variable{name: payments.EnvUnavailableRate, usage: "the share of calls it answers 503, 0 to 1"},
			variable{name: payments.EnvLatencyMS, usage: "milliseconds it adds to each charge"})
	}
	vars = append(vars,
		variable{name: "TAILOR_HTTP_ADDR", usage: "as -http-addr"},
		variable{name: "TAILOR_GRPC_ADDR", usage: "as -grpc-addr"},
		variable{name: "TAILOR_SHUTDOWN_TIMEOUT", usage: "as -shutdown-timeout"},
		variable{name: "TAILOR_SHUTDOWN_DELAY", usage: "as -shutdown-delay"},
		variable{name: "TAILOR_READ_TIMEOUT", usage: "as -read-timeout"},
		variable{name: "TAILOR_IDLE_TIMEOUT", usage: "as -idle-timeout"},
		variable{name: "TAILOR_ADMIN_ADDR", usage: "as -admin-addr: the admin listener, serving the operations dashboard at /dash/; unset: none"},
		variable{name: "TAILOR_ADMIN_TOKEN", usage: "the bearer token the admin listener asks for; needed when TAILOR_ADMIN_ADDR is not a loopback address (read from the environment only)"},
		variable{name: observability.EnvLogLevel, usage: "debug, info (default), warn or error"},
		variable{name: observability.EnvLogFormat, usage: "json (default) or text"},
		variable{name: observability.EnvAccessLog, usage: "true to log every request"},
		variable{name: "OTEL_EXPORTER_OTLP_ENDPOINT", usage: "the OTLP receiver traces (and metrics) go to, such as http://127.0.0.1:4318; unset: none (read by the OpenTelemetry SDK, as are the other OTEL_* variables)"},
		variable{name: "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", usage: "the OTLP receiver's full URL for traces; beats the one above"},
		variable{name: "OTEL_EXPORTER_OTLP_PROTOCOL", usage: "http/protobuf (default) or grpc"},
		variable{name: "OTEL_EXPORTER_OTLP_HEADERS", usage: "key=value,... sent with each export"},
		variable{name: "OTEL_TRACES_SAMPLER", usage: "the sampler, such as always_on or parentbased_traceidratio; default: 1% of new traces"},
		variable{name: "OTEL_TRACES_SAMPLER_ARG", usage: "the sampler's argument, such as 0.1"},
		variable{name: "OTEL_TRACES_EXPORTER", usage: "otlp, console or none"},
		variable{name: "OTEL_METRICS_EXPORTER", usage: "otlp or none; /metrics is always served"},
		variable{name: "OTEL_RESOURCE_ATTRIBUTES", usage: "key=value,... added to every span's and metric's resource"},
		variable{name: "OTEL_SDK_DISABLED", usage: "true: no spans and no metrics"},
	)
	return vars
}

// printEnvironment writes vars under the heading "Environment:", in the
// layout of the flag package's defaults.
func printEnvironment(w io.Writer, vars []variable) {
	fmt.Fprintln(w, "\nEnvironment:")
	for _, v := range vars {
		switch {
		case v.required && v.unless != "":
			fmt.Fprintf(w, "  %s (required unless %s is set)\n", v.name, v.unless)
		case v.required:
			fmt.Fprintf(w, "  %s (required)\n", v.name)
		default:
			fmt.Fprintf(w, "  %s\n", v.name)
		}
		fmt.Fprintf(w, "    \t%s\n", v.usage)
	}
}

// missing returns the error for the first required variable of vars
// that lookup does not find set, nor the one that may stand in for it;
// nil when every one is set.
func missing(vars []variable, lookup func(string) (string, bool)) error {
	set := func(name string) bool { v, ok := lookup(name); return ok && v != "" }
	standIn := func(v variable) bool {
		if v.unless == "" {
			return false
		}
		s, ok := lookup(v.unless)
		return ok && s != "" && (v.unlessIs == "" || s == v.unlessIs)
	}
	for _, v := range vars {
		if !v.required || set(v.name) || standIn(v) {
			continue
		}
		switch {
		case v.unlessIs != "":
			return usageErrorf("%s is not set; set it, for instance %s=%s, or set %s=%s", v.name, v.name, v.example, v.unless, v.unlessIs)
		case v.unless != "":
			return usageErrorf("%s (or %s) is not set; set it, for instance %s=%s", v.name, v.unless, v.name, v.example)
		}
		return usageErrorf("%s is not set; set it, for instance %s=%s", v.name, v.name, v.example)
	}
	return nil
}
