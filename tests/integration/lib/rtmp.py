"""A tiny raw RTMP client over a plain socket.

Enough of RTMP to drive a server from tests: the simple handshake (C0=3, C1
with a zero version field, S2 ignored, C2 echoes S1), chunk writing (fmt 0 for
the first chunk of a message, fmt 3 for the rest), a chunk reader that follows
the peer's Set Chunk Size and extended timestamps, AMF0, and the
connect/createStream/play sequence.  RawPlayer runs a player in a thread and
records every video message with its wall-clock arrival time.
"""

import os
import socket
import struct
import threading
import time
import zlib

# message types
MSG_SET_CHUNK_SIZE = 1
MSG_ABORT = 2
MSG_ACK = 3
MSG_USER_CONTROL = 4
MSG_WINDOW_ACK_SIZE = 5
MSG_SET_PEER_BW = 6
MSG_AUDIO = 8
MSG_VIDEO = 9
MSG_DATA_AMF0 = 18
MSG_CMD_AMF0 = 20

HS_SIZE = 1536


def gap_since(times, since, until=None):
    """Longest time without a frame in [since, until] (until: now) given the
    frames' arrival times: counts the stretch from the last frame before
    `since` (or `since`) and the stretch from the last frame to `until`.
    Shared by the RTMP and HTTP-FLV test players."""
    until = time.monotonic() if until is None else until
    prev = since
    before = [a for a in times if a <= since]
    if before:
        prev = before[-1]
    gap = 0.0
    for a in times:
        if a <= since or a > until:
            continue
        gap = max(gap, a - prev)
        prev = a
    return max(gap, until - prev)


def new_frames(frames, crcs, window=10.0):
    """Arrival times of the video frames (arrival, ts, is_key, is_seq) whose
    payload (its CRC-32 in crcs, one per frame) did not arrive in the
    `window` seconds before: what a player sees for the first time. An edge
    that fails over to an origin whose publisher has gone silent gets that
    origin's cached GOP again and passes it on (timestamps continued), so a
    stalled stream can look alive by arrival times alone. Shared by the
    RTMP and HTTP-FLV test players."""
    seen = {}
    out = []
    for (a, _, _, s), c in zip(frames, crcs):
        if s:
            continue
        if c not in seen or a - seen[c] > window:
            out.append(a)
        seen[c] = a
    return out


def new_arrivals(pl):
    """new_frames of a test player (RawPlayer, HttpFlvPlayer)."""
    with pl._lock:
        video, crcs = list(pl.video), list(pl.video_crc)
    return new_frames(video, crcs)


class RtmpError(Exception):
    pass


class Closed(RtmpError):
    """The peer closed the connection (EOF or reset)."""


# ---------------------------------------------------------------- AMF0

class _Undefined:
    def __repr__(self):
        return "undefined"


UNDEFINED = _Undefined()


class EcmaArray(dict):
    pass


def amf0_encode(v):
    if v is None:
        return b"\x05"
    if v is UNDEFINED:
        return b"\x06"
    if isinstance(v, bool):
        return b"\x01" + (b"\x01" if v else b"\x00")
    if isinstance(v, (int, float)):
        return b"\x00" + struct.pack(">d", float(v))
    if isinstance(v, str):
        b = v.encode()
        if len(b) > 0xFFFF:
            return b"\x0c" + struct.pack(">I", len(b)) + b
        return b"\x02" + struct.pack(">H", len(b)) + b
    if isinstance(v, EcmaArray):
        out = b"\x08" + struct.pack(">I", len(v))
        for k, x in v.items():
            kb = k.encode()
            out += struct.pack(">H", len(kb)) + kb + amf0_encode(x)
        return out + b"\x00\x00\x09"
    if isinstance(v, dict):
        out = b"\x03"
        for k, x in v.items():
            kb = k.encode()
            out += struct.pack(">H", len(kb)) + kb + amf0_encode(x)
        return out + b"\x00\x00\x09"
    if isinstance(v, (list, tuple)):
        out = b"\x0a" + struct.pack(">I", len(v))
        for x in v:
            out += amf0_encode(x)
        return out
    raise TypeError("cannot AMF0-encode %r" % (v,))


def amf0_encode_all(*values):
    return b"".join(amf0_encode(v) for v in values)


def _amf0_props(b, i):
    d = {}
    while True:
        if i + 3 <= len(b) and b[i:i + 3] == b"\x00\x00\x09":
            return d, i + 3
        if i + 2 > len(b):
            raise RtmpError("AMF0 object truncated")
        n = struct.unpack_from(">H", b, i)[0]
        k = b[i + 2:i + 2 + n].decode("utf-8", "replace")
        v, i = _amf0_decode_one(b, i + 2 + n)
        d[k] = v


def _amf0_decode_one(b, i):
    if i >= len(b):
        raise RtmpError("AMF0 value truncated")
    t = b[i]
    i += 1
    if t == 0x00:
        return struct.unpack_from(">d", b, i)[0], i + 8
    if t == 0x01:
        return b[i] != 0, i + 1
    if t == 0x02:
        n = struct.unpack_from(">H", b, i)[0]
        return b[i + 2:i + 2 + n].decode("utf-8", "replace"), i + 2 + n
    if t == 0x0C:
        n = struct.unpack_from(">I", b, i)[0]
        return b[i + 4:i + 4 + n].decode("utf-8", "replace"), i + 4 + n
    if t == 0x03:
        return _amf0_props(b, i)
    if t == 0x08:
        d, i = _amf0_props(b, i + 4)
        return EcmaArray(d), i
    if t == 0x0A:
        n = struct.unpack_from(">I", b, i)[0]
        i += 4
        out = []
        for _ in range(n):
            v, i = _amf0_decode_one(b, i)
            out.append(v)
        return out, i
    if t == 0x05:
        return None, i
    if t == 0x06:
        return UNDEFINED, i
    if t == 0x0B:
        return struct.unpack_from(">d", b, i)[0], i + 10
    raise RtmpError("AMF0 type 0x%02x not supported" % t)


def amf0_decode_all(b):
    out = []
    i = 0
    while i < len(b):
        v, i = _amf0_decode_one(b, i)
        out.append(v)
    return out


# ---------------------------------------------------------------- chunks

def chunk_basic_header(fmt, csid):
    if csid < 2 or csid > 65599:
        raise ValueError("csid %d out of range" % csid)
    if csid <= 63:
        return bytes([(fmt << 6) | csid])
    if csid <= 319:
        return bytes([fmt << 6, csid - 64])
    return bytes([(fmt << 6) | 1, (csid - 64) & 0xFF, (csid - 64) >> 8])


def encode_message(csid, msg_type, payload, stream_id=0, timestamp=0, chunk_size=128):
    """The chunked bytes of one message: fmt 0 then fmt 3 chunks."""
    ext = timestamp >= 0xFFFFFF
    ts_field = 0xFFFFFF if ext else timestamp
    hdr = (chunk_basic_header(0, csid)
           + struct.pack(">I", ts_field)[1:]
           + struct.pack(">I", len(payload))[1:]
           + bytes([msg_type])
           + struct.pack("<I", stream_id))
    if ext:
        hdr += struct.pack(">I", timestamp & 0xFFFFFFFF)
    out = [hdr]
    first = True
    pos = 0
    while first or pos < len(payload):
        if not first:
            c3 = chunk_basic_header(3, csid)
            if ext:
                c3 += struct.pack(">I", timestamp & 0xFFFFFFFF)
            out.append(c3)
        out.append(payload[pos:pos + chunk_size])
        pos += chunk_size
        first = False
    return b"".join(out)


class _InStream:
    __slots__ = ("ts", "delta", "length", "type", "sid", "ext", "buf")

    def __init__(self):
        self.ts = 0
        self.delta = 0
        self.length = 0
        self.type = 0
        self.sid = 0
        self.ext = False
        self.buf = None


class Message:
    __slots__ = ("type", "stream_id", "timestamp", "payload", "csid", "arrival")

    def __init__(self, type_, stream_id, timestamp, payload, csid, arrival):
        self.type = type_
        self.stream_id = stream_id
        self.timestamp = timestamp
        self.payload = payload
        self.csid = csid
        self.arrival = arrival

    def __repr__(self):
        return "Message(type=%d, sid=%d, ts=%d, len=%d)" % (
            self.type, self.stream_id, self.timestamp, len(self.payload))


def simple_c1():
    """C1 of the simple handshake: time, four zero bytes, random."""
    return struct.pack(">II", int(time.time()) & 0xFFFFFFFF, 0) + os.urandom(HS_SIZE - 8)


class RtmpConn:
    """One client connection. Every socket operation is bounded by timeout."""

    def __init__(self, ip, port, timeout=5.0, rcvbuf=None):
        self.ip = ip
        self.port = port
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        if rcvbuf:
            self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, rcvbuf)
        self.sock.settimeout(timeout)
        try:
            self.sock.connect((ip, port))
        except OSError:
            self.sock.close()
            raise
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.sock.settimeout(timeout)
        self.__init_state(ip, port, self.sock, timeout)

    @classmethod
    def accepted(cls, sock, timeout=5.0):
        """The server side of a connection a test's fake server accepted."""
        c = cls.__new__(cls)
        ip, port = sock.getpeername()[:2]
        sock.settimeout(timeout)
        c.__init_state(ip, port, sock, timeout)
        return c

    def __init_state(self, ip, port, sock, timeout):
        self.ip, self.port, self.sock, self.timeout = ip, port, sock, timeout
        self.rbuf = bytearray()
        self.in_chunk_size = 128
        self.out_chunk_size = 128
        self.streams = {}
        self.received = 0        # bytes read from the socket
        self.ack_window = 0      # from the peer's Window Acknowledgement Size
        self.last_ack = 0
        self.txn = 0
        self.pending = []        # messages read while waiting for a command reply
        self.statuses = []       # onStatus info objects (dicts), in arrival order
        self.s0s1s2 = None

    def serve_handshake(self):
        """Server side, simple form: S1 without a digest, S2 echoes C1."""
        c0c1 = self._take(1 + HS_SIZE)
        if c0c1[0] != 3:
            raise RtmpError("C0 is %d, expected 3" % c0c1[0])
        self.send(b"\x03" + simple_c1() + c0c1[1:])
        self._take(HS_SIZE)

    # -- raw io
    def send(self, data):
        self.sock.sendall(data)

    def close(self):
        try:
            self.sock.close()
        except OSError:
            pass

    def _fill(self, n):
        while len(self.rbuf) < n:
            try:
                d = self.sock.recv(max(65536, n - len(self.rbuf)))
            except ConnectionResetError as e:
                raise Closed("connection reset by peer") from e
            if not d:
                raise Closed("connection closed by peer")
            self.received += len(d)
            self.rbuf += d
            if self.ack_window and self.received - self.last_ack >= self.ack_window:
                self.last_ack = self.received
                self.send_message(2, MSG_ACK, struct.pack(">I", self.received & 0xFFFFFFFF))

    def _take(self, n):
        self._fill(n)
        b = bytes(self.rbuf[:n])
        del self.rbuf[:n]
        return b

    def wait_closed(self, timeout):
        """Read and drop bytes until the peer closes. True if it closed within
        timeout, False if it was still open."""
        deadline = time.monotonic() + timeout
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                return False
            self.sock.settimeout(left)
            try:
                d = self.sock.recv(65536)
            except socket.timeout:
                return False
            except (ConnectionResetError, BrokenPipeError):
                return True
            except OSError:
                return True
            finally:
                try:
                    self.sock.settimeout(self.timeout)
                except OSError:
                    pass
            if not d:
                return True

    # -- handshake
    def handshake(self):
        c1 = simple_c1()
        self.send(b"\x03" + c1)
        s = self._take(1 + 2 * HS_SIZE)
        if s[0] != 3:
            raise RtmpError("S0 is %d, expected 3" % s[0])
        self.s0s1s2 = s
        self.send(s[1:1 + HS_SIZE])   # C2 echoes S1
        return s

    # -- writing
    def send_message(self, csid, msg_type, payload, stream_id=0, timestamp=0, chunk_size=None):
        self.send(encode_message(csid, msg_type, payload, stream_id, timestamp,
                                 chunk_size or self.out_chunk_size))

    def send_chunk_fmt0(self, csid, msg_type, payload, stream_id=0, timestamp=0, length=None):
        """Exactly one fmt 0 chunk: header (length defaults to len(payload)) + payload,
        whatever the chunk size. For malformed input tests."""
        ln = len(payload) if length is None else length
        ext = timestamp >= 0xFFFFFF
        hdr = (chunk_basic_header(0, csid)
               + struct.pack(">I", 0xFFFFFF if ext else timestamp)[1:]
               + struct.pack(">I", ln & 0xFFFFFF)[1:]
               + bytes([msg_type]) + struct.pack("<I", stream_id))
        if ext:
            hdr += struct.pack(">I", timestamp)
        self.send(hdr + payload)

    def set_chunk_size(self, size, apply=True):
        """Send Set Chunk Size (any 32-bit value). apply: use it for our later sends."""
        self.send_message(2, MSG_SET_CHUNK_SIZE, struct.pack(">I", size & 0xFFFFFFFF))
        if apply:
            self.out_chunk_size = size

    def command(self, name, *args, csid=3, stream_id=0, txn=None):
        if txn is None:
            self.txn += 1
            txn = self.txn
        self.send_message(csid, MSG_CMD_AMF0, amf0_encode_all(name, txn, *args), stream_id)
        return txn

    # -- reading
    def read_message(self):
        """Next complete message (control messages are applied and returned
        too). Chunks are parsed in place and consumed only when whole, so a
        socket timeout never loses parser state: just call again."""
        while True:
            m = self._read_chunk()
            if m is not None:
                return m

    def _peek(self, i, n):
        self._fill(i + n)
        return bytes(self.rbuf[i:i + n])

    def _read_chunk(self):
        b0 = self._peek(0, 1)[0]
        i = 1
        fmt = b0 >> 6
        csid = b0 & 0x3F
        if csid == 0:
            csid = 64 + self._peek(1, 1)[0]
            i = 2
        elif csid == 1:
            x = self._peek(1, 2)
            csid = 64 + x[0] + 256 * x[1]
            i = 3
        st = self.streams.get(csid)
        if st is None:
            if fmt != 0:
                raise RtmpError("first chunk of csid %d has fmt %d" % (csid, fmt))
            st = _InStream()
        new_msg = st.buf is None
        ts, delta, length, mtype, sid, ext = st.ts, st.delta, st.length, st.type, st.sid, st.ext
        if fmt == 0:
            h = self._peek(i, 11)
            i += 11
            ts = int.from_bytes(h[0:3], "big")
            length = int.from_bytes(h[3:6], "big")
            mtype = h[6]
            sid = struct.unpack("<I", h[7:11])[0]
            ext = ts == 0xFFFFFF
            if ext:
                ts = struct.unpack(">I", self._peek(i, 4))[0]
                i += 4
            delta = 0
        elif fmt == 1 or fmt == 2:
            h = self._peek(i, 7 if fmt == 1 else 3)
            i += 7 if fmt == 1 else 3
            d = int.from_bytes(h[0:3], "big")
            if fmt == 1:
                length = int.from_bytes(h[3:6], "big")
                mtype = h[6]
            ext = d == 0xFFFFFF
            if ext:
                d = struct.unpack(">I", self._peek(i, 4))[0]
                i += 4
            delta = d
            ts = (ts + d) & 0xFFFFFFFF
        else:
            if ext:
                # fmt 3 after an extended timestamp: most servers repeat the
                # extended field (SRS, ffmpeg); accept both forms, as SRS does.
                got = struct.unpack(">I", self._peek(i, 4))[0]
                if got in (ts, delta, (ts + delta) & 0xFFFFFFFF):
                    i += 4
            if new_msg:
                ts = (ts + delta) & 0xFFFFFFFF
        have = 0 if new_msg else len(st.buf)
        n = max(0, min(self.in_chunk_size, length - have))
        body = self._peek(i, n) if n else b""
        # the whole chunk is here: commit
        del self.rbuf[:i + n]
        self.streams[csid] = st
        st.ts, st.delta, st.length, st.type, st.sid, st.ext = ts, delta, length, mtype, sid, ext
        if new_msg:
            st.buf = bytearray()
        st.buf += body
        if len(st.buf) >= st.length:
            m = Message(st.type, st.sid, st.ts, bytes(st.buf), csid, time.monotonic())
            st.buf = None
            self._on_control(m)
            return m
        return None

    def _on_control(self, m):
        if m.type == MSG_SET_CHUNK_SIZE and len(m.payload) >= 4:
            v = struct.unpack(">I", m.payload[:4])[0] & 0x7FFFFFFF
            if v < 1:
                raise RtmpError("peer set chunk size %d" % v)
            self.in_chunk_size = v
        elif m.type == MSG_WINDOW_ACK_SIZE and len(m.payload) >= 4:
            self.ack_window = struct.unpack(">I", m.payload[:4])[0]
        elif m.type == MSG_USER_CONTROL and len(m.payload) >= 6:
            ev = struct.unpack(">H", m.payload[:2])[0]
            if ev == 6:  # ping request -> ping response
                self.send_message(2, MSG_USER_CONTROL, struct.pack(">H", 7) + m.payload[2:6])
        elif m.type == MSG_CMD_AMF0:
            try:
                v = amf0_decode_all(m.payload)
            except (RtmpError, struct.error, IndexError):
                return
            if len(v) >= 4 and v[0] == "onStatus" and isinstance(v[3], dict):
                self.statuses.append(v[3])

    def wait_reply(self, txn, deadline):
        """Read until _result/_error for txn; other messages are kept in pending."""
        while True:
            if time.monotonic() > deadline:
                raise RtmpError("no reply to transaction %d" % txn)
            m = self.read_message()
            if m.type == MSG_CMD_AMF0:
                v = amf0_decode_all(m.payload)
                if len(v) >= 2 and v[0] in ("_result", "_error") and v[1] == txn:
                    return v
            self.pending.append(m)

    def connect(self, app, tc_url=None, timeout=5.0):
        tc_url = tc_url or "rtmp://%s:%d/%s" % (self.ip, self.port, app)
        txn = self.command("connect", {
            "app": app, "flashVer": "LNX 9,0,124,2", "tcUrl": tc_url, "fpad": False,
            "capabilities": 15.0, "audioCodecs": 4071.0, "videoCodecs": 252.0,
            "videoFunction": 1.0})
        v = self.wait_reply(txn, time.monotonic() + timeout)
        if v[0] != "_result":
            raise RtmpError("connect refused: %r" % (v,))
        return v

    def create_stream(self, timeout=5.0):
        txn = self.command("createStream", None)
        v = self.wait_reply(txn, time.monotonic() + timeout)
        if v[0] != "_result" or len(v) < 4:
            raise RtmpError("createStream failed: %r" % (v,))
        return int(v[3])

    def play(self, stream, stream_id):
        # Set Buffer Length (user control 3) first, as ffmpeg does.
        self.send_message(2, MSG_USER_CONTROL, struct.pack(">HII", 3, stream_id, 3000))
        self.command("play", None, stream, -2000.0, csid=8, stream_id=stream_id, txn=0)


    def wait_status(self, code_prefix, timeout=5.0):
        """Read until an onStatus whose code starts with code_prefix (or any
        '.Failed'/'.BadName'/'error' status) arrives; returns its info dict."""
        deadline = time.monotonic() + timeout
        seen = 0
        while True:
            for st in self.statuses[seen:]:
                code = str(st.get("code", ""))
                if code.startswith(code_prefix) or st.get("level") == "error":
                    return st
            seen = len(self.statuses)
            left = deadline - time.monotonic()
            if left <= 0:
                raise RtmpError("no onStatus %s within %.1fs (got %r)" % (
                    code_prefix, timeout, self.statuses))
            self.sock.settimeout(left)
            try:
                self.pending.append(self.read_message())
            except socket.timeout:
                pass
            finally:
                self.sock.settimeout(self.timeout)

    def publish(self, stream, timeout=5.0):
        """releaseStream, FCPublish, createStream, publish; returns the
        stream id once NetStream.Publish.Start arrives."""
        self.command("releaseStream", None, stream)
        self.command("FCPublish", None, stream)
        sid = self.create_stream(timeout)
        self.command("publish", None, stream, "live", csid=8, stream_id=sid, txn=0)
        st = self.wait_status("NetStream.Publish.Start", timeout)
        if st.get("code") != "NetStream.Publish.Start":
            raise RtmpError("publish refused: %r" % (st,))
        return sid


def video_info(payload):
    """(is_keyframe, is_sequence_header) of an FLV video tag body."""
    if not payload:
        return False, False
    key = (payload[0] >> 4) == 1
    seq = (payload[0] & 0x0F) == 7 and len(payload) > 1 and payload[1] == 0
    return key, seq


class RawPlayer:
    """A player in a thread: handshake, connect, createStream, play, then
    record each message. video: list of (arrival, timestamp, is_key, is_seq)
    for every video message (sequence headers included)."""

    def __init__(self, ip, port, stream, app="live", timeout=5.0, rcvbuf=None):
        self.ip, self.port, self.stream, self.app = ip, port, stream, app
        self.timeout = timeout
        self.rcvbuf = rcvbuf
        self.paused = False      # while True the thread does not read the socket
        self.video = []
        self.video_crc = []      # CRC-32 of each video message's payload
        self.audio = 0
        self.data = 0
        self.error = None
        self.closed_at = None
        self.started_at = None
        self.play_sent_at = None
        self.conn = None
        self._stop = False
        self._lock = threading.Lock()
        self._thread = None

    def start(self):
        self.started_at = time.monotonic()
        self._thread = threading.Thread(target=self._run, daemon=True,
                                        name="rawplayer-%s" % self.stream)
        self._thread.start()
        return self

    def _run(self):
        try:
            c = self.conn = RtmpConn(self.ip, self.port, timeout=self.timeout, rcvbuf=self.rcvbuf)
            c.handshake()
            c.connect(self.app)
            sid = c.create_stream()
            self.play_sent_at = time.monotonic()
            c.play(self.stream, sid)
            for m in c.pending:
                self._record(m)
            c.pending = []
            c.sock.settimeout(0.5)
            while not self._stop:
                if self.paused:
                    time.sleep(0.05)
                    continue
                try:
                    m = c.read_message()
                except socket.timeout:
                    continue
                self._record(m)
        except Exception as e:  # noqa: BLE001 - recorded for the test to report
            if not self._stop:
                self.error = "%s: %s" % (type(e).__name__, e)
        finally:
            self.closed_at = time.monotonic()
            if self.conn:
                self.conn.close()

    def _record(self, m):
        if m.type == MSG_VIDEO:
            k, s = video_info(m.payload)
            with self._lock:
                self.video.append((m.arrival, m.timestamp, k, s))
                self.video_crc.append(zlib.crc32(m.payload))
        elif m.type == MSG_AUDIO:
            self.audio += 1
        elif m.type == MSG_DATA_AMF0:
            self.data += 1

    def stop(self):
        self._stop = True
        if self._thread:
            self._thread.join(2.0)
        if self.conn:
            self.conn.close()

    def alive(self):
        return self._thread is not None and self._thread.is_alive()

    def frames(self):
        """Video frames (sequence headers excluded): list of (arrival, ts, is_key)."""
        with self._lock:
            return [(a, t, k) for (a, t, k, s) in self.video if not s]

    def count(self):
        return len(self.frames())

    def wait_frames(self, n, timeout):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.count() >= n:
                return True
            if not self.alive():
                return self.count() >= n
            time.sleep(0.05)
        return self.count() >= n

    def max_gap(self, since, until=None):
        """Longest time without a video frame in [since, until] (until: now),
        counting the stretch from the last frame before `since` (or `since`)
        and the stretch from the last frame to `until`."""
        return gap_since([a for (a, _, _) in self.frames()], since, until)

    def new_max_gap(self, since, until=None):
        """max_gap counting only frames seen for the first time (new_frames)."""
        return gap_since(new_arrivals(self), since, until)

    def describe(self):
        f = self.frames()
        return ("player %s: %d video frames, %d audio, error=%s" %
                (self.stream, len(f), self.audio, self.error))
