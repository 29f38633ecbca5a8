"""max_connections, publish timeouts, and a player that stops reading."""

import time

from lib import rill, rtmp
from lib.rill import check


def _handshaken(node):
    c = rtmp.RtmpConn(node.ip, node.port, timeout=3)
    c.handshake()
    return c


@rill.timeout(60)
def test_max_connections():
    node = rill.start_node(max_connections=4)
    time.sleep(0.3)    # the start-up probe connection is gone
    conns = [_handshaken(node) for _ in range(4)]
    extra = rtmp.RtmpConn(node.ip, node.port, timeout=3)
    try:
        try:
            extra.send(b"\x03" + rtmp.simple_c1())
        except OSError:
            pass
        closed = extra.wait_closed(3.0)
    finally:
        extra.close()
    check(closed, "expected a 5th connection to be closed at once with max_connections 4; it stayed open")
    conns.pop().close()
    time.sleep(0.5)
    try:
        c = _handshaken(node)
        c.connect("live")
        c.close()
    except (OSError, rtmp.RtmpError) as e:
        raise AssertionError("expected a connection to be accepted again after one of 4 closed "
                             "(max_connections 4); it failed: %s" % e)
    for c in conns:
        c.close()
    node.assert_running()


def _publisher(node, stream):
    c = rtmp.RtmpConn(node.ip, node.port)
    c.handshake()
    c.connect("live")
    return c, c.publish(stream)


@rill.timeout(60)
def test_publisher_without_media_dropped():
    node = rill.start_node(publish="firstpkt_timeout 1500; normal_timeout 2000;")
    c, _ = _publisher(node, "silent")
    t0 = time.monotonic()
    early = c.wait_closed(1.0)
    check(not early, "expected a publisher to be kept at least 1 s before firstpkt_timeout 1500 ms; "
                     "it was closed after %.1fs" % (time.monotonic() - t0))
    closed = c.wait_closed(5.0)
    dt = time.monotonic() - t0
    c.close()
    check(closed, "expected a publisher that sends no media to be closed after firstpkt_timeout 1500 ms; "
                  "still open after %.1fs" % dt)
    pub = rill.publish(node.url("silent"))
    rill.watch(node, "silent", frames=10, pub=pub)


@rill.timeout(60)
def test_stalled_publisher_dropped():
    node = rill.start_node(publish="firstpkt_timeout 20000; normal_timeout 2000;")
    pl = rill.raw_player(node, "stall")
    c, sid = _publisher(node, "stall")
    ts = 0
    for i in range(25):   # 1 s of (fake) H.264 frames, then silence
        body = (b"\x17\x01" if i % 25 == 0 else b"\x27\x01") + b"\x00\x00\x00" + b"\x00\x00\x00\x05\x65\x88\x84\x00\x10"
        c.send_message(6, rtmp.MSG_VIDEO, body, stream_id=sid, timestamp=ts)
        ts += 40
        time.sleep(0.04)
    t0 = time.monotonic()
    closed = c.wait_closed(8.0)
    dt = time.monotonic() - t0
    c.close()
    check(closed, "expected a publisher that stops sending to be closed after normal_timeout 2000 ms; "
                  "still open after %.1fs" % dt)
    check(dt >= 1.0, "expected the stalled publisher to be kept until normal_timeout 2000 ms; "
                     "closed after %.1fs" % dt)
    check(pl.alive() and pl.error is None,
          "expected the player to stay connected when its publisher timed out; it ended: %s" % pl.error)
    n = pl.count()
    pub = rill.publish(node.url("stall"))
    ok = pl.wait_frames(n + 25, 10)
    check(ok, "expected the player to get frames from a new publisher after the old one timed out; "
              "%d -> %d (%s)" % (n, pl.count(), rill.proc_state(pub)))


@rill.timeout(60)
def test_stalled_player_does_not_stall_others():
    # queue_length 2: a player more than 2 s behind is cut back to a keyframe.
    node, pub, good = rill.start_live("slow", play="gop_cache on; queue_length 2; mw_latency 350; mw_msgs 8;")
    slow = rill.raw_player(node, "slow", rcvbuf=4096)
    check(slow.wait_frames(5, 5.0), "expected the second player to get frames before it stalls; got %d (%s)" % (
        slow.count(), slow.error))
    slow.paused = True
    t0 = time.monotonic()
    time.sleep(6.0)
    rill.check_player_smooth(good, t0, "while another player of the stream stopped reading for 6 s")
    check(pub.alive(), "expected the publisher to keep going while a player stalls; %s" % rill.proc_state(pub))
    node.assert_running("while a player stalled")
    n = slow.count()
    t1 = time.monotonic()
    slow.paused = False
    ok = slow.wait_frames(n + 50, 8.0)
    check(ok, "expected the stalled player to receive frames again (cut back to a keyframe, as "
              "doc/architecture.md says) after it resumed reading; %d -> %d in %.1fs (error %s)" % (
                  n, slow.count(), time.monotonic() - t1, slow.error))
    # Once it has caught up it is live again: its latest frames arrive steadily.
    time.sleep(1.0)
    t2 = time.monotonic()
    time.sleep(2.0)
    rill.check_player_smooth(slow, t2, "after it resumed and caught up")
