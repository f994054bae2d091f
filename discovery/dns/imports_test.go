package dns_test

import (
	"os/exec"
	"strings"
	"testing"
)

// A registry backend compiles only discovery's contracts: importing the
// package pulls in no transport, no resilience and no telemetry.
func TestImportsNoTransport(t *testing.T) {
	out, err := exec.Command("go", "list", "-deps", "github.com/tailorkit/tailor/discovery/dns").Output()
	if err != nil {
		t.Fatalf("go list -deps: %v", err)
	}
	forbidden := []string{
		"net/http", "google.golang.org/grpc", "go.opentelemetry.io/",
		"github.com/tailorkit/tailor/transport/", "github.com/tailorkit/tailor/resilience",
		"github.com/tailorkit/tailor/observability", "github.com/tailorkit/tailor/service",
		"github.com/tailorkit/tailor/discovery/client",
	}
	for _, pkg := range strings.Fields(string(out)) {
		for _, f := range forbidden {
			if pkg == f || strings.HasPrefix(pkg, f+"/") || (strings.HasSuffix(f, "/") && strings.HasPrefix(pkg, f)) {
				t.Errorf("discovery/dns imports %s; a registry backend needs only package discovery's contracts", pkg)
			}
		}
	}
}
