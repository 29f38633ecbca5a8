#!/usr/bin/env bash
# Memory one player costs rill, split by kind (issue 15):
#
#   research/heap/measure.sh BINARY MODE N     # MODE: ll, merged (RTMP players) or http (HTTP-FLV)
#
# Starts BINARY (a release rill) on 127.0.0.240 with the conf scripts/bench.sh
# gives that mode, publishes objs/bench/stream.flv with rill-bench (made by
# scripts/bench.sh's recipe), and after WARMUP s brings N players (RAMP per
# second). Reads the server twice: just before the players (the GOP cache
# full) and SETTLE s after the last one came. Each time: VmRSS; the Rss of
# the [heap] mapping (glibc's brk heap: every small malloc) and of the other
# private anonymous mappings (coroutine stacks, and allocations above
# glibc's mmap threshold). Prints one line: each difference divided by the
# players connected.
#
# Options (environment):
#   HEAP_COUNT=FILE  preload research/heap/heapcount.c (built as objs/heapcount.so): blocks alive by
#                    size, dumped through gdb at both reads to FILE.1 and FILE.2; prints the sizes the
#                    players added, the most bytes first (what holds the heap: match them to sizeof)
#   HEAP_GDB=1       glibc's bytes in use at both reads (malloc_stats() called through gdb, written to
#                    the server's stderr)
#   KEEP=1           keep the run's directory (conf, logs, rill-bench's JSON) in /tmp
#
# Only 127.0.0.x; every process is started here and stopped by its pid.
set -u
cd "$(dirname "$0")/../.." || exit 2
BIN=$(realpath "$1"); MODE=$2; N=$3
WARMUP=${WARMUP:-3}; RAMP=${RAMP:-500}; SETTLE=${SETTLE:-4}
IP=127.0.0.240
FLV=objs/bench/stream.flv
BENCH=objs/rill-bench
DIR=$(mktemp -d /tmp/rill-heap.XXXXXX)
PIDS=()

stop_pid() {
    local pid=$1 i
    kill -TERM "$pid" 2>/dev/null
    for i in $(seq 30); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    kill -0 "$pid" 2>/dev/null && kill -KILL "$pid" 2>/dev/null
    wait "$pid" 2>/dev/null
}
cleanup() { local p; for p in "${PIDS[@]}"; do stop_pid "$p"; done; [ -n "${KEEP:-}" ] || rm -rf "$DIR"; }
trap cleanup EXIT

free_port() {
    python3 -c 'import socket,sys; s=socket.socket(); s.bind((sys.argv[1],0)); print(s.getsockname()[1]); s.close()' "$1"
}
wait_port() {
    local i
    for i in $(seq 100); do
        (exec 3<>"/dev/tcp/$1/$2") 2>/dev/null && return 0
        sleep 0.1
    done
    return 1
}

# rss heap anon (KB): VmRSS, [heap]'s Rss, the other unnamed private mappings' Rss
mem() {
    awk '
        /^[0-9a-f]+-[0-9a-f]+ / { kind = ($6 == "[heap]") ? "heap" : ($6 == "") ? "anon" : "other"; next }
        /^Rss:/ { r[kind] += $2; total += $2 }
        END { printf "%d %d %d\n", total, r["heap"], r["anon"] }' "/proc/$1/smaps"
}

# glibc's bytes in use ("in use bytes" of malloc_stats' total), through gdb; 0 without HEAP_GDB
inuse() {
    [ -n "${HEAP_COUNT:-}" ] && gdb -p "$1" -batch -ex 'call (void)heapcount_dump()' >/dev/null 2>&1
    [ "${HEAP_GDB:-0}" = 1 ] || { echo 0; return; }
    local before
    before=$(grep -c 'in use bytes' "$DIR/rill.log")
    gdb -p "$1" -batch -ex 'call (void)malloc_stats()' >/dev/null 2>&1
    grep 'in use bytes' "$DIR/rill.log" | sed -n "$((before + 1)),\$p" | tail -1 | awk '{ print $NF }'
}

port=$(free_port $IP)
http=$(free_port $IP)
{
    echo "listen $IP:$port;"
    echo "max_connections 20000;"
    echo "daemon off;"
    echo "srs_log_tank console;"
    echo "srs_log_level warn;"
    echo "pid $DIR/rill.pid;"
    [ "$MODE" = http ] && echo "http_server { enabled on; listen $IP:$http; }"
    echo "vhost __defaultVhost__ {"
    [ "$MODE" = ll ] && echo "    min_latency on;" && echo "    play { mw_latency 0; mw_msgs 0; }"
    [ "$MODE" = http ] && echo "    http_remux { enabled on; mount [vhost]/[app]/[stream].flv; }"
    echo "}"
} > "$DIR/rill.conf"
if [ -n "${HEAP_COUNT:-}" ]; then
    [ -f objs/heapcount.so ] || cc -O2 -shared -fPIC -o objs/heapcount.so research/heap/heapcount.c || exit 1
    HEAPCOUNT_OUT=$HEAP_COUNT LD_PRELOAD=$PWD/objs/heapcount.so "$BIN" -c "$DIR/rill.conf" > "$DIR/rill.log" 2>&1 < /dev/null &
else
    "$BIN" -c "$DIR/rill.conf" > "$DIR/rill.log" 2>&1 < /dev/null &
fi
SPID=$!; PIDS+=("$SPID")
wait_port $IP "$port" || { echo "rill did not start"; cat "$DIR/rill.log"; exit 1; }
[ "$MODE" = http ] && { wait_port $IP "$http" || exit 1; }
PUB=rtmp://$IP:$port/live/bench
PLAY=$PUB
[ "$MODE" = http ] && PLAY=http://$IP:$http/live/bench.flv

ramp_s=$(awk -v n="$N" -v r="$RAMP" 'BEGIN { printf "%.2f", n / r }')
total=$(awk -v w="$WARMUP" -v r="$ramp_s" -v s="$SETTLE" 'BEGIN { printf "%.0f", w + r + s + 6 }')
"$BENCH" --report 0 --read-interval 100 \
    publish -d "$total" -i "$FLV" "$PUB" \
    play -n "$N" --delay "$WARMUP" -r "$RAMP" -d "$((total - WARMUP))" --src-ips 127.0.0.30-127.0.0.37 "$PLAY" \
    > "$DIR/bench.out" 2> "$DIR/bench.err" &
BPID=$!; PIDS+=("$BPID")
t0=$(date +%s.%N)
sleep "$(awk -v w="$WARMUP" 'BEGIN { print w - 0.4 }')"
read -r rss0 heap0 anon0 < <(mem "$SPID")
use0=$(inuse "$SPID")
sleep "$(awk -v t0="$t0" -v w="$WARMUP" -v r="$ramp_s" -v s="$SETTLE" -v n="$(date +%s.%N)" \
    'BEGIN { d = t0 + w + r + s - n; print (d > 0 ? d : 0) }')"
read -r rss1 heap1 anon1 < <(mem "$SPID")
use1=$(inuse "$SPID")
conns=$(ls "/proc/$SPID/fd" | wc -l)
wait "$BPID"
connected=$(grep '^{' "$DIR/bench.out" | tail -1 | python3 -c 'import json,sys; print(json.load(sys.stdin).get("connected", 0))' 2>/dev/null || echo 0)
players=${connected:-0}         # the play job's (the publisher is counted apart)
[ "$players" -gt 0 ] || { echo "no players connected"; tail -n 5 "$DIR/bench.err"; exit 1; }
awk -v m="$MODE" -v n="$players" -v fds="$conns" -v r0="$rss0" -v r1="$rss1" -v h0="$heap0" -v h1="$heap1" \
    -v a0="$anon0" -v a1="$anon1" -v u0="$use0" -v u1="$use1" -v b="$(basename "$BIN")" 'BEGIN {
    printf "%s %s players=%d fds=%d rss %d->%d KB (%.2f KB/player) heap %d->%d (%.2f) anon %d->%d (%.2f)", b, m, n,
        fds, r0, r1, (r1 - r0) / n, h0, h1, (h1 - h0) / n, a0, a1, (a1 - a0) / n
    if (u1 > 0) printf " malloc-in-use %d->%d (%.0f B/player)", u0, u1, (u1 - u0) / n
    printf "\n" }'
if [ -n "${HEAP_COUNT:-}" ]; then
    # blocks (usable size) the players added, the most bytes first
    awk -v n="$players" 'FNR == NR { a[$1] = $2; next } { d = $2 - a[$1]; if (d > 0) print $1, d, $1 * d / n }' \
        "$HEAP_COUNT.1" "$HEAP_COUNT.2" | sort -k3 -n -r | head -n 20 |
        awk '{ printf "  size %6d: +%6d blocks, %7.1f B/player\n", $1, $2, $3; t += $3 } END { printf "  top 20: %.0f B/player\n", t }'
fi
