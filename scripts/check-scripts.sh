#!/usr/bin/env bash
# Checks the shell scripts CI runs: every one must parse (bash -n), and the
# helpers of scripts/consul.sh must survive the ways a pipeline fails under
# `set -o pipefail`. CI runs it before any script it checks:
#
#	scripts/check-scripts.sh
set -euo pipefail

root=$(git rev-parse --show-toplevel)
cd "$root"

fail=0
check() { # NAME GOT WANT
	if [ "$2" != "$3" ]; then
		echo "check-scripts: $1: got \"$2\", want \"$3\"" >&2
		fail=1
	fi
}

for script in scripts/*.sh bench/run.sh deploy/capacity/*.sh .ci/run; do
	if ! bash -n "$script"; then
		echo "check-scripts: $script does not parse; see the error above" >&2
		fail=1
	fi
done

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

# A binary whose `version` prints far more than a pipe holds (64 KiB), as a
# Go program writing line by line does: a reader that stops after one line
# leaves it to die of SIGPIPE.
cat >"$tmp/consul" <<'EOF'
#!/usr/bin/env bash
echo "Consul v1.16.1"
yes "Revision 3b06e4d8" | head -n 200000
EOF
chmod +x "$tmp/consul"

got=$(bash -c 'source scripts/consul.sh && version_line "$1"' _ "$tmp/consul" 2>&1) ||
	got="exit status $?: $got"
check "version_line of a binary that writes 200000 lines" "$got" "Consul v1.16.1"

json='{
	"Path": "github.com/hashicorp/consul",
	"Version": "v1.16.1",
	"Dir": "/go/pkg/mod/github.com/hashicorp/consul@v1.16.1",
	"Sum": "h1:abc=",
	"GoModSum": "h1:def="
}'
got=$(bash -c 'source scripts/consul.sh && json_field Dir "$1"' _ "$json" 2>&1) || got="exit status $?: $got"
check "json_field Dir" "$got" "/go/pkg/mod/github.com/hashicorp/consul@v1.16.1"
got=$(bash -c 'source scripts/consul.sh && json_field Sum "$1"' _ "$json" 2>&1) || got="exit status $?: $got"
check "json_field Sum" "$got" "h1:abc="

if [ "$fail" -ne 0 ]; then
	exit 1
fi
echo "check-scripts: scripts parse; consul.sh's helpers pass"
