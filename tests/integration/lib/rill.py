"""Nodes, publishers and players for rill's integration tests.

Everything a test starts is registered here and torn down by cleanup(): each
process is stopped by its pid (SIGTERM, then SIGKILL), never by name. Every
wait is bounded. Only 127.0.0.0/8 addresses are used.
"""

import ctypes
import os
import re
import shutil
import signal
import socket
import subprocess
import tempfile
import threading
import time

from . import rtmp

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.abspath(os.path.join(HERE, "..", "..", ".."))
LSAN_SUPP = os.path.join(ROOT, "tests", "lsan.supp")

SANITIZER_MARKS = (
    "ERROR: AddressSanitizer",
    "ERROR: LeakSanitizer",
    "SUMMARY: AddressSanitizer",
    "SUMMARY: UndefinedBehaviorSanitizer",
    "runtime error:",
)

PUBLISH_ARGS = [
    "-f", "lavfi", "-i", "testsrc2=size=640x360:rate=25",
    "-f", "lavfi", "-i", "sine=frequency=440:sample_rate=44100",
    "-c:v", "libx264", "-preset", "ultrafast", "-tune", "zerolatency",
    "-g", "50", "-sc_threshold", "0", "-b:v", "1M", "-maxrate", "1M", "-bufsize", "1M",
    "-c:a", "aac",
]


class TestFailure(AssertionError):
    pass


def check(cond, msg):
    """assert with a message that survives python -O."""
    if not cond:
        raise TestFailure(msg)


class Skip(Exception):
    """Raised by skip(): the runner reports the test as SKIP with the reason."""


def skip(reason):
    """Skip the whole test (something it needs is not there yet); run.py
    prints `SKIP name: reason` and counts it apart from passes and failures."""
    raise Skip(reason)


def note_skip(what):
    """A passing test left part of its checks out: run.py prints this line
    under the test's PASS line."""
    print("SKIPPED %s" % what, flush=True)


# ---------------------------------------------------------------- registry

_procs = []        # every Proc started by this test
_nodes = []        # every Node started by this test
_tmpdirs = []
_players = []      # every RawPlayer
_slot = int(os.environ.get("RILL_TEST_SLOT", "0"))
_ip_count = 0


def rill_bin():
    b = os.environ.get("RILL_BIN") or "objs/asan/rill"
    if not os.path.isabs(b):
        if os.path.exists(b):
            b = os.path.abspath(b)
        else:
            b = os.path.join(ROOT, b)
    return b


def server_env():
    """The environment of a server under test. The sanitizers print stack
    frames unsymbolized (symbolize=0, unless LSAN_OPTIONS sets symbolize):
    the exit-time leak check otherwise starts llvm-symbolizer to match the
    leaks tests/lsan.supp suppresses, 0.3-1 s per node exit on a loaded
    machine. Node.sanitizer_report() and node_logs() add the symbols back
    (symbolize()); a node's log file itself keeps the raw frames, so for
    symbolized logs run the tests with LSAN_OPTIONS=symbolize=1."""
    env = dict(os.environ)
    # malloc_context_size=4: tests/lsan.supp suppresses libst's own leaks by
    # module (Debian's libst has no symbols), and LSan matches a suppression
    # against every frame it kept; a full allocation stack of a coroutine ends
    # in libst's thread entry, so every leak made in a coroutine was
    # suppressed. Four frames keep libst's own allocations matched and ours not.
    env.setdefault("ASAN_OPTIONS", "detect_leaks=1:halt_on_error=1:abort_on_error=0:"
                   "detect_stack_use_after_return=0:print_summary=1:malloc_context_size=4")
    lsan = env.get("LSAN_OPTIONS", "")
    if "suppressions=" not in lsan:
        lsan = "suppressions=%s:print_suppressions=0%s" % (LSAN_SUPP, (":" + lsan) if lsan else "")
    if "symbolize=" not in lsan:
        lsan += ":symbolize=0"
    env["LSAN_OPTIONS"] = lsan
    env.setdefault("UBSAN_OPTIONS", "print_stacktrace=1:halt_on_error=1")
    return env


# "    #3 0x55d0c1a2b3c4  (/path/rill+0x1a2b3c)": a frame printed with symbolize=0
_RAW_FRAME = re.compile(r"^(\s*#(\d+) 0x[0-9a-fA-F]+)\s+\((/[^()]+)\+0x([0-9a-fA-F]+)\)\s*$")


def symbolize(text, timeout=20.0):
    """text with each unsymbolized sanitizer stack frame given its function
    and file:line by llvm-symbolizer (one run for all frames); text as it is
    when there are none or llvm-symbolizer is missing or fails."""
    lines = text.split("\n")
    frames = [(i, m) for i, m in ((i, _RAW_FRAME.match(l)) for i, l in enumerate(lines)) if m]
    tool = shutil.which("llvm-symbolizer")
    if not frames or not tool:
        return text
    # a return address (frame 1 and up) points after its call: ask for the call
    query = "".join('"%s" 0x%x\n' % (m.group(3), int(m.group(4), 16) - (1 if int(m.group(2)) else 0))
                    for _, m in frames)
    try:
        r = subprocess.run([tool, "--inlining=false", "--functions=linkage", "--demangle"],
                           input=query.encode(), capture_output=True, timeout=timeout)
    except (OSError, subprocess.TimeoutExpired):
        return text
    blocks = [b.split("\n") for b in r.stdout.decode("utf-8", "replace").strip("\n").split("\n\n")]
    if r.returncode != 0 or len(blocks) != len(frames):
        return text
    for (i, m), b in zip(frames, blocks):
        func = b[0] if b and b[0] != "??" else None
        where = b[1] if len(b) > 1 and not b[1].startswith("??") else None
        if func or where:
            lines[i] = "%s in %s %s (%s+0x%s)" % (m.group(1), func or "??", where or "", m.group(3), m.group(4))
    return "\n".join(lines)


def tmpdir(prefix="rill-it-"):
    d = tempfile.mkdtemp(prefix=prefix)
    _tmpdirs.append(d)
    return d


def new_ip():
    """A 127.0.0.x of its own for each test (and each node of a test)."""
    global _ip_count
    x = 10 + (_slot * 3 + _ip_count) % 240
    _ip_count += 1
    return "127.0.0.%d" % x


_ports_given = set()


def free_port(ip):
    """A port free on ip now and not handed out before by this process: the
    kernel may give a just-closed ephemeral port twice in a row, and two
    listeners of one conf on the same port make rill refuse the conf."""
    for _ in range(64):
        s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        try:
            s.bind((ip, 0))
            port = s.getsockname()[1]
        finally:
            s.close()
        if (ip, port) not in _ports_given:
            _ports_given.add((ip, port))
            return port
    raise RuntimeError("no fresh free port on %s after 64 tries" % ip)


def _pdeathsig():
    # The kernel kills the child if this (test) process dies, so nothing
    # outlives a test even if the runner has to SIGKILL it.
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(1, signal.SIGKILL, 0, 0, 0)   # PR_SET_PDEATHSIG
    except Exception:  # noqa: BLE001
        pass


class Proc:
    """A child process with its output in a file."""

    def __init__(self, name, args, log_path, env=None, cwd=None, stdout=None):
        self.name = name
        self.args = args
        self.log_path = log_path
        self.log = open(log_path, "wb")
        self.p = subprocess.Popen(args, stdin=subprocess.DEVNULL,
                                  stdout=stdout if stdout is not None else self.log,
                                  stderr=self.log, env=env, cwd=cwd,
                                  preexec_fn=_pdeathsig)
        self.pid = self.p.pid
        self.started = time.monotonic()
        _procs.append(self)

    def alive(self):
        return self.p.poll() is None

    def wait(self, timeout):
        """Exit code, or None if still running after timeout seconds."""
        try:
            return self.p.wait(timeout=max(0.0, timeout))
        except subprocess.TimeoutExpired:
            return None

    def kill(self, sig=signal.SIGKILL):
        if self.p.poll() is None:
            try:
                os.kill(self.pid, sig)
            except ProcessLookupError:
                pass

    def stop(self, grace=3.0):
        """SIGTERM, then SIGKILL after grace seconds. Returns the exit code."""
        if self.p.poll() is None:
            self.kill(signal.SIGTERM)
            if self.wait(grace) is None:
                self.kill(signal.SIGKILL)
                self.wait(5)
        self._close_log()
        return self.p.returncode

    def _close_log(self):
        try:
            self.log.flush()
            self.log.close()
        except OSError:
            pass

    def output(self):
        try:
            with open(self.log_path, "rb") as f:
                return f.read().decode("utf-8", "replace")
        except OSError:
            return ""

    def tail(self, n=30):
        lines = self.output().splitlines()
        return "\n".join(lines[-n:])


# ---------------------------------------------------------------- node

DEFAULT_PLAY = "gop_cache on; queue_length 10; mw_latency 350; mw_msgs 8;"
DEFAULT_PUBLISH = "firstpkt_timeout 20000; normal_timeout 5000;"


class Node:
    """One rill server on its own 127.0.0.x and a free port."""

    def __init__(self, name="rill", ip=None, port=None, play=DEFAULT_PLAY,
                 publish=DEFAULT_PUBLISH, vhost_extra="", global_extra="", log_level="trace",
                 max_connections=1000, asan_extra=None, env_extra=None):
        self.name = name
        self.ip = ip or new_ip()
        self.port = port or free_port(self.ip)
        self.dir = tmpdir("rill-node-")
        self.conf_path = os.path.join(self.dir, "rill.conf")
        self.log_path = os.path.join(self.dir, "rill.log")
        self.conf = (
            "listen %s:%d;\n"
            "max_connections %d;\n"
            "daemon off;\n"
            "srs_log_tank console;\n"
            "srs_log_level %s;\n"
            "pid %s;\n"
            "%s"
            "vhost __defaultVhost__ {\n"
            "    play { %s }\n"
            "    publish { %s }\n"
            "%s"
            "}\n" % (self.ip, self.port, max_connections, log_level, os.path.join(self.dir, "rill.pid"),
                     global_extra, play, publish, vhost_extra))
        with open(self.conf_path, "w") as f:
            f.write(self.conf)
        self.asan_extra = asan_extra   # appended to ASAN_OPTIONS (later flags win)
        self.env_extra = env_extra or {}   # more variables for the server's environment
        self.proc = None
        self.checked = False
        _nodes.append(self)

    def url(self, stream, app="live"):
        return "rtmp://%s:%d/%s/%s" % (self.ip, self.port, app, stream)

    def start(self, timeout=10.0):
        b = rill_bin()
        check(os.path.exists(b), "rill binary %s does not exist (build it with make)" % b)
        env = server_env()
        if self.asan_extra:
            env["ASAN_OPTIONS"] = env.get("ASAN_OPTIONS", "") + ":" + self.asan_extra
        env.update(self.env_extra)
        self.terminated_at = None
        self.proc = Proc(self.name, [b, "-c", self.conf_path], self.log_path,
                         env=env, cwd=self.dir)
        deadline = time.monotonic() + timeout
        while True:
            if not self.proc.alive():
                raise TestFailure("%s exited with code %s before accepting on %s:%d" % (
                    self.name, self.proc.p.returncode, self.ip, self.port))
            try:
                s = socket.create_connection((self.ip, self.port), timeout=0.5)
                s.close()
                return self
            except OSError:
                pass
            if time.monotonic() > deadline:
                raise TestFailure("%s did not accept connections on %s:%d within %.0fs" % (
                    self.name, self.ip, self.port, timeout))
            time.sleep(0.05)

    def alive(self):
        return self.proc is not None and self.proc.alive()

    def log(self):
        return self.proc.output() if self.proc else ""

    def tail(self, n=40):
        return self.proc.tail(n) if self.proc else "(not started)"

    def sanitizer_report(self):
        out = self.log()
        for mark in SANITIZER_MARKS:
            i = out.find(mark)
            if i >= 0:
                start = out.rfind("\n", 0, i) + 1
                return symbolize("\n".join(out[start:].splitlines()[:14]))
        return None

    def assert_running(self, what=""):
        if not self.alive():
            rc = self.proc.p.returncode if self.proc else None
            rep = self.sanitizer_report()
            raise TestFailure("%s is not running%s (exit code %s)%s" % (
                self.name, (" " + what) if what else "", rc,
                ("; sanitizer report:\n" + rep) if rep else ""))

    def stop(self, grace=8.0):
        """SIGTERM; SIGKILL after grace. Asserts exit code 0 and no sanitizer
        report. Returns seconds from SIGTERM to exit. The grace is 8 s, not
        3 s: in the ASan build LeakSanitizer's exit-time scan alone takes
        ~1.3 s of CPU, more on a loaded machine (test_signals checks the
        server's own shutdown time with the scan off)."""
        if self.proc is None or self.checked:
            return 0.0
        self.checked = True
        self.resume()       # a SIGSTOPped node would only get SIGTERM after SIGCONT
        t_term = getattr(self, "terminated_at", None)
        was_alive = self.proc.alive() or t_term is not None
        t0 = t_term or time.monotonic()
        rc = self.proc.stop(grace)      # (a second SIGTERM after terminate() changes nothing)
        dt = time.monotonic() - t0
        rep = self.sanitizer_report()
        if rep:
            raise TestFailure("%s reported a sanitizer error:\n%s" % (self.name, rep))
        if not was_alive:
            raise TestFailure("%s had already exited (code %s) before it was stopped" % (
                self.name, rc))
        if rc == -signal.SIGKILL:
            raise TestFailure("%s did not exit within %.0fs of SIGTERM (killed)" % (self.name, grace))
        if rc != 0:
            raise TestFailure("%s exited with code %s after SIGTERM, expected 0" % (self.name, rc))
        return dt

    def terminate(self):
        """SIGTERM now, without waiting; stop() then waits and checks as
        always. cleanup() signals every node first, so that their exits
        (LeakSanitizer's scan: the most of it) overlap."""
        if self.proc is None or self.checked or not self.proc.alive():
            return
        self.resume()
        self.proc.kill(signal.SIGTERM)
        self.terminated_at = time.monotonic()

    def kill(self, sig=signal.SIGKILL, timeout=5.0):
        """Kill the server (SIGKILL: no shutdown at all) and wait until it is
        gone. start() or restart() runs it again on the same ip:port."""
        check(self.proc is not None and self.proc.alive(), "%s is not running, cannot kill it" % self.name)
        rep = self.sanitizer_report()
        check(rep is None, "%s reported a sanitizer error before it was killed:\n%s" % (self.name, rep))
        self.resume()
        self.proc.kill(sig)
        check(self.proc.wait(timeout) is not None, "%s still running %.0fs after signal %d" % (
            self.name, timeout, sig))
        self.proc._close_log()
        self.checked = True     # killed on purpose: cleanup has nothing to check

    def restart(self, timeout=10.0):
        """Start again after kill(), same conf and ip:port, logging to a new file
        (rill.1.log, rill.2.log, ...)."""
        self.runs = getattr(self, "runs", 0) + 1
        self.log_path = os.path.join(self.dir, "rill.%d.log" % self.runs)
        self.checked = False
        return self.start(timeout)

    def pause(self):
        """SIGSTOP: the process hangs with its sockets open (kernel buffers
        still fill, nothing is read or answered)."""
        self.proc.kill(signal.SIGSTOP)
        self.paused = True

    def resume(self):
        """SIGCONT after pause()."""
        if getattr(self, "paused", False) and self.proc is not None:
            self.proc.kill(signal.SIGCONT)
        self.paused = False


def start_node(**kw):
    return Node(**kw).start()


# ---------------------------------------------------------------- ffmpeg

def publish(url, duration=None, extra=None, name="publisher", size=None):
    """ffmpeg publishing a 640x360 (or size) 25 fps H.264 + AAC test stream in real time."""
    args = ["ffmpeg", "-nostdin", "-hide_banner", "-loglevel", "error", "-re"]
    pa = list(PUBLISH_ARGS)
    if size:
        pa[3] = "testsrc2=size=%s:rate=25" % size
    args += pa
    if duration is not None:
        args += ["-t", str(duration)]
    args += list(extra or [])
    args += ["-f", "flv", url]
    return Proc(name, args, os.path.join(tmpdir("rill-ff-"), name + ".log"))


def ffmpeg_play_null(url, seconds=3, rw_timeout=5.0, timeout=None):
    """ffmpeg -i URL -t seconds -f null -; returns (exit code, stderr, frames decoded)."""
    d = tmpdir("rill-ff-")
    prog = os.path.join(d, "progress.txt")
    args = ["ffmpeg", "-nostdin", "-hide_banner", "-loglevel", "error", "-nostats",
            "-rw_timeout", str(int(rw_timeout * 1e6)), "-i", url, "-t", str(seconds),
            "-progress", prog, "-f", "null", "-"]
    p = Proc("ffmpeg-null", args, os.path.join(d, "ffmpeg.log"))
    rc = p.wait(timeout if timeout is not None else seconds + rw_timeout + 10)
    if rc is None:
        p.stop(1)
        rc = "timeout"
    frames = 0
    try:
        with open(prog) as f:
            for line in f:
                if line.startswith("frame="):
                    frames = int(line.split("=", 1)[1].strip() or 0)
    except (OSError, ValueError):
        pass
    return rc, p.output(), frames


class Probe:
    """ffprobe -show_frames on a live URL; each output line is stamped with its
    wall-clock arrival (stdout is line-buffered through stdbuf)."""

    ENTRIES = ("frame=media_type,pict_type,key_frame,pts_time,pkt_pts_time,"
               "best_effort_timestamp_time:stream=codec_type,codec_name,width,height")

    def __init__(self, url, seconds=3, rw_timeout=5.0, name="ffprobe", extra=None):
        self.url = url
        self.frames = []        # dicts with 'arrival'
        self.streams = []
        self.started = time.monotonic()
        d = tmpdir("rill-probe-")
        args = ["ffprobe", "-v", "error", "-rw_timeout", str(int(rw_timeout * 1e6))]
        args += list(extra or [])
        args += ["-show_frames", "-show_entries", self.ENTRIES, "-of", "csv=nk=0",
                 "-read_intervals", "%%+%s" % seconds, url]
        if shutil.which("stdbuf"):
            args = ["stdbuf", "-oL"] + args
        self.proc = Proc(name, args, os.path.join(d, "ffprobe.err"), stdout=subprocess.PIPE)
        self._t = threading.Thread(target=self._read, daemon=True)
        self._t.start()

    def _read(self):
        for raw in self.proc.p.stdout:
            now = time.monotonic()
            line = raw.decode("utf-8", "replace").strip()
            if not line:
                continue
            kind, _, rest = line.partition(",")
            kv = {}
            for tok in rest.split(","):
                k, eq, v = tok.partition("=")
                if eq and k not in kv:
                    kv[k] = v
            if kind == "frame":
                kv["arrival"] = now
                self.frames.append(kv)
            elif kind == "stream":
                self.streams.append(kv)

    def wait(self, timeout):
        rc = self.proc.wait(timeout)
        if rc is None:
            self.proc.stop(1)
        self._t.join(2)
        return rc

    def video(self):
        return [f for f in self.frames if f.get("media_type") == "video"]

    def stream(self, codec_type):
        for s in self.streams:
            if s.get("codec_type") == codec_type:
                return s
        return None

    def errors(self):
        return self.proc.output().strip()


def frame_time(f):
    for k in ("best_effort_timestamp_time", "pts_time", "pkt_pts_time"):
        v = f.get(k)
        if v not in (None, "", "N/A"):
            try:
                return float(v)
            except ValueError:
                pass
    return None


def non_monotonic(times):
    """First (index, previous, value) where times do not increase, or None."""
    for i in range(1, len(times)):
        if times[i] is None or times[i - 1] is None or times[i] <= times[i - 1]:
            return i, times[i - 1], times[i]
    return None


def max_gap(arrivals, start=None, end=None):
    pts = list(arrivals)
    if start is not None:
        pts = [start] + [a for a in pts if a >= start]
    if end is not None:
        pts = [a for a in pts if a <= end] + [end]
    return max((b - a for a, b in zip(pts, pts[1:])), default=0.0)


def stream_info(path, timeout=20):
    """(video codec, width, height, video frames) of a media file via ffprobe."""
    args = ["ffprobe", "-v", "error", "-select_streams", "v:0", "-count_frames",
            "-show_entries", "stream=codec_name,width,height,nb_read_frames", "-of", "csv=nk=0", path]
    try:
        r = subprocess.run(args, capture_output=True, timeout=timeout, stdin=subprocess.DEVNULL)
    except subprocess.TimeoutExpired:
        return None
    out = r.stdout.decode("utf-8", "replace")
    for line in out.splitlines():
        if line.startswith("stream,"):
            kv = dict(t.partition("=")[::2] for t in line.split(",")[1:])
            return kv
    return {"error": r.stderr.decode("utf-8", "replace").strip()}


# ---------------------------------------------------------------- VLC

def vlc_record(url, run_time=6, timeout=25):
    """cvlc recording the stream to a TS file (as uid 65534: VLC refuses
    root). Returns (exit code, output file, vlc log)."""
    d = tempfile.mkdtemp(prefix="rill-vlc-")
    _tmpdirs.append(d)
    os.chmod(d, 0o777)
    out = os.path.join(d, "out.ts")
    args = ["cvlc", "-I", "dummy", "--no-video-title-show", "--play-and-exit",
            "--run-time", str(run_time), url,
            "--sout", "#std{access=file,mux=ts,dst=%s}" % out]
    if os.getuid() == 0:
        args = ["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups",
                "env", "HOME=/tmp"] + args
    p = Proc("vlc", args, os.path.join(d, "vlc.log"))
    rc = p.wait(timeout)
    if rc is None:
        p.stop(2)
        rc = "timeout"
    return rc, out, p.output()


# ---------------------------------------------------------------- cleanup

def cleanup():
    """Stop everything this test started. Returns a list of problems found
    with nodes (unclean exit, sanitizer report)."""
    problems = []
    # Each kind is told to stop first and waited for after, so that the
    # stops overlap: players end their loops, processes and nodes get
    # their SIGTERM at once.
    for pl in list(_players):
        if isinstance(getattr(pl, "_stop", None), bool):
            pl._stop = True
    for pl in list(_players):
        try:
            pl.stop()
        except Exception:  # noqa: BLE001
            pass
    others = [p for p in _procs if not any(n.proc is p for n in _nodes)]
    for p in others:
        p.kill(signal.SIGTERM)
    for p in others:
        try:
            p.stop(1.0)
        except Exception:  # noqa: BLE001
            pass
    for n in list(_nodes):
        n.terminate()
    for n in list(_nodes):
        try:
            n.stop()
        except TestFailure as e:
            problems.append(str(e))
        except Exception as e:  # noqa: BLE001
            problems.append("%s: %s" % (n.name, e))
    return problems


def remove_tmpdirs():
    for d in _tmpdirs:
        shutil.rmtree(d, ignore_errors=True)


def run_script(name, main, limit, limit_what="the time bound", keep_logs=False):
    """Run a script's main() (scripts/bench-*.sh) bounded by limit seconds
    (SIGALRM; SIGTERM and SIGINT end it the same way), then stop everything
    it started. Exit code: main's (None: 0), or 1 on a bound, a SystemExit or
    AssertionError (printed), or a node that did not stop cleanly. keep_logs:
    the nodes' directories stay when the exit code is not 0."""
    import signal

    class _Bound(Exception):
        pass

    def on_signal(*_):
        raise _Bound()

    for sig in (signal.SIGALRM, signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, on_signal)
    signal.alarm(limit)
    rc = 0
    try:
        rc = main() or 0
    except _Bound:
        print("%s: stopped after %d s (%s) or by a signal" % (name, limit, limit_what))
        rc = 1
    except (SystemExit, AssertionError) as e:
        print(e)
        rc = 1
    finally:
        signal.alarm(0)
        problems = cleanup()
        if problems:
            print("%s: cleanup: %s" % (name, "; ".join(problems)))
            rc = 1
        if rc and keep_logs:
            print("%s: logs kept in %s" % (name, " ".join(_tmpdirs)))
        else:
            remove_tmpdirs()
    return rc


def node_logs(n=40):
    """(name, log path, tail) of every node started by this test."""
    return [(x.name, x.log_path, symbolize(x.tail(n))) for x in _nodes if x.proc is not None]


def timeout(seconds):
    """Decorator: per-test time bound used by run.py (default 60 s)."""
    def deco(f):
        f.timeout = seconds
        return f
    return deco


def wait_until(pred, timeout, interval=0.05):
    deadline = time.monotonic() + timeout
    while True:
        if pred():
            return True
        if time.monotonic() > deadline:
            return False
        time.sleep(interval)


def sanitize_lines(text, n=15):
    lines = [l for l in text.splitlines() if l.strip()]
    return "\n".join(lines[-n:])


# ---------------------------------------------------------------- live streams

def raw_player(node, stream, app="live", rcvbuf=None):
    """Start a python RTMP player (lib.rtmp.RawPlayer) of node's stream."""
    pl = rtmp.RawPlayer(node.ip, node.port, stream, app=app, rcvbuf=rcvbuf)
    _players.append(pl)
    return pl.start()


def proc_state(p):
    if p is None:
        return ""
    if p.alive():
        return "%s running" % p.name
    return "%s exited with %s: %s" % (p.name, p.p.returncode, sanitize_lines(p.output(), 5))


def watch(node, stream, frames=5, timeout=10.0, pub=None):
    """A RawPlayer of stream that has already received `frames` video frames."""
    pl = raw_player(node, stream)
    ok = pl.wait_frames(frames, timeout)
    check(ok, "expected a player of %s to receive >= %d video frames within %.0fs; saw %d "
              "(player error: %s; %s; node %s)" % (
                  node.url(stream), frames, timeout, pl.count(), pl.error, proc_state(pub),
                  "running" if node.alive() else "NOT running"))
    return pl


def start_live(stream="live", pub_extra=None, **node_kw):
    """A started node, a publisher of stream and a player that gets frames."""
    node = start_node(**node_kw)
    pub = publish(node.url(stream), extra=pub_extra)
    pl = watch(node, stream, frames=5, timeout=10, pub=pub)
    return node, pub, pl


def check_timestamps(name, pl, max_step_ms=1500, what="across switches"):
    """pl's video timestamps never go back and never jump forward by more
    than max_step_ms: rebased across origin switches and publish takeovers,
    continuing where they were."""
    if pl is None:
        return
    fr = pl.frames()
    for (a0, t0, _), (a1, t1, _) in zip(fr, fr[1:]):
        d = (t1 - t0) & 0xFFFFFFFF
        if d >= 0x80000000:
            d -= 0x100000000
        check(0 <= d <= max_step_ms,
              "expected the %s player's video timestamps to continue %s (step 0..%d ms); "
              "went from %d to %d ms (frames arrived %.2fs apart)" % (name, what, max_step_ms, t0, t1, a1 - a0))


def check_player_smooth(pl, since, what, max_gap_s=1.0):
    """pl kept receiving since `since` (monotonic) with no gap > max_gap_s."""
    check(pl.error is None and pl.alive(),
          "expected the player of %s to stay connected %s; it ended: %s" % (pl.stream, what, pl.error))
    g = pl.max_gap(since)
    check(g <= max_gap_s,
          "expected the player of %s to get video with no gap > %.1fs %s; longest gap was %.2fs "
          "(%d frames in total)" % (pl.stream, max_gap_s, what, g, pl.count()))
