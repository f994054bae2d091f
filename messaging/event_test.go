package messaging_test

import (
	"context"
	"encoding/json"
	"errors"
	"testing"
	"time"

	"github.com/tailorkit/tailor/messaging"
)

func TestDecodeEvent(t *testing.T) {
	tests := []struct {
		name string
		body string
		want error
	}{
		{"valid", `{"id":"1","type":"a","time":"2030-01-01T00:00:00Z","version":1,"data":{}}`, nil},
		{"valid without aggregate", `{"id":"1","type":"a","version":2,"data":null}`, nil},
		{"not JSON", `hello`, messaging.ErrMalformed},
		{"empty", ``, messaging.ErrMalformed},
		{"no id", `{"type":"a","version":1,"data":{}}`, messaging.ErrMalformed},
		{"no type", `{"id":"1","version":1,"data":{}}`, messaging.ErrMalformed},
		{"version 0", `{"id":"1","type":"a","version":0,"data":{}}`, messaging.ErrMalformed},
		{"no data", `{"id":"1","type":"a","version":1}`, messaging.ErrMalformed},
		{"trailing data", `{"id":"1","type":"a","version":1,"data":{}} {}`, messaging.ErrMalformed},
		{"version is a string", `{"id":"1","type":"a","version":"1","data":{}}`, messaging.ErrMalformed},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := messaging.DecodeEvent([]byte(tt.body))
			if !errors.Is(err, tt.want) || (tt.want == nil) != (err == nil) {
				t.Errorf("DecodeEvent(%s) = %v, want %v", tt.body, err, tt.want)
			}
		})
	}
}

type Placed struct {
	Order string `json:"order"`
	Total int64  `json:"total"`
}

func TestTypeDecode(t *testing.T) {
	v1 := messaging.Type[Placed]{Name: "order.placed"}
	v2 := messaging.Type[Placed]{Name: "order.placed", Version: 2}
	other := messaging.Type[Placed]{Name: "order.cancelled"}
	e, err := v1.New("o-1", Placed{Order: "o-1", Total: 1999})
	if err != nil {
		t.Fatal(err)
	}
	e2, _ := v2.New("o-1", Placed{Order: "o-1"})
	bad := e
	bad.Data = json.RawMessage(`{"total":"lots"}`)
	tests := []struct {
		name string
		typ  messaging.Type[Placed]
		e    messaging.Event
		want error
	}{
		{"same type and version", v1, e, nil},
		{"newer version than known", v1, e2, messaging.ErrUnknownVersion},
		{"older version than known", v2, e, messaging.ErrUnknownVersion},
		{"other type", other, e, messaging.ErrWrongType},
		{"payload does not fit", v1, bad, messaging.ErrMalformed},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p, err := tt.typ.Decode(tt.e)
			if !errors.Is(err, tt.want) || (tt.want == nil) != (err == nil) {
				t.Fatalf("Decode = %v, want %v", err, tt.want)
			}
			if err == nil && p != (Placed{Order: "o-1", Total: 1999}) {
				t.Errorf("got %+v, want order o-1 for 1999", p)
			}
		})
	}
}

func TestEventRoundTrip(t *testing.T) {
	typ := messaging.Type[Placed]{Name: "order.placed", Version: 3}
	e, err := typ.New("o-9", Placed{Order: "o-9", Total: 5})
	if err != nil {
		t.Fatal(err)
	}
	body, err := e.Encode()
	if err != nil {
		t.Fatal(err)
	}
	got, err := messaging.DecodeEvent(body)
	if err != nil {
		t.Fatal(err)
	}
	if got.ID != e.ID || got.Type != e.Type || got.Aggregate != "o-9" || got.Version != 3 || !got.Time.Equal(e.Time) || string(got.Data) != string(e.Data) {
		t.Errorf("got %+v, want %+v", got, e)
	}
	if time.Since(got.Time) < 0 || time.Since(got.Time) > time.Hour {
		t.Errorf("event time %v is not about now", got.Time)
	}
}

func TestHandlerMarksDecodeErrorsPermanent(t *testing.T) {
	h := messaging.Type[Placed]{Name: "order.placed"}.Handler(func(context.Context, messaging.Event, Placed) error { return nil })
	e, _ := messaging.Type[Placed]{Name: "order.placed", Version: 2}.New("o", Placed{})
	if err := h(context.Background(), e); !messaging.IsPermanent(err) || !errors.Is(err, messaging.ErrUnknownVersion) {
		t.Errorf("handler error %v, want a permanent ErrUnknownVersion", err)
	}
	if messaging.Permanent(nil) != nil {
		t.Error("Permanent(nil) != nil")
	}
}

func FuzzDecodeEvent(f *testing.F) {
	f.Add([]byte(`{"id":"1","type":"a","aggregate":"x","time":"2030-01-01T00:00:00Z","version":1,"data":{"k":[1,2]}}`))
	f.Add([]byte(`{"id":"","type":"a","version":-1,"data":"s"}`))
	f.Add([]byte(`{"data":{"deep":{"deeper":[[[[]]]]}}}`))
	f.Add([]byte(`[]`))
	f.Fuzz(func(t *testing.T, body []byte) {
		e, err := messaging.DecodeEvent(body)
		if err != nil {
			if !errors.Is(err, messaging.ErrMalformed) {
				t.Fatalf("error %v is not ErrMalformed", err)
			}
			return
		}
		// What decodes encodes, and decodes to the same event.
		again, err := e.Encode()
		if err != nil {
			t.Fatalf("decoded event %+v does not encode: %v", e, err)
		}
		e2, err := messaging.DecodeEvent(again)
		if err != nil {
			t.Fatalf("re-encoded event does not decode: %v", err)
		}
		if e2.ID != e.ID || e2.Type != e.Type || e2.Version != e.Version || !e2.Time.Equal(e.Time) {
			t.Fatalf("round trip changed %+v into %+v", e, e2)
		}
	})
}
