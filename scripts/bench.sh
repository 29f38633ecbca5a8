#!/usr/bin/env bash
# Capacity benchmark: players per core, memory per player, first frame,
# stalls -- rill in both modes side by side with nginx-rtmp and the raw-write
# floor, in one run on this machine (not part of make test).
#
#   scripts/bench.sh            # then read doc/benchmark.md
#
# RUNS times, for each server and each N of the ladder: start the server
# (pinned to core BENCH_SERVER_CPU), start rill-bench (pinned to core
# BENCH_LOAD_CPU) publishing objs/bench/stream.flv (1 Mbit/s H.264 + AAC,
# made once with ffmpeg) and, after BENCH_WARMUP s, N players ramped at
# BENCH_RAMP per second; read the server's RSS just before the players come
# (the baseline, with the GOP cache full), then its CPU (utime + stime from
# /proc/PID/stat) over BENCH_WINDOW s once every player is in and has
# settled, and its RSS at the end; then (BENCH_SENDS) count its send calls
# over BENCH_SENDS_WINDOW s; take kbps, stalls, first frame and latency from
# rill-bench's JSON; stop everything. The median of the runs is reported.
#
# Servers (BENCH_SERVERS, default "rill-ll rill-merged nginx"):
#   rill-ll      objs/rill, min_latency on; play { mw_latency 0; mw_msgs 0; }
#   rill-merged  objs/rill with its defaults (writes merged over 350 ms)
#   nginx        nginx + Debian's RTMP module, one worker, its own prefix and conf
#   peer         any other server: BENCH_PEER_CMD (a command that runs it in the
#                foreground) and BENCH_PEER_URL (rtmp://IP:PORT/APP it serves);
#                added to the list when BENCH_PEER_CMD is set
#   base-ll, base-merged
#                another rill binary, BENCH_BASE (e.g. a release build of main
#                before a change), with the same confs as rill-ll and
#                rill-merged: a before/after in one run; added to the list
#                when BENCH_BASE is set, unless BENCH_SERVERS names one of them
#                (BENCH_BASE_REV names the build in the report)
# Extra ladders (BENCH_EXTRA, default "http edge floor"):
#   http         rill (merged) with HTTP-FLV players
#   edge         a rill origin and a rill edge, players on the edge (the edge is
#                measured); also first frame on a cold edge (the first player,
#                which makes the edge pull) and a warm one (the N players)
#   floor        research/floor (objs/rill-floor): the same bytes per second to
#                N sockets with one writev per batch, with rill-bench sinks; at
#                40 ms batches (compare rill-ll) and 350 ms (compare rill-merged)
#
# Environment (defaults):
#   BENCH_LADDER="100 500 1000 2000"   players per step
#   BENCH_RUNS=3                       runs per step (the median is reported)
#   BENCH_EXTRA_LADDER=$BENCH_LADDER   ladder of the extra ladders
#   BENCH_EXTRA_RUNS=$BENCH_RUNS       runs of the http and edge ladders
#   BENCH_FLOOR_RUNS=$BENCH_RUNS       runs of the floor ladders
#   BENCH_READ_INTERVAL=100            rill-bench --read-interval (ms) for players and sinks: once it
#                                      has its first frame a player sleeps this long after each read,
#                                      so it reads fewer, larger pieces and rill-bench keeps up (at 0 it
#                                      took 85-98 % of its core at 2000 low-latency players); every 50th
#                                      player reads at once and alone gives the latency figures
#   BENCH_RAMP=500  BENCH_WARMUP=3  BENCH_SETTLE=2  BENCH_WINDOW=6   (seconds)
#   BENCH_SERVER_CPU=0  BENCH_LOAD_CPU=1
#   BENCH_SENDS=auto  BENCH_SENDS_WINDOW=2
#                                      count the server's send calls with `perf stat` (kernel
#                                      tracepoints: sendto, sendmsg, writev, write and io_uring
#                                      requests) in a window of their own after the CPU window, so the
#                                      counting costs nothing there; auto: when perf may read them
#                                      (root); 0: never. Gives sends per player per second and the
#                                      server's CPU per send
#   BENCH_OUT=doc/benchmark.md  BENCH_IMG=doc/img  BENCH_DIR=objs/bench
#   BENCH_LIMIT=3600                   the whole run is stopped after this many s
#   BENCH_BUILD_DIR=.                  a tree whose objs/ has rill, rill-bench and rill-floor (built
#                                      there if missing), e.g. a clean `git archive HEAD` export
#   BENCH_REV=`git describe --dirty`   the revision those binaries were built from, for the report
#
# The three binaries are copied to $BENCH_DIR/bin first, so a rebuild of
# objs/ during the run (others working in the same tree) cannot change what
# is measured halfway.
#
# Only 127.0.0.x is used (servers on .250/.251, rill-bench's source addresses
# .2-.9); every process is started here and stopped by its pid; every wait
# is bounded. Results: $BENCH_DIR/results.jsonl (one line per step and run),
# then scripts/bench_report.py writes the tables and plots.
set -u
cd "$(dirname "$0")/.." || exit 2
ROOT=$(pwd)

LADDER=${BENCH_LADDER:-"100 500 1000 2000"}
RUNS=${BENCH_RUNS:-3}
EXTRA_LADDER=${BENCH_EXTRA_LADDER:-$LADDER}
EXTRA_RUNS=${BENCH_EXTRA_RUNS:-$RUNS}
FLOOR_RUNS=${BENCH_FLOOR_RUNS:-$RUNS}
READ_INTERVAL=${BENCH_READ_INTERVAL:-100}
SERVERS=${BENCH_SERVERS:-"rill-ll rill-merged nginx"}
EXTRA=${BENCH_EXTRA-"http edge floor"}
RAMP=${BENCH_RAMP:-500}
WARMUP=${BENCH_WARMUP:-3}
SETTLE=${BENCH_SETTLE:-2}
WINDOW=${BENCH_WINDOW:-6}
SENDS=${BENCH_SENDS:-auto}
SENDS_WINDOW=${BENCH_SENDS_WINDOW:-2}
SEND_EVENTS=syscalls:sys_enter_sendto,syscalls:sys_enter_sendmsg,syscalls:sys_enter_writev,syscalls:sys_enter_write,io_uring:io_uring_submit_req
SCPU=${BENCH_SERVER_CPU:-0}
LCPU=${BENCH_LOAD_CPU:-1}
OUT=${BENCH_OUT:-doc/benchmark.md}
IMG=${BENCH_IMG:-doc/img}
DIR=$(realpath -m "${BENCH_DIR:-objs/bench}")
LIMIT=${BENCH_LIMIT:-3600}
[ -n "${BENCH_PEER_CMD:-}" ] && SERVERS="$SERVERS peer"
BASE=${BENCH_BASE:-}
# both base kinds, unless BENCH_SERVERS names some itself
[ -n "$BASE" ] && case " $SERVERS " in *" base-"*) ;; *) SERVERS="$SERVERS base-ll base-merged" ;; esac

IP=127.0.0.250           # the server under test
IP2=127.0.0.251          # the edge's origin
SRC_IPS=127.0.0.2-127.0.0.9
NGINX_MODULE=/usr/lib/nginx/modules/ngx_rtmp_module.so
TCK=$(getconf CLK_TCK)
RUN_DIR=$DIR/run
RESULTS=$DIR/results.jsonl
FLV=$DIR/stream.flv
BUILD_DIR=$(realpath -m "${BENCH_BUILD_DIR:-.}")
REV=${BENCH_REV:-$(git -C "$BUILD_DIR" describe --always --dirty 2>/dev/null || echo unknown)}
BIN_DIR=$DIR/bin
BENCH=$BIN_DIR/rill-bench
FLOOR=$BIN_DIR/rill-floor
RILL=$BIN_DIR/rill
RILL_BASE=$BIN_DIR/rill-base
T_START=$(date +%s)

PIDS=()                  # every process started and not yet stopped

log() { printf '[bench %5ds] %s\n' "$(( $(date +%s) - T_START ))" "$*" >&2; }
die() { log "error: $*"; exit 1; }

stop_pid() {             # stop_pid PID: SIGTERM, SIGKILL after 3 s
    local pid=$1 i
    kill -0 "$pid" 2>/dev/null || { wait "$pid" 2>/dev/null; return 0; }
    kill -TERM "$pid" 2>/dev/null
    for i in $(seq 30); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    kill -0 "$pid" 2>/dev/null && kill -KILL "$pid" 2>/dev/null
    wait "$pid" 2>/dev/null
    local keep=() p
    for p in "${PIDS[@]}"; do [ "$p" != "$pid" ] && keep+=("$p"); done
    PIDS=("${keep[@]}")
}

cleanup() {
    local p
    for p in "${PIDS[@]}"; do stop_pid "$p"; done
    if [ -n "${WATCHDOG:-}" ]; then
        for p in $(pgrep -P "$WATCHDOG"); do kill "$p" 2>/dev/null; done
        kill "$WATCHDOG" 2>/dev/null
    fi
}
trap cleanup EXIT
trap 'log "interrupted"; exit 130' INT TERM

now() { date +%s.%N; }
sleep_until() {          # sleep_until EPOCH_SECONDS (fractional)
    local d
    d=$(awk -v t="$1" -v n="$(now)" 'BEGIN { d = t - n; printf "%.3f", (d > 0 ? d : 0) }')
    sleep "$d"
}
fadd() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.3f", a + b }'; }

free_port() {            # free_port IP
    python3 -c 'import socket,sys; s=socket.socket(); s.bind((sys.argv[1],0)); print(s.getsockname()[1]); s.close()' "$1"
}

wait_port() {            # wait_port IP PORT PID: 0 once it accepts, 1 if PID died or 10 s passed
    local i
    for i in $(seq 100); do
        kill -0 "$3" 2>/dev/null || return 1
        (exec 3<>"/dev/tcp/$1/$2") 2>/dev/null && return 0
        sleep 0.1
    done
    return 1
}

# /proc figures of a pid (0 when the pid is empty or gone: never /proc//stat, which is /proc/stat)
proc_field() { [ -n "$2" ] && [ -r "/proc/$2/$1" ] && awk "$3" "/proc/$2/$1" 2>/dev/null | head -1 || echo 0; }
cpu_ticks() { proc_field stat "$1" '{ print $14 + $15 }'; }
run_wait_ns() { proc_field schedstat "$1" '{ print $2 }'; }      # time spent runnable but not running
rss_kb() { proc_field status "$1" '/^VmRSS:/ { print $2 }'; }

# count_sends PID: the send calls PID makes per second, over SENDS_WINDOW s (empty if perf failed).
# Syscalls and io_uring requests alike: every server here writes to its players with one of these
# (rill's only io_uring requests are its write pass's sends).
count_sends() {
    local f=$RUN_DIR/sends.csv
    perf stat -x, -o "$f" -e "$SEND_EVENTS" -p "$1" -- sleep "$SENDS_WINDOW" > /dev/null 2>&1 || return 0
    awk -F, -v w="$SENDS_WINDOW" '$1 ~ /^[0-9]+$/ { t += $1; k++ } END { if (k) printf "%.0f", t / w }' "$f"
}

# ---------------------------------------------------------------- servers

rill_conf() {            # rill_conf FILE IP PORT MODE [HTTP_PORT] [ORIGIN]: MODE ll or merged
    local file=$1 ip=$2 port=$3 mode=$4 http=${5:-} origin=${6:-}
    {
        echo "listen $ip:$port;"
        echo "max_connections 20000;"
        echo "daemon off;"
        echo "srs_log_tank console;"
        echo "srs_log_level warn;"
        echo "pid $RUN_DIR/rill-$port.pid;"
        [ -n "$http" ] && echo "http_server { enabled on; listen $ip:$http; }"
        echo "vhost __defaultVhost__ {"
        [ "$mode" = ll ] && echo "    min_latency on;" && echo "    play { mw_latency 0; mw_msgs 0; }"
        [ -n "$http" ] && echo "    http_remux { enabled on; mount [vhost]/[app]/[stream].flv; }"
        [ -n "$origin" ] && echo "    cluster { mode remote; origin $origin; }"
        echo "}"
    } > "$file"
}

start_bg() {             # start_bg CPU LOG CMD...: runs CMD pinned to CPU; sets LAST_PID
    local cpu=$1 logf=$2
    shift 2
    taskset -c "$cpu" "$@" > "$logf" 2>&1 < /dev/null &
    LAST_PID=$!
    PIDS+=("$LAST_PID")
}

# start_server KIND N: sets SPID (the measured process), PUB_URL, PLAY_URL, EXTRA_PIDS
start_server() {
    local kind=$1 n=$2 port http oport
    port=$(free_port $IP)
    EXTRA_PIDS=()
    case $kind in
    rill-ll|rill-merged|base-ll|base-merged)
        local bin=$RILL
        case $kind in base-*) bin=$RILL_BASE ;; esac
        rill_conf "$RUN_DIR/$kind.conf" $IP "$port" "${kind#*-}"
        start_bg "$SCPU" "$RUN_DIR/$kind.log" "$bin" -c "$RUN_DIR/$kind.conf"
        SPID=$LAST_PID
        PUB_URL=rtmp://$IP:$port/live/bench; PLAY_URL=$PUB_URL ;;
    rill-http)
        http=$(free_port $IP)
        rill_conf "$RUN_DIR/$kind.conf" $IP "$port" merged "$http"
        start_bg "$SCPU" "$RUN_DIR/$kind.log" "$RILL" -c "$RUN_DIR/$kind.conf"
        SPID=$LAST_PID
        PUB_URL=rtmp://$IP:$port/live/bench; PLAY_URL=http://$IP:$http/live/bench.flv
        wait_port $IP "$http" "$SPID" || return 1 ;;
    rill-edge)
        oport=$(free_port $IP2)
        rill_conf "$RUN_DIR/origin.conf" $IP2 "$oport" merged
        start_bg "$LCPU" "$RUN_DIR/origin.log" "$RILL" -c "$RUN_DIR/origin.conf"
        EXTRA_PIDS+=("$LAST_PID")
        wait_port $IP2 "$oport" "$LAST_PID" || return 1
        rill_conf "$RUN_DIR/edge.conf" $IP "$port" merged "" "$IP2:$oport"
        start_bg "$SCPU" "$RUN_DIR/edge.log" "$RILL" -c "$RUN_DIR/edge.conf"
        SPID=$LAST_PID
        PUB_URL=rtmp://$IP2:$oport/live/bench; PLAY_URL=rtmp://$IP:$port/live/bench ;;
    nginx)
        local nd=$RUN_DIR/nginx
        mkdir -p "$nd/logs"
        cat > "$nd/nginx.conf" <<EOF
load_module $NGINX_MODULE;
daemon off;
master_process off;
worker_processes 1;
worker_rlimit_nofile 40000;
error_log $nd/error.log warn;
pid $nd/nginx.pid;
events { worker_connections 20000; }
rtmp {
    server {
        listen $IP:$port;
        application live { live on; }
    }
}
EOF
        start_bg "$SCPU" "$nd/stderr.log" nginx -p "$nd" -c "$nd/nginx.conf" -e "$nd/error.log"
        SPID=$LAST_PID
        PUB_URL=rtmp://$IP:$port/live/bench; PLAY_URL=$PUB_URL ;;
    peer)
        # shellcheck disable=SC2086
        start_bg "$SCPU" "$RUN_DIR/peer.log" $BENCH_PEER_CMD
        SPID=$LAST_PID
        PUB_URL=${BENCH_PEER_URL%/}/bench; PLAY_URL=$PUB_URL
        local hp=${BENCH_PEER_URL#rtmp://}; hp=${hp%%/*}
        port=${hp##*:}; [ "$port" = "$hp" ] && port=1935
        wait_port "${hp%%:*}" "$port" "$SPID" || return 1
        return 0 ;;
    floor-40|floor-350)
        local ms=${kind#floor-}
        local batch=$(( FLV_BPS * ms / 1000 ))
        start_bg "$SCPU" "$RUN_DIR/$kind.log" "$FLOOR" -l "$IP:$port" -b "$batch" -i "$ms" -n "$n"
        SPID=$LAST_PID
        PUB_URL=""; PLAY_URL=tcp://$IP:$port ;;
    *) die "unknown server kind $kind" ;;
    esac
    wait_port $IP "$port" "$SPID"
}

# ---------------------------------------------------------------- one step

# step KIND N RUN: one measurement, appended to $RESULTS
step() {
    local kind=$1 n=$2 run=$3
    local ramp_s total t0 t_base t_cpu0 t_cpu1 c0 c1 b0 b1 rss0 rss1 bpid json out
    if ! start_server "$kind" "$n"; then
        log "$kind n=$n run $run: the server did not start (see $RUN_DIR)"
        stop_all_servers
        return 1
    fi
    ramp_s=$(awk -v n="$n" -v r="$RAMP" 'BEGIN { printf "%.3f", n / r }')
    # 3 s after the window: on a loaded machine the sleeps overshoot, and rill-bench must outlive the window's end
    total=$(awk -v w="$WARMUP" -v r="$ramp_s" -v s="$SETTLE" -v x="$WINDOW" -v c="$SENDS_S" \
        'BEGIN { printf "%.1f", w + r + s + x + c + 3 }')
    local play_d
    play_d=$(awk -v t="$total" -v w="$WARMUP" 'BEGIN { printf "%.1f", t - w }')
    local args=(--report 0 --read-interval "$READ_INTERVAL")
    case $kind in
    floor-*) args+=(sink -n "$n" --delay "$WARMUP" -r "$RAMP" -d "$play_d" --src-ips "$SRC_IPS" "$PLAY_URL") ;;
    rill-edge)
        args+=(publish -d "$total" -i "$FLV" "$PUB_URL"
               play -n 1 --delay 1 -d "$(fadd "$total" -1)" "$PLAY_URL"
               play -n "$n" --delay "$WARMUP" -r "$RAMP" -d "$play_d" --src-ips "$SRC_IPS" "$PLAY_URL") ;;
    *)  args+=(publish -d "$total" -i "$FLV" "$PUB_URL"
               play -n "$n" --delay "$WARMUP" -r "$RAMP" -d "$play_d" --src-ips "$SRC_IPS" "$PLAY_URL") ;;
    esac
    out=$RUN_DIR/bench-$kind-$n-$run.json
    t0=$(now)
    start_bg "$LCPU" "$RUN_DIR/bench-$kind-$n-$run.err" timeout -k 5 "$(fadd "$total" 30)" "$BENCH" "${args[@]}"
    bpid=$LAST_PID
    # the baseline: publishing (GOP cache full), no players yet
    sleep_until "$(fadd "$t0" "$(fadd "$WARMUP" -0.4)")"
    rss0=$(rss_kb "$SPID")
    t_cpu0=$(fadd "$t0" "$(fadd "$WARMUP" "$(fadd "$ramp_s" "$SETTLE")")")
    sleep_until "$t_cpu0"
    local rb w0 w1 load1
    rb=$(pgrep -P "$bpid" | head -1)
    load1=$(cut -d' ' -f1 /proc/loadavg)
    c0=$(cpu_ticks "$SPID"); b0=$(cpu_ticks "$rb"); w0=$(run_wait_ns "$SPID"); t_cpu0=$(now)
    sleep "$WINDOW"
    c1=$(cpu_ticks "$SPID"); b1=$(cpu_ticks "$rb"); w1=$(run_wait_ns "$SPID"); t_cpu1=$(now)
    rss1=$(rss_kb "$SPID")
    local sends=""
    [ "$SENDS_S" != 0 ] && sends=$(count_sends "$SPID")
    wait "$bpid" 2>/dev/null
    stop_pid "$bpid"
    json=$(grep '^{' "$RUN_DIR/bench-$kind-$n-$run.err" | tail -1)
    [ -n "$json" ] || json='{}'
    echo "$json" > "$out"
    local alive=1
    kill -0 "$SPID" 2>/dev/null || alive=0
    stop_all_servers
    python3 - "$kind" "$n" "$run" "$c0" "$c1" "$b0" "$b1" "$t_cpu0" "$t_cpu1" "$rss0" "$rss1" "$TCK" "$alive" \
        "$out" "$w0" "$w1" "$load1" "$sends" >> "$RESULTS" <<'EOF'
import json, sys
kind, n, run, c0, c1, b0, b1, t0, t1, rss0, rss1, tck, alive, out, w0, w1, load1, sends = sys.argv[1:]
secs = float(t1) - float(t0)
try:
    res = json.load(open(out))
except ValueError:
    res = {}
rec = {"kind": kind, "n": int(n), "run": int(run), "alive": alive == "1",
       "cpu_pct": (float(c1) - float(c0)) * 100.0 / int(tck) / secs,
       # rill-bench gone at either end of the window (0 ticks): unknown, not a negative figure
       "bench_cpu_pct": (float(b1) - float(b0)) * 100.0 / int(tck) / secs if float(b0) > 0 and float(b1) > 0 else None,
       "rss0_kb": int(rss0), "rss1_kb": int(rss1), "window_s": secs,
       "wait_pct": (float(w1) - float(w0)) / 1e7 / secs, "load1": float(load1),
       "sends_per_s": float(sends) if sends else None}
for k in ("connected", "failed", "dropped", "kbps", "stalls", "first_frame_ms_p50", "first_frame_ms_p99",
          "latency_ms_p50", "latency_ms_p99", "no_frame"):
    rec[k] = res.get(k)
jobs = [j for j in res.get("jobs", []) if j.get("kind") in ("play", "sink")]
if kind == "rill-edge" and len(jobs) == 2:
    cold, warm = jobs
    rec["cold_first_frame_ms"] = cold.get("first_frame_ms_p50")
    for k in ("connected", "failed", "dropped", "kbps", "stalls", "first_frame_ms_p50", "first_frame_ms_p99",
              "latency_ms_p50", "latency_ms_p99", "no_frame"):
        rec[k] = warm.get(k)
print(json.dumps(rec))
EOF
    tail -1 "$RESULTS" | python3 -c '
import json, sys
r = json.loads(sys.stdin.read())
f = lambda v, d=0: "-" if v is None else ("%.*f" % (d, v))
s = r.get("sends_per_s")
print("  %-12s n=%-5d run %d: server cpu %s%% (waited %s%%, rill-bench %s%%), rss %d -> %d KB, %s kbps, %s sends/s, connected %s failed %s, stalls %s, first frame p50 %s ms, latency p50 %s ms%s" % (
    r["kind"], r["n"], r["run"], f(r["cpu_pct"], 1), f(r["wait_pct"], 0), f(r["bench_cpu_pct"], 0), r["rss0_kb"], r["rss1_kb"],
    f(r["kbps"]), f(s), r["connected"], r["failed"], r["stalls"], f(r["first_frame_ms_p50"], 1),
    f(r["latency_ms_p50"], 1), "" if r["alive"] else " [SERVER DIED]"))' >&2
}

stop_all_servers() {
    local p
    [ -n "${SPID:-}" ] && stop_pid "$SPID"
    for p in "${EXTRA_PIDS[@]}"; do stop_pid "$p"; done
    SPID=""; EXTRA_PIDS=()
}

ladder() {               # ladder KIND "N..." RUNS [FIRST_RUN]
    local kind=$1 ns=$2 runs=$3 first=${4:-1} n r
    for n in $ns; do
        for r in $(seq "$first" $((first + runs - 1))); do step "$kind" "$n" "$r"; done
    done
}

# ---------------------------------------------------------------- main

for b in rill rill-bench rill-floor; do
    [ -x "$BUILD_DIR/objs/$b" ] || make -C "$BUILD_DIR" --no-print-directory "objs/$b" >&2 || die "build of $b failed"
done
mkdir -p "$BIN_DIR"
cp "$BUILD_DIR/objs/rill" "$BUILD_DIR/objs/rill-bench" "$BUILD_DIR/objs/rill-floor" "$BIN_DIR/" || die "copy failed"
if [ -n "$BASE" ]; then
    cp "$BASE" "$RILL_BASE" || die "copy of BENCH_BASE ($BASE) failed"
    log "base-ll and base-merged: $BASE (${BENCH_BASE_REV:-revision not given}), copied to $RILL_BASE"
fi
log "binaries from $BUILD_DIR/objs (revision $REV), copied to $BIN_DIR"
SENDS_S=0                # seconds added to each step for counting sends
case $SENDS in
0|off|no) ;;
*)  if perf stat -e "$SEND_EVENTS" -- true > /dev/null 2>&1; then SENDS_S=$SENDS_WINDOW
    else [ "$SENDS" = auto ] || die "BENCH_SENDS=$SENDS but perf cannot count $SEND_EVENTS"
         log "perf cannot count send calls here (needs root or perf_event_paranoid <= -1): no sends column"; fi ;;
esac
command -v nginx >/dev/null && [ -f "$NGINX_MODULE" ] || { case " $SERVERS " in *" nginx "*)
    die "nginx or $NGINX_MODULE missing (bash scripts/install-deps.sh)";; esac; }
command -v gnuplot >/dev/null || log "gnuplot missing (bash scripts/install-deps.sh): no plots"
mkdir -p "$RUN_DIR" "$IMG"

# the whole run is bounded
( sleep "$LIMIT"; log "BENCH_LIMIT ($LIMIT s) reached: stopping"; kill -TERM $$ ) &
WATCHDOG=$!

if [ ! -s "$FLV" ]; then
    log "making $FLV (60 s, 640x360 25 fps H.264 1 Mbit/s -g 50 + AAC)"
    ffmpeg -nostdin -hide_banner -loglevel error -y -f lavfi -i testsrc2=size=640x360:rate=25 \
        -f lavfi -i sine=frequency=440:sample_rate=44100 -t 60 -c:v libx264 -preset veryfast -tune zerolatency \
        -g 50 -sc_threshold 0 -b:v 1M -maxrate 1M -bufsize 1M -c:a aac -f flv "$FLV" || die "ffmpeg failed"
fi
FLV_DUR=$(ffprobe -v error -show_entries format=duration -of csv=p=0 "$FLV")
FLV_BPS=$(awk -v s="$(stat -c %s "$FLV")" -v d="$FLV_DUR" 'BEGIN { printf "%d", s / d }')   # bytes per second
log "stream: $FLV, $(awk -v b="$FLV_BPS" 'BEGIN { printf "%.0f", b * 8 / 1000 }') kbit/s"
: > "$RESULTS"

est=$(python3 - "$LADDER" "$RUNS" "$(echo $SERVERS | wc -w)" "$EXTRA_LADDER" "$EXTRA_RUNS" \
    "$(echo $EXTRA | sed 's/floor//' | wc -w)" "$RAMP" "$((WARMUP + SETTLE + WINDOW + SENDS_S + 3))" \
    "$(case " $EXTRA " in *" floor "*) echo $((2 * FLOOR_RUNS));; *) echo 0;; esac)" <<'EOF'
import sys
lad, runs, k, xlad, xruns, xk, ramp, over, fruns = sys.argv[1:]
t = sum(int(k) * int(runs) * (int(over) + int(n) / float(ramp)) for n in lad.split())
t += sum((int(xk) * int(xruns) + int(fruns)) * (int(over) + int(n) / float(ramp)) for n in xlad.split())
print("%.0f" % (t / 60))
EOF
)
log "servers: $SERVERS; ladder: $LADDER x $RUNS runs; extra: ${EXTRA:-none} ($EXTRA_LADDER x $EXTRA_RUNS runs); about $est min"

# Run by run, every server and step in each: on a shared machine the load
# moves over minutes, and this spreads it over the servers alike instead of
# giving one server the quiet minutes and the next the busy ones.
for r in $(seq "$RUNS"); do
    for kind in $SERVERS; do ladder "$kind" "$LADDER" 1 "$r"; done
done
for x in $EXTRA; do
    case $x in
    http) ladder rill-http "$EXTRA_LADDER" "$EXTRA_RUNS" ;;
    edge) ladder rill-edge "$EXTRA_LADDER" "$EXTRA_RUNS" ;;
    floor) ladder floor-40 "$EXTRA_LADDER" "$FLOOR_RUNS"; ladder floor-350 "$EXTRA_LADDER" "$FLOOR_RUNS" ;;
    *) log "unknown extra ladder $x" ;;
    esac
done

log "writing $OUT and $IMG/"
BENCH_PARAMS="rill $("$RILL" -v 2>&1 | head -1) built from revision $REV; ladder $LADDER x $RUNS runs; HTTP-FLV and edge ladders $EXTRA_LADDER x $EXTRA_RUNS runs; floor ladders $EXTRA_LADDER x $FLOOR_RUNS runs; ramp $RAMP/s; warm-up ${WARMUP}s; settle ${SETTLE}s; CPU window ${WINDOW}s; send calls counted over ${SENDS_S}s after it (0: not counted); server on core $SCPU, rill-bench on core $LCPU (--read-interval $READ_INTERVAL ms); stream $(awk -v b="$FLV_BPS" 'BEGIN { printf "%.0f", b * 8 / 1000 }') kbit/s" \
    python3 scripts/bench_report.py "$RESULTS" "$OUT" "$IMG" || die "report failed"
log "done in $(( $(date +%s) - T_START )) s"
