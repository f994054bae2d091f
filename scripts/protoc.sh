#!/usr/bin/env bash
# Regenerates the Go code of every .proto file in the repository.
#
# Usage: scripts/protoc.sh   (from anywhere inside the repository)
#
# It installs the pinned protoc plugins into .tools/bin (ignored by git), so
# every machine generates the same bytes, and installs protoc itself from
# the Debian package protobuf-compiler when it is missing and the script runs
# as root. The generated .pb.go files are committed; CI runs
# scripts/check-generated.sh to make sure they are current.
set -euo pipefail

# Pinned generator versions. Change them here only, then rerun this script
# and commit the regenerated files.
PROTOC_GEN_GO_VERSION=v1.36.12
PROTOC_GEN_GO_GRPC_VERSION=v1.6.2
# The protoc release whose output is committed (its version is written into
# every .pb.go file): Debian bookworm's protobuf-compiler.
PROTOC_VERSION=3.21.12

# Every .proto file in the repository, relative to its root. Add new ones
# here; scripts/check-generated.sh fails on any .proto missing from this list.
PROTOS=(
	transport/grpc/internal/testpb/echo.proto
	examples/shop/catalog/catalogpb/catalog.proto
	bench/internal/orderpb/order.proto
)

root=$(git rev-parse --show-toplevel)
cd "$root"

bin="$root/.tools/bin"
mkdir -p "$bin"
GOBIN="$bin" go install "google.golang.org/protobuf/cmd/protoc-gen-go@${PROTOC_GEN_GO_VERSION}"
GOBIN="$bin" go install "google.golang.org/grpc/cmd/protoc-gen-go-grpc@${PROTOC_GEN_GO_GRPC_VERSION}"

# protoc and the well-known types the .proto files import
# (google/protobuf/timestamp.proto), which Debian ships apart, in
# libprotobuf-dev: an install without recommended packages lacks them.
wkt=/usr/include/google/protobuf/timestamp.proto
if ! command -v protoc >/dev/null 2>&1 || [ ! -f "$wkt" ]; then
	if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
		echo "protoc.sh: protoc or its well-known types not found; installing Debian's protobuf-compiler and libprotobuf-dev" >&2
		apt-get update -qq
		DEBIAN_FRONTEND=noninteractive apt-get install -y -qq protobuf-compiler libprotobuf-dev >/dev/null
	else
		echo "protoc.sh: protoc or $wkt not found; install them" \
			"(Debian/Ubuntu: sudo apt-get install protobuf-compiler libprotobuf-dev) and rerun" >&2
		exit 1
	fi
fi

have=$(protoc --version | awk '{print $2}')
if [ "$have" != "$PROTOC_VERSION" ]; then
	echo "protoc.sh: warning: protoc is $have, the committed files were made with $PROTOC_VERSION;" \
		"the version comment in every .pb.go file will change" >&2
fi

for proto in "${PROTOS[@]}"; do
	if [ ! -f "$proto" ]; then
		echo "protoc.sh: $proto is listed in scripts/protoc.sh but does not exist; remove it from PROTOS" >&2
		exit 1
	fi
	PATH="$bin:$PATH" protoc \
		--proto_path=. \
		--go_out=. --go_opt=paths=source_relative \
		--go-grpc_out=. --go-grpc_opt=paths=source_relative \
		"$proto"
done

echo "protoc.sh: generated ${#PROTOS[@]} file(s) with $(protoc --version), protoc-gen-go ${PROTOC_GEN_GO_VERSION}, protoc-gen-go-grpc ${PROTOC_GEN_GO_GRPC_VERSION}"
