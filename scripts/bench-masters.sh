#!/usr/bin/env bash
# Master failover benchmark (not part of make test).
#
#   scripts/bench-masters.sh [RUNS [RECONNECT_S]]
#
# RUNS failovers of each kind (default 10); RECONNECT_S is the encoder's
# retry delay in seconds (default 1: OBS's Settings > Advanced >
# Automatically Reconnect > Retry Delay).
#
# Starts the loopback cluster of scripts/cluster.sh (two masters, two
# slaves, two edges, haproxy, nginx) on free ports with the release build
# objs/rill (built first if needed; RILL_BIN=path uses another binary), an
# encoder (rill-bench publish --reconnect RECONNECT_S --write-timeout 1000
# --send-buffer 65536) on haproxy's publish front, an RTMP player through
# haproxy's play front and an HTTP-FLV player through nginx (the edges),
# then RUNS times each:
#   - SIGKILL of the master the encoder is on (then it is started again);
#   - SIGSTOP of that master (a hung master, or its host gone without a
#     FIN: haproxy's checks mark it DOWN and close its sessions, the encoder
#     reconnects; the slaves take the stream over from the new forward once
#     the old one is silent for takeover_timeout), then SIGCONT.
# Each run measures the encoder's stall (no message written, from its own
# "publishing again, N ms" line), when haproxy marked the master DOWN (its
# stats) and when the other master had the stream (its API), from the
# signal, and the players' longest time without a new video frame (one
# they had not seen: an edge hopping between silent slaves replays their
# cached GOP) and without any video frame. Prints every run, then the
# median and the spread (min..max) of each figure per kind.
#
# Everything runs on 127.0.0.x; every process is started by this script (or
# scripts/cluster.sh) and stopped by its pid; the run is bounded
# (RILL_BENCH_LIMIT seconds, default 900). RILL_BENCH_KINDS=SIGSTOP runs one
# kind only.
set -eu
cd "$(dirname "$0")/.."

if [ -z "${RILL_BIN:-}" ]; then
    make --no-print-directory objs/rill >/dev/null
    export RILL_BIN="$PWD/objs/rill"
fi
[ -x objs/rill-bench ] || make --no-print-directory objs/rill-bench >/dev/null
for t in ffmpeg python3 haproxy curl; do
    command -v "$t" >/dev/null || { echo "bench-masters: $t is missing (bash scripts/install-deps.sh)"; exit 2; }
done

exec python3 - "${1:-10}" "${2:-1}" <<'PY'
import os, signal, statistics, subprocess, sys, time
sys.path.insert(0, os.path.join(os.getcwd(), "tests", "integration"))
sys.dont_write_bytecode = True
from lib import rill
import test_cluster as tc
import test_masters as tm

RUNS = int(sys.argv[1])
RECONNECT = float(sys.argv[2])
LIMIT = int(os.environ.get("RILL_BENCH_LIMIT", "900"))
BENCH = os.path.join(rill.ROOT, "objs", "rill-bench")
KINDS = os.environ.get("RILL_BENCH_KINDS", "SIGKILL SIGSTOP").split()


class Timeout(Exception):
    pass


def on_alarm(*_):
    raise Timeout()


def again_lines(enc):
    return [l for l in enc.output().splitlines() if "publishing again" in l]


def steady(cl, pl, secs=3.0, timeout=30.0):
    """The player got frames with no gap over 1 s for secs (the edge batches 350 ms; a loaded
    machine adds to it), and haproxy has both masters up."""
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        now = time.monotonic()
        if (pl.count() and pl.max_gap(now - secs) <= 1.0 and
                tm._masters_status(cl) == {"master1": "UP", "master2": "UP"} and tm._publishing_master(cl)):
            return True
        time.sleep(0.2)
    return False


def restart(cl, name, procs):
    """Start a killed master again as scripts/cluster.sh would (its pid file, its log)."""
    log = open(os.path.join(cl.dir, name + ".log"), "ab")
    p = subprocess.Popen([rill.rill_bin(), "-c", os.path.join(cl.dir, name + ".conf")], stdin=subprocess.DEVNULL,
                         stdout=log, stderr=subprocess.STDOUT, env=cl.env, start_new_session=True)
    log.close()
    with open(os.path.join(cl.dir, name + ".pid"), "w") as f:
        f.write("%d\n" % p.pid)
    cl.pids[name] = p.pid
    procs.append(p)


def fmt(xs, unit="s"):
    return "median %.2f%s, spread %.2f..%.2f%s" % (statistics.median(xs), unit, min(xs), max(xs), unit)


def body(cl):
    cl.up()
    flv = tm._flv()
    url = "rtmp://%s:%d/live/%s" % (tc.FRONT_IP, cl.ports["RILL_FRONT_PUBLISH_PORT"], tc.STREAM)
    enc = rill.Proc("encoder", [BENCH, "--report", "0", "publish", "-d", str(LIMIT), "--reconnect", str(RECONNECT),
                                "--write-timeout", "1000", "--send-buffer", "65536", "--timeout", "3",
                                "-i", flv, url],
                    os.path.join(rill.tmpdir("rill-bench-masters-"), "encoder.log"), stdout=subprocess.DEVNULL)
    if not rill.wait_until(lambda: tm._publishing_master(cl) is not None, 15):
        raise SystemExit("bench-masters: the encoder did not reach a master: %s" % enc.tail(5))
    pls = [tc._rtmp_player(cl), tc._flv_player(cl)]
    for pl in pls:
        if not pl.wait_frames(25, 15):
            raise SystemExit("bench-masters: the player through the edge got no video: %s" % pl.describe())
    print("binary %s; rill-bench --reconnect %.1f through haproxy's publish front; an RTMP player through haproxy "
          "and an HTTP-FLV player through nginx (edges with mw_latency 350)" % (rill.rill_bin(), RECONNECT),
          flush=True)
    procs = []
    res = {k: {"stall": [], "down": [], "master": [], "gap": [], "any": []} for k in KINDS}
    for kind in KINDS:
        for i in range(RUNS):
            if not all(steady(cl, pl) for pl in pls):
                raise SystemExit("bench-masters: not steady before %s run %d: %s; masters %s" % (
                    kind, i + 1, "; ".join(pl.describe() for pl in pls), tm._masters_status(cl)))
            a = tm._publishing_master(cl)
            b = "master2" if a == "master" else "master"
            n_again = len(again_lines(enc))
            t0 = time.monotonic()
            down = []

            def on_b():
                if not down and tm._masters_status(cl).get(tm.HAPROXY_NAME[a]) == "DOWN":
                    down.append(time.monotonic() - t0)
                return tm._published_on(cl, b)
            os.kill(cl.pids[a], signal.SIGKILL if kind == "SIGKILL" else signal.SIGSTOP)
            ok = rill.wait_until(on_b, 60, interval=0.02)
            t_b = time.monotonic() - t0
            got = rill.wait_until(lambda: len(again_lines(enc)) > n_again, 10)
            rill.wait_until(lambda: on_b() and down, 5, interval=0.02)   # haproxy's DOWN, if not seen yet
            time.sleep(3.0)          # the stream flowing again through the edge
            gap = max(pl.new_max_gap(t0) for pl in pls)
            any_gap = max(pl.max_gap(t0) for pl in pls)
            if not ok or not got or not down or any(pl.error or not pl.alive() for pl in pls):
                raise SystemExit("bench-masters: %s run %d: %s did not take the encoder (%s, %s, haproxy DOWN %s); "
                                 "players %s" % (kind, i + 1, b, ok, enc.tail(3), down,
                                                 "; ".join(pl.describe() for pl in pls)))
            stall = float(again_lines(enc)[-1].split("publishing again, ", 1)[1].split(" ms", 1)[0]) / 1000.0
            res[kind]["stall"].append(stall)
            res[kind]["down"].append(down[0])
            res[kind]["master"].append(t_b)
            res[kind]["gap"].append(gap)
            res[kind]["any"].append(any_gap)
            print("%s run %2d: %-7s -> %-7s encoder stall %.2fs, haproxy DOWN after %.2fs, on %s after %.2fs, "
                  "players' gap %.2fs (new frames; %.2fs any frame)" % (
                      kind, i + 1, a, b, stall, down[0], b, t_b, gap, any_gap), flush=True)
            if kind == "SIGKILL":
                restart(cl, a, procs)
            else:
                os.kill(cl.pids[a], signal.SIGCONT)
                # It wakes up with its stale publish (HAProxy's side closes once
                # its buffer drains): gone before the next run picks a victim.
                if not rill.wait_until(lambda: not tm._published_on(cl, a), 15):
                    raise SystemExit("bench-masters: %s kept its stale publish 15 s after SIGCONT" % a)
    print()
    for kind, r in res.items():
        print("%s of the encoder's master, %d runs:" % (kind, len(r["gap"])))
        print("  encoder stall (no message written):  %s" % fmt(r["stall"]))
        print("  haproxy marks the master DOWN after: %s" % fmt(r["down"]))
        print("  other master has the stream after:   %s" % fmt(r["master"]))
        print("  players' longest gap (new frames):   %s" % fmt(r["gap"]))
        print("  players' longest gap (any frame):    %s" % fmt(r["any"]))
    enc.stop(2.0)


signal.signal(signal.SIGALRM, on_alarm)
signal.signal(signal.SIGTERM, on_alarm)
signal.signal(signal.SIGINT, on_alarm)
signal.alarm(LIMIT)
rc = 0
try:
    tc.with_cluster(body, before_down=lambda: [p.stop(2.0) for p in list(rill._procs) if p.alive()])
except Timeout:
    print("bench-masters: stopped after %d s (RILL_BENCH_LIMIT) or by a signal" % LIMIT)
    rc = 1
except (SystemExit, AssertionError) as e:
    print(e)
    rc = 1
finally:
    signal.alarm(0)
    problems = rill.cleanup()
    if problems:
        print("bench-masters: cleanup: %s" % "; ".join(problems))
        rc = 1
    if rc == 0:
        rill.remove_tmpdirs()
    else:
        print("bench-masters: logs kept in %s" % " ".join(rill._tmpdirs))
sys.exit(rc)
PY
