// Package http is tailor's HTTP transport: go-kit's transport/http with
// tailor's error model, request IDs, recovery and sane defaults.
//
// Server side, start with [NewRouter], which routes with the standard
// library's method-and-path patterns and gives every request an ID and
// panic recovery, and [NewServer], which wraps a go-kit endpoint with a
// decoder and an encoder and answers every error as RFC 9457
// application/problem+json ([EncodeError]). [DecodeJSON] reads a typed
// request with a body-size limit (413), content-type and content-encoding
// checks (415), detection of input that cannot be read as the request type
// (400: malformed JSON or UTF-8, wrong types, unknown, case-folded or
// duplicate keys) and a validation hook (422); [EncodeJSON] writes the
// response.
//
//	router := http.NewRouter()
//	router.Handle("POST /v1/products", http.NewServer(
//		tailor.Endpoint(svc.CreateProduct),
//		http.DecodeJSON[CreateProductRequest](),
//		http.EncodeJSON(201),
//	))
//
// Client side, [NewClient] builds a go-kit client endpoint on a tuned
// [http.Transport] ([NewTransport]) that sends the request ID, sends JSON
// bodies with a Content-Length ([EncodeJSONRequest]) and turns problem+json
// answers back into [*fault.Error] values of the same kind, so a caller sees
// "not found" as [fault.NotFound].
//
// Status codes: every [fault.Kind] has one (see [fault.Kind.HTTPStatus]);
// the Router and the decoders refine InvalidArgument into 405, 413, 414,
// 415, 422 and 431. Bodies of 5xx answers never carry internal error text.
// A client call that got no answer is classified by [fault.KindOf], as
// metrics and spans classify it.
package http
