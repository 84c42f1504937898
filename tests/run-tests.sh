#!/bin/sh
# Run Check suites (each a binary) and fuzz-corpus replayers; print each
# suite's summary and the total. Usage: run-tests.sh SUITE... -- REPLAY...
# Exit status: non-zero when anything failed.
checks=0 failures=0 errors=0 bad=0
replay=0
for t in "$@"; do
	if [ "$t" = "--" ]; then replay=1; continue; fi
	name=$(basename "$t")
	if [ $replay = 1 ]; then
		corpus="${NEWSGATE_TOP:-.}/tests/fuzz/corpus/${name#replay_fuzz_}"
		if out=$("$t" "$corpus" 2>&1); then
			echo "$name: $(echo "$out" | tail -1)"
			checks=$((checks + 1))
		else
			echo "$name: FAILED"; echo "$out" | tail -20
			checks=$((checks + 1)); failures=$((failures + 1)); bad=1
		fi
		continue
	fi
	out=$(CK_DEFAULT_TIMEOUT=${CK_DEFAULT_TIMEOUT:-120} "$t" 2>&1); rc=$?
	summary=$(echo "$out" | grep -E '^[0-9]+%: Checks: ' | tail -1)
	if [ -z "$summary" ]; then
		echo "$name: no Check summary (exit $rc)"; echo "$out" | tail -30
		bad=1; errors=$((errors + 1)); continue
	fi
	echo "$name: $summary"
	if [ $rc -ne 0 ]; then
		echo "$out" | grep -vE '^[0-9]+%: Checks: |^Running suite' | tail -40
		bad=1
	fi
	c=$(echo "$summary" | sed -E 's/.*Checks: ([0-9]+).*/\1/')
	f=$(echo "$summary" | sed -E 's/.*Failures: ([0-9]+).*/\1/')
	e=$(echo "$summary" | sed -E 's/.*Errors: ([0-9]+).*/\1/')
	checks=$((checks + c)); failures=$((failures + f)); errors=$((errors + e))
done
passed=$((checks - failures - errors))
if [ "$checks" -gt 0 ]; then pct=$((passed * 100 / checks)); else pct=0; fi
echo "${pct}%: Checks: $checks, Failures: $failures, Errors: $errors"
echo "$passed passed, $((failures + errors)) failed"
[ $bad = 0 ] && [ $failures = 0 ] && [ $errors = 0 ]
