package watch

import (
	"errors"
	"fmt"
	"testing"
	"testing/synctest"
	"time"

	"github.com/go-kit/kit/sd"

	"github.com/tailorkit/tailor/discovery"
)

func inst(id string, port int) discovery.Instance {
	return discovery.Instance{ID: id, Service: "s", Address: "127.0.0.1", Port: port}
}

func TestCacheSendsOnlyChanges(t *testing.T) {
	synctest.Test(t, testCacheSendsOnlyChanges)
}

func testCacheSendsOnlyChanges(t *testing.T) {
	c := New("s")
	defer c.Stop()
	ch := make(chan sd.Event, 10)
	c.Register(ch)
	if ev := <-ch; len(ev.Instances) != 0 || ev.Err != nil {
		t.Fatalf("first event: got %+v, want the empty state at once", ev)
	}
	now := time.Unix(1000, 0)
	down := errors.New("connection refused")
	steps := []struct {
		name string
		do   func()
		want string // the event sent, or "" for none
	}{
		{"first answer", func() {
			c.Update(discovery.State{Instances: []discovery.Instance{inst("b", 2), inst("a", 1)}, Registered: 2, Updated: now})
		}, "[127.0.0.1:1 127.0.0.1:2] <nil>"},
		{"same answer later", func() {
			c.Update(discovery.State{Instances: []discovery.Instance{inst("a", 1), inst("b", 2)}, Registered: 2, Updated: now.Add(time.Minute)})
		}, ""},
		{"a failure keeps the instances", func() { c.Fail(down) }, "[127.0.0.1:1 127.0.0.1:2] connection refused"},
		{"the same failure again", func() { c.Fail(down) }, ""},
		{"recovery", func() {
			c.Update(discovery.State{Instances: []discovery.Instance{inst("a", 1)}, Registered: 2, Updated: now})
		}, "[127.0.0.1:1] <nil>"},
	}
	for _, s := range steps {
		s.do()
		synctest.Wait()
		got := ""
		select {
		case ev := <-ch:
			got = fmt.Sprint(ev.Instances, " ", ev.Err)
		default:
		}
		if got != s.want {
			t.Errorf("%s: got event %q, want %q", s.name, got, s.want)
		}
	}
	if st := c.State(); st.Failures != 0 || st.Registered != 2 || st.Instances[0].ID != "a" {
		t.Errorf("final state: got %+v", st)
	}
}

// TestSlowSubscriberHoldsBackOnlyItself: a subscriber that stops reading
// must not stop the backend's updates or other subscribers' events.
func TestSlowSubscriberHoldsBackOnlyItself(t *testing.T) {
	synctest.Test(t, testSlowSubscriberHoldsBackOnlyItself)
}

func testSlowSubscriberHoldsBackOnlyItself(t *testing.T) {
	c := New("s")
	stuck := make(chan sd.Event, 1)
	c.Register(stuck) // takes the first state, then nobody reads it
	for k := range 5 {
		c.Update(discovery.State{Instances: []discovery.Instance{inst("a", k+1)}})
	}
	if got := c.State().Instances[0].Port; got != 5 {
		t.Errorf("got port %d in State, want the latest, 5", got)
	}
	reader := make(chan sd.Event, 1)
	c.Register(reader)
	if ev := <-reader; fmt.Sprint(ev.Instances) != "[127.0.0.1:5]" {
		t.Errorf("a new subscriber got %v, want the latest state", ev.Instances)
	}
	c.Deregister(stuck)
	c.Update(discovery.State{Instances: []discovery.Instance{inst("a", 6)}})
	// The sender may still hand reader the state it already had (port 5):
	// a repeat is harmless to go-kit's subscribers. Anything else before
	// port 6 is not.
	for ev := range reader {
		got := fmt.Sprint(ev.Instances)
		if got == "[127.0.0.1:6]" {
			break
		}
		if got != "[127.0.0.1:5]" {
			t.Fatalf("after the stuck subscriber left: got %v, want [127.0.0.1:6] (or a repeat of [127.0.0.1:5])", ev.Instances)
		}
	}
	c.Stop()
}

func TestCacheFailuresCount(t *testing.T) {
	c := New("s")
	for range 3 {
		c.Fail(errors.New("down"))
	}
	if got := c.State().Failures; got != 3 {
		t.Errorf("got %d failures, want 3", got)
	}
	c.Update(discovery.State{})
	if got := c.State().Failures; got != 0 {
		t.Errorf("after an answer: got %d failures, want 0", got)
	}
}

func TestDeregisterUnblocksASend(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		c := New("s")
		defer c.Stop()
		ch := make(chan sd.Event) // nobody reads it
		registered := make(chan struct{})
		go func() { c.Register(ch); close(registered) }()
		synctest.Wait() // Register is blocked sending the first state
		c.Deregister(ch)
		synctest.Wait()
		select {
		case <-registered:
		default:
			t.Fatal("Register is still blocked after Deregister: the send was not abandoned")
		}
		c.Update(discovery.State{Instances: []discovery.Instance{inst("a", 1)}})
	})
}

// TestStuckRegisterBlocksOnlyItself: a Register whose channel nobody reads
// must not hold back another subscriber's Register or events.
func TestStuckRegisterBlocksOnlyItself(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		c := New("s")
		stuck := make(chan sd.Event) // nobody reads it
		go c.Register(stuck)
		synctest.Wait() // that Register is blocked sending the first state
		reader := make(chan sd.Event, 1)
		c.Register(reader) // hung here when one lock serialised every send
		<-reader
		c.Update(discovery.State{Instances: []discovery.Instance{inst("a", 7)}})
		if ev := <-reader; fmt.Sprint(ev.Instances) != "[127.0.0.1:7]" {
			t.Fatalf("got %v, want [127.0.0.1:7]", ev.Instances)
		}
		c.Deregister(stuck)
		c.Stop()
	})
}
