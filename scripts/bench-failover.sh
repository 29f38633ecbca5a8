#!/usr/bin/env bash
# Edge failover benchmark (not part of make test).
#
#   scripts/bench-failover.sh [RUNS [MW_LATENCY]]
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

exec python3 - "${1:-10}" "${2:-350}" <<'PY'
import os, signal, statistics, sys, time
sys.path.insert(0, os.path.join(os.getcwd(), "tests", "integration"))
sys.dont_write_bytecode = True
from lib import rill

RUNS = int(sys.argv[1])
MW_LATENCY = int(sys.argv[2])
LIMIT = int(os.environ.get("RILL_BENCH_LIMIT", "600"))
STREAM = "bench"


class Timeout(Exception):
    pass


def on_alarm(*_):
    raise Timeout()


def addr(n):
    return "%s:%d" % (n.ip, n.port)


def lines(node, needle):
    return [l for l in node.log().splitlines() if needle in l]


def current(edge):
    l = lines(edge, "playing from origin ")
    return l[-1].rsplit("playing from origin ", 1)[1].strip() if l else None


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
    A = rill.Node(name="originA").start()
    B = rill.Node(name="originB").start()
    play = "gop_cache on; queue_length 10; mw_latency %d; mw_msgs %d;" % (MW_LATENCY, 8 if MW_LATENCY else 0)
    edge = rill.Node(name="edge", play=play,
                     vhost_extra="    cluster { mode remote; origin %s %s; }\n" % (addr(A), addr(B))).start()
    nodes = {addr(A): A, addr(B): B}
    pubs = {addr(A): publish(A, "publisherA"), addr(B): publish(B, "publisherB")}
    time.sleep(1.0)
    pl = rill.raw_player(edge, STREAM)
    if not pl.wait_frames(25, 10):
        raise SystemExit("bench-failover: the player through the edge got no video: %s" % pl.describe())
    print("binary %s; origins A %s, B %s; edge %s (origin_connect_timeout 1000, origin_read_timeout 2000, "
          "mw_latency %d)" % (rill.rill_bin(), addr(A), addr(B), addr(edge), MW_LATENCY), flush=True)
    results = {"SIGKILL": [], "SIGSTOP": []}
    bases = []
    for kind in ("SIGKILL", "SIGSTOP"):
        for i in range(RUNS):
            if not steady(pl):
                raise SystemExit("bench-failover: the player is not steady before %s run %d: %s" % (kind, i + 1, pl.describe()))
            cur = current(edge)
            victim = nodes[cur]
            other = [a for a in nodes if a != cur][0]
            n_other = len(lines(edge, "playing from origin " + other))
            t0 = time.monotonic()
            base = pl.max_gap(t0 - 3.0, t0)    # steady state: mw_latency batches
            if kind == "SIGKILL":
                victim.kill()
            else:
                victim.pause()
            ok = rill.wait_until(lambda: len(lines(edge, "playing from origin " + other)) > n_other, 10)
            t_sw = time.monotonic() - t0
            time.sleep(2.0)                  # the new origin's frames flowing again
            gap = pl.max_gap(t0)
            if not ok or pl.error or not pl.alive():
                raise SystemExit("bench-failover: %s run %d: no switch to %s (switched=%s, player %s)\n%s" % (
                    kind, i + 1, other, ok, pl.describe(), edge.tail(10)))
            results[kind].append(gap)
            bases.append(base)
            print("%s run %2d: %s -> %s, edge switched after %.2fs, player gap %.2fs (longest gap in the 3 s "
                  "before: %.2fs)" % (kind, i + 1, victim.name, nodes[other].name, t_sw, gap, base), flush=True)
            # put the victim back with the stream
            if kind == "SIGKILL":
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
    print("steady state (no switch): longest gap in the 3 s before each switch, median %.2fs, worst %.2fs" % (
        statistics.median(bases), max(bases)))


signal.signal(signal.SIGALRM, on_alarm)
signal.signal(signal.SIGTERM, on_alarm)
signal.signal(signal.SIGINT, on_alarm)
signal.alarm(LIMIT)
rc = 0
try:
    main()
except Timeout:
    print("bench-failover: stopped after %d s (RILL_BENCH_LIMIT) or by a signal" % LIMIT)
    rc = 1
except (SystemExit, AssertionError) as e:
    print(e)
    rc = 1
finally:
    signal.alarm(0)
    problems = rill.cleanup()
    if problems:
        print("bench-failover: cleanup: %s" % "; ".join(problems))
        rc = 1
    rill.remove_tmpdirs()
sys.exit(rc)
PY
