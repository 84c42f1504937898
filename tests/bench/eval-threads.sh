#!/bin/sh
# eval-threads.sh - the quality of similarity threading, measured the way a
# user gets it: import each labeled corpus into a temporary spool with
# `newsgate import --group test.x`, list the threads with `newsgate threads
# --tsv`, and score them against the gold stories with the corpus scorer
# (B-cubed precision, recall, F1; pairwise F1). Default settings only.
#
#   sh tests/bench/eval-threads.sh [CORPUS...]     (make eval-threads)
#
# CORPUS: stories, fulltext, usenet (default: all three). Environment:
#   NEWSGATE_BIN   the newsgate binary (default build/newsgate)
#   CORPUS_DIR     the corpora (default ../shared/corpus next to the tree)
#   NEWSGATE_CONF  a configuration file to evaluate instead of the defaults
# The corpora are read where they are; nothing is copied into the tree.
# Exit status: 0 when every corpus met its target, 1 otherwise.
set -eu

top=$(cd "$(dirname "$0")/../.." && pwd)
ng=${NEWSGATE_BIN:-$top/build/newsgate}
corpus=${CORPUS_DIR:-$top/../shared/corpus}
conf=${NEWSGATE_CONF:-}
[ $# -gt 0 ] || set -- stories fulltext usenet

[ -x "$ng" ] || { echo "eval-threads: no $ng (make first)" >&2; exit 2; }
[ -f "$corpus/score_threads.py" ] ||
	{ echo "eval-threads: no corpus in $corpus" >&2; exit 2; }

tmp=$(mktemp -d "${TMPDIR:-/tmp}/eval-threads.XXXXXX")
trap 'rm -rf "$tmp"' EXIT INT TERM
status=0

# target CORPUS: the B3 F1 it must reach (docs/threading.md, issue 4).
target() {
	case $1 in
	stories) echo 0.75 ;;
	fulltext) echo 0.92 ;;
	*) echo 0 ;;
	esac
}

for c in "$@"; do
	case $c in
	stories | fulltext)
		input=$corpus/$c-dev.jsonl
		gold=$input
		;;
	usenet)
		# Real mailing-list follow-ups with their own References:
		# they must keep their threads. The gold thread is the
		# "thread" field; the scorer wants it as "story".
		input=$tmp/usenet.mbox
		gzip -dc "$corpus/usenet-dev.mbox.gz" >"$input"
		gold=$tmp/usenet-gold.jsonl
		python3 -c 'import json, sys
for l in open(sys.argv[1]):
    d = json.loads(l)
    print(json.dumps({"id": "<%s>" % d["id"], "story": d["thread"]}))' \
		    "$corpus/usenet-dev.jsonl" >"$gold"
		;;
	*)
		echo "eval-threads: unknown corpus $c" >&2
		exit 2
		;;
	esac
	spool=$tmp/spool-$c
	set -- --spool "$spool"
	[ -z "$conf" ] || set -- "$@" --config "$conf"
	start=$(date +%s.%N)
	# A few messages of the mail corpus are refused (lines over 998
	# octets): import then exits 1, and the rest is still there.
	"$ng" import "$@" --group test.x "$input" >"$tmp/import-$c.log" 2>&1 ||
		grep -q '^imported [1-9]' "$tmp/import-$c.log" ||
		{ cat "$tmp/import-$c.log" >&2; exit 1; }
	end=$(date +%s.%N)
	"$ng" threads "$@" --group test.x --tsv >"$tmp/threads-$c.tsv"
	# Score by the id the article had at import (the JSON Lines id);
	# mail keeps its Message-ID.
	if [ "$c" = usenet ]; then
		cut -f1,2 "$tmp/threads-$c.tsv" >"$tmp/pred-$c.tsv"
	else
		awk -F '\t' '{ print $3 "\t" $2 }' "$tmp/threads-$c.tsv" \
		    >"$tmp/pred-$c.tsv"
	fi
	n=$(wc -l <"$tmp/pred-$c.tsv")
	echo "== $c: $n articles imported in" \
	    "$(awk "BEGIN { printf \"%.1f\", $end - $start }") s" \
	    "($(tail -1 "$tmp/import-$c.log"))"
	python3 "$corpus/score_threads.py" "$gold" "$tmp/pred-$c.tsv" \
	    >"$tmp/score-$c.txt" 2>"$tmp/score-$c.err" ||
		{ cat "$tmp/score-$c.err" >&2; exit 1; }
	sed 's/^/   /' "$tmp/score-$c.txt"
	f1=$(sed -n 's/^B3 F1: //p' "$tmp/score-$c.txt")
	want=$(target "$c")
	if awk "BEGIN { exit !(${f1:-0} >= $want) }"; then
		echo "   target B3 F1 >= $want: met"
	else
		echo "   target B3 F1 >= $want: NOT met"
		status=1
	fi
	set --
done
exit $status
