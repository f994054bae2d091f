// Package openapi builds an OpenAPI 3.1 document from the routes a service
// registers with typed endpoints, and serves it.
//
// Start with [New] for a [Document], then register each route with
// [Handle], which serves a [tailor.Func] on a [thttp.Router] and records
// its operation with the function's request and response types in one
// call, so the document cannot drift from the routes. [Route] records an
// operation alone, for routes registered some other way. Serve the
// document with [Document.Handler] at "GET /openapi.json"; a gateway
// serves one public document made with [Merge] from its services'.
//
// Every operation documents its errors as application/problem+json bodies
// with the shared schema "Problem" (RFC 9457's type, title, status, detail
// and instance, and tailor's kind, request_id and violations, as
// transport/http writes them): 500 always; 400 for routes with
// parameters or a body; 413, 415 and 422 for routes with a JSON body
// (POST, PUT, PATCH); 401 and 403 for routes with security; and those
// listed in [Op.Errors].
//
// Go types become JSON Schema 2020-12 as encoding/json encodes them:
//   - struct fields by their json tag or Go name, embedded structs
//     flattened, `json:"-"` left out; a field without omitempty or
//     omitzero is required, unless it comes from a struct embedded
//     through a pointer, which a nil pointer leaves out;
//   - a named struct type is a component under components/schemas, named
//     by its Go name (a generic one's type arguments joined with "_"),
//     and referenced; two types of one name are an error wrapping
//     [ErrConflict];
//   - a pointer also allows null, and so do slices and maps, which
//     encoding/json writes as null when nil; []byte is a base64 string;
//     a map is an object whose additionalProperties are its values;
//   - time.Time is a date-time string; a type with a MarshalText method is
//     a string and one with a MarshalJSON method allows any value;
//   - integers carry format int32 or int64, and unsigned ones minimum 0;
//   - a `jsonschema` struct tag adds what types cannot say, such as
//     `jsonschema:"description=Page size,minimum=1,maximum=100"`; see
//     below for its keys.
//
// Rules a request type checks in its Validate method are not visible to
// reflection; state them with the `jsonschema` tag. Its value is a list of
// key=value pairs separated by commas (a comma in a value is written
// "\,"); the keys are description, title, format, pattern, example,
// minimum, maximum, exclusiveMinimum, exclusiveMaximum, multipleOf,
// minLength, maxLength, minItems, maxItems, enum (values separated by
// "|") and deprecated (no value).
//
// Path parameters come from the pattern's wildcards and are strings
// unless a field of the request type tagged `path:"name"` says more. Query
// parameters come from fields of the request type tagged `query:"name"`
// and from [Op.Query], header parameters from [Op.Headers]. The document
// is written with its keys sorted, so equal routes give equal bytes.
//
// The schemas are written by this package rather than by a general Go to
// JSON Schema library: what it must follow is encoding/json together with
// tailor's decoders, and it needs no dependency beyond the standard
// library.
package openapi
