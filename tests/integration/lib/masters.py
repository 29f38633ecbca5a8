"""Two active masters behind HAProxy's publish front: an encoder (rill-bench
in reconnect mode, standing for OBS) moved between them by signals, with
players watching. Shared by test_masters (loopback) and test_cluster_hosts
(separate hosts).

A cluster object `cl` gives: pids ({node: pid}), stream(node) (the
stream's entry in that node's API, or None), log(name), tail(name, n).
`status` is a function returning {HAProxy server name: status} of the
masters backend that the encoder goes through."""

import os
import signal
import subprocess
import time

from lib import rill
from lib.rill import check
from lib.rtmp import new_arrivals

MASTERS = ("master", "master2")
HAPROXY_NAME = {"master": "master1", "master2": "master2"}
SLAVES = ("slave1", "slave2")


def encoder_flv(seconds=12):
    """The encoder's picture: an FLV rill-bench loops (10 s GOPs would make
    the failover wait for a keyframe the bench sends at once anyway)."""
    path = os.path.join(rill.tmpdir("rill-masters-flv-"), "stream.flv")
    args = ["ffmpeg", "-nostdin", "-hide_banner", "-loglevel", "error", "-y"] + rill.PUBLISH_ARGS + [
        "-t", str(seconds), "-f", "flv", path]
    r = subprocess.run(args, capture_output=True, timeout=60, stdin=subprocess.DEVNULL)
    check(r.returncode == 0, "expected ffmpeg to write the FLV; %s" % r.stderr.decode("utf-8", "replace")[-300:])
    return path


def encoder_args(bench, flv, url, reconnect, seconds=90):
    """rill-bench publishing flv to url as OBS with "Automatically
    Reconnect" does: again `reconnect` s after a failure or a write blocked
    for 1 s."""
    return [bench, "--report", "0", "publish", "-d", str(seconds), "--reconnect", str(reconnect),
            "--write-timeout", "1000", "--send-buffer", "65536", "--timeout", "3", "-i", flv, url]


def published_on(cl, node):
    try:
        s = cl.stream(node)
    except (OSError, ValueError):
        return False
    return bool(s and (s.get("publish") or {}).get("active"))


def publishing_master(cl):
    for m in MASTERS:
        if published_on(cl, m):
            return m
    return None


def other(m):
    return MASTERS[1] if m == MASTERS[0] else MASTERS[0]


class Moves:
    """The encoder enc on one master, players watching through the front;
    move() and resume() count the encoder's reconnects themselves."""

    def __init__(self, cl, enc, players, stream, status):
        self.cl, self.enc, self.players, self.stream, self.status = cl, enc, players, stream, status
        self.reconnects = 0

    def again(self):
        return [l for l in self.enc.output().splitlines() if "publishing again" in l]

    def slave_lines(self, s, mark):
        return [l for l in self.cl.log(s).splitlines() if mark in l]

    def pub_mark(self):
        return "] publish __defaultVhost__/live/%s" % self.stream

    def publisher_cids(self):
        out = {}
        for s in SLAVES:
            try:
                out[s] = ((self.cl.stream(s) or {}).get("publish") or {}).get("cid")
            except (OSError, ValueError):
                out[s] = None
        return out

    def new_gaps(self, since, what, frames=25):
        """Wait for `frames` more new frames (lib.rtmp.new_frames: not a
        replayed GOP) on every player, check each is still connected; the
        players' longest gaps (new frames) since `since`."""
        counts = [len(new_arrivals(pl)) for pl in self.players]
        for pl, n0 in zip(self.players, counts):
            check(rill.wait_until(lambda: len(new_arrivals(pl)) >= n0 + frames or pl.error is not None, 15),
                  "expected every player to get %d more new frames %s; %s" % (frames, what, pl.describe()))
        t_end = time.monotonic()
        for pl in self.players:
            check(pl.error is None and pl.alive(), "expected every player to stay connected %s; %s" % (
                what, pl.describe()))
        return [pl.new_max_gap(since, t_end) for pl in self.players]

    def move(self, a, b, sig, bound):
        """Send sig to master a; the encoder must publish on b and the
        players go on with one gap under bound. Prints and returns (seconds
        until b had the stream, the encoder's stall in ms, the players'
        gaps, how the slaves took it)."""
        cl, enc = self.cl, self.enc
        slave_pubs = {s: len(self.slave_lines(s, self.pub_mark())) for s in SLAVES}
        slave_took = {s: len(self.slave_lines(s, "takes over from publisher")) for s in SLAVES}
        t_sig = time.monotonic()
        os.kill(cl.pids[a], sig)
        check(rill.wait_until(lambda: published_on(cl, b), 15, interval=0.05),
              "expected the encoder to reconnect through haproxy to %s within 15 s of %s of %s; encoder:\n%s" % (
                  b, sig.name, a, rill.sanitize_lines(enc.output(), 6)))
        t_b = time.monotonic() - t_sig
        gaps = self.new_gaps(t_sig, "through %s of %s (the stream on %s)" % (sig.name, a, b))
        for pl in self.players:
            rill.check_timestamps(pl.kind, pl, what="when the stream moved to %s" % b)
        check(max(gaps) <= bound,
              "expected the players' one gap (new frames) through %s of %s to stay under %.1f s; "
              "longest %.2f s (all: %s)" % (sig.name, a, bound, max(gaps), " ".join("%.2f" % g for g in gaps)))
        again = self.again()
        check(len(again) == self.reconnects + 1,
              "expected the encoder to reconnect exactly once through %s of %s; its stderr:\n%s" % (
                  sig.name, a, rill.sanitize_lines(enc.output(), 6)))
        self.reconnects += 1
        stall = again[-1].split("publishing again, ", 1)[1].split(" ms", 1)[0]
        how = []
        for s in SLAVES:
            took = len(self.slave_lines(s, "takes over from publisher")) > slave_took[s]
            check(len(self.slave_lines(s, self.pub_mark())) > slave_pubs[s] and published_on(cl, s),
                  "expected %s to get the stream from %s's forwarder; its log:\n%s" % (s, b, cl.tail(s, 8)))
            if sig == signal.SIGSTOP:
                # a's forward is still open on the slave, silent since the stop
                check(took, "expected %s to take the stream over from %s's silent forward; its log:\n%s" % (
                    s, a, cl.tail(s, 8)))
            how.append("%s %s" % (s, "took over a silent forward" if took else "new publish (the old one closed)"))
        check(rill.wait_until(lambda: self.status().get(HAPROXY_NAME[a]) == "DOWN", 5),
              "expected haproxy to mark %s DOWN; stats %s" % (a, self.status()))
        print("%s %s: encoder published on %s %.2f s later (its stall %s ms); %s; players' longest gap %.2f s "
              "(new frames; all %s; bound %.1f s); timestamps continued" % (
                  sig.name, a, b, t_b, stall, ", ".join(how), max(gaps), " ".join("%.2f" % g for g in gaps),
                  bound), flush=True)
        return t_b, stall, gaps, how

    def resume(self, a, b, bound):
        """SIGCONT of the stopped master a while the encoder is on b: its
        stale publisher ends, HAProxy takes it back UP, it takes nothing
        back and the players see no gap over bound. Prints and returns
        (seconds until the stale publisher ended, the players' gaps)."""
        cl = self.cl
        cids = self.publisher_cids()
        slave_pubs = {s: len(self.slave_lines(s, self.pub_mark())) for s in SLAVES}
        t_cont = time.monotonic()
        os.kill(cl.pids[a], signal.SIGCONT)
        check(rill.wait_until(lambda: not published_on(cl, a), 5, interval=0.05),
              "expected %s's stale publisher to end within 5 s of SIGCONT; its log:\n%s" % (a, cl.tail(a, 8)))
        t_stale = time.monotonic() - t_cont
        up = {HAPROXY_NAME[m]: "UP" for m in MASTERS}
        check(rill.wait_until(lambda: self.status() == up, 5),
              "expected haproxy to take %s back UP after SIGCONT; stats %s" % (a, self.status()))
        gaps = self.new_gaps(t_cont, "through SIGCONT of %s" % a)
        check(max(gaps) <= bound,
              "expected SIGCONT of %s not to disturb the players (gap under %.1f s); longest %.2f s (all: %s)" % (
                  a, bound, max(gaps), " ".join("%.2f" % g for g in gaps)))
        check(published_on(cl, b) and not published_on(cl, a) and len(self.again()) == self.reconnects,
              "expected the encoder to stay on %s after SIGCONT of %s (%d reconnects in all); encoder:\n%s" % (
                  b, a, self.reconnects, rill.sanitize_lines(self.enc.output(), 6)))
        check(self.publisher_cids() == cids and all(
            len(self.slave_lines(s, self.pub_mark())) == slave_pubs[s] for s in slave_pubs),
            "expected the slaves to keep %s's forward (publishers %s) and take no publish after SIGCONT of %s; "
            "now %s; slave1's log:\n%s" % (b, cids, a, self.publisher_cids(), cl.tail("slave1", 8)))
        closed = [l for l in cl.log(a).splitlines() if "publisher __defaultVhost__/live/%s" % self.stream in l and
                  "] close " in l]
        check(closed, "expected %s to log the close of its stale publisher; its log:\n%s" % (a, cl.tail(a, 8)))
        print("SIGCONT %s: its stale publisher ended %.2f s later (%s); haproxy has it UP; the encoder stayed on "
              "%s, the slaves kept its forward; players' longest gap %.2f s (bound %.1f s)" % (
                  a, t_stale, closed[-1].split("reason: ", 1)[-1], b, max(gaps), bound), flush=True)
        return t_stale, gaps
