#!/usr/bin/env bash
# Installs the tools the checks need, at pinned versions, into .tools/bin
# (ignored by git): staticcheck from the Go module proxy, and protoc from
# Debian's protobuf-compiler when it is missing and the script runs as root.
# The protoc plugins are installed by scripts/protoc.sh.
set -euo pipefail

STATICCHECK_VERSION=v0.8.2

root=$(git rev-parse --show-toplevel)
cd "$root"
bin="$root/.tools/bin"
mkdir -p "$bin"

if [ ! -x "$bin/staticcheck" ] || ! "$bin/staticcheck" -version 2>/dev/null | grep -q "${STATICCHECK_VERSION#v}"; then
	GOBIN="$bin" go install "honnef.co/go/tools/cmd/staticcheck@${STATICCHECK_VERSION}"
fi

if ! command -v protoc >/dev/null 2>&1; then
	if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
		apt-get update -qq
		DEBIAN_FRONTEND=noninteractive apt-get install -y -qq protobuf-compiler >/dev/null
	else
		echo "tools.sh: protoc not found; install it (Debian/Ubuntu: sudo apt-get install protobuf-compiler) and rerun" >&2
		exit 1
	fi
fi
echo "tools: staticcheck $("$bin/staticcheck" -version | awk '{print $2}'), $(protoc --version)"
