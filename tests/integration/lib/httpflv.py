"""An HTTP-FLV player for the integration tests.

HttpFlvPlayer GETs http://ip:port/app/stream.flv with http.client in a
thread, parses the FLV header and then the tags as they arrive, and records
every video tag with its wall-clock arrival time -- the same interface as
lib.rtmp.RawPlayer (frames(), count(), wait_frames(), max_gap(), alive(),
error, stop()), so the same checks apply to both kinds of players.

It is strict about the stream: one FLV header at the start, then only audio
(8), video (9) and script (18) tags with matching PreviousTagSize fields. A
second FLV header in the middle (a server that restarted the stream after a
failover, say) is a parse error recorded in .error.

Whether the server serves HTTP-FLV at all is in .status: the HTTP status
code, or "refused" when nothing listens. not_served() says whether that
means "HTTP-FLV is not implemented/enabled there" (404 or refused), which
tests use to skip their HTTP-FLV part with a clear message.
"""

import http.client
import socket
import struct
import threading
import time
import zlib

from .rtmp import gap_since, new_arrivals

TAG_AUDIO = 8
TAG_VIDEO = 9
TAG_SCRIPT = 18
MAX_TAG = 16 * 1024 * 1024


class FlvError(Exception):
    pass


class HttpFlvPlayer:
    def __init__(self, ip, port, path, timeout=5.0, read_timeout=10.0, source=None, headers=None):
        self.ip, self.port, self.path = ip, port, path
        self.source = source                # the local address to connect from (None: the kernel's)
        self.extra_headers = headers or {}  # sent with the request
        self.stream = path
        self.timeout = timeout              # connect and response headers
        self.read_timeout = read_timeout    # no byte for this long: error
        self.status = None                  # HTTP status, or "refused"
        self.headers = {}
        self.video = []                     # (arrival, ts, is_key, is_seq)
        self.video_crc = []                 # CRC-32 of each video tag's body
        self.audio = 0
        self.data = 0
        self.flv_headers = 0
        self.error = None
        self.bytes = 0
        self.started_at = None
        self.closed_at = None
        self._stop = False
        self._sock = None
        self._lock = threading.Lock()
        self._thread = None

    def url(self):
        return "http://%s:%d%s" % (self.ip, self.port, self.path)

    def start(self):
        self.started_at = time.monotonic()
        self._thread = threading.Thread(target=self._run, daemon=True, name="httpflv-%s" % self.path)
        self._thread.start()
        return self

    # -- reading

    def _read_exact(self, resp, n):
        out = bytearray()
        while len(out) < n:
            b = resp.read(n - len(out))
            if not b:
                if self._stop:
                    raise EOFError()
                raise FlvError("connection closed by the server after %d bytes (in the middle of %d)" % (
                    self.bytes + len(out), n))
            out += b
        self.bytes += n
        return bytes(out)

    def _run(self):
        conn = None
        try:
            conn = http.client.HTTPConnection(self.ip, self.port, timeout=self.timeout,
                                              source_address=(self.source, 0) if self.source else None)
            try:
                conn.connect()
            except ConnectionRefusedError:
                self.status = "refused"
                raise FlvError("connection refused by %s:%d" % (self.ip, self.port))
            self._sock = conn.sock
            conn.request("GET", self.path, headers=dict({"User-Agent": "rill-tests", "Accept": "*/*"},
                                                         **self.extra_headers))
            resp = conn.getresponse()
            self.status = resp.status
            self.headers = {k.lower(): v for k, v in resp.getheaders()}
            if resp.status != 200:
                body = resp.read(200) if resp.status != 204 else b""
                raise FlvError("HTTP %d %s for %s (%r)" % (resp.status, resp.reason, self.path, body[:80]))
            self._sock.settimeout(self.read_timeout)
            hdr = self._read_exact(resp, 9)
            if hdr[:3] != b"FLV":
                raise FlvError("response does not start with an FLV header: %r" % hdr)
            self.flv_headers = 1
            skip = struct.unpack(">I", hdr[5:9])[0]
            if skip > 9:
                self._read_exact(resp, skip - 9)
            self._read_exact(resp, 4)                    # PreviousTagSize0
            while not self._stop:
                th = self._read_exact(resp, 11)
                ttype = th[0] & 0x1F
                if th[:3] == b"FLV":
                    self.flv_headers += 1
                    raise FlvError("a second FLV header in the middle of the stream, after %d video tags" %
                                   len(self.video))
                if ttype not in (TAG_AUDIO, TAG_VIDEO, TAG_SCRIPT):
                    raise FlvError("unexpected FLV tag type %d after %d bytes" % (th[0], self.bytes - 11))
                size = (th[1] << 16) | (th[2] << 8) | th[3]
                ts = ((th[7] << 24) | (th[4] << 16) | (th[5] << 8) | th[6]) & 0xFFFFFFFF
                if size > MAX_TAG:
                    raise FlvError("FLV tag of %d bytes" % size)
                body = self._read_exact(resp, size)
                arrival = time.monotonic()
                prev = struct.unpack(">I", self._read_exact(resp, 4))[0]
                if prev != size + 11:
                    raise FlvError("PreviousTagSize %d after a tag of %d bytes" % (prev, size + 11))
                if ttype == TAG_VIDEO:
                    key = bool(body) and (body[0] >> 4) == 1
                    codec = body[0] & 0x0F if body else 0
                    seq = len(body) >= 2 and codec in (7, 12) and body[1] == 0
                    if body and body[0] & 0x80:            # Enhanced RTMP: packet type in the low bits
                        seq = (body[0] & 0x0F) == 0
                        key = ((body[0] >> 4) & 0x07) == 1
                    with self._lock:
                        self.video.append((arrival, ts, key, seq))
                        self.video_crc.append(zlib.crc32(body))
                elif ttype == TAG_AUDIO:
                    self.audio += 1
                else:
                    self.data += 1
        except EOFError:
            pass
        except socket.timeout:
            if not self._stop:
                self.error = "no data for %.0fs (status %s)" % (self.read_timeout, self.status)
        except Exception as e:  # noqa: BLE001 - recorded for the test to report
            if not self._stop:
                self.error = "%s: %s" % (type(e).__name__, e)
        finally:
            self.closed_at = time.monotonic()
            if conn is not None:
                try:
                    conn.close()
                except OSError:
                    pass

    # -- control and results (same shape as rtmp.RawPlayer)

    def stop(self):
        self._stop = True
        s = self._sock
        if s is not None:
            try:
                s.shutdown(socket.SHUT_RDWR)    # wakes the blocked read
            except OSError:
                pass
        if self._thread:
            self._thread.join(2.0)

    def alive(self):
        return self._thread is not None and self._thread.is_alive()

    def not_served(self):
        """True when the server does not serve HTTP-FLV there (refused or 404)."""
        return self.status in ("refused", 404)

    def wait_status(self, timeout):
        """Wait until the response status (or a connect failure) is known."""
        deadline = time.monotonic() + timeout
        while self.status is None and self.alive() and time.monotonic() < deadline:
            time.sleep(0.02)
        return self.status

    def frames(self):
        """Video frames (sequence headers excluded): list of (arrival, ts, is_key)."""
        with self._lock:
            return [(a, t, k) for (a, t, k, s) in self.video if not s]

    def seq_headers(self):
        with self._lock:
            return [(a, t) for (a, t, k, s) in self.video if s]

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
        as lib.rtmp.RawPlayer.max_gap."""
        return gap_since([a for (a, _, _) in self.frames()], since, until)

    def new_max_gap(self, since, until=None):
        """max_gap counting only frames seen for the first time (lib.rtmp.new_frames)."""
        return gap_since(new_arrivals(self), since, until)

    def describe(self):
        return ("HTTP-FLV player %s: status %s, %d video frames, %d audio, %d bytes, error=%s" %
                (self.url(), self.status, self.count(), self.audio, self.bytes, self.error))
