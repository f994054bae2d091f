// Package catalogpb holds the generated code of the catalog's gRPC API,
// the CatalogService of catalog.proto. Serve it with
// [github.com/tailorkit/tailor/examples/shop/catalog.RegisterGRPC] and
// call it with
// [github.com/tailorkit/tailor/examples/shop/catalog.NewGRPCClient], which
// speak the catalog's Go types; the messages here are the wire format.
package catalogpb

//go:generate bash ../../../../scripts/protoc.sh
