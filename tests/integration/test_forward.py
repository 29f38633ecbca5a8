"""Forward: a master origin pushes every published stream to its slaves.

One cluster (a master forwarding to two slaves) goes through the failures a
slave can have, one after the other: down when the publish starts, killed
and restarted, hung (SIGSTOP) until the master's forward to it times out
(5 s), and a new publish session. The
master's players and the other slave's must never notice. Then a slave that
already has the stream from someone else, and nginx-rtmp as a real peer.
"""

import time

from lib import nginx, rill
from lib.rill import check

STREAM = "fwd"


def _forward_conf(*slaves):
    dests = " ".join("%s:%d" % (s.ip, s.port) for s in slaves)
    return "    forward { enabled on; destination %s; }\n" % dests


def _check_probe(probe, where, min_frames=40, width=None, timeout=20):
    """ffprobe of a live URL: exits 0, h264 + aac, video frames advance with
    increasing timestamps (and the given width, when set)."""
    rc = probe.wait(timeout)
    video = probe.video()
    check(rc == 0 and len(video) >= min_frames,
          "expected ffprobe of %s (%s) to exit 0 with >= %d video frames; exit %s, %d frames, stderr: %s" % (
              where, probe.url, min_frames, rc, len(video), rill.sanitize_lines(probe.errors(), 5)))
    v, a = probe.stream("video"), probe.stream("audio")
    check(v is not None and v.get("codec_name") == "h264",
          "expected an h264 video stream from %s; ffprobe saw %r" % (where, probe.streams))
    check(a is not None and a.get("codec_name") == "aac",
          "expected an aac audio stream from %s; ffprobe saw %r" % (where, probe.streams))
    if width is not None:
        check(v.get("width") == str(width),
              "expected the video from %s to be %s pixels wide (this publish session); it is %s" % (
                  where, width, v.get("width")))
    times = [rill.frame_time(f) for f in video]
    bad = rill.non_monotonic(times)
    check(bad is None, "expected increasing video timestamps from %s; frame %s went from %s to %s" % (
        where, bad[0] if bad else "", bad[1] if bad else "", bad[2] if bad else ""))
    span = times[-1] - times[0]
    check(span >= 1.5, "expected video timestamps from %s to advance >= 1.5 s; they span %.2fs" % (where, span))
    return len(video), span


def _first_frame_after(node, since, timeout, what):
    """A new player of node's stream; seconds from `since` to its first video
    frame (asserted <= timeout after since)."""
    pl = rill.raw_player(node, STREAM)
    pl.wait_frames(1, max(0.1, since + timeout - time.monotonic()))
    fr = pl.frames()
    check(fr and fr[0][0] - since <= timeout,
          "expected a player on %s to get video within %.0fs %s; %s (node %s)" % (
              node.name, timeout, what,
              ("first frame after %.2fs" % (fr[0][0] - since)) if fr else "it got none: " + pl.describe(),
              "running" if node.alive() else "NOT running"))
    return pl, fr[0][0] - since


def _publishes(node):
    """How many times node logged a publish of STREAM (unpublish lines excluded)."""
    return node.log().count("] publish __defaultVhost__/live/%s" % STREAM)


def _steady_after(node, since, timeout, what, hold=2.0):
    """A new player of node's stream; seconds from `since` until it receives
    video steadily (no gap > 1 s over `hold` seconds), asserted <= timeout.
    A stopped slave may first replay what its kernel buffered, then lose the
    old forward session and get a new one: only steady delivery counts."""
    pl = rill.raw_player(node, STREAM)
    deadline = since + timeout + hold

    def steady():
        now = time.monotonic()
        return now - since >= hold and pl.count() > 0 and pl.max_gap(now - hold, now) <= 1.0
    ok = rill.wait_until(steady, max(0.1, deadline - time.monotonic()), 0.1)
    check(ok, "expected a player on %s to receive video steadily (no gap > 1 s for %.0fs) within %.0fs %s; "
              "%s, longest gap in the last %.0fs %.2fs" % (
                  node.name, hold, timeout, what, pl.describe(), hold, pl.max_gap(time.monotonic() - hold)))
    return pl, time.monotonic() - hold - since


def _failures(master, slave, reason=""):
    """The master's warnings about its forward to slave (containing reason)."""
    tag = "to %s:%d failed: %s" % (slave.ip, slave.port, reason)
    return [l for l in master.log().splitlines() if tag in l]


def _smooth(players, since, what):
    for name, pl in players:
        g = pl.max_gap(since)
        check(pl.error is None and g <= 1.0,
              "expected the player on %s to get video with no gap > 1 s %s; longest gap %.2fs, error %s" % (
                  name, what, g, pl.error))


@rill.timeout(150)
def test_forward_master_two_slaves_survive_slave_failures():
    s1 = rill.Node(name="slave1")
    s2 = rill.Node(name="slave2").start()
    master = rill.Node(name="master", vhost_extra=_forward_conf(s1, s2)).start()
    report = []

    # slave1 is down when the publish starts.
    pub = rill.publish(master.url(STREAM))
    pm = rill.watch(master, STREAM, pub=pub)
    p2 = rill.watch(s2, STREAM, pub=pub)
    time.sleep(2.5)                       # the forwarder to slave1 is refused, backing off
    s1.start()
    t_up = time.monotonic()
    p1, dt = _first_frame_after(s1, t_up, 4.0, "of starting (it was down when the publish began)")
    report.append("slave1 up late: first frame %.2fs after it listened" % dt)

    # Both slaves serve the stream: codecs, frames advance, timestamps increase.
    probes = [(s, rill.Probe(s.url(STREAM), seconds=3)) for s in (s1, s2)]
    for s, pr in probes:
        n, span = _check_probe(pr, s.name)
        report.append("%s: ffprobe %d video frames over %.2fs" % (s.name, n, span))

    # SIGKILL slave1 and start it again on the same ip:port.
    n_fail = len(_failures(master, s1))
    t_kill = time.monotonic()
    s1.kill()
    time.sleep(1.0)
    s1.restart()
    t_restart = time.monotonic()
    p1b, dt = _first_frame_after(s1, t_restart, 3.0, "of its restart after SIGKILL")
    report.append("slave1 restarted after SIGKILL: first frame %.2fs after restart" % dt)
    check(len(_failures(master, s1)) > n_fail,
          "expected the master to log the loss of its forward to slave1 when it was killed; master log:\n%s" %
          master.tail(8))
    time.sleep(1.0)
    _smooth([("master", pm), ("slave2", p2)], t_kill, "while slave1 was killed and restarted")
    report.append("gaps during the kill: master %.2fs, slave2 %.2fs" % (pm.max_gap(t_kill), p2.max_gap(t_kill)))

    # SIGSTOP slave2 (at most 10 s): it hangs with its sockets open. The
    # forward to it fills its (small) send buffer and times out after 5 s;
    # slave2 gets SIGCONT once the master logged that.
    n_fail = len(_failures(master, s2, "timed out"))
    t_stop = time.monotonic()
    s2.pause()
    timed_out = rill.wait_until(lambda: len(_failures(master, s2, "timed out")) > n_fail, 10.0, 0.1)
    s2.resume()
    t_cont = time.monotonic()
    check(timed_out, "expected the master's forward to slave2 to time out within 10 s of its SIGSTOP "
                     "(5 s send timeout); master log:\n%s" % master.tail(8))
    report.append("slave2 stopped for %.1fs, until the master's forward to it timed out" % (t_cont - t_stop))
    p2b, dt = _steady_after(s2, t_cont, 6.0, "of SIGCONT after a SIGSTOP of %.1fs" % (t_cont - t_stop))
    report.append("slave2 after SIGCONT: steady video %.2fs after SIGCONT (first frame %.2fs after it)" % (
        dt, p2b.frames()[0][0] - t_cont))
    _smooth([("master", pm), ("slave1", p1b)], t_stop, "while slave2 was stopped")
    report.append("gaps during the stop: master %.2fs, slave1 %.2fs" % (pm.max_gap(t_stop), p1b.max_gap(t_stop)))
    for n in (master, s1, s2):
        n.assert_running("after the slave failures")

    # The encoder restarts: a new session, told apart by its picture size.
    pub.stop(2.0)
    time.sleep(1.0)
    pub2 = rill.publish(master.url(STREAM), extra=["-s", "320x240"], name="publisher2")
    t_repub = time.monotonic()
    check(rill.wait_until(lambda: _publishes(master) >= 2 or not pub2.alive(), 10.0),
          "expected the master to log the second publish; %s" % rill.proc_state(pub2))
    probes = [(s, rill.Probe(s.url(STREAM), seconds=3)) for s in (s1, s2)]
    for s, pr in probes:
        n, span = _check_probe(pr, s.name + " after the republish", width=320)
    report.append("republish: both slaves serve the 320x240 session (probes started %.2fs after it)" % (
        probes[0][1].started - t_repub))
    _first_frame_after(s1, time.monotonic(), 5.0, "after the republish")
    _first_frame_after(s2, time.monotonic(), 5.0, "after the republish")
    report += [l.split("] ", 1)[-1] for l in master.log().splitlines() if "] forward " in l]
    print("\n".join(report))


@rill.timeout(60)
def test_forward_refused_by_slave_with_the_stream():
    slave = rill.Node(name="slave").start()
    # Someone else publishes the stream on the slave first (320x240).
    other = rill.publish(slave.url(STREAM), extra=["-s", "320x240"], name="other-publisher")
    rill.watch(slave, STREAM, pub=other)
    master = rill.Node(name="master", vhost_extra=_forward_conf(slave)).start()
    pub = rill.publish(master.url(STREAM))
    pm = rill.watch(master, STREAM, pub=pub)
    t0 = time.monotonic()

    ok = rill.wait_until(lambda: "slave refused the publish" in master.log(), 8.0)
    check(ok, "expected the master to log the slave's refusal of the forward; master log:\n%s" % master.tail(10))
    line = [l for l in master.log().splitlines() if "slave refused" in l][0]
    print("master: " + line.strip())
    # It retries with backoff (0.5, 1, 2, 2 s...): a few refusals, no busy loop.
    time.sleep(max(0.0, t0 + 6.0 - time.monotonic()))
    refusals = slave.log().count("refused: stream busy")
    check(3 <= refusals <= 10,
          "expected the slave to refuse the master's forward 3..10 times in 6 s (retries with 0.5..2 s "
          "backoff); it refused %d times" % refusals)
    master.assert_running("after the slave refused the forward")
    _smooth([("master", pm)], t0, "while the slave refused the forward")
    print("slave refused %d times in %.1fs" % (refusals, time.monotonic() - t0))

    # When the other publisher leaves, the master's retry takes the stream over.
    t_left = time.monotonic()
    other.stop(2.0)
    ok = rill.wait_until(lambda: _publishes(slave) >= 2, 5.0)
    check(ok, "expected the master's forward to publish on the slave within 5 s of the other publisher "
              "leaving; slave log:\n%s" % slave.tail(10))
    print("forward took over %.2fs after SIGTERM to the other publisher" % (time.monotonic() - t_left))
    _check_probe(rill.Probe(slave.url(STREAM), seconds=3), "the slave", width=640)


# ---------------------------------------------------------------- nginx-rtmp

@rill.timeout(60)
def test_forward_to_nginx_rtmp():
    ng = nginx.Nginx()
    master = rill.Node(name="master", vhost_extra="    forward { enabled on; destination %s:%d; }\n" % (
        ng.ip, ng.port)).start()
    pub = rill.publish(master.url(STREAM))
    rill.watch(master, STREAM, pub=pub)
    ok = rill.wait_until(lambda: "publishing" in master.log() or not ng.proc.alive(), 8.0)
    check(ok and ng.proc.alive(),
          "expected the master's forward to publish on nginx-rtmp within 8 s; master log:\n%s\nnginx (%s) log:\n%s" % (
              master.tail(10), rill.proc_state(ng.proc), ng.log(15)))
    # nginx-rtmp has no GOP cache: a player starts at the next keyframe (GOP 2 s).
    probe = rill.Probe(ng.url(STREAM), seconds=5)
    try:
        n, span = _check_probe(probe, "nginx-rtmp")
    except rill.TestFailure as e:
        raise rill.TestFailure("%s\nmaster log:\n%s\nnginx log:\n%s" % (e, master.tail(10), ng.log(20)))
    master.assert_running("after forwarding to nginx-rtmp")
    nlog = ng.log(1000)
    check("publish: name='%s'" % STREAM in nlog,
          "expected nginx-rtmp to log the forwarded publish (publish: name='%s'); its log:\n%s" % (STREAM, ng.log(15)))
    bad = [l for l in nlog.splitlines() if any(x in l for x in ("[error]", "[crit]", "[alert]", "[emerg]"))]
    check(not bad, "expected no errors in nginx-rtmp's log; saw:\n%s" % "\n".join(bad[:5]))
    check(ng.proc.alive(), "expected nginx-rtmp to keep running; %s" % rill.proc_state(ng.proc))
    fails = [l for l in master.log().splitlines() if "forward" in l and "failed" in l]
    check(not fails, "expected the forward to nginx-rtmp never to fail; master logged:\n%s" % "\n".join(fails[:5]))
    print("nginx-rtmp: ffprobe %d video frames over %.2fs" % (n, span))
