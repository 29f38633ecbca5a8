#!/usr/bin/env bash
# Runs rill's unit tests (googletest, ASan build) and integration tests, then
# prints one summary line "N passed, N failed" for both. Exits non-zero when a
# test failed or a suite did not run.
set -u
cd "$(dirname "$0")/.." || exit 2
ROOT=$(pwd)

passed=0
failed=0
broken=0

# ---- unit tests
UNIT=${RILL_UNIT_BIN:-objs/asan/unit-tests}
echo "== unit tests ($UNIT)"
if [ -x "$UNIT" ]; then
    ulog=$(mktemp /tmp/rill-unit.XXXXXX)
    LSAN_OPTIONS="suppressions=$ROOT/tests/lsan.supp:print_suppressions=0${LSAN_OPTIONS:+:$LSAN_OPTIONS}" \
        "$UNIT" 2>&1 | tee "$ulog"
    urc=${PIPESTATUS[0]}
    up=$(sed -n 's/^\[  PASSED  \] \([0-9][0-9]*\) tests\{0,1\}\..*/\1/p' "$ulog" | tail -1)
    uf=$(sed -n 's/^\[  FAILED  \] \([0-9][0-9]*\) tests\{0,1\},.*/\1/p' "$ulog" | tail -1)
    rm -f "$ulog"
    if [ -z "$up" ] && [ -z "$uf" ]; then
        echo "unit: no gtest summary (exit code $urc): the suite did not finish"
        broken=1
        failed=$((failed + 1))
    else
        up=${up:-0}; uf=${uf:-0}
        passed=$((passed + up)); failed=$((failed + uf))
        echo "unit: $up passed, $uf failed"
        if [ "$urc" -ne 0 ] && [ "$uf" -eq 0 ]; then
            echo "unit: exit code $urc with no failed test (sanitizer report at exit?)"
            failed=$((failed + 1))
        fi
    fi
else
    echo "unit: $UNIT not found or not executable (build it with make): did not run"
    broken=1
fi

# ---- integration tests
echo "== integration tests"
ilog=$(mktemp /tmp/rill-integration.XXXXXX)
python3 tests/integration/run.py "$@" 2>&1 | tee "$ilog"
irc=${PIPESTATUS[0]}
last=$(grep -E '^integration: [0-9]+ passed, [0-9]+ failed$' "$ilog" | tail -1)
rm -f "$ilog"
if [ -z "$last" ]; then
    echo "integration: no summary line (exit code $irc): the suite did not finish"
    broken=1
    failed=$((failed + 1))
else
    ip=$(echo "$last" | sed -E 's/^integration: ([0-9]+) passed, ([0-9]+) failed$/\1/')
    if_=$(echo "$last" | sed -E 's/^integration: ([0-9]+) passed, ([0-9]+) failed$/\2/')
    passed=$((passed + ip)); failed=$((failed + if_))
    if [ "$irc" -ne 0 ] && [ "$if_" -eq 0 ]; then
        echo "integration: exit code $irc with no failed test"
        broken=1
    fi
fi

echo "$passed passed, $failed failed"
if [ "$failed" -ne 0 ] || [ "$broken" -ne 0 ]; then
    exit 1
fi
exit 0
