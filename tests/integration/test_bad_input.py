"""Malformed and hostile clients: the server stays up, and a player of another
stream keeps receiving without a gap > 1 s."""

import os
import socket
import struct
import time

from lib import rill, rtmp
from lib.rill import check


def _setup():
    node, pub, pl = rill.start_live("good")
    return node, pub, pl, time.monotonic()


def _sock(node):
    s = socket.create_connection((node.ip, node.port), timeout=5)
    s.settimeout(5)
    return s


def _closed_within(s, timeout):
    """True when the server closes s within timeout (EOF or reset)."""
    deadline = time.monotonic() + timeout
    while True:
        left = deadline - time.monotonic()
        if left <= 0:
            return False
        s.settimeout(left)
        try:
            d = s.recv(65536)
        except socket.timeout:
            return False
        except OSError:
            return True
        if not d:
            return True


def _send_quietly(s, data):
    try:
        s.sendall(data)
        return True
    except OSError:
        return False


def _after(node, pub, pl, t0, what):
    """The common checks after the bad input: still serving, smooth player,
    and a new player can still play."""
    time.sleep(1.0)
    node.assert_running(what)
    rill.check_player_smooth(pl, t0, what)
    check(pub.alive(), "expected the publisher to keep going %s; %s" % (what, rill.proc_state(pub)))
    fresh = rill.raw_player(node, "good")
    ok = fresh.wait_frames(5, 5.0)
    check(ok, "expected a new player to play after %s; got %d frames (error %s)" % (
        what, fresh.count(), fresh.error))
    fresh.stop()


@rill.timeout(60)
def test_random_bytes_as_handshake():
    node, pub, pl, t0 = _setup()
    # C0 that is not version 3: the server must drop the connection.
    for first in (0x00, 0x06, 0xFF):
        s = _sock(node)
        _send_quietly(s, bytes([first]) + os.urandom(4096))
        closed = _closed_within(s, 5.0)
        s.close()
        check(closed, "expected the server to close a connection whose C0 is 0x%02x (not RTMP 3) "
                      "within 5 s; it stayed open" % first)
    # Pure random streams, some with a valid C0 and random everything after.
    for i in range(10):
        s = _sock(node)
        data = os.urandom(8192)
        if i % 2:
            data = b"\x03" + data
        _send_quietly(s, data)
        s.close()
    _after(node, pub, pl, t0, "after random bytes as handshakes")


@rill.timeout(60)
def test_truncated_handshake():
    node, pub, pl, t0 = _setup()
    c1 = rtmp.simple_c1()
    # C0 + 100 bytes of C1, then close at once.
    s = _sock(node)
    _send_quietly(s, b"\x03" + c1[:100])
    s.close()
    # C0 + 100 bytes of C1, wait 2 s, then close.
    s = _sock(node)
    _send_quietly(s, b"\x03" + c1[:100])
    time.sleep(2.0)
    s.close()
    # Full C0C1, read part of S0S1S2, close without C2.
    s = _sock(node)
    _send_quietly(s, b"\x03" + c1)
    try:
        s.recv(1000)
    except OSError:
        pass
    s.close()
    # Full C0C1, read S0S1S2, send half a C2 and close.
    c = rtmp.RtmpConn(node.ip, node.port)
    c.send(b"\x03" + c1)
    c._take(1 + 2 * rtmp.HS_SIZE)
    c.send(os.urandom(700))
    c.close()
    _after(node, pub, pl, t0, "after truncated handshakes")


@rill.timeout(60)
def test_huge_set_chunk_size():
    node, pub, pl, t0 = _setup()
    for value in (0x7FFFFFFF, 0x80000000, 0xFFFFFFFF, 0):
        for when in ("after the handshake", "after connect"):
            c = rtmp.RtmpConn(node.ip, node.port)
            try:
                c.handshake()
                if when == "after connect":
                    c.connect("live")
                c.set_chunk_size(value, apply=False)
                # A message with its length right at the limit, as one chunk,
                # in case the size was taken: must not be buffered forever.
                try:
                    c.send_chunk_fmt0(3, rtmp.MSG_CMD_AMF0, os.urandom(60000), length=0xFFFFFF)
                except OSError:
                    pass
                closed = c.wait_closed(5.0)
            finally:
                c.close()
            check(closed, "expected the server to close a connection that sent Set Chunk Size 0x%08X %s "
                          "(out of range) within 5 s; it stayed open" % (value, when))
    _after(node, pub, pl, t0, "after Set Chunk Size 0x7FFFFFFF/0x80000000")


@rill.timeout(60)
def test_garbage_after_handshake():
    node, pub, pl, t0 = _setup()
    for i in range(6):
        c = rtmp.RtmpConn(node.ip, node.port)
        try:
            c.handshake()
            if i % 2:
                c.connect("live")
            try:
                c.send(os.urandom(64 * 1024))
            except OSError:
                pass
        finally:
            c.close()
    # Bogus messages with sane headers: unknown types, broken AMF0, huge csid.
    c = rtmp.RtmpConn(node.ip, node.port)
    try:
        c.handshake()
        c.connect("live")
        for t in (0, 7, 13, 19, 21, 22, 99, 255):
            c.send_message(5, t, os.urandom(300))
        c.send_message(3, rtmp.MSG_CMD_AMF0, b"\x02\xff\xffabc")           # truncated string
        c.send_message(3, rtmp.MSG_CMD_AMF0, b"\x03\x00\x03abc\x03" * 200)  # deep nesting
        c.send_message(65599, rtmp.MSG_CMD_AMF0, rtmp.amf0_encode_all("createStream", 9, None))
        c.send_message(3, rtmp.MSG_CMD_AMF0, rtmp.amf0_encode_all("play", 0, None, "x" * 3000))
        c.wait_closed(1.0)
    except (OSError, rtmp.RtmpError):
        pass
    finally:
        c.close()
    _after(node, pub, pl, t0, "after garbage after the handshake")


@rill.timeout(60)
def test_garbage_media_from_publisher():
    node, pub, pl, t0 = _setup()
    c = rtmp.RtmpConn(node.ip, node.port)
    try:
        c.handshake()
        c.connect("live")
        sid = c.publish("junk")
        watcher = rill.raw_player(node, "junk")
        time.sleep(0.5)
        ts = 0
        payloads = [b"", b"\x17", b"\x17\x00", b"\x17\x00\x00\x00\x00", b"\x17\x00\x00\x00\x00\x01\xff\xff",
                    b"\x17\x01\x00\x00\x00" + os.urandom(50), b"\x27\x01\x00\x00\x00\x00\x00\xff\xff",
                    b"\xaf\x00", b"\xaf", b"\x12\x34"]
        for i in range(200):
            v = payloads[i % len(payloads)] if i < 50 else os.urandom(i)
            c.send_message(6, rtmp.MSG_VIDEO, v, stream_id=sid, timestamp=ts)
            c.send_message(4, rtmp.MSG_AUDIO, payloads[(i + 3) % len(payloads)], stream_id=sid, timestamp=ts)
            if i % 40 == 0:
                c.send_message(4, rtmp.MSG_DATA_AMF0, os.urandom(100), stream_id=sid, timestamp=ts)
            ts = (ts + 40) if i % 17 else (ts - 1000) & 0xFFFFFFFF   # jumps backwards too
        time.sleep(0.5)
        watcher.stop()
    except (OSError, rtmp.RtmpError):
        pass
    finally:
        c.close()
    _after(node, pub, pl, t0, "after a publisher sent garbage media")


@rill.timeout(60)
def test_connection_that_never_publishes_or_plays_closed_at_its_deadline():
    """A client connects (the RTMP connect command) and then only sends
    _checkbw and pings every 2 s, never publish or play: the server closes
    it 10 s after its handshake (before, each message gave it 10 s more, so
    it held its slot for as long as it kept talking)."""
    node, pub, pl, t0 = _setup()
    c = rtmp.RtmpConn(node.ip, node.port)
    closed_after = None
    try:
        c.handshake()
        t_hs = time.monotonic()
        c.connect("live")
        for _ in range(12):
            time.sleep(2.0)
            try:
                c.command("_checkbw", None)
                c.send_message(2, rtmp.MSG_USER_CONTROL, b"\x00\x06\x00\x00\x00\x01")
            except OSError:
                break
            if c.wait_closed(0.1):
                break
        if c.wait_closed(3.0):
            closed_after = time.monotonic() - t_hs
    finally:
        c.close()
    check(closed_after is not None and 9.0 <= closed_after <= 13.0,
          "expected the server to close a connection that never publishes or plays about 10 s after its handshake; "
          "closed after %s s" % ("%.1f" % closed_after if closed_after is not None else "-"))
    check("reason: no publish or play in time" in node.log(), "expected the close reason in the log")
    print("closed %.1f s after its handshake while it kept sending _checkbw and pings" % closed_after, flush=True)
    _after(node, pub, pl, t0, "after a client that never published or played")


@rill.timeout(90)
def test_idle_connection_closed():
    node, pub, pl, t0 = _setup()
    s = _sock(node)
    t1 = time.monotonic()
    closed = _closed_within(s, 45.0)
    waited = time.monotonic() - t1
    s.close()
    check(closed, "expected the server to close a connection that never sends a byte (handshake "
                  "timeout); still open after %.0fs" % waited)
    _after(node, pub, pl, t0, "while an idle connection waited %.1fs" % waited)


@rill.timeout(60)
def test_many_connections_that_vanish():
    node, pub, pl, t0 = _setup()
    # 200 connections opened and reset (RST via SO_LINGER 0) at various stages.
    for i in range(200):
        try:
            s = socket.create_connection((node.ip, node.port), timeout=5)
        except OSError as e:
            raise AssertionError("expected the server to accept connection %d; %s" % (i, e))
        if i % 3 == 1:
            _send_quietly(s, b"\x03" + rtmp.simple_c1()[: i * 7 % 1536])
        elif i % 3 == 2:
            _send_quietly(s, b"\x03" + rtmp.simple_c1())
        s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        s.close()
    _after(node, pub, pl, t0, "after 200 connections reset mid-handshake")
