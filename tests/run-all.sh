#!/usr/bin/env bash
# Runs rill's unit tests (googletest, ASan build), the layering check's tests
# and the integration tests, then prints one summary line "N passed, N failed"
# for all. Exits non-zero when a test failed or a suite did not run.
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
    # malloc_context_size=4: see tests/integration/lib/rill.py server_env (a
    # suppression by module would match the coroutine entry of every stack)
    ASAN_OPTIONS="malloc_context_size=4${ASAN_OPTIONS:+:$ASAN_OPTIONS}" \
    LSAN_OPTIONS="suppressions=$ROOT/tests/lsan.supp:print_suppressions=0${LSAN_OPTIONS:+:$LSAN_OPTIONS}" \
        timeout -k 10 900 "$UNIT" 2>&1 | tee "$ulog"
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

# tally NAME LOG RC: add the last "NAME: N passed, N failed" line of LOG to
# the totals; a suite without one did not finish.
tally() {
    local name=$1 log=$2 rc=$3 last p f
    last=$(grep -E "^$name: [0-9]+ passed, [0-9]+ failed\$" "$log" | tail -1)
    if [ -z "$last" ]; then
        echo "$name: no summary line (exit code $rc): the suite did not finish"
        broken=1
        failed=$((failed + 1))
        return
    fi
    p=$(echo "$last" | sed -E "s/^$name: ([0-9]+) passed, ([0-9]+) failed\$/\1/")
    f=$(echo "$last" | sed -E "s/^$name: ([0-9]+) passed, ([0-9]+) failed\$/\2/")
    passed=$((passed + p)); failed=$((failed + f))
    if [ "$rc" -ne 0 ] && [ "$f" -eq 0 ]; then
        echo "$name: exit code $rc with no failed test"
        broken=1
    fi
}

# ---- layering: the include check on the tree, and its own tests (a bad
# include of each kind must fail, naming the file and line)
echo "== layering"
llog=$(mktemp /tmp/rill-layering.XXXXXX)
python3 tests/layering/test_layering.py 2>&1 | tee "$llog"
tally layering "$llog" "${PIPESTATUS[0]}"
rm -f "$llog"

# ---- integration tests
echo "== integration tests"
ilog=$(mktemp /tmp/rill-integration.XXXXXX)
python3 tests/integration/run.py "$@" 2>&1 | tee "$ilog"
tally integration "$ilog" "${PIPESTATUS[0]}"
rm -f "$ilog"

echo "$passed passed, $failed failed"
if [ "$failed" -ne 0 ] || [ "$broken" -ne 0 ]; then
    exit 1
fi
exit 0
