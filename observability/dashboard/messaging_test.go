package dashboard_test

import (
	"bufio"
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/tailorkit/tailor/observability"
)

// With nothing tracked, every list of the messaging panel is empty, not
// null.
func TestMessagingEmpty(t *testing.T) {
	f := newFixture(t)
	const want = `{"version":1,"outboxes":[],"consumers":[],"sagas":[]}`
	if code, body := call(t, "GET", f.url+"/dash/api/messaging", "", nil); code != 200 || strings.TrimSpace(body) != want {
		t.Errorf("GET = %d %s, want 200 %s", code, body, want)
	}
}

// The panel lists what the tracked relays, consumers and sagas report, by
// name, with durations in milliseconds; the stream's snapshot carries the
// same object under "messaging"; an untracked one is gone.
func TestMessaging(t *testing.T) {
	f := newFixture(t)
	t.Cleanup(f.tel.TrackOutbox(func() observability.OutboxStatus {
		return observability.OutboxStatus{Name: "orders", Pending: 3, Oldest: 1200 * time.Millisecond, Published: 1000, Failures: 2}
	}))
	untrack := f.tel.TrackConsumer(func() observability.ConsumerStatus {
		return observability.ConsumerStatus{Name: "ORDERS/stats", Delivered: 7}
	})
	t.Cleanup(f.tel.TrackConsumer(func() observability.ConsumerStatus {
		return observability.ConsumerStatus{Name: "ORDERS/reviews", Delivered: 100, Redelivered: 3, DeadLettered: 1, InFlight: 2}
	}))
	t.Cleanup(f.tel.TrackSagas(func() observability.SagaStatus {
		return observability.SagaStatus{Name: "order", Running: 2, Compensating: 1, Stuck: 1, Completed: 100, Failed: 3}
	}))
	const panel = `"outboxes":[{"name":"orders","pending":3,"oldest_ms":1200,"published":1000,"failures":2}],` +
		`"consumers":[{"name":"ORDERS/reviews","delivered":100,"redelivered":3,"dead_lettered":1,"in_flight":2},` +
		`{"name":"ORDERS/stats","delivered":7,"redelivered":0,"dead_lettered":0,"in_flight":0}],` +
		`"sagas":[{"name":"order","running":2,"compensating":1,"stuck":1,"completed":100,"failed":3}]`
	if code, body := call(t, "GET", f.url+"/dash/api/messaging", "", nil); code != 200 || strings.TrimSpace(body) != `{"version":1,`+panel+`}` {
		t.Errorf("GET = %d %s, want 200 with %s", code, body, panel)
	}

	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, "GET", f.url+"/dash/api/stream", nil)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	_, data := event(t, bufio.NewReader(resp.Body))
	var snap struct{ Messaging json.RawMessage }
	if err := json.Unmarshal(data, &snap); err != nil {
		t.Fatal(err)
	}
	if got := string(snap.Messaging); got != "{"+panel+"}" {
		t.Errorf("the snapshot's messaging = %s, want {%s}", got, panel)
	}

	untrack()
	if _, body := call(t, "GET", f.url+"/dash/api/messaging", "", nil); strings.Contains(body, "ORDERS/stats") {
		t.Errorf("after untrack: %s, want the stats consumer gone", body)
	}
}
