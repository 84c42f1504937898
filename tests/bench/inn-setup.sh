#!/bin/sh
# inn-setup.sh - a private INN 2.7 instance on loopback, for benchmarks.
#
#   sh tests/bench/inn-setup.sh [install|configure|reset|start|stop|status|env]
#
# With no argument: install, configure (keeping any data already there) and
# start. Every step is idempotent. Needs root (apt-get, and the daemons run
# as the "news" user).
#
#   install    apt-get install inn2 (Debian 12: INN 2.7.1) without letting
#              its postinst start the system innd, and work around a host
#              name that does not resolve to an FQDN (postinst would fail).
#   configure  $INN_BENCH_DIR/{etc,db,spool,log,run,tmp}, a private inn.conf
#              that points every path there, and the groups.
#   reset      stop, then empty the spool, overview, history and active
#              (the groups are recreated, all empty).
#   start      innd on 127.0.0.1:$INN_FEED_PORT (peering: IHAVE, streaming)
#              and nnrpd -D on 127.0.0.1:$INN_READER_PORT (readers; one
#              process per connection, as INN serves readers).
#   stop       shut both down (ctlinnd shutdown, SIGTERM to nnrpd).
#   env        print the settings as shell assignments.
#
# What is INN's default is left so: storage tradspool (storage.conf:
# "method tradspool"), overview tradindexed, history hisv6 with dbz, no
# fsync of articles (INN has no such setting; it never fsyncs an article),
# the perl filter and controlchan as shipped. Changed from the package's
# inn.conf, and why:
#   artcutoff: 0        the corpus is from 2014; the default (10 days)
#                       would reject every article as too old
#   nnrpdloadlimit: 0   the default (16) refuses readers when the load
#                       average passes 16, which 64 busy nnrpd processes do
#   maxconnections: 0   no cap on innd connections (default 50)
#   port, bindaddress, bindaddress6, domain, pathhost, path*: this instance
#
# Settings (environment):
#   INN_BENCH_DIR     /var/lib/newsgate-bench/inn
#   INN_FEED_PORT     1190
#   INN_READER_PORT   1191
#   INN_BENCH_GROUPS  "bench.stories"   (space-separated)

set -eu

INN_BENCH_DIR=${INN_BENCH_DIR:-/var/lib/newsgate-bench/inn}
INN_FEED_PORT=${INN_FEED_PORT:-1190}
INN_READER_PORT=${INN_READER_PORT:-1191}
INN_BENCH_GROUPS=${INN_BENCH_GROUPS:-bench.stories}

D=$INN_BENCH_DIR
CONF=$D/etc/inn.conf
BIN=/usr/lib/news/bin
export INNCONF="$CONF"

say() { echo "inn-setup: $*" >&2; }
die() { say "$*"; exit 1; }

as_news() { runuser -u news -- env INNCONF="$CONF" "$@"; }

# Is something accepting on 127.0.0.1:$1? (perl is an INN dependency.)
port_busy() {
	perl -MIO::Socket::INET -e 'exit(IO::Socket::INET->new(
	    PeerAddr => "127.0.0.1", PeerPort => $ARGV[0], Timeout => 2)
	    ? 0 : 1)' "$1"
}

# The first line the server at 127.0.0.1:$1 sends, or nothing.
greeting() {
	perl -MIO::Socket::INET -e 'my $s = IO::Socket::INET->new(
	    PeerAddr => "127.0.0.1", PeerPort => $ARGV[0], Timeout => 5)
	    or exit 1; my $l = <$s>; print $l if defined $l; print $s "QUIT\r\n"' \
	    "$1" 2>/dev/null || true
}

pid_alive() { [ -f "$1" ] && kill -0 "$(cat "$1")" 2>/dev/null; }

do_install() {
	[ "$(id -u)" = 0 ] || die "run as root"
	if dpkg-query -W -f '${Status}\n' inn2 2>/dev/null |
	    grep -q '^install ok installed$'; then
		return 0
	fi
	command -v runuser >/dev/null || die "runuser (util-linux) missing"
	# Keep postinst from starting the system innd: a policy-rc.d that
	# denies every start, unless the machine already has one.
	own_policy=
	if [ ! -e /usr/sbin/policy-rc.d ]; then
		printf '#!/bin/sh\nexit 101\n' >/usr/sbin/policy-rc.d
		chmod 755 /usr/sbin/policy-rc.d
		own_policy=1
	fi
	export DEBIAN_FRONTEND=noninteractive
	if ! dpkg-query -W inn2 >/dev/null 2>&1; then
		apt-get update -q >&2 || true
		apt-get install -y -q inn2 >&2 ||
		    say "apt-get install inn2 failed; trying to finish configuring"
	fi
	# postinst calls innconfval, which fails when the host name has no
	# domain ("vm", a container): give the system inn.conf a domain.
	if ! INNCONF=/etc/news/inn.conf $BIN/innconfval pathdb >/dev/null 2>&1
	then
		sed -i 's/^#* *domain:.*$/domain:                      localdomain/' \
		    /etc/news/inn.conf
		grep -q '^domain:' /etc/news/inn.conf ||
		    echo 'domain:                      localdomain' \
		    >>/etc/news/inn.conf
	fi
	dpkg --configure inn2 >&2 || {
		[ -n "$own_policy" ] && rm -f /usr/sbin/policy-rc.d
		die "dpkg --configure inn2 failed"
	}
	[ -n "$own_policy" ] && rm -f /usr/sbin/policy-rc.d
	# Where no policy stopped it (a real machine with a resolvable FQDN),
	# the system innd is running now: stop it, it is not ours to keep.
	if pid_alive /run/news/innd.pid; then
		say "stopping the system innd that the package started"
		INNCONF=/etc/news/inn.conf $BIN/ctlinnd -t 20 shutdown \
		    "inn-setup" >/dev/null 2>&1 || true
	fi
	return 0
}

# Write the private inn.conf: the package's, with our keys replaced.
write_conf() {
	keys='domain pathhost port bindaddress bindaddress6 artcutoff
	    nnrpdloadlimit maxconnections patharchive patharticles pathdb
	    pathetc pathhttp pathincoming pathlog pathoutgoing pathoverview
	    pathrun pathspool pathtmp'
	expr=
	for k in $keys; do expr="$expr -e /^#*$k:/d"; done
	# shellcheck disable=SC2086
	sed $expr /etc/news/inn.conf >"$CONF.new"
	cat >>"$CONF.new" <<EOF

# --- newsgate benchmark instance (tests/bench/inn-setup.sh) ---
domain:                      localdomain
pathhost:                    inn-bench.invalid
port:                        $INN_FEED_PORT
bindaddress:                 127.0.0.1
artcutoff:                   0
nnrpdloadlimit:              0
maxconnections:              0
patharchive:                 $D/spool/archive
patharticles:                $D/spool/articles
pathdb:                      $D/db
pathetc:                     $D/etc
pathhttp:                    $D/http
pathincoming:                $D/spool/incoming
pathlog:                     $D/log
pathoutgoing:                $D/spool/outgoing
pathoverview:                $D/spool/overview
pathrun:                     $D/run
pathspool:                   $D/spool
pathtmp:                     $D/spool/incoming/tmp
EOF
	mv "$CONF.new" "$CONF"
}

# active, active.times, newsgroups and an empty history, for a stopped INN.
write_db() {
	{
		cat /usr/lib/news/examples/active
		for g in $INN_BENCH_GROUPS; do
			echo "$g 0000000000 0000000001 y"
		done
	} >"$D/db/active"
	now=$(date +%s)
	: >"$D/db/active.times"
	: >"$D/db/newsgroups"
	for g in $INN_BENCH_GROUPS; do
		echo "$g $now inn-setup" >>"$D/db/active.times"
		printf '%s\tnewsgate benchmark group\n' "$g" >>"$D/db/newsgroups"
	done
	rm -f "$D"/db/history*
	: >"$D/db/history"
	chown -R news:news "$D/db"
	# The package's postinst sizes the dbz index for 300,000 entries too.
	as_news $BIN/makedbz -i -o -s 300000
}

do_configure() {
	[ "$(id -u)" = 0 ] || die "run as root"
	mkdir -p "$D/etc" "$D/db" "$D/spool/articles" "$D/spool/overview" \
	    "$D/spool/incoming/tmp" "$D/spool/outgoing" "$D/spool/archive" \
	    "$D/log/OLD" "$D/run" "$D/http"
	# Every configuration file as the package ships it, then our inn.conf.
	for f in /etc/news/*; do
		[ -f "$f" ] || continue
		case $f in */inn.conf) continue ;; esac
		[ -e "$D/etc/${f##*/}" ] || cp -p "$f" "$D/etc/"
	done
	write_conf
	# Peering from 127.0.0.1 is allowed: incoming.conf's "peer ME" lists
	# localhost, 127.0.0.1 and ::1, with streaming on. Readers from
	# 127.0.0.1: readers.conf's "localhost" access, RPA on "*". Both as
	# shipped; check it, since a later package could change them.
	grep -q '127\.0\.0\.1' "$D/etc/incoming.conf" ||
	    die "incoming.conf: no peer for 127.0.0.1"
	grep -q '127\.0\.0\.1' "$D/etc/readers.conf" ||
	    die "readers.conf: no access for 127.0.0.1"
	chown -R news:news "$D"
	[ -f "$D/db/active" ] || write_db
	# Groups named in INN_BENCH_GROUPS that a previous run lacked.
	for g in $INN_BENCH_GROUPS; do
		grep -q "^$g " "$D/db/active" && continue
		if pid_alive "$D/run/innd.pid"; then
			as_news $BIN/ctlinnd -s newgroup "$g" y inn-setup
		else
			echo "$g 0000000000 0000000001 y" >>"$D/db/active"
		fi
	done
	as_news $BIN/inncheck -a -f >/dev/null 2>&1 || true
}

do_stop() {
	if pid_alive "$D/run/innd.pid"; then
		as_news $BIN/ctlinnd -t 30 shutdown "inn-setup stop" \
		    >/dev/null 2>&1 || kill "$(cat "$D/run/innd.pid")"
		i=0
		while pid_alive "$D/run/innd.pid" && [ $i -lt 100 ]; do
			sleep 0.1
			i=$((i + 1))
		done
	fi
	pf=$D/run/nnrpd-$INN_READER_PORT.pid
	if pid_alive "$pf"; then
		# The daemon's children (one per reader) end with their sockets.
		kill "$(cat "$pf")" 2>/dev/null || true
		i=0
		while pid_alive "$pf" && [ $i -lt 50 ]; do
			sleep 0.1
			i=$((i + 1))
		done
	fi
	rm -f "$pf"
	# Children of a killed nnrpd daemon would keep serving old files.
	for p in $(pgrep -u news -x nnrpd 2>/dev/null || true); do
		if tr '\0' '\n' <"/proc/$p/environ" 2>/dev/null |
		    grep -qx "INNCONF=$CONF"; then
			kill "$p" 2>/dev/null || true
		fi
	done
}

do_reset() {
	do_stop
	[ -f "$CONF" ] || do_configure
	rm -rf "$D/spool/articles" "$D/spool/overview" "$D/spool/tradspool.map" \
	    "$D/spool/incoming" "$D/log"
	mkdir -p "$D/spool/articles" "$D/spool/overview" \
	    "$D/spool/incoming/tmp" "$D/log/OLD"
	chown -R news:news "$D/spool" "$D/log"
	write_db
}

wait_port() {
	i=0
	while ! port_busy "$1"; do
		i=$((i + 1))
		[ $i -lt 100 ] || die "nothing listens on 127.0.0.1:$1"
		sleep 0.1
	done
}

do_start() {
	[ -f "$CONF" ] || do_configure
	if ! pid_alive "$D/run/innd.pid"; then
		port_busy "$INN_FEED_PORT" &&
		    die "127.0.0.1:$INN_FEED_PORT is taken by another program"
		as_news $BIN/innd
		wait_port "$INN_FEED_PORT"
		as_news $BIN/ctlinnd -t 30 mode >/dev/null ||
		    die "innd does not answer ctlinnd"
	fi
	if ! pid_alive "$D/run/nnrpd-$INN_READER_PORT.pid"; then
		port_busy "$INN_READER_PORT" &&
		    die "127.0.0.1:$INN_READER_PORT is taken by another program"
		as_news $BIN/nnrpd -D -b 127.0.0.1 -p "$INN_READER_PORT"
		wait_port "$INN_READER_PORT"
	fi
	say "innd  127.0.0.1:$INN_FEED_PORT  $(greeting "$INN_FEED_PORT" |
	    tr -d '\r')"
	say "nnrpd 127.0.0.1:$INN_READER_PORT  $(greeting "$INN_READER_PORT" |
	    tr -d '\r')"
}

do_status() {
	if pid_alive "$D/run/innd.pid"; then
		echo "innd running, pid $(cat "$D/run/innd.pid")"
		as_news $BIN/ctlinnd -t 10 mode 2>&1 | head -3
	else
		echo "innd stopped"
	fi
	pf=$D/run/nnrpd-$INN_READER_PORT.pid
	if pid_alive "$pf"; then
		echo "nnrpd running, pid $(cat "$pf")"
	else
		echo "nnrpd stopped"
	fi
	grep -E "^($(echo "$INN_BENCH_GROUPS" | tr ' ' '|')) " \
	    "$D/db/active" 2>/dev/null || true
}

do_env() {
	echo "INN_BENCH_DIR=$D"
	echo "INNCONF=$CONF"
	echo "INN_FEED_PORT=$INN_FEED_PORT"
	echo "INN_READER_PORT=$INN_READER_PORT"
	echo "INN_INND_PIDFILE=$D/run/innd.pid"
	echo "INN_NNRPD_PIDFILE=$D/run/nnrpd-$INN_READER_PORT.pid"
}

case ${1:-all} in
all)
	do_install
	do_configure
	do_start
	;;
install) do_install ;;
configure) do_install && do_configure ;;
reset) do_reset ;;
start) do_start ;;
stop) do_stop ;;
status) do_status ;;
env) do_env ;;
*)
	echo "usage: $0 [install|configure|reset|start|stop|status|env]" >&2
	exit 2
	;;
esac
