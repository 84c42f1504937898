#!/bin/sh
# run.sh - every benchmark (`make bench`; as root): the ingest benchmark of
# issue 2 (import.sh) and the reader benchmarks of issue 3 (server.sh),
# each side by side with a private INN 2.7 on loopback (inn-setup.sh).
# Progress goes to stderr, the tables to stdout. docs/performance.md says
# how to read them. RUNS (5) sets the runs behind each median.
set -eu
here=$(dirname "$0")
echo "newsgate benchmarks, $(date -u '+%Y-%m-%d %H:%M UTC'), commit" \
    "$(git -C "$here" rev-parse --short HEAD 2>/dev/null || echo '?')"
status=0
sh "$here/import.sh" || status=1
sh "$here/server.sh" || status=1
exit $status
