#!/bin/sh
# post.sh - the posting benchmarks of issue 5: POST throughput of newsgate
# against INN's nnrpd, and newsgate's ARTICLE throughput over TLS against
# plaintext.
#
#   sh tests/bench/post.sh          (as root: it installs and runs INN)
#   PARTS=tls sh tests/bench/post.sh   (only (b); PARTS=post: only (a))
#
# (a) POST. POSTS (8,000) articles of the corpus (imported once into a
#     scratch spool, their files used as the source) are posted with
#     `nntpload post`: MODE READER, then POST, 340, the article, 240, one
#     article at a time per connection, as every newsreader posts; over
#     each of CONNS_LIST (4 16 64) connections. RUNS (3) runs alternate
#     the servers; every run starts from an empty server: newsgate on a
#     fresh file system (BENCH_FS in lib.sh), INN reset. newsgate runs in
#     both of its durability modes ([spool] sync, newsgate.conf(5)):
#     durable (sync = yes, the default) answers 240 only once the article
#     is on stable storage (group commit: one commit for every post that
#     arrived meanwhile), so with one article in flight per connection its
#     rate is bounded by connections / (the time of one commit: two
#     device flushes), whatever its CPU; sync = no writes the same files
#     in the same order without a flush, like INN, whose nnrpd hands the
#     article to innd, which never fsyncs it. Reported: posts/s and posts
#     per server CPU-second, medians, and the ratios to INN.
# (b) ARTICLE over TLS. newsgate serves the scratch spool on a plain port
#     and an implicit-TLS port (a certificate from contrib/scripts/
#     mkcert.sh); TLS_CONNS (4) clients each send TLS_REQS (20,000)
#     pipelined ARTICLE commands for random numbers, then QUIT: over TLS
#     with `openssl s_client`, in plaintext through bash's /dev/tcp. Both
#     read every reply to the end. Reported: ARTICLE/s and server CPU
#     microseconds per ARTICLE (the fair figure: the two clients differ),
#     medians of RUNS.
#
# newsgate serves on 127.0.0.1:NG_PORT (1192) and NG_TLS_PORT (1193);
# INN's readers on 127.0.0.1:INN_READER_PORT (1191).
set -eu
. "$(dirname "$0")/lib.sh"

POSTS=${POSTS:-8000}
CONNS_LIST=${CONNS_LIST:-4 16 64}
RUNS=${RUNS:-3}
NG_PORT=${NG_PORT:-1192}
NG_TLS_PORT=${NG_TLS_PORT:-1193}
TLS_CONNS=${TLS_CONNS:-4}
TLS_REQS=${TLS_REQS:-50000}
PARTS=${PARTS:-post tls} # which of (a) and (b) to run

[ "$(id -u)" = 0 ] || die "run as root (INN is installed and run as news)"
[ -r "$CORPUS" ] || die "no corpus at $CORPUS"
command -v openssl >/dev/null || die "need the openssl program"
command -v bash >/dev/null || die "need bash (its /dev/tcp)"
bench_build
bench_workdir
NG_PID=
stop_ng() {
	if [ -n "$NG_PID" ]; then
		kill "$NG_PID" 2>/dev/null || true
		wait "$NG_PID" 2>/dev/null || true
		NG_PID=
	fi
}
trap 'stop_ng; inn_setup stop || true; bench_cleanup' EXIT
trap 'exit 130' INT TERM
inn_setup install

SRC=$BENCH_WORK/src
SRCDIR=$SRC/articles/$(echo "$BENCH_GROUP" | tr . /)
OUT=$BENCH_WORK/post.runs
: >"$OUT"

# --- the articles to post ------------------------------------------------
# Each run posts the first POSTS of them; the Message-IDs are kept (new to
# an empty server), the headers a server adds are dropped by nntpload.
head -n "$POSTS" "$CORPUS" |
    "$NEWSGATE_BIN" import --spool "$SRC" --group "$BENCH_GROUP" \
    --format jsonl - >"$BENCH_WORK/src.out" 2>&1 ||
    die "import of the source articles failed: $(tail -2 "$BENCH_WORK/src.out")"
have=$(find "$SRCDIR" -type f ! -name '.*' | wc -l)
say "source: $have articles in $SRCDIR"
[ "$have" -gt 0 ] || die "no source articles"

# --- (a) POST -------------------------------------------------------------
start_ng() {	# spool, then serve options
	spool=$1
	shift
	"$NEWSGATE_BIN" serve --spool "$spool" "$@" \
	    2>>"$BENCH_WORK/serve.log" &
	NG_PID=$!
	"$NNTPLOAD" probe -p "$NG_PORT" -t 20 >/dev/null ||
	    die "newsgate serve did not start: $(tail -3 "$BENCH_WORK/serve.log")"
}

NOSYNC_CONF=$BENCH_WORK/nosync.conf
printf '[spool]\nsync = no\n' >"$NOSYNC_CONF"

ng_post() {	# conns run mode (sync|nosync)
	fs=$(fs_new ngpost)
	"$NEWSGATE_BIN" groups --spool "$fs/spool" add "$BENCH_GROUP" \
	    "posting benchmark" >/dev/null
	if [ "$3" = nosync ]; then
		start_ng "$fs/spool" --config "$NOSYNC_CONF" \
		    --listen "127.0.0.1:$NG_PORT"
	else
		start_ng "$fs/spool" --listen "127.0.0.1:$NG_PORT"
	fi
	line=$("$NNTPLOAD" post -p "$NG_PORT" -c "$1" -n "$POSTS" \
	    -P "$NG_PID" "$SRCDIR" 2>>"$BENCH_WORK/load.err") ||
	    say "newsgate post: nntpload: $(tail -1 "$BENCH_WORK/load.err")"
	stop_ng
	"$NEWSGATE_BIN" check --spool "$fs/spool" >"$BENCH_WORK/check.out" 2>&1 ||
	    say "newsgate check after the run: $(tail -2 "$BENCH_WORK/check.out")"
	fs_drop ngpost
	say "run $2: newsgate ($3), $1 conns: $line"
	echo "ng$3 post$1 $line" >>"$OUT"
}

inn_post() {	# conns run
	inn_setup reset
	inn_setup start
	line=$("$NNTPLOAD" post -p "$INN_READER_PORT" -c "$1" -n "$POSTS" \
	    -P "$(cat "$INN_NNRPD_PIDFILE")" "$SRCDIR" \
	    2>>"$BENCH_WORK/load.err") ||
	    say "INN post: nntpload: $(tail -1 "$BENCH_WORK/load.err")"
	# nnrpd's children post through innd: count innd's CPU too.
	say "run $2: INN, $1 conns: $line"
	echo "inn post$1 $line" >>"$OUT"
}

machine
case " $PARTS " in *" post "*)
INN_BENCH_DIR=$(fs_new innpost)/inn
export INN_BENCH_DIR
inn_setup configure
inn_env
r=1
while [ $r -le "$RUNS" ]; do
	for c in $CONNS_LIST; do
		ng_post "$c" "$r" sync
		ng_post "$c" "$r" nosync
		inn_post "$c" "$r"
	done
	r=$((r + 1))
done
inn_setup stop
esac

# --- (b) ARTICLE over TLS -----------------------------------------------------
case " $PARTS " in *" tls "*)
TLSDIR=$BENCH_WORK/tls
sh "$TOP/contrib/scripts/mkcert.sh" "$TLSDIR" >/dev/null
CONF=$BENCH_WORK/readonly.conf
printf '[server]\npost_policy = nobody\n' >"$CONF"
hi=$(awk -v g="$BENCH_GROUP" '$1 == g { print $2 + 0 }' "$SRC/data/active")
awk -v n="$TLS_REQS" -v hi="$hi" -v g="$BENCH_GROUP" 'BEGIN { srand(1);
    printf "GROUP %s\r\n", g;
    for (i = 0; i < n; i++) printf "ARTICLE %d\r\n", 1 + int(rand() * hi);
    printf "QUIT\r\n" }' >"$BENCH_WORK/reqs"
# Server CPU seconds so far: its time on CPU (schedstat, in ns; the
# server reads and writes in one thread).
srv_cpu() {
	awk '{ printf "%.6f", $1 / 1e9 }' "/proc/$NG_PID/schedstat"
}
tls_run() {	# tls|plain run
	c0=$(srv_cpu)
	t0=$(now_ns)
	pids=
	i=1
	while [ $i -le "$TLS_CONNS" ]; do
		if [ "$1" = tls ]; then
			openssl s_client -quiet -ign_eof -connect \
			    "127.0.0.1:$NG_TLS_PORT" <"$BENCH_WORK/reqs" \
			    >"$BENCH_WORK/out$i" 2>/dev/null &
		else
			bash -c 'exec 3<>"/dev/tcp/127.0.0.1/$1" || exit 1
			    cat "$2" >&3 & cat <&3' sh "$NG_PORT" \
			    "$BENCH_WORK/reqs" >"$BENCH_WORK/out$i" &
		fi
		pids="$pids $!"
		i=$((i + 1))
	done
	for p in $pids; do
		wait "$p" || true
	done
	t1=$(now_ns)
	c1=$(srv_cpu)
	n=$(cat "$BENCH_WORK"/out* | grep -c '^220 ' || true)
	want=$((TLS_CONNS * TLS_REQS))
	[ "$n" = "$want" ] || say "$1: $n of $want ARTICLE replies were 220"
	line=$(awk -v n="$n" -v a="$t0" -v b="$t1" -v c0="$c0" -v c1="$c1" \
	    'BEGIN { s = (b - a) / 1e9;
	    printf "ops=%d seconds=%.3f rate=%.0f server_cpu_s=%.3f",
		n, s, n / s, c1 - c0;
	    printf " us_per_op=%.2f", (n > 0 ? (c1 - c0) * 1e6 / n : 0) }')
	rm -f "$BENCH_WORK"/out*
	say "run $2: ARTICLE $1: $line"
	echo "ng $1 $line" >>"$OUT"
}
start_ng "$SRC" --config "$CONF" --listen "127.0.0.1:$NG_PORT" \
    --tls-listen "127.0.0.1:$NG_TLS_PORT" --tls-cert "$TLSDIR/cert.pem" \
    --tls-key "$TLSDIR/key.pem"
r=1
while [ $r -le "$RUNS" ]; do
	tls_run plain "$r"
	tls_run tls "$r"
	r=$((r + 1))
done
stop_ng
esac

# --- report ---------------------------------------------------------------
vals() {	# server test key: the key of each run, one per line
	grep "^$1 $2 " "$OUT" | while read -r _ _ rest; do
		kv "$3" "$rest"
	done
}
med() { vals "$@" | median; }
runs() { vals "$1" "$2" "$3" | awk '{ printf (NR > 1 ? " " : "") "%.0f",
    $1 }'; }
per_cpu() {	# server test: posts per server CPU-second
	a=$(med "$1" "$2" accepted)
	c=$(med "$1" "$2" server_cpu_s)
	awk -v a="$a" -v c="$c" 'BEGIN { if (c > 0) printf "%.0f", a / c;
	    else print "n/a" }'
}

case " $PARTS " in *" post "*)
echo
echo "POST: $POSTS articles, one in flight per connection; medians of" \
    "$RUNS runs (alternating servers, each from empty)"
echo
echo "| connections | newsgate posts/s, durable (sync = yes) |" \
    "newsgate posts/s, sync = no | INN 2.7.1 posts/s (no fsync) |" \
    "durable/INN | sync = no/INN | newsgate posts/CPU-s, durable |" \
    "newsgate posts/CPU-s, sync = no | INN nnrpd posts/CPU-s |" \
    "durable runs | sync = no runs | INN runs |"
echo "| ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | --- | --- | --- |"
for c in $CONNS_LIST; do
	a=$(med ngsync "post$c" rate)
	n=$(med ngnosync "post$c" rate)
	b=$(med inn "post$c" rate)
	printf "| %s | %.0f | %.0f | %.0f | %s | %s | %s | %s | %s | %s | %s | %s |\n" \
	    "$c" "$a" "$n" "$b" "$(ratio "$a" "$b")" "$(ratio "$n" "$b")" \
	    "$(per_cpu ngsync "post$c")" "$(per_cpu ngnosync "post$c")" \
	    "$(per_cpu inn "post$c")" "$(runs ngsync "post$c" rate)" \
	    "$(runs ngnosync "post$c" rate)" "$(runs inn "post$c" rate)"
done
echo
for c in $CONNS_LIST; do
	echo "nntpload's own CPU-seconds per run at $c connections (medians):" \
	    "durable $(med ngsync "post$c" client_cpu_s)," \
	    "sync = no $(med ngnosync "post$c" client_cpu_s)," \
	    "INN $(med inn "post$c" client_cpu_s)"
done
echo "load average at the end: $(cut -d' ' -f1-3 /proc/loadavg)"
echo
echo "(INN's CPU is nnrpd's, its children included; innd, which files the" \
    "articles, is not counted.)"
esac
case " $PARTS " in *" tls "*)
echo
echo "ARTICLE by random number, $TLS_CONNS connections x $TLS_REQS" \
    "pipelined requests; medians of $RUNS runs"
echo
echo "| | ARTICLE/s | server CPU us/ARTICLE | runs (ARTICLE/s) |"
echo "| --- | ---: | ---: | --- |"
for k in plain tls; do
	printf "| newsgate, %s | %.0f | %.2f | %s |\n" "$k" \
	    "$(med ng "$k" rate)" "$(med ng "$k" us_per_op)" \
	    "$(runs ng "$k" rate)"
done
echo
echo "TLS/plain, ARTICLE/s: $(ratio "$(med ng tls rate)" "$(med ng plain rate)");" \
    "server CPU per ARTICLE: $(ratio "$(med ng tls us_per_op)" \
    "$(med ng plain us_per_op)")"
esac
