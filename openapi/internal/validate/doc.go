// Package validate checks tailor's OpenAPI documents with a real OpenAPI
// 3.1 validator (pb33f/libopenapi and libopenapi-validator): documents
// must be valid, and a running service's requests and answers must match
// its document. It is a module of its own, so tailor's module does not
// depend on the validator; run its tests from this folder with
// `go test -race ./...`. It builds tailor from this checkout (a replace
// directive); when tailor's go.mod changes, run `go mod tidy` here too.
package validate
