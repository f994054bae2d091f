package dashboard

import (
	"errors"
	"io"
	"reflect"
	"strings"
	"testing"
)

func readEvents(t *testing.T, s string) ([]sseEvent, error) {
	t.Helper()
	rd := newSSEReader(strings.NewReader(s))
	var out []sseEvent
	for {
		e, err := rd.next()
		if err != nil {
			return out, err
		}
		out = append(out, e)
	}
}

func TestSSEReader(t *testing.T) {
	tests := []struct {
		name string
		in   string
		want []sseEvent
	}{
		{"one", "event: snapshot\ndata: {}\n\n", []sseEvent{{"snapshot", "{}"}}},
		{"default name", "data: x\n\n", []sseEvent{{"message", "x"}}},
		{"lines joined", "data: a\ndata: b\n\n", []sseEvent{{"message", "a\nb"}}},
		{"CRLF and CR", "event: a\r\ndata: 1\r\n\r\nevent: b\rdata: 2\r\r", []sseEvent{{"a", "1"}, {"b", "2"}}},
		{"no space, colon in value", "data:a:b\n\n", []sseEvent{{"message", "a:b"}}},
		{"only one space dropped", "data:  x\n\n", []sseEvent{{"message", " x"}}},
		{"field without colon", "data\n\n", []sseEvent{{"message", ""}}},
		{"comments and unknown fields", ": hi\nid: 7\nretry: 10\nfoo: bar\ndata: x\n\n", []sseEvent{{"message", "x"}}},
		{"no data: dropped, name reset", "event: a\n\ndata: x\n\n", []sseEvent{{"message", "x"}}},
		{"cut off at the end: dropped", "data: x\n\ndata: y\n", []sseEvent{{"message", "x"}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := readEvents(t, tt.in)
			if !errors.Is(err, io.EOF) {
				t.Errorf("error = %v, want io.EOF", err)
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("events = %q, want %q", got, tt.want)
			}
		})
	}
}

func TestSSEReaderBounds(t *testing.T) {
	long := strings.Repeat("x", maxEventBytes/2)
	for name, in := range map[string]string{
		"one long line": "data: " + strings.Repeat("x", maxEventBytes+1) + "\n\n",
		"many lines":    "data: " + long + "\ndata: " + long + "\ndata: " + long + "\n\n",
	} {
		t.Run(name, func(t *testing.T) {
			if _, err := readEvents(t, in); !errors.Is(err, errEventTooLarge) {
				t.Errorf("error = %v, want errEventTooLarge", err)
			}
		})
	}
}

// FuzzSSEReader reads any bytes without panicking, within the bounds, and
// checks that what it read reads back the same once written.
func FuzzSSEReader(f *testing.F) {
	for _, s := range []string{"event: snapshot\ndata: {}\n\n", "data: a\r\ndata: b\r\r", ": c\nevent\ndata\n\n", "data: x\r"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, in string) {
		events, err := readEvents(t, in)
		if err != nil && !errors.Is(err, io.EOF) && !errors.Is(err, errEventTooLarge) {
			t.Fatalf("error %v", err)
		}
		var b strings.Builder
		for _, e := range events {
			if len(e.data) > maxEventBytes || strings.ContainsAny(e.name, "\r\n") || strings.Contains(e.data, "\r") {
				t.Fatalf("event %q breaks the bounds", e)
			}
			if err := writeEvent(&b, e); err != nil {
				t.Fatal(err)
			}
		}
		again, err := readEvents(t, b.String())
		if !errors.Is(err, io.EOF) {
			t.Fatalf("reading back: %v", err)
		}
		if len(again) != len(events) || (len(events) > 0 && !reflect.DeepEqual(again, events)) {
			t.Fatalf("read back %q, want %q", again, events)
		}
	})
}
