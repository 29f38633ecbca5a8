"""Two active masters behind HAProxy: a master dies, its encoder moves.

The cluster of scripts/cluster.sh (two masters, each forwarding to both
slaves; two edges; haproxy with a publish front to the masters and a play
front to the edges; nginx), on its default addresses with ports of its own.
rill-bench publishes through haproxy's publish front in reconnect mode (it
stands for OBS with "Automatically Reconnect", retry delay 1 s). The master
that took it is SIGKILLed: the encoder reconnects through haproxy to the
other master, whose forwarders publish the stream on the slaves again (the
slaves replace a silent forward at once: publish { takeover_timeout }), and
the edges' upstreams find it there. RTMP players through haproxy and
HTTP-FLV players through nginx stay connected and see one gap, measured by
wall clock between video frames and held under the design bound: the
reconnect delay + takeover_timeout + 2 s.
"""

import os
import signal
import subprocess
import time
import urllib.request

from lib import rill
from lib.rill import check
import test_cluster as tc

STREAM = tc.STREAM
RECONNECT_S = 1.0
TAKEOVER_S = 1.0        # conf/slave.conf's takeover_timeout
BOUND = RECONNECT_S + TAKEOVER_S + 2.0
MASTERS = ("master", "master2")
HAPROXY_NAME = {"master": "master1", "master2": "master2"}


def _flv(seconds=12):
    """The encoder's picture: an FLV rill-bench loops (10 s GOPs would make
    the failover wait for a keyframe the bench sends at once anyway)."""
    path = os.path.join(rill.tmpdir("rill-masters-flv-"), "stream.flv")
    args = ["ffmpeg", "-nostdin", "-hide_banner", "-loglevel", "error", "-y"] + rill.PUBLISH_ARGS + [
        "-t", str(seconds), "-f", "flv", path]
    r = subprocess.run(args, capture_output=True, timeout=60, stdin=subprocess.DEVNULL)
    check(r.returncode == 0, "expected ffmpeg to write the FLV; %s" % r.stderr.decode("utf-8", "replace")[-300:])
    return path


def _masters_status(cl):
    """{haproxy server name: status} of the masters backend."""
    url = "http://%s:%d/;csv" % (tc.FRONT_IP, cl.ports["RILL_FRONT_STATS_PORT"])
    out = {}
    with urllib.request.urlopen(url, timeout=2) as r:
        for line in r.read().decode().splitlines():
            f = line.split(",")
            if len(f) > 17 and f[0] == "masters" and f[1] != "BACKEND":
                out[f[1]] = f[17]
    return out


def _published_on(cl, node):
    try:
        s = cl.stream(node)
    except (OSError, ValueError):
        return False
    return bool(s and (s.get("publish") or {}).get("active"))


def _publishing_master(cl):
    for m in MASTERS:
        if _published_on(cl, m):
            return m
    return None


@rill.timeout(200)
def test_masters_publisher_moves_when_its_master_dies():
    bench = os.path.join(rill.ROOT, "objs", "rill-bench")
    check(os.path.exists(bench), "rill-bench binary %s does not exist (build it with make)" % bench)
    flv = _flv()

    def stop_encoder():
        for p in list(rill._procs):
            if p.name == "encoder" and p.alive():
                p.stop(2.0)

    tc.with_cluster(lambda cl: _run(cl, bench, flv), before_down=stop_encoder)


def _run(cl, bench, flv):
    t_up = cl.up()
    check(_masters_status(cl) == {"master1": "UP", "master2": "UP"},
          "expected haproxy to have both masters UP after up; stats say %s" % _masters_status(cl))
    url = "rtmp://%s:%d/live/%s" % (tc.FRONT_IP, cl.ports["RILL_FRONT_PUBLISH_PORT"], STREAM)
    enc = rill.Proc("encoder", [bench, "--report", "0", "publish", "-d", "60", "--reconnect", str(RECONNECT_S),
                                "--write-timeout", "1000", "--send-buffer", "65536", "--timeout", "3",
                                "-i", flv, url],
                    os.path.join(rill.tmpdir("rill-masters-enc-"), "encoder.log"),
                    stdout=subprocess.DEVNULL)
    check(rill.wait_until(lambda: _publishing_master(cl) is not None, 15),
          "expected the encoder to publish on a master through haproxy's publish front; encoder: %s" %
          rill.sanitize_lines(enc.output(), 5))
    a = _publishing_master(cl)
    b = "master2" if a == "master" else "master"
    check(rill.wait_until(lambda: _published_on(cl, "slave1") and _published_on(cl, "slave2"), 10),
          "expected %s to forward the stream to both slaves" % a)
    players = [tc._rtmp_player(cl) for _ in range(2)] + [tc._flv_player(cl) for _ in range(2)]
    late = tc._wait_all(players, 25, 15)
    check(not late, "expected every player through the fronts to get 25 frames; %s" % "; ".join(
        pl.describe() for pl in late))
    print("up %.1f s; encoder on %s through haproxy; %d players playing" % (t_up, a, len(players)), flush=True)

    # The master that has the encoder dies.
    slave_pubs = {s: len([l for l in cl.log(s).splitlines() if "] publish __defaultVhost__/live/%s" % STREAM in l])
                  for s in ("slave1", "slave2")}
    t_kill = time.monotonic()
    os.kill(cl.pids[a], signal.SIGKILL)
    check(rill.wait_until(lambda: _published_on(cl, b), 15),
          "expected the encoder to reconnect through haproxy to %s within 15 s of SIGKILL of %s; encoder:\n%s" % (
              b, a, rill.sanitize_lines(enc.output(), 6)))
    t_b = time.monotonic() - t_kill
    counts = [pl.count() for pl in players]
    for pl, n0 in zip(players, counts):
        check(pl.wait_frames(n0 + 50, 15), "expected every player to get 50 more frames after the move to %s; "
                                           "%s" % (b, pl.describe()))
    t_end = time.monotonic()
    gaps = []
    for pl in players:
        check(pl.error is None and pl.alive(), "expected every player to stay connected when %s died; %s" % (
            a, pl.describe()))
        gaps.append(pl.max_gap(t_kill, t_end))
        rill.check_timestamps(pl.kind, pl, what="when the stream moved to %s" % b)
    check(max(gaps) <= BOUND, "expected the players' one gap when %s died to stay under %.1f s (reconnect %.0f s "
                              "+ takeover %.0f s + 2 s); longest %.2f s (all: %s)" % (
                                  a, BOUND, RECONNECT_S, TAKEOVER_S, max(gaps),
                                  " ".join("%.2f" % g for g in gaps)))
    again = [l for l in enc.output().splitlines() if "publishing again" in l]
    check(len(again) == 1, "expected the encoder to reconnect exactly once; its stderr:\n%s" %
          rill.sanitize_lines(enc.output(), 6))
    stall = again[0].split("publishing again, ", 1)[1].split(" ms", 1)[0]
    # the slaves have it from b's forwarders: a new publish each, or a takeover of a's silent one
    how = []
    for s in ("slave1", "slave2"):
        lines = cl.log(s).splitlines()
        pubs = len([l for l in lines if "] publish __defaultVhost__/live/%s" % STREAM in l])
        took = [l for l in lines if "takes over from publisher" in l]
        check(pubs > slave_pubs[s] and _published_on(cl, s),
              "expected %s to get the stream from %s's forwarder; its log:\n%s" % (s, b, cl.tail(s, 8)))
        how.append("%s %s" % (s, "took over a silent forward" if took else "new publish (the old one closed)"))
    check(rill.wait_until(lambda: _masters_status(cl).get(HAPROXY_NAME[a]) == "DOWN", 5),
          "expected haproxy to mark %s DOWN; stats %s" % (a, _masters_status(cl)))
    print("SIGKILL %s: encoder published on %s %.2f s later (its stall %s ms); %s; players' longest gap %.2f s "
          "(all %s; bound %.1f s); timestamps continued" % (
              a, b, t_b, stall, ", ".join(how), max(gaps), " ".join("%.2f" % g for g in gaps), BOUND), flush=True)
    enc.stop(2.0)
