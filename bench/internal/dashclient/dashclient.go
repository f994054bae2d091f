// Package dashclient asks of a service what an open operations dashboard
// asks: each client reads the dashboard's event stream (GET
// /dash/api/stream, a snapshot a second) for as long as it runs, and polls
// what the page fetches besides (GET /dash/api/traces) every few seconds.
// cmd/dashwatch runs it beside the load generator, so that the benchmark
// measures what an open dashboard costs the service.
//
// It reads whatever the snapshots hold: it counts the events by name,
// checks that each event's data is JSON, and notes the top-level fields
// of the snapshots, so that the stream's panels can change under it.
//
// Start with Run.
package dashclient

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// Config says whom to watch and how.
type Config struct {
	// Base is the admin listener's URL, such as "http://127.0.0.1:9001".
	Base string
	// Clients is how many dashboards are open.
	Clients int
	// Poll is how often each client fetches GET /dash/api/traces; 0 never.
	Poll time.Duration
	// Token, when set, is sent as Authorization: Bearer.
	Token string
	// HTTP makes the requests; nil is a client of its own.
	HTTP *http.Client
	// Ready, when set, is called once every client has read its first
	// snapshot.
	Ready func()
}

// Summary is what the clients read, all of them together.
type Summary struct {
	// Clients is how many dashboards were open.
	Clients int `json:"clients"`
	// Events counts the stream's events by name ("snapshot", "breaker").
	Events map[string]int64 `json:"events"`
	// SnapshotBytes is the size of every snapshot's data, summed.
	SnapshotBytes int64 `json:"snapshot_bytes"`
	// Fields are the top-level fields seen in the snapshots, sorted.
	Fields []string `json:"fields"`
	// Connects counts the streams opened: Clients when none was cut.
	Connects int64 `json:"connects"`
	// Requests counts the other requests by "METHOD path status".
	Requests map[string]int64 `json:"requests"`
	// Errors counts what failed: a stream that could not be opened or
	// read, an event whose data is not JSON, an answer other than 200 or
	// 404 (a panel not served yet).
	Errors int64 `json:"errors"`
	// FirstError is the first failure's message.
	FirstError string `json:"first_error,omitempty"`
}

// Snapshots is the count of "snapshot" events.
func (s Summary) Snapshots() int64 { return s.Events["snapshot"] }

// Add adds o's counts to s, as for one more round.
func (s *Summary) Add(o Summary) {
	s.Clients = max(s.Clients, o.Clients)
	s.Events = addCounts(s.Events, o.Events)
	s.Requests = addCounts(s.Requests, o.Requests)
	s.SnapshotBytes += o.SnapshotBytes
	s.Connects += o.Connects
	s.Errors += o.Errors
	if s.FirstError == "" {
		s.FirstError = o.FirstError
	}
	fields := slices.Concat(s.Fields, o.Fields)
	slices.Sort(fields)
	s.Fields = slices.Compact(fields)
}

func addCounts(a, b map[string]int64) map[string]int64 {
	if a == nil {
		a = map[string]int64{}
	}
	for k, n := range b {
		a[k] += n
	}
	return a
}

// String tells the summary in one line.
func (s Summary) String() string {
	var b strings.Builder
	fmt.Fprintf(&b, "%d dashboard clients read %d snapshots", s.Clients, s.Snapshots())
	if n := s.Snapshots(); n > 0 {
		fmt.Fprintf(&b, " (%.1f KB each", float64(s.SnapshotBytes)/float64(n)/1000)
		if len(s.Fields) > 0 {
			fmt.Fprintf(&b, "; fields %s", strings.Join(s.Fields, ", "))
		}
		b.WriteString(")")
	}
	for _, name := range slices.Sorted(maps.Keys(s.Events)) {
		if name != "snapshot" {
			fmt.Fprintf(&b, ", %d %s events", s.Events[name], name)
		}
	}
	for _, req := range slices.Sorted(maps.Keys(s.Requests)) {
		fmt.Fprintf(&b, ", %s ×%d", req, s.Requests[req])
	}
	fmt.Fprintf(&b, "; %d streams opened, %d errors", s.Connects, s.Errors)
	if s.FirstError != "" {
		fmt.Fprintf(&b, " (first: %s)", s.FirstError)
	}
	return b.String()
}

// Run opens cfg.Clients dashboards and keeps them open until ctx ends,
// then returns what they read. A stream the service ends is opened again
// after a second, as the page does. Run fails only on a bad Config.
func Run(ctx context.Context, cfg Config) (Summary, error) {
	if cfg.Base == "" || cfg.Clients < 1 {
		return Summary{}, fmt.Errorf("dashclient: want a base URL and 1 or more clients, got %q and %d", cfg.Base, cfg.Clients)
	}
	if cfg.HTTP == nil {
		cfg.HTTP = &http.Client{Transport: http.DefaultTransport.(*http.Transport).Clone()}
	}
	w := &watch{cfg: cfg, sum: Summary{Clients: cfg.Clients, Events: map[string]int64{}, Requests: map[string]int64{}}, fields: map[string]bool{}}
	var started atomic.Int64 // clients that have read a snapshot
	var wg sync.WaitGroup
	for range cfg.Clients {
		var once sync.Once
		firstSnapshot := func() {
			once.Do(func() {
				if started.Add(1) == int64(cfg.Clients) && cfg.Ready != nil {
					cfg.Ready()
				}
			})
		}
		wg.Go(func() { w.stream(ctx, firstSnapshot) })
		if cfg.Poll > 0 {
			wg.Go(func() { w.poll(ctx) })
		}
	}
	wg.Wait()
	w.mu.Lock()
	defer w.mu.Unlock()
	w.sum.Fields = slices.Sorted(maps.Keys(w.fields))
	return w.sum, nil
}

type watch struct {
	cfg    Config
	mu     sync.Mutex
	sum    Summary
	fields map[string]bool
}

func (w *watch) fail(err error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.sum.Errors++
	if w.sum.FirstError == "" {
		w.sum.FirstError = err.Error()
	}
}

func (w *watch) get(ctx context.Context, path string) (*http.Response, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, strings.TrimSuffix(w.cfg.Base, "/")+path, nil)
	if err != nil {
		return nil, err
	}
	if w.cfg.Token != "" {
		req.Header.Set("Authorization", "Bearer "+w.cfg.Token)
	}
	return w.cfg.HTTP.Do(req)
}

// stream reads the event stream until ctx ends, opening it again when it
// ends or fails, and calls first on the first snapshot.
func (w *watch) stream(ctx context.Context, first func()) {
	for ctx.Err() == nil {
		if err := w.readStream(ctx, first); err != nil && ctx.Err() == nil {
			w.fail(err)
		}
		select {
		case <-ctx.Done():
		case <-time.After(time.Second):
		}
	}
}

func (w *watch) readStream(ctx context.Context, first func()) error {
	w.request(ctx, "/dash/api/targets") // what the page asks before it opens the stream
	resp, err := w.get(ctx, "/dash/api/stream")
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("GET /dash/api/stream: %s", resp.Status)
	}
	w.mu.Lock()
	w.sum.Connects++
	w.mu.Unlock()
	return ReadEvents(resp.Body, func(e Event) error {
		var fields map[string]json.RawMessage
		if err := json.Unmarshal(e.Data, &fields); err != nil {
			return fmt.Errorf("event %q: its data is not a JSON object: %w", e.Name, err)
		}
		w.mu.Lock()
		w.sum.Events[e.Name]++
		if e.Name == "snapshot" {
			w.sum.SnapshotBytes += int64(len(e.Data))
			for k := range fields {
				w.fields[k] = true
			}
		}
		w.mu.Unlock()
		if e.Name == "snapshot" {
			first()
		}
		return nil
	})
}

// poll fetches the traces every Poll until ctx ends.
func (w *watch) poll(ctx context.Context) {
	t := time.NewTicker(w.cfg.Poll)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			w.request(ctx, "/dash/api/traces")
		}
	}
}

// request GETs path, reads the answer and counts its status.
func (w *watch) request(ctx context.Context, path string) {
	resp, err := w.get(ctx, path)
	if err != nil {
		if ctx.Err() == nil {
			w.fail(err)
		}
		return
	}
	_, err = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	if err != nil && ctx.Err() == nil {
		w.fail(fmt.Errorf("GET %s: %w", path, err))
	}
	w.mu.Lock()
	w.sum.Requests["GET "+path+" "+strconv.Itoa(resp.StatusCode)]++
	w.mu.Unlock()
	if resp.StatusCode != http.StatusOK && resp.StatusCode != http.StatusNotFound {
		w.fail(fmt.Errorf("GET %s: %s", path, resp.Status))
	}
}

// Event is one server-sent event.
type Event struct {
	// Name is the event's name, "message" when it has none.
	Name string
	// Data is its data lines joined by newlines.
	Data []byte
}

// maxLine bounds a line of the stream: a snapshot is one data line.
const maxLine = 16 << 20

// ReadEvents reads server-sent events from r until it ends, calling f on
// each; it returns f's first error, or nil at the end of r.
func ReadEvents(r io.Reader, f func(Event) error) error {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 0, 64<<10), maxLine)
	var name string
	var data []byte
	haveData := false
	for sc.Scan() {
		line := sc.Text()
		if line == "" {
			if haveData {
				if name == "" {
					name = "message"
				}
				if err := f(Event{Name: name, Data: data}); err != nil {
					return err
				}
			}
			name, data, haveData = "", nil, false
			continue
		}
		if strings.HasPrefix(line, ":") {
			continue // a comment
		}
		field, value, _ := strings.Cut(line, ":")
		value = strings.TrimPrefix(value, " ")
		switch field {
		case "event":
			name = value
		case "data":
			if haveData {
				data = append(data, '\n')
			}
			data = append(data, value...)
			haveData = true
		}
	}
	if err := sc.Err(); err != nil {
		return fmt.Errorf("reading the event stream: %w", err)
	}
	return nil
}
