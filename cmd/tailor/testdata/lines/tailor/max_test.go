package calc

import (
	"context"
	"testing"
)

func TestMax(t *testing.T) {
	s := NewService(newFakeRepository())
	if got, err := s.Max(context.Background(), MaxCalcRequest{Values: []int{3, 1, 2}}); err != nil || got.V != 3 {
		t.Errorf("Max: got %v, %v; want 3", got.V, err)
	}
}
