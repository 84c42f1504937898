#!/bin/sh
# server.sh - the reader benchmarks of issue 3: newsgate serve against INN.
#
#   sh tests/bench/server.sh          (as root: it installs and runs INN)
#
# Both servers get the same ARTICLES (100,000) articles: newsgate imports
# the first lines of the corpus into bench.stories (more lines until the
# group holds exactly ARTICLES, since the importer drops duplicate
# stories); INN is fed those very article files with TAKETHIS. Then, with
# the same load generator (nntpload: one epoll thread, TCP_QUICKACK so that
# delayed ACKs do not decide the result), each measurement alternates
# between the servers, RUNS times, and the medians are compared:
#   (a) OVER of the whole group on one connection, lines/s (each run the
#       median of 3 in a row);
#   (b) random ARTICLE by number, 8 in flight per connection, at 1, 8 and
#       64 connections, SECONDS each, ops/s;
#   (c) IDLE_NG (10,000) idle connections to newsgate and IDLE_INN (1,000)
#       to INN, each after greeting + MODE READER: the growth of the
#       server's memory per connection (VmRSS and Pss summed over the
#       server's processes: for INN the nnrpd daemon and its children,
#       one per reader), and 20 fresh readers meanwhile (connect, MODE
#       READER, GROUP, DATE, QUIT) to show the server still answers.
# newsgate serves on 127.0.0.1:NG_PORT (1192), INN's readers are on
# 127.0.0.1:INN_READER_PORT (1191, nnrpd -D), its feed on INN_FEED_PORT
# (1190); lib.sh moves to the next free ports when these are taken.
set -eu
. "$(dirname "$0")/lib.sh"

ARTICLES=${ARTICLES:-100000}
SECONDS_EACH=${SECONDS_EACH:-5}
IDLE_NG=${IDLE_NG:-10000}
IDLE_INN=${IDLE_INN:-1000}
CONNS_LIST=${CONNS_LIST:-1 8 64}

[ "$(id -u)" = 0 ] || die "run as root (INN is installed and run as news)"
[ -r "$CORPUS" ] || die "no corpus at $CORPUS"
# Room for IDLE_NG connections: the server and nntpload inherit this.
nofile=$((IDLE_NG + IDLE_NG / 2 + 1024))
[ "$(ulimit -n)" -ge "$nofile" ] || ulimit -n "$nofile" 2>/dev/null ||
    die "cannot raise the open-file limit to $nofile"
bench_build
bench_workdir
NG_PID=
stop_newsgate() {
	if [ -n "$NG_PID" ]; then
		kill "$NG_PID" 2>/dev/null || true
		wait "$NG_PID" 2>/dev/null || true
		NG_PID=
	fi
}
stop_all() {
	stop_newsgate
	# Only our instance: INN_BENCH_DIR unset would mean the default one.
	[ -z "${INN_BENCH_DIR:-}" ] || inn_setup stop || true
}
trap 'stop_all; bench_cleanup' EXIT
trap 'exit 130' INT TERM
inn_setup install

# Each server on a fresh file system of its own (BENCH_FS in lib.sh).
SPOOL=$(fs_new ngsrv)/spool
INN_BENCH_DIR=$(fs_new innsrv)/inn
export INN_BENCH_DIR
CONF=$BENCH_WORK/newsgate.conf
GDIR=$SPOOL/articles/$(echo "$BENCH_GROUP" | tr . /)
OUT=$BENCH_WORK/server.runs
: >"$OUT"

cat >"$CONF" <<EOF
# tests/bench/server.sh: room for the idle-connection benchmark
[server]
max_connections = $((IDLE_NG + 1000))
max_per_address = $((IDLE_NG + 1000))
EOF

group_count() {
	awk -v g="$BENCH_GROUP" '$1 == g { print $2 - $3 + 1 }' \
	    "$SPOOL/data/active"
}

# --- load ---------------------------------------------------------------
load_newsgate() {
	lines=0
	have=0
	while [ "$have" -lt "$ARTICLES" ]; do
		need=$((ARTICLES - have))
		total=$(wc -l <"$CORPUS")
		[ "$lines" -lt "$total" ] || die "corpus too small for $ARTICLES"
		sed -n "$((lines + 1)),$((lines + need))p" "$CORPUS" |
		    "$NEWSGATE_BIN" import --config "$CONF" --spool "$SPOOL" \
		    --group "$BENCH_GROUP" --format jsonl - \
		    >"$BENCH_WORK/load.out" 2>"$BENCH_WORK/load.err" || true
		lines=$((lines + need))
		have=$(group_count)
		say "newsgate: $have articles after $lines corpus lines" \
		    "($(tail -1 "$BENCH_WORK/load.out"))"
	done
}

load_inn() {
	inn_setup configure
	inn_env
	inn_setup start
	line=$("$NNTPLOAD" takethis -p "$INN_FEED_PORT" -c "$INN_FEED_CONNS" -d "$INN_FEED_WINDOW" \
	    -X -G "$BENCH_GROUP" \
	    "$GDIR" 2>"$BENCH_WORK/feed.err") || {
		cat "$BENCH_WORK/feed.err" >&2
		die "feeding INN failed"
	}
	say "INN: $line"
	[ "$(kv accepted "$line")" = "$ARTICLES" ] ||
	    die "INN took $(kv accepted "$line") of $ARTICLES articles"
	# Overview and history are written by innd as it goes; flush them so
	# that nnrpd sees everything.
	runuser -u news -- env INNCONF="$INNCONF" /usr/lib/news/bin/ctlinnd \
	    -s flush '' || true
}

start_newsgate() {
	"$NEWSGATE_BIN" serve --config "$CONF" --spool "$SPOOL" \
	    --listen "127.0.0.1:$NG_PORT" 2>>"$BENCH_WORK/serve.log" &
	NG_PID=$!
	"$NNTPLOAD" probe -p "$NG_PORT" -t 20 >/dev/null ||
	    die "newsgate serve did not start: $(tail -3 "$BENCH_WORK/serve.log")"
}

INN_NNRPD_PID() { cat "$INN_NNRPD_PIDFILE"; }

# --- measure ------------------------------------------------------------
# $1 server (ng|inn), $2 port, $3 test name, then nntpload arguments.
# The server's pid (-P) lets nntpload report its memory and CPU time.
measure() {
	srv=$1 port=$2 name=$3
	shift 3
	if [ "$srv" = ng ]; then pid=$NG_PID; else pid=$(INN_NNRPD_PID); fi
	line=$("$NNTPLOAD" "$@" -p "$port" -P "$pid" \
	    2>>"$BENCH_WORK/load.err") || {
		say "$srv $name: nntpload failed: $line"
		tail -2 "$BENCH_WORK/load.err" >&2
	}
	# Work per server CPU-second: steadier than wall-clock rates on a
	# machine that other jobs share.
	work=$(kv ops "$line")
	[ -n "$work" ] || work=$(kv lines "$line")
	cpu=$(kv server_cpu_s "$line")
	if [ -n "$work" ] && [ -n "$cpu" ]; then
		line="$line per_cpu=$(awk -v w="$work" -v c="$cpu" \
		    'BEGIN { if (c > 0) printf "%.0f", w / c; else print "nan" }')"
	fi
	say "$srv $name: $line"
	echo "$srv $name $line" >>"$OUT"
}

machine
load_newsgate
load_inn
start_newsgate
say "both servers hold $ARTICLES articles in $BENCH_GROUP; $RUNS runs"

r=1
while [ $r -le "$RUNS" ]; do
	for srv in ng inn; do
		port=$NG_PORT
		[ $srv = inn ] && port=$INN_READER_PORT
		measure "$srv" "$port" over over -g "$BENCH_GROUP" -R 3
		for c in $CONNS_LIST; do
			measure "$srv" "$port" "article$c" article \
			    -g "$BENCH_GROUP" -c "$c" -d 8 -t "$SECONDS_EACH" \
			    -s "$r"
		done
	done
	r=$((r + 1))
done
# What a client that leaves delayed ACKs on sees (once, 8 connections).
measure ng "$NG_PORT" plain8 article -g "$BENCH_GROUP" -c 8 -d 8 \
    -t "$SECONDS_EACH" -N
measure inn "$INN_READER_PORT" plain8 article -g "$BENCH_GROUP" -c 8 -d 8 \
    -t "$SECONDS_EACH" -N
# Memory per idle connection is the growth of a server just started:
# newsgate keeps (and reuses) what it once allocated for connections.
r=1
while [ $r -le "$RUNS" ]; do
	stop_newsgate
	start_newsgate
	measure ng "$NG_PORT" idle idle -c "$IDLE_NG" -g "$BENCH_GROUP"
	measure inn "$INN_READER_PORT" idle idle -c "$IDLE_INN" \
	    -g "$BENCH_GROUP"
	r=$((r + 1))
done

# --- report ---------------------------------------------------------------
# vals SERVER TEST KEY: KEY of each run, one per line, in run order.
vals() {
	grep "^$1 $2 " "$OUT" | while read -r _ _ rest; do
		kv "$3" "$rest"
	done
}
med() { vals "$@" | median; }
# The runs, rounded, on one line.
runs() { vals "$1" "$2" "$3" | awk -v f="$4" '{ printf (NR > 1 ? " " : "") f,
    $1 }'; }

row() {	# label, test, key, target, format
	a=$(med ng "$2" "$3")
	b=$(med inn "$2" "$3")
	printf "| %s | $5 | $5 | %s | %s | %s | %s |\n" "$1" "$a" "$b" \
	    "$(ratio "$a" "$b")" "$4" "$(runs ng "$2" "$3" "$5")" \
	    "$(runs inn "$2" "$3" "$5")"
}

echo
echo "Reader benchmarks: $ARTICLES articles in one group; medians of $RUNS" \
    "runs (each run alternates the servers); nntpload on the same machine"
echo
echo "| benchmark | newsgate | INN 2.7.1 | newsgate/INN | target |" \
    "newsgate runs | INN runs |"
echo "| --- | ---: | ---: | ---: | --- | --- | --- |"
row "OVER whole group, lines/s" over rate ">= 3x" "%.0f"
for c in $CONNS_LIST; do
	row "ARTICLE random, 8 in flight, $c conn, ops/s" "article$c" rate \
	    ">= 1.5x" "%.0f"
done
row "ARTICLE p99 latency at 64 conns, ms" article64 p99_ms "" "%.1f"
row "OVER lines per server CPU-second" over per_cpu "" "%.0f"
for c in $CONNS_LIST; do
	row "ARTICLE ops per server CPU-second, $c conn" "article$c" per_cpu \
	    "" "%.0f"
done
row "ARTICLE at 8 conns, client with delayed ACKs (-N), ops/s" plain8 \
    rate "" "%.0f"
row "idle connections held" idle held "10,000 (newsgate)" "%d"
row "memory per idle connection, VmRSS sum, KiB" idle rss_per_conn_kb \
    "<= 32 KiB" "%.1f"
row "memory per idle connection, Pss sum, KiB" idle pss_per_conn_kb "" \
    "%.1f"
row "fresh reader session while idle held, median ms" idle probe_p50_ms \
    "prompt" "%.2f"
row "the same, slowest of 20, ms" idle probe_max_ms "" "%.2f"
echo
echo "load average at the end: $(cut -d' ' -f1-3 /proc/loadavg)"
