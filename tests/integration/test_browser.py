"""A browser plays HTTP-FLV (and HLS with hls.js through the nginx front): headless Debian Chromium, driven by playwright-core
(tests/integration/browser/play.js), opens the player page that make installs
in objs/nginx/html/players against a live stream ffmpeg publishes, and the
video plays: currentTime advances and frames are decoded. The screenshot is
saved as objs/browser-play.png, play.js's measurements as objs/browser-play.json.

Needs /usr/bin/chromium (scripts/install-deps.sh), node, and the npm packages
make installs into objs/npm (scripts/install-html.sh)."""

import ctypes
import json
import os
import shutil
import signal
import socket
import subprocess
import time

from lib import nginx, rill
from lib.rill import check

ROOT = rill.ROOT
HTML_DIR = os.path.join(ROOT, "objs", "nginx", "html")
PAGE = os.path.join(HTML_DIR, "players", "index.html")
MODULES = os.path.join(ROOT, "objs", "npm", "node_modules")
SCRIPT = os.path.join(ROOT, "tests", "integration", "browser", "play.js")
SCREENSHOT = os.path.join(ROOT, "objs", "browser-play.png")
RESULT = os.path.join(ROOT, "objs", "browser-play.json")    # play.js's measurements
CHROMIUM = "/usr/bin/chromium"
PLAY_SECONDS = 6


def _needs():
    missing = []
    if not os.access(CHROMIUM, os.X_OK):
        missing.append("%s (Debian package chromium: make deps)" % CHROMIUM)
    if not shutil.which("node"):
        missing.append("node on PATH")
    if not os.path.isfile(os.path.join(MODULES, "playwright-core", "package.json")):
        missing.append("playwright-core in %s (make html, needs npm)" % MODULES)
    for f in ("index.html", "player.js", "mpegts.js"):
        if not os.path.isfile(os.path.join(HTML_DIR, "players", f)):
            missing.append("%s/players/%s (make html, needs npm)" % (HTML_DIR, f))
    check(not missing, "the browser test needs: " + "; ".join(missing))


def _child_setup():
    # node in a process group of its own (killed as a whole by _kill_tree)
    # and SIGKILLed if the test process dies.
    os.setpgrp()
    try:
        ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGKILL, 0, 0, 0)
    except Exception:  # noqa: BLE001
        pass


def _descendants(root):
    """(pid, pgid) of every process below root, from /proc."""
    kids = {}
    for n in os.listdir("/proc"):
        if not n.isdigit():
            continue
        try:
            with open("/proc/%s/stat" % n) as f:
                st = f.read()
            fields = st[st.rindex(")") + 2:].split()
            kids.setdefault(int(fields[1]), []).append((int(n), int(fields[2])))
        except (OSError, ValueError, IndexError):
            pass
    out, todo = [], [root]
    while todo:
        for c in kids.get(todo.pop(), []):
            out.append(c)
            todo.append(c[0])
    return out


def _kill_tree(p):
    """SIGKILL node and everything it started, by pid and process group:
    node's own group, and Chromium's (playwright starts it detached, in a
    group of its own, so killing node's group alone would leave it running)."""
    below = _descendants(p.pid)
    mine = os.getpgrp()
    groups = {p.pid} | {g for (_, g) in below}
    for g in groups:
        if g > 1 and g != mine:
            try:
                os.killpg(g, signal.SIGKILL)
            except (ProcessLookupError, PermissionError):
                pass
    for (pid, _) in below:
        try:
            os.kill(pid, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            pass
    try:
        p.wait(timeout=5)
    except subprocess.TimeoutExpired:
        pass


def _run_browser(page_url, log_path, timeout):
    """Runs play.js (bounded by its own --timeout and, here, timeout + 15 s)
    and returns its JSON result."""
    args = ["node", SCRIPT, "--page", page_url, "--out", SCREENSHOT,
            "--seconds", str(PLAY_SECONDS), "--start-timeout", "20",
            "--timeout", str(timeout), "--chromium", CHROMIUM, "--modules", MODULES]
    # Chromium's temporary profile goes under the test's tmpdir (removed by
    # the runner) even if play.js is killed before it can delete it.
    env = dict(os.environ, TMPDIR=os.path.dirname(log_path))
    with open(log_path, "wb") as log:
        p = subprocess.Popen(args, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=log,
                             cwd=ROOT, env=env, preexec_fn=_child_setup)
        try:
            out, _ = p.communicate(timeout=timeout + 15)
        except subprocess.TimeoutExpired:
            out = b""
        finally:
            # play.js closes the browser itself; whatever is left (a hung
            # Chromium, or everything on a timeout) is killed here.
            _kill_tree(p)
    with open(log_path, "rb") as f:
        err = f.read().decode("utf-8", "replace")
    lines = [l for l in out.decode("utf-8", "replace").splitlines() if l.startswith("{")]
    check(lines, "play.js printed no result (exit code %s); stderr: %s" % (
        p.returncode, rill.sanitize_lines(err, 15)))
    return json.loads(lines[-1])


def _http_up(ip, port):
    try:
        socket.create_connection((ip, port), timeout=0.5).close()
        return True
    except OSError:
        return False


def _page_node(vhost_extra):
    """A started node whose http_server serves the player page: (node, ip, http port)."""
    ip = rill.new_ip()
    port = rill.free_port(ip)
    http_port = rill.free_port(ip)
    while http_port == port:
        http_port = rill.free_port(ip)
    node = rill.start_node(
        ip=ip, port=port, vhost_extra=vhost_extra,
        global_extra="http_server { enabled on; listen %s:%d; dir %s; }\n" % (ip, http_port, HTML_DIR))
    check(rill.wait_until(lambda: _http_up(ip, http_port), 5),
          "expected rill's http_server on %s:%d" % (ip, http_port))
    return node, ip, http_port


@rill.timeout(120)
def test_browser_plays_http_flv():
    _needs()
    node, ip, http_port = _page_node("    http_remux { enabled on; mount [vhost]/[app]/[stream].flv; }\n")
    pub = rill.publish(node.url("browser"))
    rill.watch(node, "browser", frames=5, timeout=10, pub=pub)

    stream = "http://%s:%d/live/browser.flv" % (ip, http_port)
    page = "http://%s:%d/players/index.html?url=%s" % (ip, http_port, stream)
    _check_page_plays(node, page, stream)


@rill.timeout(120)
def test_browser_plays_hls_with_hlsjs_through_the_nginx_front():
    """The page plays an HLS URL with hls.js, page and stream both through
    conf/nginx-front.conf (segments from its cache)."""
    _needs()
    check(os.path.isfile(os.path.join(HTML_DIR, "players", "hls.min.js")),
          "the HLS browser test needs %s/players/hls.min.js (make html, needs npm)" % HTML_DIR)
    node, ip, http_port = _page_node("    hls { enabled on; hls_fragment 1; hls_window 6; }\n")
    front = nginx.front(ip, http_port)
    pub = rill.publish(node.url("browser"))
    rill.watch(node, "browser", frames=5, timeout=10, pub=pub)
    stream = "http://%s:%d/live/browser.m3u8" % (front.ip, front.http_port)
    page = "http://%s:%d/players/index.html?url=%s" % (front.ip, front.http_port, stream)
    _check_page_plays(node, page, stream)
    front.proc.stop(2)


def _check_page_plays(node, page, stream):
    """play.js opens page: it must play stream (time advancing, frames decoded)."""
    try:
        os.unlink(SCREENSHOT)
    except OSError:
        pass
    log = os.path.join(rill.tmpdir("rill-browser-"), "play.log")
    t0 = time.monotonic()
    res = _run_browser(page, log, timeout=60)
    took = time.monotonic() - t0
    try:
        with open(RESULT, "w") as f:
            json.dump(res, f, indent=1)
    except OSError:
        pass
    end = res.get("end") or {}
    start = res.get("start") or {}
    print("browser: %s" % json.dumps({k: res.get(k) for k in ("ok", "advance", "waitedToStart", "error")}))
    print("browser: start %s" % json.dumps(start))
    print("browser: end %s" % json.dumps(end))
    print("browser: screenshot %s, play.js took %.1fs" % (SCREENSHOT, took))
    console = "; ".join(res.get("console") or [])[-1500:]
    check(res.get("ok"), "expected the player page to play %s: %s (state %s, errors %s; console: %s)" % (
        stream, res.get("error"), end.get("state"), end.get("errors"), console))
    check(end.get("url") == stream, "expected the page to play ?url=%s, it played %r" % (stream, end.get("url")))
    adv = res.get("advance") or 0.0
    check(adv > 2.0, "expected the video's currentTime to advance > 2 s in %d s of playing; it went "
          "%.2f -> %.2f (state %s, errors %s; console: %s)" % (
              PLAY_SECONDS, start.get("currentTime", 0), end.get("currentTime", 0), end.get("state"),
              end.get("errors"), console))
    check(end.get("currentTime", 0) > 2.0, "expected currentTime > 2 s after %d s; it is %.2f" % (
        PLAY_SECONDS, end.get("currentTime", 0)))
    frames = end.get("totalVideoFrames", 0)
    check(frames > 0, "expected decoded video frames > 0 (getVideoPlaybackQuality); saw %d" % frames)
    check(end.get("state") == "playing", "expected the page's state to be 'playing' at the end; it is %r (errors %s)" % (
        end.get("state"), end.get("errors")))
    check(os.path.isfile(SCREENSHOT) and os.path.getsize(SCREENSHOT) > 0,
          "expected a screenshot at %s" % SCREENSHOT)
    node.assert_running("after the browser played")
