#!/usr/bin/env bash
# Measures how many small write transactions a second one PostgreSQL
# server commits, for the capacity model in deploy/README.md: with
# pgbench, in a scratch database of its own (dropped at the end), for
# -seconds at each client count of -clients:
#
#   insert   one INSERT of a row (an order, an outbox message) per
#            transaction, into a table with a primary key;
#   update   one UPDATE of one of 1000 rows (a product's stock) chosen at
#            random per transaction;
#   hot      one UPDATE of the same row every time (the stock of the one
#            product everybody buys);
#   connect  the insert, over a new connection per transaction, as a
#            client without a pool of idle connections does.
#
#	deploy/capacity/commits.sh [-clients "1 4 16 32"] [-seconds 10] [-tests "insert update hot connect"]
#
# The server is $CAPACITY_POSTGRES (default
# postgres://postgres@127.0.0.1:5432/postgres?sslmode=disable). pgbench
# runs on the same machine and takes CPU time of its own; every line
# says the load average before and after.
set -euo pipefail

clients="1 4 16 32"
seconds=10
tests="insert update hot connect"
while [ $# -gt 0 ]; do
	case $1 in
	-clients) clients=$2 ;;
	-seconds) seconds=$2 ;;
	-tests) tests=$2 ;;
	-h | -help | --help)
		sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'
		exit 0
		;;
	*)
		echo "commits.sh: unknown argument $1; see -help" >&2
		exit 2
		;;
	esac
	shift 2
done

postgres=${CAPACITY_POSTGRES:-postgres://postgres@127.0.0.1:5432/postgres?sslmode=disable}
db="capacity_commits_$$"
path=${postgres%%\?*}
url="${path%/*}/$db${postgres#"$path"}"
work=$(mktemp -d)

sql() { psql "$1" -XAtq -v ON_ERROR_STOP=1 -c "$2"; }
cleanup() {
	set +e
	sql "$postgres" "DROP DATABASE IF EXISTS \"$db\" WITH (FORCE)" >/dev/null
	rm -rf "$work"
}
trap cleanup EXIT

sql "$postgres" "CREATE DATABASE \"$db\""
sql "$url" "CREATE TABLE rows (id bigserial PRIMARY KEY, customer bigint NOT NULL, body text NOT NULL, made timestamptz NOT NULL DEFAULT now());
	CREATE TABLE stock (product int PRIMARY KEY, units bigint NOT NULL);
	INSERT INTO stock SELECT g, 1000000000 FROM generate_series(1, 1000) g;"
printf '%s\n' '\set customer random(1, 1000000)' \
	"INSERT INTO rows (customer, body) VALUES (:customer, repeat('x', 200));" >"$work/insert.sql"
cp "$work/insert.sql" "$work/connect.sql"
printf '%s\n' '\set product random(1, 1000)' \
	'UPDATE stock SET units = units - 1 WHERE product = :product;' >"$work/update.sql"
echo "UPDATE stock SET units = units - 1 WHERE product = 1;" >"$work/hot.sql"

printf "%-8s %8s %12s %12s %10s\n" test clients commits/s "latency ms" load
for t in $tests; do
	for c in $clients; do
		before=$(cut -d' ' -f1 /proc/loadavg)
		extra=()
		[ "$t" = connect ] && extra=(-C)
		out=$(pgbench "${extra[@]}" -n -c "$c" -j "$(( c < 2 ? c : 2 ))" -T "$seconds" -f "$work/$t.sql" "$url" 2>&1)
		tps=$(sed -n 's/^tps = \([0-9.]*\).*/\1/p' <<<"$out")
		lat=$(sed -n 's/^latency average = \([0-9.]*\) ms/\1/p' <<<"$out")
		printf "%-8s %8d %12.0f %12s %10s\n" "$t" "$c" "$tps" "$lat" "$before->$(cut -d' ' -f1 /proc/loadavg)"
	done
done
