// Package http is tailor's HTTP transport: go-kit's transport/http with
// tailor's error model, request IDs, recovery and sane defaults.
//
// Server side, start with [NewRouter], which routes with the standard
// library's method-and-path patterns and gives every request an ID and
// panic recovery, and [NewServer], which wraps a go-kit endpoint with a
// decoder and an encoder and answers every error as RFC 9457
// application/problem+json ([EncodeError]). [DecodeJSON] reads a typed
// request with a body-size limit (413), a content-type check (415),
// malformed-JSON detection (400) and a validation hook (422); [EncodeJSON]
// writes the response.
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
// decoding errors refine InvalidArgument into 413, 415 and 422. Bodies of
// 5xx answers never carry internal error text.
package http
