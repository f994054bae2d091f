package calc

import (
	"context"

	"github.com/tailorkit/tailor/fault"
)

// ConcatCalcRequest is the input of POST /v1/concat: its JSON body.
type ConcatCalcRequest struct {
	A string `json:"a"`
	B string `json:"b"`
}

// ConcatCalcResponse is the answer of POST /v1/concat.
type ConcatCalcResponse struct {
	V string `json:"v"`
}

// Concat serves POST /v1/concat. Until you write its logic, it answers an empty object.
func (s *Service) Concat(ctx context.Context, req ConcatCalcRequest) (ConcatCalcResponse, error) {
	if len(req.A)+len(req.B) > 10 {
		return ConcatCalcResponse{}, fault.New(fault.InvalidArgument, "result exceeds maximum length")
	}
	return ConcatCalcResponse{V: req.A + req.B}, nil
}
