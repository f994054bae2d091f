package main

import (
	"cmp"
	"context"
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"google.golang.org/grpc"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/protobuf/encoding/protowire"

	"github.com/tailorkit/tailor/internal/testenv"
	tgrpc "github.com/tailorkit/tailor/transport/grpc"
)

// TestNewGRPCEventsPostgres: one service made with --grpc, --events and
// --db postgres, and grown by a resource, to build once for all (the
// default, SQLite without gRPC or events, is TestNewSQLite's): it passes
// its own tests (HTTP, gRPC, the stats' inbox) on PostgreSQL, serves its
// routes over HTTP, serves create and get over real gRPC and the
// gRPC health service, and publishes each widget.created event, from an
// HTTP or a gRPC create, through the outbox to the NATS server, whence
// its consumer counts it once, as GET /v1/stats shows. Its name is unique
// to the run, and so are its stream and subjects, which are deleted at
// the end: runs do not meet on the shared NATS server.
func TestNewGRPCEventsPostgres(t *testing.T) {
	testenv.Short(t, "generated service")
	if _, err := exec.LookPath("protoc"); err != nil {
		testenv.Missing(t, "protoc is not installed (scripts/protoc.sh installs it)")
	}
	t.Parallel()
	server := postgresServer(t)
	js := jetStream(t)
	name := "widgets-" + strings.ToLower(rand.Text()[:8])
	stream := strings.ToUpper(strings.ReplaceAll(name, "-", "_"))
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if err := js.DeleteStream(ctx, stream); err != nil && !errors.Is(err, jetstream.ErrStreamNotFound) {
			t.Errorf("deleting the stream %s: %v", stream, err)
		}
	})
	dir := filepath.Join(t.TempDir(), name)
	newService(t, dir, "--db", "postgres", "--grpc", "--events", "--resource", "widget")
	// A resource added later gets its own .proto and service, and its Go
	// code; the one build and test run below covers both.
	if out, errOut, err := runCLI("add", "resource", "gadget", "--dir", dir); err != nil {
		t.Fatalf("tailor add resource gadget: %v\n%s%s", err, out, errOut)
	}
	for _, r := range []string{"widget", "gadget"} {
		for _, f := range []string{r + ".pb.go", r + "_grpc.pb.go"} {
			if _, err := os.Stat(filepath.Join(dir, "proto", name, "v1", f)); err != nil {
				t.Fatalf("protoc did not make %s: %v", f, err)
			}
		}
	}
	check(t, dir, "TEST_DATABASE_URL="+server)

	grpcAddr := freeAddr(t)
	s := start(t, dir, "DATABASE_URL="+freshDatabase(t, server), "NATS_URL="+natsURL(), "TAILOR_GRPC_ADDR="+grpcAddr)
	id := s.createWidget(t)
	s.call(t, "GET", "/v1/widgets/"+id, "", http.StatusOK)
	if body := s.call(t, "GET", "/v1/widgets", "", http.StatusOK); !strings.Contains(body, id) {
		t.Errorf("GET /v1/widgets: %s does not list %s", body, id)
	}
	s.waitCreated(t, 1)

	cc, err := tgrpc.NewConn(grpcAddr)
	if err != nil {
		t.Fatal(err)
	}
	defer cc.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	health, err := healthpb.NewHealthClient(cc).Check(ctx, &healthpb.HealthCheckRequest{})
	if err != nil || health.GetStatus() != healthpb.HealthCheckResponse_SERVING {
		t.Errorf("grpc.health.v1 Check: got %v, %v; want SERVING", health.GetStatus(), err)
	}
	method := "/" + strings.ReplaceAll(name, "-", "_") + ".v1.WidgetService/"
	created := invoke(ctx, t, cc, method+"CreateWidget", protowire.AppendString(protowire.AppendTag(nil, 1, protowire.BytesType), "second"))
	if created[2] != "second" || created[1] == "" {
		t.Fatalf("CreateWidget: got fields %q, want a widget named second with an id", created)
	}
	for _, want := range []struct{ id, name string }{{id, "first"}, {created[1], "second"}} {
		got := invoke(ctx, t, cc, method+"GetWidget", protowire.AppendString(protowire.AppendTag(nil, 1, protowire.BytesType), want.id))
		if got[1] != want.id || got[2] != want.name {
			t.Errorf("GetWidget %s: got fields %q, want the widget %s named %s", want.id, got, want.id, want.name)
		}
	}
	s.waitCreated(t, 2)
	s.stop(t)
}

// jetStream connects to the test NATS server, or reports it
// [testenv.Missing].
func jetStream(t *testing.T) jetstream.JetStream {
	t.Helper()
	nc, err := nats.Connect(natsURL(), nats.Timeout(5*time.Second))
	if err != nil {
		testenv.Missing(t, "NATS at "+natsURL()+" is unreachable: "+err.Error()+"; start it with scripts/services.sh (nats-server -js on 127.0.0.1:4222), or point TAILOR_TEST_NATS at one")
	}
	t.Cleanup(nc.Close)
	js, err := jetstream.New(nc)
	if err != nil {
		t.Fatal(err)
	}
	return js
}

// natsURL is the test NATS server: TAILOR_TEST_NATS, else the one
// scripts/services.sh runs.
func natsURL() string {
	return cmp.Or(os.Getenv("TAILOR_TEST_NATS"), "nats://127.0.0.1:4222")
}

// waitCreated waits, a bounded while, for GET /v1/stats to count want
// widgets created: the events cross a real broker, so they arrive a
// little after the creates.
func (s *service) waitCreated(t *testing.T, want int64) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		var stats struct {
			Created *int64 `json:"widgets_created"`
		}
		body := s.call(t, "GET", "/v1/stats", "", http.StatusOK)
		if err := json.Unmarshal([]byte(body), &stats); err != nil || stats.Created == nil {
			t.Fatalf("GET /v1/stats: got %s (%v), want {\"widgets_created\": N}", body, err)
		}
		switch {
		case *stats.Created == want:
			return
		case *stats.Created > want:
			t.Fatalf("GET /v1/stats: got %d widgets created, want %d: an event counted twice", *stats.Created, want)
		case time.Now().After(deadline):
			t.Fatalf("GET /v1/stats: still %d widgets created after 30s, want %d\n%s", *stats.Created, want, s.logs)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// invoke calls the unary method with the encoded request, and returns the
// string fields of the reply by number. The messages are written and read
// with protowire, as the test has no Go code of the service's .proto.
func invoke(ctx context.Context, t *testing.T, cc *grpc.ClientConn, method string, req []byte) map[protowire.Number]string {
	t.Helper()
	var reply []byte
	if err := cc.Invoke(ctx, method, req, &reply, grpc.ForceCodec(rawCodec{})); err != nil {
		t.Fatalf("%s: %v", method, err)
	}
	fields := map[protowire.Number]string{}
	for len(reply) > 0 {
		num, typ, n := protowire.ConsumeTag(reply)
		if n < 0 {
			t.Fatalf("%s: the reply does not decode: %v", method, protowire.ParseError(n))
		}
		reply = reply[n:]
		if typ == protowire.BytesType {
			v, m := protowire.ConsumeBytes(reply)
			if m >= 0 {
				fields[num] = string(v)
			}
		}
		if n = protowire.ConsumeFieldValue(num, typ, reply); n < 0 {
			t.Fatalf("%s: the reply does not decode: %v", method, protowire.ParseError(n))
		}
		reply = reply[n:]
	}
	return fields
}

// rawCodec sends and receives messages as the bytes they are on the
// wire.
type rawCodec struct{}

func (rawCodec) Marshal(v any) ([]byte, error) {
	b, ok := v.([]byte)
	if !ok {
		return nil, fmt.Errorf("rawCodec marshals []byte, not %T", v)
	}
	return b, nil
}

func (rawCodec) Unmarshal(data []byte, v any) error {
	p, ok := v.(*[]byte)
	if !ok {
		return fmt.Errorf("rawCodec unmarshals into *[]byte, not %T", v)
	}
	*p = append((*p)[:0], data...)
	return nil
}

func (rawCodec) Name() string { return "proto" }
