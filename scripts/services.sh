#!/usr/bin/env bash
# Makes sure the services the integration tests use are up on loopback:
# PostgreSQL on 127.0.0.1:5432 (user postgres, trust). It starts a stopped
# local cluster and fails, saying what to do, when there is none.
set -euo pipefail

pg_up() { pg_isready -q -h 127.0.0.1 -p 5432 2>/dev/null; }

if ! pg_up; then
	if command -v pg_ctlcluster >/dev/null 2>&1 && [ -d /etc/postgresql ]; then
		for version in $(ls /etc/postgresql); do
			pg_ctlcluster --skip-systemctl-redirect "$version" main start || true
		done
		for _ in $(seq 1 50); do pg_up && break; sleep 0.2; done
	fi
fi
if ! pg_up; then
	echo "services.sh: PostgreSQL is not answering on 127.0.0.1:5432; start it (Debian: pg_ctlcluster VERSION main start)" \
		"or point TAILOR_TEST_POSTGRES at one" >&2
	exit 1
fi
echo "services: PostgreSQL up on 127.0.0.1:5432"
