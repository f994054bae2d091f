package requestid_test

import (
	"context"
	"fmt"
	"testing"

	"github.com/tailorkit/tailor/requestid"
)

func TestNewIsUniqueAndValid(t *testing.T) {
	seen := make(map[string]bool, 10000)
	for range 10000 {
		id := requestid.New()
		if len(id) != 20 || !requestid.Valid(id) {
			t.Fatalf("New() = %q, want %d valid characters", id, 20)
		}
		if seen[id] {
			t.Fatalf("New() gave %q twice", id)
		}
		seen[id] = true
	}
}

func TestValid(t *testing.T) {
	long := make([]byte, requestid.MaxLen+1)
	for i := range long {
		long[i] = 'a'
	}
	tests := []struct {
		id   string
		want bool
	}{
		{"abc-123_XYZ.:/", true},
		{"", false},
		{"has space", false},
		{"tab\there", false},
		{"é", false},
		{string(long[:requestid.MaxLen]), true},
		{string(long), false},
	}
	for _, tt := range tests {
		if got := requestid.Valid(tt.id); got != tt.want {
			t.Errorf("Valid(%q) = %v, want %v", tt.id, got, tt.want)
		}
	}
}

func ExampleNewContext() {
	ctx := requestid.NewContext(context.Background(), "req-42")
	fmt.Println(requestid.FromContext(ctx), requestid.FromContext(context.Background()) == "")
	// Output: req-42 true
}

func ExampleNew() {
	id := requestid.New()
	fmt.Println(len(id), requestid.Valid(id))
	// Output: 20 true
}

func ExampleValid() {
	fmt.Println(requestid.Valid("req-42"), requestid.Valid("two words"), requestid.Valid(""))
	// Output: true false false
}
