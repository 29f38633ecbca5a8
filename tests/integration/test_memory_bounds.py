"""Bounded memory, server-wide, and the log file reopened on SIGUSR1.

  * queue_bytes: a publisher that repeats one timestamp has no duration, so
    queue_length never trims its ring; the byte bound drops its oldest GOP,
    and one GOP over the bound ends that publish (its players stay).
  * input_budget: partial RTMP messages of all connections together; the
    connection whose message would exceed it is closed, nobody else.
  * SIGUSR1: logrotate without copytruncate (mv, then the signal).

The attacks run next to a control stream (test_hostile's helpers): it must
play on with no gap over 1 s, and the server's RSS must stay bounded while
far more than the bound is sent.
"""

import os
import signal
import socket
import struct
import time

from lib import rill, rtmp
from lib.rill import check
from test_hostile import CONTROL_PLAY, RssWatch, control_ok, fresh_player_ok, live

MIB = 1024 * 1024
QUEUE_BYTES = "4m"
INPUT_BUDGET = "8m"


def video_tag(key, size):
    """An AVC video tag body of size bytes (NALU, keyframe or inter)."""
    head = bytes([0x17 if key else 0x27, 1, 0, 0, 0])
    return head + b"\x00" * (size - len(head))


def avc_sequence_header():
    return bytes([0x17, 0, 0, 0, 0, 1, 0x64, 0, 0x1E, 0xFF, 0xE1, 0, 0])


def log_count(node, what):
    return node.log().count(what)


# ---------------------------------------------------------------- queue_bytes

@rill.timeout(150)
def test_publisher_repeating_one_timestamp_is_bounded_by_queue_bytes():
    """A raw publisher sends 96 MiB of video at one timestamp in GOPs of
    512 KiB (queue_bytes 4m): it stays up, old GOPs go, RSS stays bounded
    (without the byte bound the ring would hold all 96 MiB). Then one
    keyframe and inter frames only: the publish ends with a log line once
    that GOP passes 4 MiB; a player of that stream stays and plays the next
    publisher."""
    node, pub, pl, t0 = live(play=CONTROL_PLAY + " queue_bytes %s;" % QUEUE_BYTES)
    rss = RssWatch(node)
    viewer = rill.raw_player(node, "hostile")

    c = rtmp.RtmpConn(node.ip, node.port, timeout=10)
    # "sent" below counts what our kernel took: with loopback's autotuning up
    # to 4 MiB could wait in our send buffer besides the server's receive
    # buffer (a run saw 15.2 MiB sent); capped, the bound measures the server
    c.sock.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, 256 * 1024)
    c.handshake()
    c.connect("live")
    c.set_chunk_size(65536)
    sid = c.publish("hostile")
    c.send_message(6, rtmp.MSG_VIDEO, avc_sequence_header(), sid, 1000)
    frame = 64 * 1024
    key, inter = video_tag(True, frame), video_tag(False, frame)
    t_send = time.monotonic()
    for i in range(96 * MIB // frame):
        c.send_message(6, rtmp.MSG_VIDEO, key if i % 8 == 0 else inter, sid, 1000)
    # Nothing ended yet: every GOP (512 KiB) is under the bound.
    time.sleep(1.0)
    check(log_count(node, "over queue_bytes") == 0,
          "expected GOPs of 512 KiB under queue_bytes 4m to be dropped whole, not to end the publish; log:\n%s"
          % node.tail(10))
    check(not c.wait_closed(0.5), "expected the publisher of 96 MiB in 512 KiB GOPs to stay connected")
    print("96 MiB at one timestamp sent in %.1fs; viewer got %d frames" % (
        time.monotonic() - t_send, viewer.count()), flush=True)
    rss.check("after 96 MiB at one timestamp in GOPs of 512 KiB (queue_bytes %s)" % QUEUE_BYTES)
    rss = RssWatch(node)

    # One GOP that never ends: closed after a little more than 4 MiB.
    sent = 0
    try:
        c.send_message(6, rtmp.MSG_VIDEO, key, sid, 1000)
        for _ in range(256):
            c.send_message(6, rtmp.MSG_VIDEO, inter, sid, 1000)
            sent += frame
    except OSError:
        pass
    check(c.wait_closed(10.0), "expected the publisher of one GOP over queue_bytes 4m to be closed; "
                               "it sent %.1f MiB" % (sent / MIB))
    c.close()
    check(rill.wait_until(lambda: "ending this publish" in node.log(), 5.0),
          "expected the log line 'stream ...: one GOP ... over queue_bytes ...: ending this publish'; log:\n%s"
          % node.tail(10))
    line = [x for x in node.log().splitlines() if "ending this publish" in x][0]
    print("log: %s (the client sent %.1f MiB of that GOP)" % (line, sent / MIB), flush=True)
    check("__defaultVhost__/live/hostile" in line and "over queue_bytes 4194304" in line,
          "expected the line to name the stream and the bound: %s" % line)
    check(rill.wait_until(lambda: "one GOP exceeds the stream's byte bound (queue_bytes)" in node.log(), 5.0),
          "expected the publisher's close line to give the reason; log:\n%s" % node.tail(10))
    check(sent <= 12 * MIB, "expected the publish to end soon after 4 MiB of one GOP; %.1f MiB were sent"
          % (sent / MIB))

    rss.check("after one GOP over queue_bytes %s" % QUEUE_BYTES)
    control_ok(node, pub, pl, t0, "while one publisher grew its GOPs")

    # The viewer of the ended stream stays, like after any unpublish, and
    # plays the next publisher.
    check(viewer.alive() and viewer.error is None,
          "expected the player of the ended stream to stay for a republish; it ended: %s" % viewer.error)
    before = viewer.count()
    pub2 = rill.publish(node.url("hostile"), duration=8, name="republisher")
    ok = rill.wait_until(lambda: viewer.count() >= before + 10, 10.0)
    check(ok, "expected the staying player to get the republished stream; %d frames before, %d after (%s)" % (
        before, viewer.count(), rill.proc_state(pub2)))
    pub2.stop()
    viewer.stop()
    node.stop()


# ---------------------------------------------------------------- input_budget

def start_huge_message(node, chunk, publish=None):
    """A connection that announces a message of 16 MiB - 1 on chunk stream 4
    and sends its first chunk: right after the handshake, or as the
    publisher of stream `publish`."""
    c = rtmp.RtmpConn(node.ip, node.port, timeout=10)
    c.handshake()
    sid = 1
    if publish:
        c.connect("live")
        sid = c.publish(publish)
    c.set_chunk_size(len(chunk))
    c.send_chunk_fmt0(4, rtmp.MSG_VIDEO, chunk, stream_id=sid, length=0xFFFFFF)
    return c


def send_chunks(c, chunk, n):
    """n more chunks of the message started on chunk stream 4; False once
    the server has closed the connection."""
    data = rtmp.chunk_basic_header(3, 4) + chunk
    try:
        for _ in range(n):
            c.send(data)
    except OSError:
        return False
    return True


@rill.timeout(150)
def test_many_connections_starting_huge_messages_share_input_budget():
    """input_budget 8m. Five publishers hold 896 KiB of a partial message
    each (within the 1 MiB a connection holds of its own). Then ten
    connections that never send connect start 16 MiB messages and send up to
    12 MiB of them, round robin (120 MiB; each under the 64 MiB per
    connection cap): each is closed, with a log line, when its message needs
    more of the budget than is left. The five publishers stay, the control
    stream plays on, what every refusal line reports as held stays within the
    budget, and once the attackers are gone a new connection gets room."""
    node, pub, pl, t0 = live(global_extra="input_budget %s;\n" % INPUT_BUDGET)
    rss = RssWatch(node)
    chunk = os.urandom(65536)
    modest = [start_huge_message(node, chunk, publish="modest%d" % k) for k in range(5)]
    for c in modest:
        check(send_chunks(c, chunk, 13), "expected a publisher holding 896 KiB to stay connected")
    attackers = [start_huge_message(node, chunk) for _ in range(10)]
    up = set(range(len(attackers)))
    t_attack = time.monotonic()
    for _ in range(12 * MIB // len(chunk) - 1):
        for k in sorted(up):
            if not send_chunks(attackers[k], chunk, 1):
                up.discard(k)
        if not up:
            break
    closed = [k for k, c in enumerate(attackers) if k not in up or c.wait_closed(0.5)]
    refusals = [x for x in node.log().splitlines() if "input budget: refused" in x]
    print("%d of %d attackers closed in %.1fs, %d refusals logged" % (
        len(closed), len(attackers), time.monotonic() - t_attack, len(refusals)), flush=True)
    check(len(closed) == len(attackers),
          "expected every connection sending 12 MiB of a partial message past input_budget 8m to be closed; "
          "%d of %d; log:\n%s" % (len(closed), len(attackers), node.tail(10)))
    check(len(refusals) == len(closed),
          "expected one refusal line per closed connection: %d lines, %d closed" % (len(refusals), len(closed)))
    print("log: %s" % refusals[0], flush=True)
    for line in refusals:
        held = int(line.split("all connections ")[1].split(" ")[0])
        check(held <= 8 * MIB and "of input_budget 8388608" in line and "closing this connection" in line,
              "expected each refusal to report what is held (within 8 MiB) and the action: %s" % line)
    check(log_count(node, "server-wide input budget exhausted (input_budget)") >= len(closed),
          "expected each refused connection's close line to give the reason; log:\n%s" % node.tail(10))
    for k, c in enumerate(modest):
        check(not c.wait_closed(0.1), "expected publisher modest%d (896 KiB pending) to stay connected" % k)

    rss.check("with 10 connections sending up to 12 MiB each of 16 MiB messages (input_budget 8m)", bound_mb=48)
    control_ok(node, pub, pl, t0, "while 10 connections exhausted the input budget")
    fresh_player_ok(node, "after the input budget was exhausted")
    for c in attackers + modest:
        c.close()
    # What they held is given back: a new connection gets 1.5 MiB (half of
    # it from the budget) without being refused.
    time.sleep(0.5)
    c = start_huge_message(node, chunk)
    ok = send_chunks(c, chunk, 23)
    check(ok and not c.wait_closed(1.0),
          "expected a new connection within the budget to stay open after the others left; log:\n%s"
          % node.tail(5))
    c.close()
    node.stop()


# ---------------------------------------------------------------- SIGUSR1

@rill.timeout(60)
def test_sigusr1_reopens_the_log_file():
    """srs_log_tank file: mv the log away, connect (lines still go to the
    moved file), SIGUSR1, connect again: the new lines are in a new file at
    the configured path, and the moved file got the lines before."""
    node = rill.Node(name="rill-logfile")
    path = os.path.join(node.dir, "server.log")
    with open(node.conf_path) as f:
        conf = f.read()
    conf = conf.replace("srs_log_tank console;", "srs_log_tank file;\nsrs_log_file %s;" % path)
    with open(node.conf_path, "w") as f:
        f.write(conf)
    node.start()

    def poke(tag):
        """A connection whose connect names tag (app=tag), so its lines can be found."""
        c = rtmp.RtmpConn(node.ip, node.port)
        c.handshake()
        c.connect(tag)
        c.close()

    def text(p):
        with open(p) as f:
            return f.read()

    check(rill.wait_until(lambda: os.path.exists(path) and "rtmp listen" in text(path), 5.0),
          "expected the server to log into %s" % path)
    moved = path + ".1"
    os.rename(path, moved)
    poke("before-rotate")
    check(rill.wait_until(lambda: "before-rotate" in text(moved), 5.0),
          "expected lines after the mv to still go to the moved file %s" % moved)
    check(not os.path.exists(path), "nothing should create %s before SIGUSR1" % path)

    node.proc.kill(signal.SIGUSR1)
    check(rill.wait_until(lambda: os.path.exists(path), 5.0), "expected SIGUSR1 to create %s again" % path)
    poke("after-rotate")
    check(rill.wait_until(lambda: "after-rotate" in text(path), 5.0),
          "expected new lines in the new %s; it has:\n%s" % (path, text(path)))
    old, new = text(moved), text(path)
    check("reopening the log file" in old and "after-rotate" not in old,
          "expected the moved file to end at the reopen; its tail:\n%s" % "\n".join(old.splitlines()[-5:]))
    check("log file reopened" in new and "before-rotate" not in new and "rtmp listen" not in new,
          "expected the new file to start at the reopen; it has:\n%s" % new)
    print("moved file: %d lines, new file: %d lines" % (len(old.splitlines()), len(new.splitlines())),
          flush=True)
    node.assert_running("after SIGUSR1")
    node.stop()
