#!/bin/sh
# deps.sh - make sure newsgate's build dependencies are installed (Debian).
#
# Silent when everything is there. When packages are missing: as root,
# install them with apt-get; otherwise print the one apt-get line to run and
# exit 1. Used by `make run` and `make deps`; .ci/run installs its own list.
#
# Extra packages may be named on the command line (the CI adds the
# newsreaders the end-to-end tests drive).
set -eu

PKGS="libetpan-dev libssl-dev check libsubunit-dev libjansson-dev
libstemmer-dev libcrypt-dev libjemalloc-dev pkg-config gcc make"

if ! command -v dpkg-query >/dev/null 2>&1; then
	echo "deps.sh: not a Debian system; install the equivalents of:" >&2
	echo "  $(echo $PKGS "$@")" >&2
	exit 0
fi

missing=
for p in $PKGS "$@"; do
	st=$(dpkg-query -W -f='${db:Status-Status}' "$p" 2>/dev/null || true)
	[ "$st" = installed ] || missing="$missing $p"
done
[ -z "$missing" ] && exit 0

if [ "$(id -u)" -ne 0 ]; then
	echo "newsgate: missing build dependencies; run as root:" >&2
	echo "apt-get install -y$missing"
	exit 1
fi
echo "deps.sh: installing$missing" >&2
export DEBIAN_FRONTEND=noninteractive
apt-get update
# shellcheck disable=SC2086
apt-get install -y --no-install-recommends$missing
