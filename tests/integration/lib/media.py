"""Publisher profiles for the media matrix, and players that record every tag.

Each profile is encoded once into an FLV file (x264 ultrafast, 20 s) cached
under objs/media/ by a hash of its ffmpeg command, then published in real time
with `ffmpeg -re -stream_loop -1 -i FILE -c copy`: a copy costs almost no CPU,
an x264 encode per run would cost most of a core.

The recorders keep every audio and video tag (arrival, kind, timestamp,
keyframe, sequence header) and the points where a publish ended or began, so
a test can check what a viewer needs: monotonic timestamps and a keyframe
first, in each publish session.
"""

import fcntl
import hashlib
import os
import socket
import struct
import subprocess
import threading
import time

from . import rill, rtmp

CACHE_DIR = os.path.join(rill.ROOT, "objs", "media")
SECONDS = 20               # length of each encoded file (it loops when published)
MAX_TAG = 16 * 1024 * 1024


class Profile:
    """One encoder setting: name, a line for reports, GOP seconds, whether it
    has video and audio, and the ffmpeg arguments that make it."""

    def __init__(self, name, what, gop_s, args, video=True, audio=True):
        self.name, self.what, self.gop_s = name, what, gop_s
        self.args, self.video, self.audio = args, video, audio


def _video(size, fps, gop, rate, extra=("-tune", "zerolatency")):
    """(inputs, outputs) of an x264 ultrafast test pattern with a fixed GOP."""
    return (["-f", "lavfi", "-i", "testsrc2=size=%s:rate=%d" % (size, fps)],
            ["-c:v", "libx264", "-preset", "ultrafast"] + list(extra)
            + ["-g", str(gop), "-keyint_min", str(gop), "-sc_threshold", "0", "-pix_fmt", "yuv420p",
               "-b:v", rate, "-maxrate", rate, "-bufsize", rate])


def _with_audio(video):
    """ffmpeg arguments: the video's inputs, a sine, then the encoders."""
    return video[0] + SINE + video[1] + AAC


SINE = ["-f", "lavfi", "-i", "sine=frequency=440:sample_rate=44100"]
AAC = ["-c:a", "aac", "-b:a", "96k"]

# x264's ultrafast preset turns B-frames off and -tune zerolatency forbids
# them: the B-frame profile sets -bf 3 after the preset and has no tune.
PROFILES = {p.name: p for p in (
    Profile("gop2s", "640x360 25 fps, 2 s GOP, 1 Mbit/s + AAC (what every other test publishes)", 2,
            _with_audio(_video("640x360", 25, 50, "1M"))),
    Profile("gop10s", "640x360 25 fps, 10 s GOP (x264's default keyint 250), 2 Mbit/s + AAC", 10,
            _with_audio(_video("640x360", 25, 250, "2M"))),
    Profile("bframes", "640x360 25 fps, 3 B-frames, 4 s GOP, 1.5 Mbit/s + AAC", 4,
            _with_audio(_video("640x360", 25, 100, "1500k", extra=("-bf", "3")))),
    Profile("audio", "AAC only, 44.1 kHz", 0, SINE + AAC, video=False),
    Profile("video", "640x360 25 fps, 3 s GOP, 1 Mbit/s, no audio", 3,
            sum(_video("640x360", 25, 75, "1M"), []), audio=False),
    Profile("hd60", "1280x720 60 fps, 5 s GOP, 4 Mbit/s + AAC", 5,
            _with_audio(_video("1280x720", 60, 300, "4M"))),
)}


def media_file(profile):
    """Path of profile's FLV file, encoding it first if it is not cached. A
    lock file serializes encoders; the file appears by rename, whole."""
    p = PROFILES[profile] if isinstance(profile, str) else profile
    cmd = (["ffmpeg", "-nostdin", "-hide_banner", "-loglevel", "error", "-y"] + p.args
           + ["-t", str(SECONDS), "-f", "flv"])
    key = hashlib.sha1(" ".join(cmd).encode()).hexdigest()[:12]
    os.makedirs(CACHE_DIR, exist_ok=True)
    path = os.path.join(CACHE_DIR, "%s-%s.flv" % (p.name, key))
    with open(os.path.join(CACHE_DIR, ".lock"), "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not os.path.exists(path):
            part = path + ".part"
            try:
                r = subprocess.run(cmd + [part], stdin=subprocess.DEVNULL, capture_output=True, timeout=120)
            except subprocess.TimeoutExpired:
                raise rill.TestFailure("encoding profile %s took over 120 s" % p.name)
            rill.check(r.returncode == 0 and os.path.getsize(part) > 0,
                       "encoding profile %s failed (exit %s): %s" % (
                           p.name, r.returncode, r.stderr.decode("utf-8", "replace")[-500:]))
            os.rename(part, path)
    return path


def publish_file(url, path, name="publisher"):
    """ffmpeg sending path to url in real time, looping, without re-encoding."""
    args = ["ffmpeg", "-nostdin", "-hide_banner", "-loglevel", "error", "-re", "-stream_loop", "-1",
            "-i", path, "-c", "copy", "-f", "flv", url]
    return rill.Proc(name, args, os.path.join(rill.tmpdir("rill-ff-"), name + ".log"))


# ---------------------------------------------------------------- recording

class Tags:
    """What a player received: tags as (arrival, kind 'v'|'a'|'d', ts, key,
    seq) and session marks (index into tags where a publish began again)."""

    def __init__(self):
        self.tags = []
        self.marks = []
        self.lock = threading.Lock()

    def add(self, kind, ts, body):
        key = seq = False
        if kind == "v" and body:
            key, seq = rtmp.video_info(body)
            if body[0] & 0x80:                 # Enhanced RTMP: packet type in the low bits
                seq = (body[0] & 0x0F) == 0
                key = ((body[0] >> 4) & 0x07) == 1
        elif kind == "a" and len(body) >= 2:
            seq = (body[0] >> 4) == 10 and body[1] == 0      # AAC sequence header
        with self.lock:
            self.tags.append((time.monotonic(), kind, ts, key, seq))

    def mark(self):
        with self.lock:
            if not self.marks or self.marks[-1] != len(self.tags):
                self.marks.append(len(self.tags))

    def snapshot(self):
        with self.lock:
            return list(self.tags), list(self.marks)

    def media(self, kind):
        with self.lock:
            return [t for t in self.tags if t[1] == kind and not t[4]]


def sessions(tags, marks):
    """Split tags at marks and, for players that get no marks (HTTP-FLV), at
    a sequence header that follows media: a republish sends new ones."""
    cuts = set(marks)
    seen_media = False
    for i, (_, kind, _, _, seq) in enumerate(tags):
        if kind in "va" and seq and seen_media:
            cuts.add(i)
            seen_media = False
        elif kind in "va" and not seq:
            seen_media = True
    out, start = [], 0
    for c in sorted(cuts):
        out.append(tags[start:c])
        start = c
    out.append(tags[start:])
    return [s for s in out if s]


def realtime_problems(tags, marks, want_video=True, want_audio=True):
    """What a real-time viewer would object to, as a list of strings: in each
    publish session, timestamps of each kind going back, the first video
    frame not a keyframe, and a wanted kind missing altogether."""
    bad = []
    for n, sess in enumerate(sessions(tags, marks)):
        media = [t for t in sess if t[1] in "va" and not t[4]]
        for kind in "va":
            ts = [t[2] for t in media if t[1] == kind]
            for i in range(1, len(ts)):
                d = (ts[i] - ts[i - 1]) & 0xFFFFFFFF
                if d >= 0x80000000:
                    bad.append("session %d: %s timestamp went back from %d to %d ms (tag %d of that kind)" % (
                        n, "video" if kind == "v" else "audio", ts[i - 1], ts[i], i))
                    break
        video = [t for t in media if t[1] == "v"]
        if video and not video[0][3]:
            bad.append("session %d: first video frame (ts %d) is not a keyframe" % (n, video[0][2]))
    allmedia = [t for t in tags if t[1] in "va" and not t[4]]
    if want_video and not any(t[1] == "v" for t in allmedia):
        bad.append("no video frame at all")
    if want_audio and not any(t[1] == "a" for t in allmedia):
        bad.append("no audio frame at all")
    return bad


class RtmpRecorder(rtmp.RawPlayer):
    """lib.rtmp.RawPlayer that also keeps audio tags and marks each
    NetStream.Play.PublishNotify (a new publish session)."""

    def __init__(self, ip, port, stream, **kw):
        super().__init__(ip, port, stream, **kw)
        self.rec = Tags()

    def _record(self, m):
        super()._record(m)
        if m.type in (rtmp.MSG_VIDEO, rtmp.MSG_AUDIO):
            self.rec.add("v" if m.type == rtmp.MSG_VIDEO else "a", m.timestamp, m.payload)
        elif m.type == rtmp.MSG_CMD_AMF0 and b"PublishNotify" in m.payload and b"Unpublish" not in m.payload:
            self.rec.mark()

    def kind(self):
        return "RTMP"


def recorder(node, stream, app="live"):
    pl = RtmpRecorder(node.ip, node.port, stream, app=app)
    rill._players.append(pl)
    return pl.start()


class FlvReader:
    """An HTTP-FLV player over a plain socket that parses every tag. stall:
    seconds it reads nothing after its request; rate: bytes per second it
    then reads at the most (None: as fast as they come), in reads of `chunk`
    bytes with a sleep between them, for slow_for seconds (None: to the end),
    then as fast as they come; rcvbuf shrinks its socket buffer so a slow
    reader pushes back on the server at once. stop() resets the connection.

    The stream must stay valid FLV from the first byte to the close: a tag
    type other than audio/video/script, a PreviousTagSize that does not match
    or a tag over 16 MiB is recorded in .error (freed memory sent to the
    socket would show as exactly that)."""

    def __init__(self, ip, port, path, rate=None, slow_for=None, stall=0.0, chunk=4096, rcvbuf=None,
                 read_timeout=10.0):
        self.ip, self.port, self.path = ip, port, path
        self.rate, self.slow_for, self.stall = rate, slow_for, stall
        self.chunk, self.rcvbuf = chunk, rcvbuf
        self.read_timeout = read_timeout
        self.rec = Tags()
        self.status = None
        self.bytes = 0
        self.error = None
        self.ended = None            # why the reading ended, when the server closed it
        self._buf = bytearray()
        self._stop = False
        self._sock = None
        self._thread = None
        self.started_at = None

    def url(self):
        return "http://%s:%d%s" % (self.ip, self.port, self.path)

    def kind(self):
        if self.rate:
            return "slow HTTP-FLV (%d B/s)" % self.rate
        return "HTTP-FLV" + (" (stalled %.1fs)" % self.stall if self.stall else "")

    def _slow(self):
        return self.rate and (self.slow_for is None or
                              time.monotonic() < self.started_at + self.stall + self.slow_for)

    def start(self):
        self.started_at = time.monotonic()
        self._thread = threading.Thread(target=self._run, daemon=True, name="flv-%s" % self.path)
        self._thread.start()
        return self

    def _recv(self):
        slow = self._slow()
        d = self._sock.recv(self.chunk if slow else 262144)
        if not d:
            raise EOFError("closed by the server")
        self._buf += d
        self.bytes += len(d)
        if slow:
            time.sleep(len(d) / float(self.rate))

    def _take(self, n):
        while len(self._buf) < n:
            if self._stop:
                raise InterruptedError()
            self._recv()
        b = bytes(self._buf[:n])
        del self._buf[:n]
        return b

    def _run(self):
        try:
            s = self._sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            if self.rcvbuf:
                s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, self.rcvbuf)
            s.settimeout(5.0)
            s.connect((self.ip, self.port))
            s.sendall(("GET %s HTTP/1.1\r\nHost: %s:%d\r\nUser-Agent: rill-matrix\r\n\r\n" % (
                self.path, self.ip, self.port)).encode())
            if self.stall:
                time.sleep(self.stall)
            s.settimeout(self.read_timeout)
            while b"\r\n\r\n" not in self._buf:
                if len(self._buf) > 16384:
                    raise ValueError("response headers over 16 KiB")
                self._recv()
            head, _, rest = bytes(self._buf).partition(b"\r\n\r\n")
            self._buf = bytearray(rest)
            self.status = int(head.split(b" ", 2)[1])
            if self.status != 200:
                raise ValueError("HTTP %d for %s" % (self.status, self.path))
            hdr = self._take(9)
            if hdr[:3] != b"FLV":
                raise ValueError("body does not start with an FLV header: %r" % hdr)
            self._take(struct.unpack(">I", hdr[5:9])[0] - 9 + 4)
            while not self._stop:
                th = self._take(11)
                size = int.from_bytes(th[1:4], "big")
                ts = (th[7] << 24) | int.from_bytes(th[4:7], "big")
                if th[0] not in (8, 9, 18) or size > MAX_TAG:
                    raise ValueError("bad FLV tag (type %d, %d bytes) after %d bytes" % (
                        th[0], size, self.bytes))
                body = self._take(size)
                prev = struct.unpack(">I", self._take(4))[0]
                if prev != size + 11:
                    raise ValueError("PreviousTagSize %d after a tag of %d bytes" % (prev, size + 11))
                self.rec.add({8: "a", 9: "v", 18: "d"}[th[0]], ts, body)
        except InterruptedError:
            pass
        except (EOFError, ConnectionResetError, BrokenPipeError) as e:
            if not self._stop:
                self.ended = str(e)
        except Exception as e:  # noqa: BLE001 - recorded for the test to report
            if not self._stop:
                self.error = "%s: %s" % (type(e).__name__, e)
        finally:
            if self._sock is not None:
                _reset_close(self._sock)

    def stop(self):
        self._stop = True
        try:
            self._sock.shutdown(socket.SHUT_RD)      # wakes a blocked recv
        except (OSError, AttributeError):
            pass
        if self._thread:
            self._thread.join(3.0)

    def alive(self):
        return self._thread is not None and self._thread.is_alive()

    def describe(self):
        v = len(self.rec.media("v"))
        a = len(self.rec.media("a"))
        return "%s %s: status %s, %d video, %d audio, %d bytes, ended=%s, error=%s" % (
            self.kind(), self.url(), self.status, v, a, self.bytes, self.ended, self.error)


def flv_reader(node, stream, app="live", **kw):
    pl = FlvReader(node.ip, node.http_port, "/%s/%s.flv" % (app, stream), **kw)
    rill._players.append(pl)
    return pl.start()


# ---------------------------------------------------------------- leavers

def _reset_close(s):
    """Close with an RST (linger 0): the server's blocked write fails at once."""
    try:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    except OSError:
        pass
    s.close()


def leave_mid_write(node, stream, http, hold=0.4, app="live"):
    """A player that asks for the stream with a 4 KiB receive buffer, reads
    nothing for `hold` seconds (the server's write of the GOP cache blocks)
    and resets the connection. Runs in the caller's thread; returns bytes
    read, or raises on a connect/handshake failure."""
    if http:
        s = socket.create_connection((node.ip, node.http_port), timeout=5.0)
        s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
        s.sendall(("GET /%s/%s.flv HTTP/1.1\r\nHost: %s\r\n\r\n" % (app, stream, node.ip)).encode())
        time.sleep(hold)
        got = len(s.recv(4096))
        _reset_close(s)
        return got
    c = rtmp.RtmpConn(node.ip, node.port, timeout=5.0, rcvbuf=4096)
    try:
        c.handshake()
        c.connect(app)
        sid = c.create_stream()
        c.play(stream, sid)
        time.sleep(hold)
        return c.received
    finally:
        _reset_close(c.sock)


class Every:
    """A thread that calls step() every `every` seconds until stop() (or
    until step returns False), at most `limit` times."""

    def __init__(self, every, limit=100000):
        self.every, self.limit = every, limit
        self._stop = threading.Event()
        self._t = threading.Thread(target=self._run, daemon=True, name=type(self).__name__)

    def start(self):
        self._t.start()
        return self

    def _run(self):
        for _ in range(self.limit):
            if self.step() is False or self._stop.wait(self.every):
                return

    def stop(self):
        self._stop.set()
        self._t.join(5.0)


class Leavers(Every):
    """Starts a leave_mid_write player (RTMP and HTTP-FLV in turn) every
    `every` seconds until stopped. A player that cannot connect or play is
    recorded in .failed for the test to report."""

    def __init__(self, node, stream, every=0.5, http=True):
        super().__init__(every, limit=1000)
        self.node, self.stream, self.http = node, stream, http
        self.done = 0
        self.failed = []

    def step(self):
        http = self.http and self.done % 2 == 1
        try:
            leave_mid_write(self.node, self.stream, http, hold=0.2 + 0.1 * (self.done % 4))
            self.done += 1
        except (OSError, rtmp.RtmpError) as e:
            self.failed.append("%s: %s" % ("HTTP-FLV" if http else "RTMP", e))


# ---------------------------------------------------------------- memory

def rss_kb(pid):
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0


class RssSampler(Every):
    """VmRSS of a process every `every` seconds: first, peak, last."""

    def __init__(self, pid, every=0.25):
        super().__init__(every)
        self.pid = pid
        self.samples = []

    def step(self):
        try:
            self.samples.append(rss_kb(self.pid))
        except OSError:
            return False     # the process is gone
        return True

    def peak_mb(self):
        return max(self.samples, default=0) / 1024.0

    def growth_mb(self):
        """MiB from the first sample to the peak."""
        return (max(self.samples) - self.samples[0]) / 1024.0 if self.samples else 0.0

    def summary(self):
        if not self.samples:
            return "no RSS samples"
        return "RSS first %.1f MiB, peak %.1f MiB, last %.1f MiB (%d samples)" % (
            self.samples[0] / 1024.0, self.peak_mb(), self.samples[-1] / 1024.0, len(self.samples))


class PacketProbe:
    """ffprobe -show_packets on a live URL for `seconds` of media: a
    libavformat player's view (RTMP or HTTP-FLV) without decoding. Its
    packets land in .rec like a recorder's tags (dts as the timestamp)."""

    def __init__(self, url, seconds, name="ffprobe", extra=()):
        self.url = url
        self.rec = Tags()
        d = rill.tmpdir("rill-probe-")
        self.out_path = os.path.join(d, "packets.txt")
        self.out = open(self.out_path, "wb")
        args = ["ffprobe", "-v", "error", "-rw_timeout", "5000000"] + list(extra) + ["-show_packets",
                "-show_entries", "packet=codec_type,dts,flags", "-of", "compact=p=0",
                "-read_intervals", "%%+%d" % seconds, url]
        self.proc = rill.Proc(name, args, os.path.join(d, "ffprobe.err"), stdout=self.out)
        self.rc = None

    def kind(self):
        return "ffprobe " + self.url.split(":", 1)[0]

    def wait(self, timeout):
        """Exit code (killed after timeout: 'timeout'); parses the packets."""
        rc = self.proc.wait(timeout)
        if rc is None:
            self.proc.stop(1.0)
            rc = "timeout"
        self.rc = rc
        self.out.close()
        with open(self.out_path, "rb") as f:
            for line in f.read().decode("utf-8", "replace").splitlines():
                kv = dict(t.partition("=")[::2] for t in line.split("|"))
                kind = {"video": "v", "audio": "a"}.get(kv.get("codec_type"))
                if kind and kv.get("dts", "N/A") != "N/A":
                    with self.rec.lock:
                        self.rec.tags.append((0.0, kind, int(kv["dts"]) & 0xFFFFFFFF,
                                              "K" in kv.get("flags", ""), False))
        return rc

    def errors(self):
        return rill.sanitize_lines(self.proc.output(), 6)
