"""Publisher conflicts and restarts."""

import signal
import time

from lib import rill, rtmp
from lib.rill import check


@rill.timeout(60)
def test_second_publisher_refused():
    node, pub1, pl = rill.start_live("busy")
    t0 = time.monotonic()
    n0 = pl.count()
    pub2 = rill.publish(node.url("busy"), duration=20, name="publisher2")
    rc = pub2.wait(8.0)
    check(rc is not None, "expected a second publisher of a busy stream to be refused and exit "
                          "within 8 s; it is still running")
    check(rc != 0, "expected the second publisher's ffmpeg to exit non-zero (NetStream.Publish.BadName); "
                   "it exited 0; output: %s" % rill.sanitize_lines(pub2.output(), 5))
    time.sleep(1.0)
    check(pub1.alive(), "expected the first publisher to keep going; %s" % rill.proc_state(pub1))
    rill.check_player_smooth(pl, t0, "while a second publisher was refused")
    check(pl.count() >= n0 + 25, "expected the player to keep receiving frames; %d before, %d after %.1fs" % (
        n0, pl.count(), time.monotonic() - t0))


@rill.timeout(60)
def test_second_publisher_refused_raw():
    # Same, with a python publisher, checking the status code itself.
    node, pub1, pl = rill.start_live("busy2")
    t0 = time.monotonic()
    c = rtmp.RtmpConn(node.ip, node.port)
    try:
        c.handshake()
        c.connect("live")
        c.command("releaseStream", None, "busy2")
        c.command("FCPublish", None, "busy2")
        sid = c.create_stream()
        c.command("publish", None, "busy2", "live", csid=8, stream_id=sid, txn=0)
        try:
            st = c.wait_status("NetStream.Publish.", 5.0)
            code = st.get("code")
        except rtmp.Closed:
            code = "(connection closed without a status)"
        check(code == "NetStream.Publish.BadName",
              "expected onStatus NetStream.Publish.BadName for a second publisher; saw %s (all: %r)" % (
                  code, c.statuses))
    finally:
        c.close()
    time.sleep(1.0)
    rill.check_player_smooth(pl, t0, "while a second publisher was refused")
    check(pub1.alive(), "expected the first publisher to keep going; %s" % rill.proc_state(pub1))


def _restart(sig, label):
    node, pub1, pl = rill.start_live("again")
    ok = pl.wait_frames(25, 10)
    check(ok, "expected 25 frames before the restart; saw %d" % pl.count())
    pub1.kill(sig)
    check(pub1.wait(5) is not None, "publisher did not exit after %s" % label)
    time.sleep(1.0)
    n1 = pl.count()
    check(pl.alive() and pl.error is None,
          "expected the player to stay connected when the publisher left (%s); it ended: %s" % (label, pl.error))
    t1 = time.monotonic()
    pub2 = rill.publish(node.url("again"), name="publisher2")
    ok = pl.wait_frames(n1 + 40, 10)
    check(ok, "expected the still-connected player to receive frames again after the publisher came back "
              "(%s): %d frames before, %d after %.1fs; %s" % (
                  label, n1, pl.count(), time.monotonic() - t1, rill.proc_state(pub2)))
    check(pub2.alive(), "expected the new publisher to be accepted; %s" % rill.proc_state(pub2))
    seqs = [a for (a, _, _, s) in pl.video if s and a >= t1]
    check(seqs, "expected the player to get the new publisher's AVC sequence header")
    fresh = [f for f in pl.frames() if f[0] >= t1]
    check(fresh and fresh[0][2], "expected the first frame from the new publisher to be a keyframe")


@rill.timeout(60)
def test_publisher_killed_and_restarted():
    _restart(signal.SIGKILL, "SIGKILL")


@rill.timeout(60)
def test_publisher_stops_and_restarts():
    # SIGINT: ffmpeg unpublishes (FCUnpublish, deleteStream) before closing.
    _restart(signal.SIGINT, "SIGINT")
