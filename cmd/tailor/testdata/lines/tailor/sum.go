package calc

import (
	"context"
	"math"

	"github.com/tailorkit/tailor/fault"
)

// SumCalcRequest is the input of POST /v1/sum: its JSON body.
type SumCalcRequest struct {
	A int `json:"a"`
	B int `json:"b"`
}

// SumCalcResponse is the answer of POST /v1/sum.
type SumCalcResponse struct {
	V int `json:"v"`
}

// Sum serves POST /v1/sum. Until you write its logic, it answers an empty object.
func (s *Service) Sum(ctx context.Context, req SumCalcRequest) (SumCalcResponse, error) {
	if (req.B > 0 && req.A > math.MaxInt-req.B) || (req.B < 0 && req.A < math.MinInt-req.B) {
		return SumCalcResponse{}, fault.New(fault.InvalidArgument, "integer overflow")
	}
	return SumCalcResponse{V: req.A + req.B}, nil
}
