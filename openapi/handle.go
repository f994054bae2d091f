package openapi

import (
	kithttp "github.com/go-kit/kit/transport/http"

	"github.com/tailorkit/tailor"
	thttp "github.com/tailorkit/tailor/transport/http"
)

// Handle registers f on r for pattern as a go-kit server
// ([thttp.NewServer] with dec, enc and opts) and records its operation in
// d ([Route]) with f's request and response types, in one call, so the
// document cannot drift from the routes. It panics where [Route] or
// [thttp.Router.Handle] do.
func Handle[Req, Resp any](d *Document, r *thttp.Router, pattern string, f tailor.Func[Req, Resp],
	dec kithttp.DecodeRequestFunc, enc kithttp.EncodeResponseFunc, op Op, opts ...kithttp.ServerOption) {
	Route[Req, Resp](d, pattern, op)
	r.Handle(pattern, thttp.NewServer(tailor.Endpoint(f), dec, enc, opts...))
}
