#!/usr/bin/env bash
# Runs tailor's side-by-side benchmarks and prints their tables; see
# bench/README.md. Flags go to cmd/bench:
#
#	bench/run.sh                       # every table: about 9 minutes
#	bench/run.sh -quick                # a smoke test: about 1 minute
#	bench/run.sh -tables http -cpuprofile /tmp/prof
#
# It needs two cores, taskset and wrk; it installs Debian's wrk when it is
# missing and it runs as root.
set -Eeuo pipefail
trap 'status=$?; echo "bench/run.sh: line $LINENO failed with exit status $status" >&2' ERR
cd "$(dirname "$0")"
export PATH="/usr/local/go/bin:$PATH"

if ! command -v wrk >/dev/null 2>&1; then
	if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
		echo "run.sh: installing Debian's wrk" >&2
		apt-get update -qq
		DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends wrk >/dev/null
	else
		echo "run.sh: wrk not found; install it (Debian/Ubuntu: sudo apt-get install wrk) and rerun" >&2
		exit 1
	fi
fi
command -v taskset >/dev/null 2>&1 || {
	echo "run.sh: taskset not found; install util-linux and rerun" >&2
	exit 1
}

bin=$(mktemp -d "${TMPDIR:-/tmp}/tailor-bench-bin.XXXXXX")
trap 'rm -rf "$bin"' EXIT
go build -o "$bin/" ./cmd/server ./cmd/grpcload ./cmd/httpclient ./cmd/dashwatch ./cmd/bench
"$bin/bench" -bin "$bin" "$@"
