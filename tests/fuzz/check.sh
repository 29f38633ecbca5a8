#!/usr/bin/env bash
# make fuzz-check: run each fuzz target for FUZZ_SECONDS on a copy of its
# corpus (objs/fuzz/corpus-<target>; the committed corpus is left alone).
# Fails on any crash, leak, timeout or out-of-memory; prints one line per
# target with libFuzzer's execution count, then a summary line.
#   usage: tests/fuzz/check.sh TARGET...   (env: FUZZ_SECONDS, default 60)
set -u
cd "$(dirname "$0")/../.." || exit 2
ROOT=$(pwd)
SECONDS_EACH=${FUZZ_SECONDS:-60}
OUT=objs/fuzz

# Longest input per target: a whole handshake exchange; 64 KiB of a
# connection; a command or metadata body; HTTP up past every limit; a config.
max_len() {
    case "$1" in
    handshake) echo 6146 ;;
    chunk)     echo 65536 ;;
    amf0)      echo 16384 ;;
    flv)       echo 65536 ;;
    http)      echo 32768 ;;
    http_url)  echo 8192 ;;
    rtmp_url)  echo 2048 ;;
    config)    echo 16384 ;;
    *)         echo 4096 ;;
    esac
}

total=0
failed=0
for t in "$@"; do
    bin=$OUT/fuzz_$t
    work=$OUT/corpus-$t
    art=$OUT/artifacts-$t/
    log=$OUT/fuzz_$t.log
    rm -rf "$work" "$art"
    mkdir -p "$work" "$art"
    seeds=0
    if [ -d "tests/fuzz/corpus/$t" ]; then
        cp tests/fuzz/corpus/"$t"/* "$work"/ 2>/dev/null
        seeds=$(ls "$work" | wc -l)
    fi
    if [ ! -x "$bin" ]; then
        echo "fuzz_$t: $bin not built: FAILED"
        failed=$((failed + 1))
        continue
    fi
    ASAN_OPTIONS="abort_on_error=0:detect_leaks=1${ASAN_OPTIONS:+:$ASAN_OPTIONS}" \
    LSAN_OPTIONS="suppressions=$ROOT/tests/lsan.supp:print_suppressions=0" \
    UBSAN_OPTIONS="print_stacktrace=1:halt_on_error=1" \
        "$bin" -max_total_time="$SECONDS_EACH" -max_len="$(max_len "$t")" -timeout=10 \
               -rss_limit_mb=2048 -print_final_stats=1 -artifact_prefix="$art" "$work" >"$log" 2>&1
    rc=$?
    execs=$(sed -n 's/^stat::number_of_executed_units: *\([0-9]*\).*/\1/p' "$log" | tail -1)
    execs=${execs:-0}
    total=$((total + execs))
    files=$(ls "$work" | wc -l)
    found=$(ls "$art" | wc -l)
    if [ "$rc" -ne 0 ] || [ "$found" -ne 0 ] || [ "$execs" -eq 0 ]; then
        why=$(grep -m1 -E 'ERROR: (libFuzzer|AddressSanitizer|LeakSanitizer)|runtime error|fuzz check failed|ALARM' "$log")
        echo "fuzz_$t: $execs executions in ${SECONDS_EACH}s: FAILED (exit $rc, ${why:-see $log}; inputs in $art)"
        failed=$((failed + 1))
    else
        echo "fuzz_$t: $execs executions in ${SECONDS_EACH}s, corpus $seeds -> $files inputs: ok"
    fi
done
echo "fuzz-check: $# targets, $total executions, $failed failed"
[ "$failed" -eq 0 ]
