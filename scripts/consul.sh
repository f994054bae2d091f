#!/usr/bin/env bash
# Builds, caches and runs the Consul agent the discovery integration tests
# use. Consul has no Debian package; its last MPL-2.0 release, v1.16.1, is a
# Go module on the module proxy (later releases are not open-source licensed
# and must not be used). `go install` refuses it because its go.mod replaces
# five nested modules with folders the module zip lacks, so this script
# downloads the main module and those five, lays them out as the replace
# directives expect, and builds the binary outside tailor's module.
#
#   scripts/consul.sh build          build once (about 5 min cold, ~2.2 GB peak), print the binary's path
#   scripts/consul.sh start [DIR]    start `consul agent -dev` on loopback, non-default ports;
#                                    writes DIR/consul.pid, DIR/consul.addr, DIR/consul.log
#                                    (DIR defaults to .tools/consul-run) and prints the HTTP address
#   scripts/consul.sh stop [DIR]     stop the agent started with start
#
# The binary is cached in ${XDG_CACHE_HOME:-$HOME/.cache}/tailor/consul/v1.16.1/consul
# (override the folder with TAILOR_CONSUL_CACHE). The agent is ready in about
# 0.2 s; it exits with status 1 on SIGTERM, which is normal.
#
# Sourcing the script defines its functions without running a command
# (scripts/check-scripts.sh tests them that way).
set -Eeuo pipefail
trap 'status=$?; echo "consul.sh: line $LINENO failed with exit status $status" >&2' ERR

CONSUL_VERSION=v1.16.1
# The nested modules consul v1.16.1 replaces with local folders, at the
# versions its release pins (all MPL-2.0).
NESTED=(
	"github.com/hashicorp/consul/api@v1.24.0"
	"github.com/hashicorp/consul/envoyextensions@v0.4.1"
	"github.com/hashicorp/consul/proto-public@v0.4.1"
	"github.com/hashicorp/consul/sdk@v0.14.1"
	"github.com/hashicorp/consul/troubleshoot@v0.3.1"
)
# The checksum database has no entry for envoyextensions v0.4.1; this is the
# hash troubleshoot v0.3.1's go.sum records for it, checked by hand below.
ENVOYEXT_SUM="h1:7s3IXE+qmwjPbZPva+8BjHLrpkFrFkNE+z/6X/O6PQc="

export PATH="/usr/local/go/bin:$PATH"
root=$(cd "$(dirname "$0")/.." && pwd)
cache="${TAILOR_CONSUL_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/tailor/consul/$CONSUL_VERSION}"
bin="$cache/consul"

die() {
	echo "consul.sh: $*" >&2
	exit 1
}

# json_field FIELD JSON prints the first string field FIELD of JSON, the
# output of `go mod download -json`. Every reader reads to the end: one that
# stops early (head) kills its writer with SIGPIPE, which pipefail turns
# into the script's failure.
json_field() { sed -n "s/^[[:space:]]*\"$1\": \"\(.*\)\",\{0,1\}\$/\1/p" <<<"$2" | sed -n 1p; }

# version_line BINARY prints the first line of `BINARY version`. It reads
# the whole output first: `BINARY version | head -n 1` lets head exit after
# one line, and a binary still writing then dies of SIGPIPE (status 141),
# which pipefail makes the script's failure, with no message.
version_line() {
	local out
	out=$("$1" version) || return
	printf '%s\n' "${out%%$'\n'*}"
}

download() { # MODULE@VERSION [extra env...] -> prints the module's folder
	local mod=$1 out
	shift
	out=$(env "$@" go mod download -json "$mod") || die "go mod download $mod failed: $out"
	printf '%s\n' "$out"
}

build() {
	if [ -x "$bin" ]; then
		echo "$bin"
		return
	fi
	mkdir -p "$cache"
	exec 9>"$cache/.lock"
	flock 9 # one build at a time; a second caller waits and reuses the result
	if [ -x "$bin" ]; then
		echo "$bin"
		return
	fi
	local work
	work=$(mktemp -d "${TMPDIR:-/tmp}/consul-build.XXXXXX")
	trap 'chmod -R u+w "$work" 2>/dev/null; rm -rf "$work"' RETURN
	cd "$work" # outside any module, so nothing enters tailor's go.mod
	export GOFLAGS="" GOTOOLCHAIN=local GOWORK=off

	echo "consul.sh: downloading github.com/hashicorp/consul@$CONSUL_VERSION and its nested modules" >&2
	local main_dir info
	info=$(download "github.com/hashicorp/consul@$CONSUL_VERSION")
	main_dir=$(json_field Dir "$info")
	[ -n "$main_dir" ] || die "no folder for github.com/hashicorp/consul@$CONSUL_VERSION"
	cp -r "$main_dir" "$work/src"
	chmod -R u+w "$work/src"

	local mod path version dir sum target
	for mod in "${NESTED[@]}"; do
		path=${mod%@*}
		version=${mod#*@}
		if [ "$path" = github.com/hashicorp/consul/envoyextensions ]; then
			info=$(download "$mod" GONOSUMDB="$path")
			sum=$(json_field Sum "$info")
			[ "$sum" = "$ENVOYEXT_SUM" ] ||
				die "$mod has hash $sum, want $ENVOYEXT_SUM (from troubleshoot v0.3.1's go.sum); refusing to build"
		else
			info=$(download "$mod")
		fi
		dir=$(json_field Dir "$info")
		[ -n "$dir" ] || die "no folder for $mod"
		# The folder consul's replace directive names for this module.
		target=$(awk -v p="$path" '{
			for (i = 1; i < NF; i++) if ($i == p) {
				if ($(i + 1) == "=>") { print $(i + 2); exit }
				if ($(i + 2) == "=>") { print $(i + 3); exit }
			}
		}' "$work/src/go.mod")
		[ -n "$target" ] || die "consul's go.mod has no replace directive for $path"
		rm -rf "$work/src/${target#./}"
		cp -r "$dir" "$work/src/${target#./}"
		chmod -R u+w "$work/src/${target#./}"
	done

	echo "consul.sh: building consul $CONSUL_VERSION (cold: about 5 min on 2 cores, ~2.2 GB)" >&2
	(cd "$work/src" && go build -ldflags "-s -w" -o "$work/consul" .) || die "go build of consul $CONSUL_VERSION failed; see the compiler's output above"
	local built
	built=$(version_line "$work/consul") || die "the consul binary just built does not run (\`consul version\` failed); see above"
	mv "$work/consul" "$bin"
	echo "consul.sh: built $built" >&2
	echo "$bin"
}

port_free() { ! (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

start() {
	local dir=${1:-$root/.tools/consul-run}
	(build >/dev/null)
	mkdir -p "$dir"
	if [ -f "$dir/consul.pid" ] && kill -0 "$(cat "$dir/consul.pid")" 2>/dev/null; then
		cat "$dir/consul.addr"
		return
	fi
	# Six consecutive ports away from Consul's defaults (8300-8600), moved on
	# when another agent (another run's) already holds them. Two runs may
	# pick the same free ports at once; the one whose agent fails to bind
	# moves on.
	local base=${TAILOR_CONSUL_PORT_BASE:-18500} p ok pid http
	for _ in $(seq 1 20); do
		for _ in $(seq 1 50); do
			ok=1
			for p in $(seq "$base" $((base + 5))); do port_free "$p" || ok=0; done
			[ "$ok" = 1 ] && break
			base=$((base + 10))
		done
		[ "$ok" = 1 ] || die "no six free ports on 127.0.0.1 from ${TAILOR_CONSUL_PORT_BASE:-18500}; set TAILOR_CONSUL_PORT_BASE"
		http=$base
		"$bin" agent -dev -bind 127.0.0.1 -client 127.0.0.1 -log-level warn \
			-hcl "ports { http = $http, server = $((base + 1)), serf_lan = $((base + 2)), serf_wan = $((base + 3)), grpc = $((base + 4)), grpc_tls = $((base + 5)), dns = -1 }" \
			>"$dir/consul.log" 2>&1 &
		pid=$!
		echo "$pid" >"$dir/consul.pid"
		echo "127.0.0.1:$http" >"$dir/consul.addr"
		for _ in $(seq 1 100); do
			kill -0 "$pid" 2>/dev/null || break
			# Ready when it has a leader and is still ours (alive).
			if curl -fsS "http://127.0.0.1:$http/v1/status/leader" 2>/dev/null | grep -q ':' && kill -0 "$pid" 2>/dev/null; then
				cat "$dir/consul.addr"
				return
			fi
			sleep 0.1
		done
		if kill -0 "$pid" 2>/dev/null; then
			break # alive but not ready: report it
		fi
		base=$((base + 10)) # it could not bind: try further on
	done
	cat "$dir/consul.log" >&2
	die "the consul agent did not elect itself leader on 127.0.0.1:$http within 10 s; see the log above"
}

stop() {
	local dir=${1:-$root/.tools/consul-run} pid
	[ -f "$dir/consul.pid" ] || return 0
	pid=$(cat "$dir/consul.pid")
	kill "$pid" 2>/dev/null || true
	for _ in $(seq 1 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
	rm -f "$dir/consul.pid"
}

if [ "${BASH_SOURCE[0]}" = "$0" ]; then
	case "${1:-}" in
	build) build ;;
	start) start "${2:-}" ;;
	stop) stop "${2:-}" ;;
	*) die "usage: scripts/consul.sh build|start [DIR]|stop [DIR]" ;;
	esac
fi
