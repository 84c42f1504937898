#!/bin/sh
# threads-speed.sh - what similarity threading costs (docs/threading.md):
#  1. the threading module alone on stories-dev.jsonl (tests/bench/
#     thread_eval.c): articles/s, the cost per article around the 10,000th,
#     50,000th and 140,000th article (it must stay flat), index memory per
#     live article and vocabulary memory per term;
#  2. `newsgate import --group test.x stories-dev.jsonl` into a fresh
#     spool with threading on and off: wall, user and system seconds.
#
#   sh tests/bench/threads-speed.sh [BUILD]       (after make BUILD=...)
#
# Environment: CORPUS_DIR (default ../shared/corpus), RUNS (imports per
# setting, default 1). Nothing is written into the tree.
set -eu

top=$(cd "$(dirname "$0")/../.." && pwd)
build=$top/${1:-build}
corpus=${CORPUS_DIR:-$top/../shared/corpus}
input=$corpus/stories-dev.jsonl
runs=${RUNS:-1}

[ -x "$build/newsgate" ] && [ -f "$build/libnewsgate.a" ] ||
	{ echo "threads-speed: build $build first" >&2; exit 2; }
tmp=$(mktemp -d "${TMPDIR:-/tmp}/threads-speed.XXXXXX")
trap 'rm -rf "$tmp"' EXIT INT TERM

cc -std=c17 -D_GNU_SOURCE -O2 -I"$top/include" -o "$tmp/thread_eval" \
    "$top/tests/bench/thread_eval.c" "$build/libnewsgate.a" \
    $(pkg-config --libs jansson) -lstemmer -lm
echo "== threading alone ($(wc -l <"$input") headlines, file order)"
"$tmp/thread_eval" -o /dev/null "$input" 2>&1 | sed 's/^/   /'

printf '[threading]\nenabled = no\n' >"$tmp/off.conf"
for i in $(seq "$runs"); do
	for mode in off on; do
		rm -rf "$tmp/spool"
		set -- --spool "$tmp/spool" --group test.x
		[ "$mode" = on ] || set -- "$@" --config "$tmp/off.conf"
		/usr/bin/time -f "%e %U %S" -o "$tmp/time" \
		    "$build/newsgate" import "$@" "$input" >/dev/null 2>&1
		read -r wall user sys <"$tmp/time"
		n=$(wc -l <"$input")
		echo "== import, threading $mode: $wall s wall" \
		    "($(awk "BEGIN { printf \"%.0f\", $n / $wall }") articles/s)," \
		    "$user s user, $sys s system"
	done
done
