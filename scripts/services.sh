#!/usr/bin/env bash
# Makes sure the services the integration tests use are up on loopback:
# PostgreSQL on 127.0.0.1:5432 (user postgres, trust, database test) and
# NATS with JetStream on 127.0.0.1:4222; and that Chromium, which the
# dashboard page's browser test drives headless, is installed.
#
# Where one is missing and the script runs as root on Debian or Ubuntu, it
# installs the Debian package (postgresql, nats-server, chromium) without
# letting the package start its system service, gives a cluster it created
# trust authentication on loopback, then starts it: PostgreSQL with pg_ctlcluster,
# nats-server with start-stop-daemon. A stopped one is started the same way.
# Running it again changes nothing. Where TAILOR_TEST_POSTGRES or
# TAILOR_TEST_NATS is set, the tests use that server instead, and the script
# leaves it to them.
set -Eeuo pipefail
trap 'status=$?; echo "services.sh: line $LINENO failed with exit status $status" >&2' ERR

can_install() { [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; }

updated=
# apt_install PACKAGE installs a Debian package with its service left
# stopped: policy-rc.d forbids starting it while it is installed.
apt_install() {
	echo "services.sh: installing Debian's $1" >&2
	if [ -z "$updated" ]; then
		apt-get update -qq
		updated=1
	fi
	local made_policy= status=0
	if [ ! -e /usr/sbin/policy-rc.d ]; then
		printf '#!/bin/sh\nexit 101\n' >/usr/sbin/policy-rc.d
		chmod +x /usr/sbin/policy-rc.d
		made_policy=1
	fi
	DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "$1" >/dev/null || status=$?
	if [ -n "$made_policy" ]; then rm -f /usr/sbin/policy-rc.d; fi
	if [ "$status" -ne 0 ]; then
		echo "services.sh: apt-get install $1 failed (exit status $status); see above" >&2
		exit "$status"
	fi
}

pg_up() { pg_isready -q -h 127.0.0.1 -p 5432 2>/dev/null; }
psql_test() { psql -h 127.0.0.1 -U postgres -w -X -q "$@"; }

# trust_loopback VERSION lets every local and loopback connection in
# without a password, as the tests expect; only for a cluster this script
# created.
trust_loopback() {
	local hba=/etc/postgresql/$1/main/pg_hba.conf
	printf '%s\n' \
		'# Written by tailor scripts/services.sh: a test database, trusted on loopback.' \
		'local all all trust' \
		'host all all 127.0.0.1/32 trust' \
		'host all all ::1/128 trust' >"$hba"
}

postgres() {
	if [ -n "${TAILOR_TEST_POSTGRES:-}" ]; then
		echo "services: PostgreSQL from TAILOR_TEST_POSTGRES"
		return
	fi
	if ! pg_up && ! command -v pg_ctlcluster >/dev/null 2>&1 && can_install; then
		apt_install postgresql
		local version
		for version in $(ls /etc/postgresql); do trust_loopback "$version"; done
	fi
	if ! pg_up && command -v pg_ctlcluster >/dev/null 2>&1 && [ -d /etc/postgresql ]; then
		local version
		for version in $(ls /etc/postgresql); do
			pg_ctlcluster --skip-systemctl-redirect "$version" main start || true
		done
		for _ in $(seq 1 50); do pg_up && break; sleep 0.2; done
	fi
	if ! pg_up; then
		echo "services.sh: PostgreSQL is not answering on 127.0.0.1:5432; install it (Debian: apt-get install postgresql)" \
			"and start it (pg_ctlcluster VERSION main start), or point TAILOR_TEST_POSTGRES at one" >&2
		exit 1
	fi
	local has_test
	if ! has_test=$(psql_test -d postgres -tAc "SELECT 1 FROM pg_database WHERE datname = 'test'"); then
		echo "services.sh: cannot log in to PostgreSQL on 127.0.0.1:5432 as postgres without a password;" \
			"the tests need trust authentication on loopback (pg_hba.conf: host all all 127.0.0.1/32 trust)" >&2
		exit 1
	fi
	if [ "$has_test" != 1 ]; then
		psql_test -d postgres -c "CREATE DATABASE test"
		echo "services: created database test"
	fi
	echo "services: PostgreSQL up on 127.0.0.1:5432"
}

nats_up() { (exec 3<>/dev/tcp/127.0.0.1/4222) 2>/dev/null; }

nats() {
	if [ -n "${TAILOR_TEST_NATS:-}" ]; then
		echo "services: NATS from TAILOR_TEST_NATS"
		return
	fi
	if ! nats_up && [ ! -x /usr/sbin/nats-server ] && can_install; then
		apt_install nats-server
	fi
	if ! nats_up && [ -x /usr/sbin/nats-server ]; then
		mkdir -p /var/lib/nats-server
		start-stop-daemon --start --oknodo --background --exec /usr/sbin/nats-server -- \
			-a 127.0.0.1 -p 4222 -js -sd /var/lib/nats-server -l /var/log/nats-server.log
		for _ in $(seq 1 50); do nats_up && break; sleep 0.2; done
	fi
	if ! nats_up; then
		echo "services.sh: NATS is not answering on 127.0.0.1:4222; install it (Debian: apt-get install nats-server)" \
			"and start it with JetStream (nats-server -a 127.0.0.1 -p 4222 -js -sd DIR), or point TAILOR_TEST_NATS at one" >&2
		exit 1
	fi
	echo "services: NATS up on 127.0.0.1:4222"
}

# browser installs Chromium where it can; where it cannot, the browser
# test says so (and fails in CI).
browser() {
	if ! command -v chromium >/dev/null 2>&1 && can_install; then
		apt_install chromium
	fi
	if command -v chromium >/dev/null 2>&1; then
		echo "services: Chromium at $(command -v chromium)"
	else
		echo "services: Chromium is not installed; the dashboard's browser test needs it (Debian: apt-get install chromium)" >&2
	fi
}

postgres
nats
browser
