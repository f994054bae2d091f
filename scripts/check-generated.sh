#!/usr/bin/env bash
# Fails when the committed generated code is not what scripts/protoc.sh
# makes from the committed .proto files, or when a .proto file is missing
# from the list in scripts/protoc.sh. CI runs it after checkout:
#
#	scripts/check-generated.sh
#
# It regenerates in place, so run it on a clean tree.
set -euo pipefail

root=$(git rev-parse --show-toplevel)
cd "$root"

fail=0

# Every .proto tracked or added must be listed in scripts/protoc.sh, or its
# generated code would silently go stale.
while IFS= read -r proto; do
	if ! grep -qxF "	$proto" scripts/protoc.sh; then
		echo "check-generated: $proto is not listed in PROTOS in scripts/protoc.sh; add it there and run scripts/protoc.sh" >&2
		fail=1
	fi
done < <(git ls-files --cached --others --exclude-standard -- '*.proto')

scripts/protoc.sh

# Generated files that differ from the commit, or that exist but were never
# committed.
stale=$(git status --porcelain --untracked-files=all -- '*.pb.go' | awk '{print $NF}')
if [ -n "$stale" ]; then
	echo "check-generated: these generated files are out of date with their .proto sources:" >&2
	printf '  %s\n' $stale >&2
	echo "check-generated: run scripts/protoc.sh and commit the result" >&2
	git --no-pager diff --stat -- '*.pb.go' >&2 || true
	fail=1
fi

if [ "$fail" -ne 0 ]; then
	exit 1
fi
echo "check-generated: generated code is up to date"
