package calc

import (
	"context"
	"slices"

	"github.com/tailorkit/tailor/fault"
)

// MaxCalcRequest is the input of POST /v1/max: its JSON body.
type MaxCalcRequest struct {
	Values []int `json:"values"`
}

// MaxCalcResponse is the answer of POST /v1/max.
type MaxCalcResponse struct {
	V int `json:"v"`
}

// Max serves POST /v1/max. Until you write its logic, it answers an empty object.
func (s *Service) Max(ctx context.Context, req MaxCalcRequest) (MaxCalcResponse, error) {
	if len(req.Values) == 0 {
		return MaxCalcResponse{}, fault.New(fault.InvalidArgument, "values must not be empty")
	}
	return MaxCalcResponse{V: slices.Max(req.Values)}, nil
}
