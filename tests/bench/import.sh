#!/bin/sh
# import.sh - the ingest benchmark of issue 2: newsgate import against INN.
#
#   sh tests/bench/import.sh          (as root: it installs and runs INN)
#
# Each of RUNS rounds does, in this order, so that both see the same load
# from the rest of the machine:
#   1. newsgate import --spool EMPTY --group bench.stories CORPUS, under
#      /usr/bin/time -v: wall time (process start to exit, so parsing,
#      routing, threading and the durable group commit are all in it) and
#      peak RSS;
#   2. a fresh private INN (inn-setup.sh reset + start) fed the articles
#      that the first newsgate run wrote (Xref dropped, Newsgroups set to
#      the INN group) with nntpload takethis: MODE STREAM, TAKETHIS with
#      INN_FEED_WINDOW (4) in flight on each of INN_FEED_CONNS (16)
#      connections (lib.sh says why), timed from the first command to the
#      last 239.
# Each run gets fresh ext4 file systems (BENCH_FS, lib.sh) for newsgate's
# spool and for INN's. nntpload reads and converts the files before the clock
#      starts. INN's defaults do not fsync articles; the "+ sync" column
#      adds a syncfs of the file system after the feed for comparison.
# Printed: per-run figures, then medians and the ratio of the medians.
set -eu
. "$(dirname "$0")/lib.sh"

[ "$(id -u)" = 0 ] || die "run as root (INN is installed and run as news)"
[ -r "$CORPUS" ] || die "no corpus at $CORPUS"
bench_build
bench_workdir
# Stop only our instance (INN_BENCH_DIR unset would mean the default one).
trap '[ -z "${INN_BENCH_DIR:-}" ] || inn_setup stop 2>/dev/null || true
    bench_cleanup' EXIT
trap 'exit 130' INT TERM
inn_setup install

ITEMS=$(wc -l <"$CORPUS")
# The articles of run 1, fed to INN.
SRC=$BENCH_WORK/ng1/spool/articles/$(echo "$BENCH_GROUP" | tr . /)
OUT=$BENCH_WORK/import.runs
: >"$OUT"

ng_run() {	# $1 = run; appends "ng SECONDS COMMITTED RSS_KB CPU_SECONDS"
	spool=$(fs_new "ng$1")/spool
	t0=$(now_ns)
	if ! /usr/bin/time -v -o "$BENCH_WORK/time.txt" "$NEWSGATE_BIN" import \
	    --spool "$spool" --group "$BENCH_GROUP" "$CORPUS" \
	    >"$BENCH_WORK/import.out" 2>"$BENCH_WORK/import.err"; then
		say "newsgate import exited non-zero:"
		tail -3 "$BENCH_WORK/import.err" >&2
		tail -1 "$BENCH_WORK/import.out" >&2
	fi
	t1=$(now_ns)
	secs=$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.3f", (b - a) / 1e9 }')
	rss=$(sed -n 's/.*Maximum resident set size (kbytes): //p' \
	    "$BENCH_WORK/time.txt")
	cpu=$(awk -F': ' '/User time|System time/ { s += $2 }
	    END { printf "%.2f", s }' "$BENCH_WORK/time.txt")
	last=$(tail -1 "$BENCH_WORK/import.out")
	committed=$(echo "$last" | sed -n 's/^imported \([0-9]*\),.*/\1/p')
	[ -n "$committed" ] || die "newsgate import: no summary line: $last"
	say "run $1: newsgate import: $secs s, $last, peak RSS $rss kB," \
	    "CPU $cpu s"
	echo "ng $secs $committed $rss $cpu" >>"$OUT"
	# Run 1's articles are what INN is fed; the others go now.
	[ "$1" = 1 ] || fs_drop "ng$1"
}

inn_run() {	# $1 = run; appends "inn SECONDS ACCEPTED SYNCED_SECONDS CPU"
	INN_BENCH_DIR=$(fs_new inn)/inn
	export INN_BENCH_DIR
	inn_setup configure
	inn_env
	inn_setup start
	line=$("$NNTPLOAD" takethis -p "$INN_FEED_PORT" -c "$INN_FEED_CONNS" -d "$INN_FEED_WINDOW" \
	    -X -G "$BENCH_GROUP" \
	    -P "$(cat "$INN_INND_PIDFILE")" "$SRC" 2>"$BENCH_WORK/feed.err") || {
		cat "$BENCH_WORK/feed.err" >&2
		die "feeding INN failed: $line"
	}
	t0=$(now_ns)
	sync -f "$INN_BENCH_DIR/spool"
	t1=$(now_ns)
	secs=$(kv seconds "$line")
	synced=$(awk -v s="$secs" -v a="$t0" -v b="$t1" \
	    'BEGIN { printf "%.3f", s + (b - a) / 1e9 }')
	acc=$(kv accepted "$line")
	hwm=$(sed -n 's/^VmHWM:[[:space:]]*//p' "/proc/$(cat "$INN_INND_PIDFILE")/status")
	say "run $1: INN takethis: $line; + sync $synced s; innd peak $hwm"
	[ "$(kv rejected "$line")" = 0 ] ||
	    say "INN rejected some: $(tail -1 "$BENCH_WORK/feed.err")"
	echo "inn $secs $acc $synced $(kv server_cpu_s "$line")" >>"$OUT"
	inn_setup stop
	fs_drop inn
}

machine
say "corpus $CORPUS: $ITEMS items; $RUNS runs"
r=1
while [ $r -le "$RUNS" ]; do
	ng_run $r
	inn_run $r
	r=$((r + 1))
done
fs_drop ng1

col() {	# median of column $2 of the rows of kind $1
	awk -v k="$1" -v c="$2" '$1 == k { print $c }' "$OUT" | median
}
per() { awk -v n="$1" -v s="$2" 'BEGIN { printf "%.0f", n / s }'; }
ng_s=$(printf %.2f "$(col ng 2)")
ng_n=$(col ng 3)
ng_rss=$(col ng 4)
ng_cpu=$(printf %.2f "$(col ng 5)")
inn_s=$(printf %.2f "$(col inn 2)")
inn_n=$(col inn 3)
inn_sync=$(printf %.2f "$(col inn 4)")
inn_cpu=$(printf %.2f "$(col inn 5)")
ng_rate=$(per "$ng_n" "$ng_s")
ng_items=$(per "$ITEMS" "$ng_s")
ng_crate=$(per "$ng_n" "$ng_cpu")
inn_rate=$(per "$inn_n" "$inn_s")
inn_srate=$(per "$inn_n" "$inn_sync")
inn_crate=$(per "$inn_n" "$inn_cpu")

echo
echo "Ingest: $ITEMS items of $(basename "$CORPUS"), median of $RUNS runs"
echo
echo "| | seconds | articles | articles/s | CPU s | articles/CPU-s | peak RSS |"
echo "| --- | ---: | ---: | ---: | ---: | ---: | ---: |"
printf "| newsgate import, durable (group commit) | %s | %s | %s | %s | %s | %s MiB |\n" \
    "$ng_s" "$ng_n" "$ng_rate" "$ng_cpu" "$ng_crate" \
    "$(awk -v k="$ng_rss" 'BEGIN { printf "%.1f", k / 1024 }')"
printf "| INN 2.7.1 innd, TAKETHIS, %s in flight x %s conns (no fsync) | %s | %s | %s | %s | %s | |\n" \
    "$INN_FEED_WINDOW" "$INN_FEED_CONNS" "$inn_s" "$inn_n" "$inn_rate" "$inn_cpu" "$inn_crate"
printf "| INN, the same + syncfs after the feed | %s | %s | %s | | | |\n" \
    "$inn_sync" "$inn_n" "$inn_srate"
echo
echo "newsgate/INN, articles/s: $(ratio "$ng_rate" "$inn_rate")" \
    "(against INN + syncfs: $(ratio "$ng_rate" "$inn_srate"));" \
    "articles per CPU-second: $(ratio "$ng_crate" "$inn_crate")"
echo "newsgate: $ng_items corpus items/s (duplicates dropped included)," \
    "peak RSS $(awk -v k="$ng_rss" 'BEGIN { printf "%.1f", k / 1024 }') MiB"
echo "runs, seconds: newsgate$(awk '$1 == "ng" { printf " %s", $2 }' "$OUT");" \
    "INN$(awk '$1 == "inn" { printf " %s", $2 }' "$OUT")"
echo "runs, CPU seconds: newsgate$(awk '$1 == "ng" { printf " %s", $5 }' \
    "$OUT"); INN$(awk '$1 == "inn" { printf " %s", $5 }' "$OUT")"
echo "load average at the end: $(cut -d' ' -f1-3 /proc/loadavg)"
