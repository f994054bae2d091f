// Package testpb holds the generated code of the Echo service that the
// transport/grpc tests and examples call over real gRPC.
package testpb

//go:generate bash ../../../../scripts/protoc.sh
