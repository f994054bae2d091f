#!/usr/bin/env bash
# Makes sure the services the integration tests use are up on loopback:
# PostgreSQL on 127.0.0.1:5432 (user postgres, trust) and NATS with
# JetStream on 127.0.0.1:4222. It starts a stopped local PostgreSQL cluster
# or nats-server, and fails, saying what to do, when there is none. Where
# TAILOR_TEST_POSTGRES or TAILOR_TEST_NATS is set, the tests use that server
# instead, and the script leaves it to them.
set -euo pipefail

pg_up() { pg_isready -q -h 127.0.0.1 -p 5432 2>/dev/null; }

if [ -n "${TAILOR_TEST_POSTGRES:-}" ]; then
	echo "services: PostgreSQL from TAILOR_TEST_POSTGRES"
else
	if ! pg_up && command -v pg_ctlcluster >/dev/null 2>&1 && [ -d /etc/postgresql ]; then
		for version in $(ls /etc/postgresql); do
			pg_ctlcluster --skip-systemctl-redirect "$version" main start || true
		done
		for _ in $(seq 1 50); do pg_up && break; sleep 0.2; done
	fi
	if ! pg_up; then
		echo "services.sh: PostgreSQL is not answering on 127.0.0.1:5432; start it (Debian: pg_ctlcluster VERSION main start)" \
			"or point TAILOR_TEST_POSTGRES at one" >&2
		exit 1
	fi
	echo "services: PostgreSQL up on 127.0.0.1:5432"
fi

nats_up() { (exec 3<>/dev/tcp/127.0.0.1/4222) 2>/dev/null; }

if [ -n "${TAILOR_TEST_NATS:-}" ]; then
	echo "services: NATS from TAILOR_TEST_NATS"
else
	if ! nats_up && [ -x /usr/sbin/nats-server ]; then
		mkdir -p /var/lib/nats-server
		start-stop-daemon --start --oknodo --background --exec /usr/sbin/nats-server -- \
			-a 127.0.0.1 -p 4222 -js -sd /var/lib/nats-server -l /var/log/nats-server.log
		for _ in $(seq 1 50); do nats_up && break; sleep 0.2; done
	fi
	if ! nats_up; then
		echo "services.sh: NATS is not answering on 127.0.0.1:4222; start it with JetStream" \
			"(nats-server -a 127.0.0.1 -p 4222 -js -sd DIR) or point TAILOR_TEST_NATS at one" >&2
		exit 1
	fi
	echo "services: NATS up on 127.0.0.1:4222"
fi
