# lib.sh - shared by the benchmark scripts (sourced, POSIX sh).
#
# Settings (environment):
#   BUILD          build directory of newsgate (build)
#   NEWSGATE_BIN   the binary ($TOP/$BUILD/newsgate)
#   CORPUS         ../shared/corpus/stories-dev.jsonl, read in place
#   RUNS           runs per measurement; medians are reported (5)
#   BENCH_WORK     scratch directory (a new one under /var/tmp)
#   BENCH_FS       loop: each spool on a fresh ext4 file system (a sparse
#                  image loop-mounted under BENCH_WORK), so every run
#                  starts from the same state and cleaning up is quick;
#                  dir: plain directories in BENCH_WORK (the default when
#                  loop devices are not available)
#   INN_*          see inn-setup.sh

TOP=$(cd "$(dirname "$0")/../.." && pwd)
BENCH=$TOP/tests/bench
BUILD=${BUILD:-build}
NEWSGATE_BIN=${NEWSGATE_BIN:-$TOP/$BUILD/newsgate}
CORPUS=${CORPUS:-$TOP/../shared/corpus/stories-dev.jsonl}
RUNS=${RUNS:-5}
BENCH_GROUP=bench.stories
NNTPLOAD=$TOP/$BUILD/bench/nntpload
export INN_BENCH_GROUPS="$BENCH_GROUP"
# How INN is fed: connections and TAKETHIS in flight on each, the setting
# where innd was fastest here. On one connection innd (which sets a 24 KiB
# SO_RCVBUF) waits on the TCP receive window most of the time (about
# 2,000 articles/s); with 64 in flight on each of 8 connections it took
# the first 60,000 articles at 20,000/s, then stalled to about 1,200/s
# (innd idle in pselect, the feeder idle in epoll_wait, both socket queues
# empty). 16 connections of 4 in flight: 20,600 to 22,600 articles/s,
# as fast as 32 x 4 and faster than 8 x 8, 32 x 8 or 64 x 2
# (docs/performance.md).
INN_FEED_CONNS=${INN_FEED_CONNS:-16}
INN_FEED_WINDOW=${INN_FEED_WINDOW:-4}
# Is nothing listening on TCP port $1 (any address)?
port_free() {
	! awk -v h="$(printf ':%04X' "$1")" '$4 == "0A" &&
	    substr($2, length($2) - 4) == h { f = 1 } END { exit !f }' \
	    /proc/net/tcp /proc/net/tcp6 2>/dev/null
}
# The first free port from $1 on.
pick_port() {
	p=$1
	while ! port_free "$p"; do p=$((p + 1)); done
	echo "$p"
}

# Ports: the defaults when free, else the next free ones (the machine may
# run other INN instances, such as inn-setup.sh's default one).
INN_FEED_PORT=${INN_FEED_PORT:-$(pick_port 1190)}
INN_READER_PORT=${INN_READER_PORT:-$(pick_port $((INN_FEED_PORT + 1)))}
NG_PORT=${NG_PORT:-$(pick_port $((INN_READER_PORT + 1)))}
export INN_FEED_PORT INN_READER_PORT

say() { echo "bench: $*" >&2; }

die() { say "$*"; exit 1; }

# newsgate and the load generator, built when missing or stale.
bench_build() {
	[ -x "$NEWSGATE_BIN" ] || make -C "$TOP" BUILD="$BUILD" all >&2 ||
	    die "cannot build newsgate"
	mkdir -p "$TOP/$BUILD/bench"
	if [ ! -x "$NNTPLOAD" ] || [ "$BENCH/nntpload.c" -nt "$NNTPLOAD" ]; then
		${CC:-cc} -O2 -g -std=c17 -D_GNU_SOURCE -Wall -Wextra \
		    -o "$NNTPLOAD" "$BENCH/nntpload.c" || die "cannot build nntpload"
	fi
	[ -x /usr/bin/time ] || { apt-get update -q >&2 &&
	    apt-get install -y -q time >&2; } ||
	    die "need /usr/bin/time (package time)"
}

bench_workdir() {
	if [ -z "${BENCH_WORK:-}" ]; then
		BENCH_WORK=$(mktemp -d /var/tmp/newsgate-bench.XXXXXX)
		chmod 755 "$BENCH_WORK" # INN runs as news
		BENCH_WORK_OWN=1
	fi
	mkdir -p "$BENCH_WORK"
}

# fs_new NAME: a fresh, empty file system (or directory); prints its path.
fs_new() {
	fs_drop "$1"
	mkdir -p "$BENCH_WORK/$1"
	if [ "${BENCH_FS:-loop}" = loop ] && command -v mkfs.ext4 >/dev/null &&
	    truncate -s 8G "$BENCH_WORK/$1.img" &&
	    mkfs.ext4 -q -F -N 1000000 \
	    -E lazy_itable_init=0,lazy_journal_init=0 "$BENCH_WORK/$1.img" 2>/dev/null &&
	    mount -o loop "$BENCH_WORK/$1.img" "$BENCH_WORK/$1" 2>/dev/null; then
		rm -rf "$BENCH_WORK/$1/lost+found"
	else
		rm -f "$BENCH_WORK/$1.img"
		[ "${BENCH_FS:-loop}" = dir ] ||
		    say "no loop file system; using plain directories"
		BENCH_FS=dir
	fi
	echo "$BENCH_WORK/$1"
}

fs_drop() {
	if mountpoint -q "$BENCH_WORK/$1" 2>/dev/null; then
		umount "$BENCH_WORK/$1" || umount -l "$BENCH_WORK/$1"
	fi
	rm -rf "$BENCH_WORK/$1" "$BENCH_WORK/$1.img"
}

bench_cleanup() {
	[ -n "${BENCH_WORK:-}" ] || return 0
	if [ -n "${BENCH_KEEP:-}" ]; then
		say "kept $BENCH_WORK (file systems still mounted)"
		return 0
	fi
	for m in "$BENCH_WORK"/*; do
		mountpoint -q "$m" 2>/dev/null || continue
		umount "$m" || umount -l "$m"
		rm -f "$m.img"
	done
	[ -z "${BENCH_WORK_OWN:-}" ] || rm -rf "$BENCH_WORK"
}

# The value of key in a "mode key=value ..." line.
kv() { echo "$2" | tr ' ' '\n' | sed -n "s/^$1=//p" | head -1; }

# Median of the numbers on stdin, one per line.
median() {
	sort -g | awk '{ v[NR] = $1 } END {
	    if (NR == 0) { print "nan"; exit }
	    if (NR % 2) print v[(NR + 1) / 2];
	    else print (v[NR / 2] + v[NR / 2 + 1]) / 2 }'
}

# a / b to two decimals.
ratio() { awk -v a="$1" -v b="$2" 'BEGIN {
    if (a + 0 > 0 && b + 0 > 0 && a / b < 0.1) printf "1/%.0f", b / a;
    else if (b + 0 > 0) printf "%.2f", a / b; else print "n/a" }'; }

now_ns() { date +%s%N; }

machine() {
	echo "machine: $(nproc) CPUs, $(sed -n 's/^model name[^:]*: //p' \
	    /proc/cpuinfo | head -1), $(awk '/MemTotal/ { printf "%.0f GiB",
	    $2 / 1048576 }' /proc/meminfo) RAM, Linux $(uname -r),"\
	    "load average $(cut -d' ' -f1-3 /proc/loadavg) at start"
}

inn_setup() { sh "$BENCH/inn-setup.sh" "$@" >&2; }
inn_env() { eval "$(sh "$BENCH/inn-setup.sh" env)"; }
