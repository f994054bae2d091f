package main

import (
	"context"

	"github.com/go-kit/kit/endpoint"
)

// Set collects the service's endpoints.
type Set struct {
	SumEndpoint    endpoint.Endpoint
	ConcatEndpoint endpoint.Endpoint
	MaxEndpoint    endpoint.Endpoint
}

// NewSet returns the endpoints of svc.
func NewSet(svc Service) Set {
	return Set{
		SumEndpoint:    MakeSumEndpoint(svc),
		ConcatEndpoint: MakeConcatEndpoint(svc),
		MaxEndpoint:    MakeMaxEndpoint(svc),
	}
}

func MakeSumEndpoint(s Service) endpoint.Endpoint {
	return func(ctx context.Context, request interface{}) (interface{}, error) {
		req := request.(SumRequest)
		v, err := s.Sum(ctx, req.A, req.B)
		return SumResponse{V: v, Err: err}, nil
	}
}

func MakeConcatEndpoint(s Service) endpoint.Endpoint {
	return func(ctx context.Context, request interface{}) (interface{}, error) {
		req := request.(ConcatRequest)
		v, err := s.Concat(ctx, req.A, req.B)
		return ConcatResponse{V: v, Err: err}, nil
	}
}

func MakeMaxEndpoint(s Service) endpoint.Endpoint {
	return func(ctx context.Context, request interface{}) (interface{}, error) {
		req := request.(MaxRequest)
		v, err := s.Max(ctx, req.Values)
		return MaxResponse{V: v, Err: err}, nil
	}
}

var (
	_ endpoint.Failer = SumResponse{}
	_ endpoint.Failer = ConcatResponse{}
	_ endpoint.Failer = MaxResponse{}
)

type SumRequest struct {
	A int `json:"a"`
	B int `json:"b"`
}

type SumResponse struct {
	V   int   `json:"v"`
	Err error `json:"-"`
}

func (r SumResponse) Failed() error { return r.Err }

type ConcatRequest struct {
	A string `json:"a"`
	B string `json:"b"`
}

type ConcatResponse struct {
	V   string `json:"v"`
	Err error  `json:"-"`
}

func (r ConcatResponse) Failed() error { return r.Err }

type MaxRequest struct {
	Values []int `json:"values"`
}

type MaxResponse struct {
	V   int   `json:"v"`
	Err error `json:"-"`
}

func (r MaxResponse) Failed() error { return r.Err }
