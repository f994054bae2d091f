package main

import (
	"context"
	"errors"
)

// Service computes sums, concatenations and maxima.
type Service interface {
	Sum(ctx context.Context, a, b int) (int, error)
	Concat(ctx context.Context, a, b string) (string, error)
	Max(ctx context.Context, values []int) (int, error)
}

var (
	ErrIntOverflow = errors.New("integer overflow")
	ErrTooLong     = errors.New("result exceeds maximum length")
	ErrEmpty       = errors.New("values must not be empty")
)

const maxLen = 10

type basicService struct{}

// NewService returns the Service.
func NewService() Service { return basicService{} }

func (basicService) Sum(_ context.Context, a, b int) (int, error) {
	if (b > 0 && a > int(^uint(0)>>1)-b) || (b < 0 && a < -int(^uint(0)>>1)-1-b) {
		return 0, ErrIntOverflow
	}
	return a + b, nil
}

func (basicService) Concat(_ context.Context, a, b string) (string, error) {
	if len(a)+len(b) > maxLen {
		return "", ErrTooLong
	}
	return a + b, nil
}

func (basicService) Max(_ context.Context, values []int) (int, error) {
	if len(values) == 0 {
		return 0, ErrEmpty
	}
	m := values[0]
	for _, v := range values[1:] {
		m = max(m, v)
	}
	return m, nil
}
