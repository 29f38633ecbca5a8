"""The media matrix: one publisher profile against a node, every kind of player at once.

A run follows one timeline scaled by the profile's GOP (G seconds; 2 for
audio only), counted from the moment the stream is live:

  0.1G 0.4G 0.7G 0.95G  real-time players join (an RTMP recorder and an
                        HTTP-FLV reader each time): four points of the GOP
  0.2, 0.6G             slow HTTP-FLV readers (40 KB/s, 8 KiB socket buffer):
                        the first catches up at full speed 0.5 s before the
                        change, the second 3 s after it
  0.25G                 ffprobe -show_packets over RTMP and over HTTP-FLV
  0.8G                  stalled players (RTMP and HTTP-FLV) that read nothing
                        until 0.5 s after the change began (past the next
                        keyframe and the unpublish), then read in real time
  all along             players that join with a 4 KiB buffer and reset the
                        connection while the server writes them the GOP cache
  change = 0.95G + 1.5  the disruption the caller gives: the publisher stops
                        and comes back, or (edge) the origin in use is killed
  change + 1.5          one more RTMP and HTTP-FLV player join
  change + 4.5          the end

The slow and stalled players are the ones whose writes block for a long time
while the publisher trims or clears the ring, and then complete: the case
that freed messages a player's batch was about to take (fixed in the stream
pump). Before that fix the matrix failed with the 10 s GOP, 5 s GOP and
B-frame profiles (doc/reliability.md, "Media matrix").

Run.verdict() then asserts (Run.problems), for every node: running, no
sanitizer report, VmRSS growth under RSS_GROWTH_MB; for every player that
reads in real time (slow and stalled ones included, after their stall): a
valid stream, timestamps of each kind that never go back and a keyframe first
in each publish session, media within the last 2 s; for ffprobe: exit 0 and
the same checks on its packets; for the leavers: every one connected and was
served.
"""

import threading
import time
import traceback

from . import media, rill
from .rill import check

STREAM = "m"
SLOW_RATE = 40 * 1000
# ASan keeps freed memory in a quarantine before reuse (256 MiB by default),
# which would show as RSS growth no allocator has. 16 MiB (as in the hostile
# client tests) still holds what a 4 Mbit/s stream frees in half a minute,
# longer than any use-after-free here waits to be caught.
ASAN_EXTRA = "quarantine_size_mb=16"
# The bound on VmRSS growth from the start of the players to the peak: the
# quarantine (16 MiB) plus the ring (queue_length 10 s, plus the GOP it keeps:
# at most ~15 s of a 4 Mbit/s stream, 7.5 MiB, more with ASan's redzones)
# plus the players' own state (iovec arrays, a few KiB each). Players hold
# references, not copies, so 48 MiB is about twice that sum; a copy of the
# stream per player, or a batch that never lets go of its messages, grows by
# 2-5 MiB a second per player and crosses it within a run. (Leaks proper are
# LeakSanitizer's job, at the node's SIGTERM.)
RSS_GROWTH_MB = 48
# Low latency (every message written at once): the players parked at the live
# edge are written by the stream's write pass, in the publisher's coroutine,
# and a socket that takes only part of a message is handed back to its
# player's coroutine. Some profiles of each matrix run this way.
LOW_LATENCY_PLAY = "gop_cache on; queue_length 10; mw_latency 0; mw_msgs 0;"


def http_node(name="rill", vhost_extra="", play=rill.DEFAULT_PLAY):
    """A node (not started) with an HTTP-FLV mount on node.http_port."""
    ip = rill.new_ip()
    port = rill.free_port(ip)
    http_port = rill.free_port(ip)
    while http_port == port:
        http_port = rill.free_port(ip)
    n = rill.Node(name=name, ip=ip, port=port, asan_extra=ASAN_EXTRA, play=play,
                  global_extra="http_server { enabled on; listen %s:%d; }\n" % (ip, http_port),
                  vhost_extra="    http_remux { enabled on; mount [vhost]/[app]/[stream].flv; }\n" + vhost_extra)
    n.http_port = http_port
    return n


def wait_live(node, what, timeout=15.0, stream=STREAM):
    """Block until an RTMP player of node's stream gets media; the player is
    stopped again (it only tells when the stream is live)."""
    pl = media.recorder(node, stream)
    ok = rill.wait_until(lambda: bool(pl.rec.tags) or not pl.alive(), timeout)
    pl.stop()
    check(ok and pl.rec.tags, "expected %s to be live on %s within %.0fs; %s" % (
        what, node.name, timeout, pl.describe()))


class Run:
    """One profile's run. node: where the players connect; nodes: every
    node whose RSS and sanitizer output are checked; change: a function run
    at the disruption point (it may return a description)."""

    def __init__(self, profile, node, nodes, change, stream=STREAM):
        self.p = media.PROFILES[profile]
        self.stream = stream
        self.node, self.nodes, self.change = node, nodes, change
        self.G = self.p.gop_s or 2
        self.t_change = 0.95 * self.G + 1.5
        self.t_end = self.t_change + 4.5
        self.players = []        # (label, player)
        self.probes = []
        self.leavers = None
        self.log = []            # (t, what) as it happened
        self.t0 = None
        self.rss = []

    # -- players

    def _rt(self, label, **kw):
        self.players.append(("%s RTMP" % label, media.recorder(self.node, self.stream, **kw)))

    def _flv(self, label, **kw):
        self.players.append(("%s HTTP-FLV" % label, media.flv_reader(self.node, self.stream, **kw)))

    def join(self, label):
        self._rt(label)
        self._flv(label)

    def slow(self, label, at, catch_up):
        """A 40 KB/s reader that reads at full speed from catch_up (seconds
        into the run) on, so that a write it blocked is completed."""
        self._flv(label, rate=SLOW_RATE, rcvbuf=8192, slow_for=max(0.5, catch_up - at))

    def stalled(self, label, stall):
        pl = media.RtmpRecorder(self.node.ip, self.node.port, self.stream, rcvbuf=8192)
        pl.paused = True
        rill._players.append(pl)
        self.players.append(("%s RTMP" % label, pl.start()))
        self._flv(label, stall=stall, rcvbuf=8192)
        return pl

    def probe(self):
        # A single-track stream keeps libavformat looking for the other track
        # over RTMP for its whole analyzeduration (5 s: its RTMP reader
        # assumes both). Over HTTP-FLV the header announces only the tracks
        # the stream has (guess_has_av), except to a player that came before
        # the sequence headers (a cold edge), which would wait until it has
        # read probesize (5 MB: 92 s of audio only). Half a second here.
        extra = [] if self.p.video and self.p.audio else ["-analyzeduration", "500000"]
        self.probes.append(media.PacketProbe(self.node.url(self.stream), 2, "ffprobe-rtmp", extra))
        self.probes.append(media.PacketProbe("http://%s:%d/live/%s.flv" % (
            self.node.ip, self.node.http_port, self.stream), 2, "ffprobe-flv", extra))

    # -- the timeline

    def schedule(self):
        G = self.G
        ev = []
        for f in (0.1, 0.4, 0.7, 0.95):
            ev.append((f * G, "join at %.2fG" % f, lambda f=f: self.join("joined %.2fG" % f)))
        for i, (at, up) in enumerate(((0.2, self.t_change - 0.5), (0.6 * G, self.t_change + 3.0))):
            ev.append((at, "slow reader %d" % i, lambda i=i, at=at, up=up: self.slow("slow %d" % i, at, up)))
        ev.append((0.25 * G, "ffprobe", self.probe))
        stall = self.t_change + 0.5 - 0.8 * G

        def stall_start():
            pl = self.stalled("stalled %.1fs" % stall, stall)
            self.unpause = pl
        ev.append((0.8 * G, "stalled players", stall_start))
        ev.append((0.8 * G + stall, "stalled RTMP player reads", lambda: setattr(self.unpause, "paused", False)))
        ev.append((0.1, "leavers start", self.start_leavers))
        ev.append((self.t_change, "change", self.change))
        ev.append((self.t_change + 1.5, "join after the change", self.join_after))
        ev.append((self.t_change + 2.5, "leavers stop", lambda: self.leavers.stop()))
        return sorted(ev, key=lambda e: e[0])

    def join_after(self):
        self.join("after the change")
        self.last_join = time.monotonic()

    def start_leavers(self):
        self.leavers = media.Leavers(self.node, self.stream, every=0.5).start()

    def act(self, at, what, fn):
        """fn(), with a node's sanitizer report first if it fails."""
        try:
            return fn()
        except rill.TestFailure as e:
            for n in self.nodes:
                rep = n.sanitizer_report()
                if rep:
                    raise rill.TestFailure("%s reported a sanitizer error by %.1fs (%s) of the %s run:\n%s\n"
                                           "(then: %s)" % (n.name, at, what, self.p.name, rep, e))
            raise

    def run(self):
        """Play the timeline; returns seconds it took."""
        self.samplers = [(n, media.RssSampler(n.proc.pid).start()) for n in self.nodes]
        self.t0 = time.monotonic()
        for at, what, fn in self.schedule():
            delay = self.t0 + at - time.monotonic()
            if delay > 0:
                time.sleep(delay)
            for n in self.nodes:
                n.assert_running("at %.1fs (%s) of the %s run" % (at, what, self.p.name))
            r = self.act(at, what, fn)
            self.log.append((time.monotonic() - self.t0, what + (": %s" % r if isinstance(r, str) else "")))
        # the players that joined last get 3 s even if the change ran late
        delay = max(self.t0 + self.t_end, self.last_join + 3.0) - time.monotonic()
        if delay > 0:
            time.sleep(delay)
        self.ended = time.monotonic()
        for pr in self.probes:
            pr.wait(max(1.0, 10.0 - (self.ended - self.t0 - 0.25 * self.G)))
        for _, pl in self.players:
            pl.stop()
        for _, s in self.samplers:
            s.stop()
        self.took = time.monotonic() - self.t0
        return self.took

    # -- the verdict

    def problems(self):
        """Everything wrong with the run, as lines (empty: it passed)."""
        bad = []
        for n in self.nodes:
            rep = n.sanitizer_report()
            if rep:
                bad.append("%s reported a sanitizer error:\n%s" % (n.name, rep))
            elif not n.alive():
                bad.append("%s exited (code %s)" % (n.name, n.proc.p.returncode))
        for n, s in self.samplers:
            if s.growth_mb() > RSS_GROWTH_MB:
                bad.append("%s: RSS grew by %.1f MiB, over the %d MiB bound (%s)" % (
                    n.name, s.growth_mb(), RSS_GROWTH_MB, s.summary()))
        node_bad = list(bad)
        bad = []
        want = dict(want_video=self.p.video, want_audio=self.p.audio)
        for label, pl in self.players:
            tags, marks = pl.rec.snapshot()
            err = pl.error or getattr(pl, "ended", None)
            if err:
                bad.append("%s player: %s (%s)" % (label, err, pl.describe()))
            for b in media.realtime_problems(tags, marks, **want):
                bad.append("%s player: %s" % (label, b))
            last = max((t[0] for t in tags if t[1] in "va"), default=None)
            if last is None or self.ended - last > 2.0:
                bad.append("%s player: no media in the last 2 s of the run (last %s)" % (
                    label, "never" if last is None else "%.1fs before the end" % (self.ended - last)))
        for pr in self.probes:
            tags, marks = pr.rec.snapshot()
            if pr.rc != 0:
                bad.append("%s exited %s: %s" % (pr.kind(), pr.rc, pr.errors()))
            for b in media.realtime_problems(tags, marks, **want):
                bad.append("%s: %s" % (pr.kind(), b))
        lv = self.leavers
        if lv is None or lv.done < 4:
            bad.append("expected at least 4 players that leave in the middle of a write; %s ran" % (
                lv and lv.done))
        elif lv.failed:
            bad.append("%d of the leaving players could not play: %s" % (len(lv.failed), lv.failed[:3]))
        if node_bad and bad:
            # a node that died explains what its players saw: only the first few
            bad = bad[:3] + (["(%d more)" % (len(bad) - 3)] if len(bad) > 3 else [])
        return node_bad + bad

    def summary(self):
        """One line for the log: players, media, cuts, RSS."""
        cuts = sum(n.log().count("fell behind") for n in self.nodes)
        vids = sum(len(pl.rec.media("v")) for _, pl in self.players)
        auds = sum(len(pl.rec.media("a")) for _, pl in self.players)
        rss = "; ".join("%s %s" % (n.name, s.summary()) for n, s in self.samplers)
        return ("%s: %d players + 2 ffprobe + %d leavers, %d video / %d audio tags, %d cuts to a keyframe, "
                "%.1fs; %s" % (self.p.name, len(self.players), self.leavers.done if self.leavers else 0,
                               vids, auds, cuts, self.took, rss))

    def verdict(self):
        # one print: runs of other profiles may print at the same time
        print("\n".join([self.summary()] + ["  %5.2fs %s" % (t, what) for t, what in self.log]), flush=True)
        bad = self.problems()
        check(not bad, "%s (%s): %d problem(s):\n%s" % (self.p.name, self.p.what, len(bad), "\n".join(bad)))


# ---------------------------------------------------------------- profiles at once

_node_lock = threading.Lock()


def new_node(make):
    """make() (a Node constructor call) under a lock: the profiles of
    run_profiles pick their addresses and ports from one counter."""
    with _node_lock:
        return make()


def run_profiles(run_profile, profiles, at_once):
    """run_profile(name) for each profile, at_once of them at a time, each
    in a thread of its own with nodes of its own (so each node's RSS and
    sanitizer checks are one profile's, as when they run one by one); the
    longest timelines start first. Every profile runs to its end; then one
    TestFailure names each profile that failed and why.

    A thread that finished stays (blocked, a daemon) until the test process
    exits: the kernel kills a child whose creating thread has ended
    (PR_SET_PDEATHSIG), and the runner's cleanup must find the nodes and
    publishers a failed profile left running.

    at_once: all six at once passed on an idle machine, but on one loaded
    to 8-10 on two cores, starting that many ffmpeg/ffprobe processes and
    python players together delayed some by seconds, past the short
    profiles' publish gap (HTTP-FLV answers 404 there): three at a time
    passed there."""
    order = sorted(profiles, key=lambda n: -(media.PROFILES[n].gop_s or 2))
    slots = threading.Semaphore(at_once)
    failed = {}
    done = []
    linger = threading.Event()      # never set

    def work(name):
        with slots:
            t0 = time.monotonic()
            try:
                run_profile(name)
                done.append("%s %.1fs" % (name, time.monotonic() - t0))
            except rill.TestFailure as e:
                failed[name] = str(e)
            except Exception:  # noqa: BLE001 - reported with the others
                failed[name] = traceback.format_exc(limit=-4).strip()
        finished.release()
        linger.wait()

    finished = threading.Semaphore(0)
    for name in order:
        threading.Thread(target=work, args=(name,), daemon=True, name="profile-" + name).start()
    for _ in order:
        finished.acquire()
    print("profiles passed: %s" % (", ".join(done) or "none"), flush=True)
    check(not failed, "%d of %d profiles failed:\n%s" % (len(failed), len(order), "\n".join(
        "[%s] %s" % (n, failed[n]) for n in order if n in failed)))
