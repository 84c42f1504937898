#!/bin/sh
# plot-threads.sh - B-cubed precision, recall and F1 of similarity
# threading against the threshold, for each labeled corpus, as a table
# (docs/threading-threshold.tsv) and a plot (docs/threading-threshold.svg,
# gnuplot).
#
#   sh tests/bench/plot-threads.sh [BUILD]      (after make BUILD=...)
#
# Each point threads the corpus in file order with the default settings
# but the threshold, through the threading module itself
# (tests/bench/thread_eval.c linked against BUILD/libnewsgate.a): a full
# import per point would take an hour. At the default threshold the
# driver gives exactly what `make eval-threads` measures through import,
# which the script checks (the same articles, titles, texts and dates go
# to the same code). Environment: CORPUS_DIR (default ../shared/corpus),
# THRESHOLDS (default 0.04 to 0.40).
set -eu

top=$(cd "$(dirname "$0")/../.." && pwd)
build=$top/${1:-build}
corpus=${CORPUS_DIR:-$top/../shared/corpus}
ths=${THRESHOLDS:-"0.04 0.06 0.08 0.10 0.12 0.14 0.16 0.18 0.20 0.22 0.24 0.26 0.28 0.30 0.33 0.36 0.40"}
out=$top/docs/threading-threshold

[ -f "$build/libnewsgate.a" ] ||
	{ echo "plot-threads: no $build/libnewsgate.a (make first)" >&2; exit 2; }
command -v gnuplot >/dev/null ||
	{ echo "plot-threads: needs gnuplot (apt-get install gnuplot-nox)" >&2
	  exit 2; }

tmp=$(mktemp -d "${TMPDIR:-/tmp}/plot-threads.XXXXXX")
trap 'rm -rf "$tmp"' EXIT INT TERM

cc -std=c17 -D_GNU_SOURCE -O2 -I"$top/include" -o "$tmp/thread_eval" \
    "$top/tests/bench/thread_eval.c" "$build/libnewsgate.a" \
    $(pkg-config --libs jansson) -lstemmer -lm

# The default threshold, as thread_conf_default() has it.
def=$("$tmp/thread_eval" -d)

printf 'corpus\tthreshold\tP\tR\tF1\tthreads\n' >"$out.tsv"
for c in stories fulltext; do
	for th in $ths $def; do
		"$tmp/thread_eval" -s threshold="$th" -o "$tmp/pred.tsv" \
		    "$corpus/$c-dev.jsonl" 2>/dev/null
		python3 "$corpus/score_threads.py" "$corpus/$c-dev.jsonl" \
		    "$tmp/pred.tsv" 2>/dev/null |
		    awk -v c="$c" -v th="$th" '
			/^gold stories/ { t = $6 }
			/^B3 P/ { p = $3; r = $5 }
			/^B3 F1/ { printf "%s\t%s\t%s\t%s\t%s\t%s\n",
			    c, th, p, r, $3, t }'
	done
done | sort -t '	' -k1,1r -k2,2n -u >>"$out.tsv"

echo "default threshold $def:"
awk -F '\t' -v d="$def" '$2 == d' "$out.tsv"

for c in stories fulltext; do
	awk -F '\t' -v c="$c" '$1 == c { print $2, $3, $4, $5 }' "$out.tsv" \
	    >"$tmp/$c.dat"
done
gnuplot <<EOF
set terminal svg size 960,420 dynamic font "sans,12"
set output "$out.svg"
set multiplot layout 1,2
set xlabel "threshold (newsgate.conf [threading] threshold)"
set ylabel "B-cubed"
set yrange [0:1]
set key bottom right
set grid
set arrow 1 from $def, graph 0 to $def, graph 1 nohead dt 2 lc rgb "gray40"
set title "stories-dev: 142,358 headlines (target F1 0.75)"
plot "$tmp/stories.dat" using 1:2 with linespoints title "precision", \
     "" using 1:3 with linespoints title "recall", \
     "" using 1:4 with linespoints lw 2 title "F1", \
     0.75 with lines dt 3 lc rgb "black" notitle
set title "fulltext-dev: 331 full texts (target F1 0.92)"
plot "$tmp/fulltext.dat" using 1:2 with linespoints title "precision", \
     "" using 1:3 with linespoints title "recall", \
     "" using 1:4 with linespoints lw 2 title "F1", \
     0.92 with lines dt 3 lc rgb "black" notitle
unset multiplot
EOF
echo "wrote $out.tsv and $out.svg"
