#!/usr/bin/env bash
# Installs the tools the checks need, at pinned versions, into .tools/bin
# (ignored by git): staticcheck from the Go module proxy, and Prometheus
# with promtool from Debian's prometheus package when it is missing and the
# script runs as root (the observability tests start their own Prometheus on
# loopback; the package's system service is stopped and disabled so nothing
# is left listening on :9090). protoc and its plugins are installed by
# scripts/protoc.sh, the one script that runs them.
set -Eeuo pipefail
trap 'status=$?; echo "tools.sh: line $LINENO failed with exit status $status" >&2' ERR

STATICCHECK_VERSION=v0.8.2

root=$(git rev-parse --show-toplevel)
cd "$root"
bin="$root/.tools/bin"
mkdir -p "$bin"

# Commands whose output is read are run to the end before it is looked at:
# a reader that stops early (grep -q, head) kills a writer still writing with
# SIGPIPE, which pipefail turns into a failure of the script.
have=$("$bin/staticcheck" -version 2>/dev/null || true)
if [[ "$have" != *"${STATICCHECK_VERSION#v}"* ]]; then
	GOBIN="$bin" go install "honnef.co/go/tools/cmd/staticcheck@${STATICCHECK_VERSION}"
fi

if ! command -v promtool >/dev/null 2>&1; then
	if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
		apt-get update -qq
		# The package starts prometheus.service where an init system runs;
		# policy-rc.d forbids that, and the lines after undo it where it
		# happened anyway.
		made_policy=
		if [ ! -e /usr/sbin/policy-rc.d ]; then
			printf '#!/bin/sh\nexit 101\n' >/usr/sbin/policy-rc.d
			chmod +x /usr/sbin/policy-rc.d
			made_policy=1
		fi
		status=0
		DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends prometheus >/dev/null || status=$?
		if [ -n "$made_policy" ]; then rm -f /usr/sbin/policy-rc.d; fi
		[ "$status" -eq 0 ] || exit "$status"
	else
		echo "tools.sh: promtool not found; install it (Debian/Ubuntu: sudo apt-get install prometheus) and rerun" >&2
		exit 1
	fi
fi
# Whoever installed the package, its service must not be left running.
if command -v systemctl >/dev/null 2>&1 && systemctl is-active --quiet prometheus 2>/dev/null; then
	systemctl disable --now prometheus >/dev/null 2>&1 || true
fi
if command -v service >/dev/null 2>&1 && service prometheus status >/dev/null 2>&1; then
	service prometheus stop >/dev/null 2>&1 || true
fi
promtool_version=$(promtool --version 2>&1)
echo "tools: staticcheck $("$bin/staticcheck" -version | awk '{print $2}'), ${promtool_version%%$'\n'*}"
