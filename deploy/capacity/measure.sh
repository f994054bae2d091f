#!/usr/bin/env bash
# Measures what one order costs the multi-process shop, per process: the
# CPU time of each service instance, of PostgreSQL, of the NATS server and
# of the Consul agent; per service database the commits, the new sessions
# and the rows written; the NATS messages; the WAL bytes. The figures feed
# the capacity model in deploy/README.md.
#
#	deploy/capacity/measure.sh [-rates "40 80 120"] [-duration 30s] [-idle 20] \
#	    [-saturation 30s] [-concurrency 32] [-steps 0] [-out FILE]
#
# It builds the cluster runner and the load generator, starts a NATS
# server of its own (so that its CPU time and message counts are the
# shop's alone) on free loopback ports, and runs the shop with
# examples/shop/cmd/cluster (a Consul dev agent, two instances of orders,
# inventory and catalog, one of the rest) on the PostgreSQL server
# $CAPACITY_POSTGRES (default postgres://postgres@127.0.0.1:5432/postgres),
# in databases named capacity_<pid>_<service>, with the gateway's rate
# limits off. Then:
#
#  1. an idle window of -idle seconds, for what the processes use without
#     orders (health checks, polls, timers), which is subtracted from the
#     loaded windows in proportion to their length ("net of idle");
#  2. for each rate of -rates, the load generator places that many orders
#     a second for -duration, with at most -concurrency in flight; the
#     window runs from its first order to 3 s after its last answer, so
#     the sagas' ends are in it;
#  3. unless -saturation is 0, a closed loop of -concurrency workers for
#     that long (loadgen -rate 0), for the orders a second the shop
#     reaches on this machine and their latency;
#  4. unless -steps is 0, the first rate of -rates for 15 s once more,
#     reading the saga's history of -steps orders afterwards, for the time
#     of each of its steps (no CPU figures: reading the histories costs
#     CPU time too).
#
# Every window prints the load average before and after it, the machine's
# busy CPU time from /proc/stat (all processes, the load generator and any
# other work included) and, per process, CPU milliseconds per order
# placed; the per-order figures of the databases and NATS divide by the
# orders the orders database gained between their two reads. A
# PostgreSQL backend is counted by database while it serves one of the
# shop's databases; once it ends, its CPU time moves to the postgres
# server's waited-for children, "postgres (ended)", which holds the
# backends of every database on the server, other work's included; the
# server's own processes (WAL writer, checkpointer) are "postgres
# (server)". The WAL bytes are the server's too; the commits in the other
# databases are printed beside them. The load generator's own CPU time is
# printed apart. Everything stops, and the databases are dropped, on exit;
# CAPACITY_KEEP=1 keeps the folder of the logs and snapshots.
set -euo pipefail

rates="40 80 120"
duration=30s
idle=20
saturation=30s
concurrency=32
steps=0
out=/dev/null
while [ $# -gt 0 ]; do
	case $1 in
	-rates) rates=$2 ;;
	-duration) duration=$2 ;;
	-idle) idle=$2 ;;
	-saturation) saturation=$2 ;;
	-concurrency) concurrency=$2 ;;
	-steps) steps=$2 ;;
	-out) out=$2 ;;
	-h | -help | --help)
		sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'
		exit 0
		;;
	*)
		echo "measure.sh: unknown argument $1; see -help" >&2
		exit 2
		;;
	esac
	shift 2
done

root=$(git rev-parse --show-toplevel)
cd "$root"
postgres=${CAPACITY_POSTGRES:-postgres://postgres@127.0.0.1:5432/postgres?sslmode=disable}
prefix="capacity_$$_"
services="users catalog inventory payments orders reviews stats"
work=$(mktemp -d)
tck=$(getconf CLK_TCK)
password="capacity-$$-$RANDOM$RANDOM"

log() { echo "measure: $*" >&2; }
sql() { dbsql "$postgres" "$1"; }

# dbsql URL QUERY runs a query, trying again for a while when the server
# refuses (a busy server may be out of connections for a moment).
dbsql() {
	local try
	for try in $(seq 50); do
		if psql "$1" -XAtq -v ON_ERROR_STOP=1 -c "$2" 2>"$work/psql.err"; then
			return 0
		fi
		sleep 0.1
	done
	echo "measure: psql $2: $(cat "$work/psql.err")" >&2
	return 1
}

# dburl SERVICE prints the URL of the service's database.
dburl() {
	local path=${postgres%%\?*}
	echo "${path%/*}/$prefix$1${postgres#"$path"}"
}

cluster_pid="" nats_pid="" load_pid=""
cleanup() {
	set +e
	if [ -n "$load_pid" ]; then
		kill $(ps -o pid= --ppid "$load_pid") "$load_pid" 2>/dev/null
	fi
	if [ -n "$cluster_pid" ]; then
		kill -TERM "$cluster_pid" 2>/dev/null
		wait "$cluster_pid" 2>/dev/null
	fi
	if [ -n "$nats_pid" ]; then
		kill -TERM "$nats_pid" 2>/dev/null
		wait "$nats_pid" 2>/dev/null
	fi
	for s in $services; do
		sql "DROP DATABASE IF EXISTS \"$prefix$s\" WITH (FORCE)" >/dev/null
	done
	if [ -n "${CAPACITY_KEEP:-}" ]; then
		log "the logs and snapshots are in $work"
	else
		rm -rf "$work"
	fi
}
trap cleanup EXIT

# free_port prints a loopback TCP port nothing listens on.
free_port() {
	local p
	while :; do
		p=$((20000 + RANDOM % 20000))
		if ! ss -Hltn "sport = :$p" | grep -q .; then
			echo "$p"
			return
		fi
	done
}

log "building the cluster runner and the load generator"
go build -o "$work/cluster" ./examples/shop/cmd/cluster
go build -o "$work/loadgen" ./examples/shop/cmd/loadgen

nats_port=$(free_port)
nats_mon=$(free_port)
nats-server -a 127.0.0.1 -p "$nats_port" -m "$nats_mon" -js -sd "$work/nats" >"$work/nats.log" 2>&1 &
nats_pid=$!
for _ in $(seq 100); do
	curl -fsS "http://127.0.0.1:$nats_mon/varz" >/dev/null 2>&1 && break
	sleep 0.1
done

log "starting the shop (databases $prefix<service>, NATS on 127.0.0.1:$nats_port)"
SHOP_ADMIN_PASSWORD=$password "$work/cluster" -data "$work/data" -addr 127.0.0.1:0 \
	-postgres "$postgres" -db-prefix "$prefix" -nats "nats://127.0.0.1:$nats_port" \
	-ip-rate -1 -user-rate -1 >"$work/cluster.out" 2>"$work/cluster.err" &
cluster_pid=$!
gateway=""
for _ in $(seq 3000); do
	gateway=$(sed -n 's/^cluster: serving at \(http:[^;]*\);.*/\1/p' "$work/cluster.out")
	[ -n "$gateway" ] && break
	if ! kill -0 "$cluster_pid" 2>/dev/null; then
		log "the cluster stopped before serving:"
		cat "$work/cluster.err" >&2
		log "the NATS server's log:"
		tail -n 20 "$work/nats.log" >&2
		exit 1
	fi
	sleep 0.1
done
[ -n "$gateway" ] || {
	log "the cluster did not serve within 5 minutes; see $work/cluster.err"
	exit 1
}
log "the shop serves at $gateway"

# The processes by name: each instance (service-N, by the order they
# started), the Consul agent and the NATS server.
declare -A procs=()
declare -A seen=()
for pid in $(ps -o pid= --ppid "$cluster_pid" --sort=start_time,pid); do
	name=$(basename "$(tr '\0' '\n' <"/proc/$pid/cmdline" | head -n 1)")
	seen[$name]=$((${seen[$name]:-0} + 1))
	procs["$name-${seen[$name]}"]=$pid
done
procs[consul]=$(cat "$work/data/consul/consul.pid")
procs[nats-server]=$nats_pid

# ticks PID prints the CPU ticks (user, system, and of waited-for
# children) of a process, 0 once it has gone.
ticks() {
	local stat
	stat=$(cat "/proc/$1/stat" 2>/dev/null) || {
		echo 0
		return
	}
	stat=${stat##*) }
	# After the command's name: state is field 1, utime 12, stime 13,
	# cutime 14, cstime 15.
	awk '{ print $12 + $13 + $14 + $15 }' <<<"$stat"
}

# children_ticks PID prints the CPU ticks of the waited-for children of a
# process.
children_ticks() {
	local stat
	stat=$(cat "/proc/$1/stat")
	stat=${stat##*) }
	awk '{ print $14 + $15 }' <<<"$stat"
}

# The postmaster: the parent of the checkpointer.
postmaster=$(awk '{ sub(/.*\) /, ""); print $2 }' "/proc/$(sql "SELECT pid FROM pg_stat_activity WHERE backend_type = 'checkpointer'")/stat")

# snapshot FILE writes one "key value" line per figure.
snapshot() {
	local f=$1 name pid db
	{
		echo "loadavg $(cut -d' ' -f1 /proc/loadavg)"
		# The window's time is that of the machine's CPU counters.
		echo "time $(date +%s.%N)"
		awk '/^cpu / { print "machine", $2 + $3 + $4 + $7 + $8 + $9 }' /proc/stat
		for name in "${!procs[@]}"; do
			echo "cpu:$name $(ticks "${procs[$name]}")"
		done
		# PostgreSQL's processes: a backend serving one of the shop's
		# databases, by database, and the server's own.
		while IFS='|' read -r pid db kind; do
			case $db/$kind in
			"$prefix"*)
				echo "pg:${db#"$prefix"} $(ticks "$pid")"
				echo "backends:${db#"$prefix"} 1"
				;;
			/checkpointer | "/background writer" | /walwriter) echo "pg:(server) $(ticks "$pid")" ;;
			esac
		done < <(sql "SELECT pid, coalesce(datname, ''), backend_type FROM pg_stat_activity")
		# The backends that ended, of any database, as the postmaster reaped them.
		echo "pg:(ended) $(children_ticks "$postmaster")"
		# Per database: commits, sessions opened, and milliseconds its
		# backends spent running statements (ended sessions included).
		sql "SELECT CASE WHEN datname LIKE '$prefix%' THEN substr(datname, length('$prefix') + 1) ELSE '(others)' END, xact_commit, sessions, active_time FROM pg_stat_database WHERE datname IS NOT NULL" |
			awk -F'|' '{ print "commits:" $1, $2; print "sessions:" $1, $3; print "active:" $1, $4 }'
		# Per table of the shop's databases: rows inserted, updated, deleted.
		for s in $services; do
			dbsql "$(dburl "$s")" "SELECT 'rows:$s.' || relname, n_tup_ins + n_tup_upd + n_tup_del FROM pg_stat_user_tables" | tr '|' ' '
		done
		echo "orders $(dbsql "$(dburl orders)" "SELECT count(*) FROM orders")"
		echo "wal $(sql "SELECT pg_current_wal_lsn() - '0/0'")"
		curl -fsS "http://127.0.0.1:$nats_mon/varz" | jq -r '"nats:in_msgs \(.in_msgs)\nnats:out_msgs \(.out_msgs)\nnats:in_bytes \(.in_bytes)"'
	} | awk '$1 == "time" { print; next } { sum[$1] += $2 } END { for (k in sum) printf "%s %.2f\n", k, sum[k] }' >"$f"
}

# report NAME A B PLACED IDLE_FILE prints the per-order figures of the
# window from snapshot A to snapshot B.
report() {
	local name=$1 a=$2 b=$3 placed=$4 idlefile=${5:-}
	gawk -v name="$name" -v placed="$placed" -v tck="$tck" -v idlefile="$idlefile" '
		FNR == 1 { file++ }
		file == 1 { a[$1] = $2 }
		file == 2 { b[$1] = $2 }
		END {
			if (idlefile != "") {
				while ((getline line < idlefile) > 0) { split(line, f, " "); idle[f[1]] = f[2] }
			}
			secs = b["time"] - a["time"]
			# CPU time is read first in a snapshot, so its orders are those
			# the load generator placed; the databases and NATS are read
			# later, a busy machine can take seconds, so theirs are the
			# orders the orders database gained between the two reads.
			made = b["orders"] - a["orders"]
			if (placed <= 0 || made <= 0 || secs <= 0) {
				printf "== %s: no orders made in the window; no figures\n", name
				exit
			}
			printf "== %s: %d orders placed in a %.1f s window (%.1f orders/s), %d made between the database reads; load average %s -> %s\n", name, placed, secs, placed / secs, made, a["loadavg"], b["loadavg"]
			printf "   machine busy: %.2f of its CPUs on average (all processes, the load generator included)\n", (b["machine"] - a["machine"]) / tck / secs
			printf "   %-22s %12s %14s %14s\n", "process", "CPU s", "CPU ms/order", "net of idle"
			n = 0
			for (k in b) if (k ~ /^(cpu|pg):/) keys[n++] = k
			asort(keys)
			total = 0; totalnet = 0
			for (i = 1; i <= n; i++) {
				k = keys[i]
				d = (b[k] - a[k]) / tck
				if (d < 0) d = 0
				net = d - idle[k] * secs
				if (net < 0) net = 0
				total += d; totalnet += net
				printf "   %-22s %12.2f %14.3f %14.3f\n", (k ~ /^pg:/ ? "postgres " : "") substr(k, index(k, ":") + 1), d, 1000 * d / placed, 1000 * net / placed
			}
			printf "   %-22s %12.2f %14.3f %14.3f\n", "all of the above", total, 1000 * total / placed, 1000 * totalnet / placed
			printf "   %-22s %10s %12s %12s %14s %12s %10s\n", "database", "commits", "per order", "net of idle", "active ms", "per order", "sessions"
			n = 0
			for (k in b) if (k ~ /^commits:/) dbs[n++] = substr(k, 9)
			asort(dbs)
			for (i = 1; i <= n; i++) {
				d = dbs[i]
				c = b["commits:" d] - a["commits:" d]
				act = b["active:" d] - a["active:" d]
				printf "   %-22s %10d %12.2f %12.2f %14.0f %12.3f %10d\n", d, c, c / made, (c - idle["commits:" d] * secs) / made, act, act / made, b["sessions:" d] - a["sessions:" d]
			}
			printf "   rows written (inserted, updated, deleted) per order, net of idle:"
			n = 0
			for (k in b) if (k ~ /^rows:/ && b[k] - a[k] - idle[k] * secs > 0.05 * made) tables[n++] = k
			asort(tables)
			for (i = 1; i <= n; i++) printf " %s %.2f", substr(tables[i], 6), (b[tables[i]] - a[tables[i]] - idle[tables[i]] * secs) / made
			printf "\n"
			printf "   connections to the shop'"'"'s databases at the start and the end:"
			for (k in b) if (k ~ /^backends:/) printf " %s %d->%d", substr(k, 10), a[k], b[k]
			printf "\n"
			if ("loadgen" in b) printf "   the load generator used %.2f CPU s (%.3f ms/order), setup included\n", b["loadgen"], 1000 * b["loadgen"] / placed
			printf "   WAL bytes (whole server) %d  %.0f per order\n", b["wal"] - a["wal"], (b["wal"] - a["wal"]) / made
			printf "   NATS messages in %d (%.2f per order), out %d (%.2f per order), bytes in %.0f per order\n", b["nats:in_msgs"] - a["nats:in_msgs"], (b["nats:in_msgs"] - a["nats:in_msgs"]) / made, b["nats:out_msgs"] - a["nats:out_msgs"], (b["nats:out_msgs"] - a["nats:out_msgs"]) / made, (b["nats:in_bytes"] - a["nats:in_bytes"]) / made
		}' "$a" "$b" | tee -a "$out"
}

# idle_rates A B writes the CPU seconds per second of each process in an
# idle window.
idle_rates() {
	awk -v tck="$tck" 'FNR == 1 { file++ } file == 1 { a[$1] = $2 } file == 2 { b[$1] = $2 }
		END { secs = b["time"] - a["time"]; for (k in b) if (k ~ /^(cpu|pg|commits|rows):/) printf "%s %.6f\n", k, (b[k] - a[k]) / tck / secs }' "$1" "$2"
}

# load RATE DURATION [SAGA_SAMPLE]: places orders with the load generator, taking a
# snapshot at its first order (start) and 3 s after its end (end); the
# summary goes to $work/load.out.
load() {
	rm -f "$work/load.err" # a line of the run before is not this one's start
	/usr/bin/time -f "%U %S" -o "$work/load.time" "$work/loadgen" -addr "$gateway" -admin-password "$password" -rate "$1" -duration "$2" \
		-concurrency "$concurrency" -saga-sample "${3:-0}" >"$work/load.out" 2>"$work/load.err" &
	load_pid=$!
	until grep -q "placing orders" "$work/load.err" 2>/dev/null; do
		if ! kill -0 "$load_pid" 2>/dev/null; then
			log "the load generator stopped before placing orders:"
			cat "$work/load.err" >&2
			exit 1
		fi
		sleep 0.05
	done
	snapshot "$work/start"
	wait "$load_pid"
	load_pid=""
	sleep 3
	snapshot "$work/end"
	echo "loadgen $(awk '{ print $1 + $2 }' "$work/load.time")" >>"$work/end"
	cat "$work/load.out" >>"$out"
	head -n 2 "$work/load.out" >&2
}

placed() { sed -n 's/^orders: [0-9]* attempted, \([0-9]*\) placed.*/\1/p' "$work/load.out"; }

log "idle window: ${idle}s"
snapshot "$work/idle-start"
sleep "$idle"
snapshot "$work/idle-end"
idle_rates "$work/idle-start" "$work/idle-end" >"$work/idle"
echo "== idle: CPU seconds a second per process" | tee -a "$out"
sort "$work/idle" | tee -a "$out"

for rate in $rates; do
	log "rate $rate orders/s for $duration"
	load "$rate" "$duration"
	report "rate $rate" "$work/start" "$work/end" "$(placed)" "$work/idle"
done

if [ "$saturation" != 0 ]; then
	log "saturation: $concurrency workers for $saturation"
	load 0 "$saturation"
	cat "$work/load.out"
	report "saturation ($concurrency workers)" "$work/start" "$work/end" "$(placed)" "$work/idle"
fi

if [ "$steps" != 0 ]; then
	rate=${rates%% *}
	log "the saga's steps: rate $rate orders/s for 15s, then the history of $steps orders"
	load "$rate" 15s "$steps"
	cat "$work/load.out"
fi
