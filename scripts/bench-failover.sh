#!/usr/bin/env bash
# Edge failover benchmark (not part of make test).
#
#   scripts/bench-failover.sh [RUNS [MW_LATENCY [MODE]]]
#
# RUNS switches of each kind (default 10); MW_LATENCY is the edge's
# play { mw_latency } in ms (default 350, rill's default: players get a batch
# about three times a second, so 0.35 s is the smallest gap they ever see;
# 0 writes each frame at once and shows the switch alone).
#
# Starts two origins A and B and an edge (`cluster { mode remote; origin A B; }`)
# with the release build objs/rill (built first if needed; RILL_BIN=path uses
# another binary), publishes the same test stream to both origins with ffmpeg,
# plays it through the edge with a python RTMP player that time-stamps every
# video frame, then:
#   - SIGKILL switch, RUNS times: SIGKILL the origin the edge plays from, wait
#     for the edge to play from the other one, measure the longest time without
#     a video frame at the player, restart the killed origin and publish to it
#     again;
#   - SIGSTOP switch, RUNS times: SIGSTOP the origin in use (a hung origin),
#     measure the same, SIGCONT it.
# The origin in use alternates between A and B from run to run. Prints every
# gap, then the median and worst gap of each kind.
#
# MODE "redundancy": A and B are slaves of a master that forwards the one
# published stream to both (`play { time_jitter off; }` keeps the master's
# timestamps, so they carry it on one timeline), and the edge has
# `origin_redundancy on`. The publisher runs at a constant 25 fps, so every
# video timestamp step at the player must be exactly 40 ms: for each switch
# the script counts missing frames (a step of 80 ms misses one), repeated
# frames (a step of 0 or back) and sequence headers the player got, from 1 s
# before the signal to 2 s after the edge switched. A killed slave is
# restarted and the master's forwarder feeds it again.
#
# Everything runs on 127.0.0.x with free ports; every process is started by
# this script and stopped by its pid (the integration test library's
# cleanup); the whole run is bounded (RILL_BENCH_LIMIT seconds, default 600).
set -eu
cd "$(dirname "$0")/.."

if [ -z "${RILL_BIN:-}" ]; then
    make --no-print-directory objs/rill >/dev/null
    export RILL_BIN="$PWD/objs/rill"
fi
for t in ffmpeg python3; do
    command -v "$t" >/dev/null || { echo "bench-failover: $t is missing (bash scripts/install-deps.sh)"; exit 2; }
done

exec python3 - "${1:-10}" "${2:-350}" "${3:-}" <<'PY'
import os, statistics, sys, time
sys.path.insert(0, os.path.join(os.getcwd(), "tests", "integration"))
sys.dont_write_bytecode = True
from lib import rill

RUNS = int(sys.argv[1])
MW_LATENCY = int(sys.argv[2])
MODE = sys.argv[3] if len(sys.argv) > 3 else ""
if MODE not in ("", "redundancy"):
    raise SystemExit("bench-failover: MODE is empty or 'redundancy', not %r" % MODE)
REDUNDANT = MODE == "redundancy"
FRAME_MS = 40       # the test publisher's 25 fps
LIMIT = int(os.environ.get("RILL_BENCH_LIMIT", "600"))
STREAM = "bench"


def addr(n):
    return "%s:%d" % (n.ip, n.port)


def lines(node, needle):
    return [l for l in node.log().splitlines() if needle in l]


def current(edge):
    l = [x for x in lines(edge, "playing from origin ") if "standby playing" not in x]
    sw = lines(edge, "switching to the standby ")
    if sw and (not l or edge.log().rfind(sw[-1]) > edge.log().rfind(l[-1])):
        return sw[-1].split("switching to the standby ", 1)[1].split()[0]
    return l[-1].rsplit("playing from origin ", 1)[1].strip() if l else None


def standby_on(edge, origin):
    """Is a standby playing from origin now (its start logged after the last switch and failure)?"""
    log = edge.log()
    up = log.rfind("standby playing from origin " + origin)
    return up >= 0 and up > log.rfind("switching to the standby ") and up > log.rfind("standby origin " + origin)


def frame_check(pl, since, until):
    """Video timestamp steps of a constant-rate stream: (frames, missing, repeated, sequence headers)."""
    v = [f for f in list(pl.video) if since <= f[0] <= until]
    ts = [f[1] for f in v if not f[3]]
    missing = repeated = 0
    for a, b in zip(ts, ts[1:]):
        d = b - a
        if d <= 0:
            repeated += 1
        elif d != FRAME_MS:
            missing += max(1, round(d / FRAME_MS) - 1)
    return len(ts), missing, repeated, sum(1 for f in v if f[3])


def publish(node, name):
    n = len(lines(node, "publish __defaultVhost__/live/" + STREAM))
    p = rill.publish(node.url(STREAM), name=name)
    if not rill.wait_until(lambda: len(lines(node, "publish __defaultVhost__/live/" + STREAM)) > n, 10):
        raise SystemExit("bench-failover: %s did not get the publish; %s" % (node.name, rill.proc_state(p)))
    return p


def steady(pl, secs=3.0, timeout=20.0):
    """Wait until the player got frames with no gap > 0.5 s for secs."""
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        now = time.monotonic()
        if pl.count() and pl.max_gap(now - secs) <= 0.5:
            return True
        time.sleep(0.1)
    return False


def main():
    if REDUNDANT:
        A = rill.Node(name="slaveA", play="gop_cache on; mw_latency 0; time_jitter off;").start()
        B = rill.Node(name="slaveB", play="gop_cache on; mw_latency 0; time_jitter off;").start()
        master = rill.Node(name="master", play="mw_latency 0; mw_msgs 0;", vhost_extra="    forward { enabled on; destination %s %s; }\n" % (
            addr(A), addr(B))).start()
    else:
        A = rill.Node(name="originA").start()
        B = rill.Node(name="originB").start()
    play = "gop_cache on; queue_length 10; mw_latency %d; mw_msgs %d;" % (MW_LATENCY, 8 if MW_LATENCY else 0)
    edge = rill.Node(name="edge", play=play,
                     vhost_extra="    cluster { mode remote; origin %s %s;%s }\n" % (
                         addr(A), addr(B), " origin_redundancy on;" if REDUNDANT else "")).start()
    nodes = {addr(A): A, addr(B): B}
    if REDUNDANT:
        pubs = {}
        master_pub = publish(master, "publisher")
        for n in (A, B):
            if not rill.wait_until(lambda: lines(n, "publish __defaultVhost__/live/" + STREAM), 10):
                raise SystemExit("bench-failover: %s did not get the forwarded stream" % n.name)
    else:
        pubs = {addr(A): publish(A, "publisherA"), addr(B): publish(B, "publisherB")}
    time.sleep(1.0)
    pl = rill.raw_player(edge, STREAM)
    # redundancy: a player on the master too, the reference for the stream's own gaps
    ref = rill.raw_player(master, STREAM) if REDUNDANT else None
    if not pl.wait_frames(25, 10):
        raise SystemExit("bench-failover: the player through the edge got no video: %s" % pl.describe())
    if REDUNDANT and not rill.wait_until(lambda: lines(edge, "standby playing from origin"), 10):
        raise SystemExit("bench-failover: the edge started no standby\n%s" % edge.tail(10))
    print("binary %s; origins A %s, B %s; edge %s (origin_connect_timeout 1000, origin_read_timeout 2000, "
          "mw_latency %d%s)" % (rill.rill_bin(), addr(A), addr(B), addr(edge), MW_LATENCY,
                                 ", origin_redundancy on, A and B fed by one master" if REDUNDANT else ""), flush=True)
    results = {"SIGKILL": [], "SIGSTOP": []}
    frames = {"SIGKILL": [], "SIGSTOP": []}
    refgaps = []
    switch_log = "switching to the standby " if REDUNDANT else None
    bases = []
    for kind in ("SIGKILL", "SIGSTOP"):
        for i in range(RUNS):
            if not steady(pl):
                raise SystemExit("bench-failover: the player is not steady before %s run %d: %s" % (kind, i + 1, pl.describe()))
            cur = current(edge)
            victim = nodes[cur]
            other = [a for a in nodes if a != cur][0]
            if REDUNDANT:
                # the standby must be up (a restarted slave gets the forward again)
                if not rill.wait_until(lambda: standby_on(edge, other), 20):
                    raise SystemExit("bench-failover: no standby on %s before %s run %d\n%s" % (
                        other, kind, i + 1, edge.tail(10)))
                time.sleep(1.0)
                n_other = len(lines(edge, switch_log + other))
            else:
                n_other = len(lines(edge, "playing from origin " + other))
            t0 = time.monotonic()
            base = pl.max_gap(t0 - 3.0, t0)    # steady state: mw_latency batches
            if kind == "SIGKILL":
                victim.kill()
            else:
                victim.pause()
            ok = rill.wait_until(lambda: len(lines(edge, (switch_log or "playing from origin ") + other)) > n_other, 10)
            t_sw = time.monotonic() - t0
            time.sleep(2.0)                  # the new origin's frames flowing again
            gap = pl.max_gap(t0)
            fc = frame_check(pl, t0 - 1.0, time.monotonic())
            if not ok or pl.error or not pl.alive():
                raise SystemExit("bench-failover: %s run %d: no switch to %s (switched=%s, player %s)\n%s\n%s" % (
                    kind, i + 1, other, ok, pl.describe(), "\n".join(lines(edge, "standby")[-12:]), edge.tail(10)))
            results[kind].append(gap)
            if ref:
                refgaps.append(ref.max_gap(t0))
            frames[kind].append(fc)
            bases.append(base)
            print("%s run %2d: %s -> %s, edge switched after %.2fs, player gap %.2fs (longest gap in the 3 s "
                  "before: %.2fs)%s" % (kind, i + 1, victim.name, nodes[other].name, t_sw, gap, base,
                                        "; %d frames, %d missing, %d repeated, %d sequence headers; a player on "
                                        "the master, same window: longest gap %.2fs" % (fc + (refgaps[-1],))
                                        if REDUNDANT else ""), flush=True)
            # put the victim back with the stream
            if REDUNDANT:
                if kind == "SIGKILL":
                    victim.restart()
                else:
                    victim.resume()
            elif kind == "SIGKILL":
                pubs[cur].stop(1.0)
                victim.restart()
                pubs[cur] = publish(victim, "publisher-%s-%d" % (victim.name, i))
            else:
                victim.resume()
                if not pubs[cur].alive():
                    pubs[cur] = publish(victim, "publisher-%s-%d" % (victim.name, i))
            time.sleep(1.0)                  # its GOP cache holds a keyframe again
    edge.assert_running("after the benchmark")
    print()
    for kind, gaps in results.items():
        print("%s switch: %d runs, median gap %.2fs, worst %.2fs (all: %s)" % (
            kind, len(gaps), statistics.median(gaps), max(gaps), " ".join("%.2f" % g for g in gaps)))
        if REDUNDANT:
            fc = frames[kind]
            print("%s frames at the player: %d counted, %d missing, %d repeated, %d sequence headers (runs with "
                  "any missing or repeated: %d)" % (kind, sum(f[0] for f in fc), sum(f[1] for f in fc),
                                                     sum(f[2] for f in fc), sum(f[3] for f in fc),
                                                     sum(1 for f in fc if f[1] or f[2])))
    if REDUNDANT:
        print("a player on the master (no edge, no switch), the same windows: median longest gap %.2fs, worst %.2fs"
              % (statistics.median(refgaps), max(refgaps)))
    print("steady state (no switch): longest gap in the 3 s before each switch, median %.2fs, worst %.2fs" % (
        statistics.median(bases), max(bases)))


sys.exit(rill.run_script("bench-failover", main, LIMIT, "RILL_BENCH_LIMIT"))
PY
