package dashclient

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/tailorkit/tailor/observability"
	"github.com/tailorkit/tailor/observability/dashboard"
	thttp "github.com/tailorkit/tailor/transport/http"
)

func TestReadEvents(t *testing.T) {
	stream := ": a comment\n" +
		"event: snapshot\ndata: {\"a\":1}\n\n" +
		"data: line 1\ndata: line 2\n\n" +
		"event: breaker\ndata:{\"b\":2}\n\n" +
		"event: empty\n\n" + // no data: not an event
		"event: cut\ndata: {}\n" // the stream ends before the blank line
	var got []Event
	if err := ReadEvents(strings.NewReader(stream), func(e Event) error {
		got = append(got, e)
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	want := []Event{{"snapshot", []byte(`{"a":1}`)}, {"message", []byte("line 1\nline 2")}, {"breaker", []byte(`{"b":2}`)}}
	if !slices.EqualFunc(got, want, func(a, b Event) bool { return a.Name == b.Name && string(a.Data) == string(b.Data) }) {
		t.Errorf("got %q, want %q", got, want)
	}
}

func TestReadEventsStopsAtTheFirstError(t *testing.T) {
	stop := errors.New("stop")
	calls := 0
	err := ReadEvents(strings.NewReader("data: 1\n\ndata: 2\n\n"), func(Event) error {
		calls++
		return stop
	})
	if !errors.Is(err, stop) || calls != 1 {
		t.Errorf("got %v after %d calls, want the callback's error after 1", err, calls)
	}
}

// TestRunReadsTheDashboard opens two dashboards on a real dashboard over
// loopback, whose traces answer 500, and reads until both have a snapshot
// and the traces were polled.
func TestRunReadsTheDashboard(t *testing.T) {
	tel, err := observability.New(observability.Config{EndpointStats: true})
	if err != nil {
		t.Fatal(err)
	}
	r := thttp.NewRouter()
	dashboard.Mount(r, tel, dashboard.WithInterval(5*time.Millisecond))
	polled := make(chan struct{}, 1)
	mux := http.NewServeMux()
	mux.Handle("/", r)
	mux.HandleFunc("GET /dash/api/traces", func(w http.ResponseWriter, _ *http.Request) {
		select {
		case polled <- struct{}{}:
		default:
		}
		w.WriteHeader(http.StatusInternalServerError)
	})
	srv := httptest.NewServer(mux)
	defer srv.Close()

	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	ready := make(chan struct{})
	done := make(chan Summary, 1)
	go func() {
		s, err := Run(ctx, Config{Base: srv.URL, Clients: 2, Poll: 5 * time.Millisecond, Ready: func() { close(ready) }})
		if err != nil {
			t.Error(err)
		}
		done <- s
	}()
	for _, c := range []chan struct{}{ready, polled} {
		select {
		case <-c:
		case <-time.After(10 * time.Second):
			t.Fatal("no snapshot on every stream, or no poll of the traces, within 10 s")
		}
	}
	cancel()
	s := <-done

	if s.Clients != 2 || s.Snapshots() < 2 || s.Connects < 2 || s.SnapshotBytes == 0 {
		t.Errorf("got %d clients, %d snapshots of %d bytes on %d streams; want 2 clients, a snapshot on each stream", s.Clients, s.Snapshots(), s.SnapshotBytes, s.Connects)
	}
	for _, f := range []string{"version", "breakers", "endpoints"} {
		if !slices.Contains(s.Fields, f) {
			t.Errorf("fields %q lack %q", s.Fields, f)
		}
	}
	var targets int64
	for k, n := range s.Requests {
		if strings.HasPrefix(k, "GET /dash/api/targets ") {
			targets += n
		}
	}
	if targets < s.Connects {
		t.Errorf("GET /dash/api/targets asked %d times for %d streams, want once before each (requests %v)", targets, s.Connects, s.Requests)
	}
	if s.Requests["GET /dash/api/traces 500"] == 0 || s.Errors == 0 || !strings.Contains(s.FirstError, "500") {
		t.Errorf("got requests %v, %d errors (first %q); want the traces' 500s counted as errors", s.Requests, s.Errors, s.FirstError)
	}
}

func TestRunCountsARefusal(t *testing.T) {
	stream := make(chan struct{}, 1)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/dash/api/stream" {
			select {
			case stream <- struct{}{}:
			default:
			}
		}
		http.Error(w, "no token", http.StatusUnauthorized)
	}))
	defer srv.Close()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	done := make(chan Summary, 1)
	go func() {
		s, _ := Run(ctx, Config{Base: srv.URL, Clients: 1, Ready: func() { t.Error("ready without a snapshot") }})
		done <- s
	}()
	select {
	case <-stream:
	case <-time.After(10 * time.Second):
		t.Fatal("the stream was not asked for within 10 s")
	}
	cancel()
	s := <-done
	if s.Requests["GET /dash/api/targets 401"] == 0 || s.Errors == 0 || !strings.Contains(s.FirstError, "401") || s.Connects != 0 || s.Snapshots() != 0 {
		t.Errorf("got %+v; want the 401 counted as an error, no stream opened and no snapshot", s)
	}
}

func TestRunRefusesABadConfig(t *testing.T) {
	if _, err := Run(context.Background(), Config{Base: "http://127.0.0.1:1", Clients: 0}); err == nil {
		t.Error("got no error for 0 clients")
	}
}

func TestSummaryAdd(t *testing.T) {
	var s Summary
	s.Add(Summary{Clients: 3, Events: map[string]int64{"snapshot": 30}, SnapshotBytes: 6000, Fields: []string{"version", "endpoints"},
		Connects: 3, Requests: map[string]int64{"GET /dash/api/traces 404": 15}})
	s.Add(Summary{Clients: 3, Events: map[string]int64{"snapshot": 30, "breaker": 1}, SnapshotBytes: 6000, Fields: []string{"version", "edges"},
		Connects: 4, Requests: map[string]int64{"GET /dash/api/traces 404": 14, "GET /dash/api/traces 200": 1}, Errors: 1, FirstError: "cut"})
	want := "3 dashboard clients read 60 snapshots (0.2 KB each; fields edges, endpoints, version), 1 breaker events, " +
		"GET /dash/api/traces 200 ×1, GET /dash/api/traces 404 ×29; 7 streams opened, 1 errors (first: cut)"
	if got := s.String(); got != want {
		t.Errorf("got\n%s\nwant\n%s", got, want)
	}
}
