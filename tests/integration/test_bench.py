"""rill-bench, the load tool, against a real rill node.

It publishes an FLV file (made here with ffmpeg) and plays it with 20 RTMP
players from one process; its closing JSON must say so (20 connected, none
failed, bytes flowing, a first frame for each). Its counts are checked
against the server's own view: the HTTP API's client list while the players
are on (GET /api/v1/clients, /api/v1/summaries), or the server's "play"
log lines when the API is not there. Then HTTP-FLV players, and the raw-write
floor (rill-floor) with rill-bench's sink mode.
"""

import json
import os
import re
import socket
import subprocess
import time
import urllib.error
import urllib.request

from lib import rill
from lib.rill import check

STREAM = "bench"
PLAYERS = 20


def _bench_bin():
    b = os.path.join(rill.ROOT, "objs", "rill-bench")
    check(os.path.exists(b), "rill-bench binary %s does not exist (build it with make)" % b)
    return b


def _flv(seconds=10):
    """A 640x360 25 fps H.264 + AAC FLV file, made as fast as ffmpeg can."""
    path = os.path.join(rill.tmpdir("rill-bench-flv-"), "stream.flv")
    args = ["ffmpeg", "-nostdin", "-hide_banner", "-loglevel", "error", "-y"] + rill.PUBLISH_ARGS + [
        "-t", str(seconds), "-f", "flv", path]
    r = subprocess.run(args, capture_output=True, timeout=60, stdin=subprocess.DEVNULL)
    check(r.returncode == 0 and os.path.getsize(path) > 100000,
          "expected ffmpeg to write a %d s FLV file; exit %s: %s" % (
              seconds, r.returncode, r.stderr.decode("utf-8", "replace")[-400:]))
    return path


def _run_bench(args, name="rill-bench"):
    """Start rill-bench; returns (proc, path of its stdout)."""
    d = rill.tmpdir("rill-bench-")
    out_path = os.path.join(d, "stdout.txt")
    out = open(out_path, "wb")
    p = rill.Proc(name, [_bench_bin()] + args, os.path.join(d, "stderr.txt"), stdout=out)
    out.close()     # the child holds its own copy
    return p, out_path


def _result(p, out_path, timeout):
    """Wait for rill-bench to exit by itself; its last stdout line as JSON."""
    rc = p.wait(timeout)
    check(rc is not None, "expected rill-bench to exit by itself within %.0f s; it is still running" % timeout)
    with open(out_path, "rb") as f:
        lines = [l for l in f.read().decode("utf-8", "replace").splitlines() if l.strip()]
    check(rc == 0 and lines, "expected rill-bench to exit 0 with a JSON line; exit %s, stdout %r, stderr:\n%s" % (
        rc, lines[-2:], rill.sanitize_lines(p.output(), 10)))
    try:
        return json.loads(lines[-1])
    except ValueError:
        raise rill.TestFailure("expected rill-bench's last stdout line to be JSON; it was %r" % lines[-1][:300])


def _api_get(ip, port, path):
    """(status, parsed JSON or None); status "refused" when nothing answers."""
    try:
        with urllib.request.urlopen("http://%s:%d%s" % (ip, port, path), timeout=3) as r:
            return r.status, json.loads(r.read().decode("utf-8"))
    except urllib.error.HTTPError as e:
        return e.code, None
    except (urllib.error.URLError, OSError, ValueError):
        return "refused", None


def _check_totals(res, players, what):
    check(res.get("connected") == players and res.get("failed") == 0,
          "expected rill-bench to report connected == %d and failed == 0 %s; it reported connected=%s "
          "failed=%s dropped=%s" % (players, what, res.get("connected"), res.get("failed"), res.get("dropped")))
    check((res.get("kbps") or 0) > 0, "expected kbps > 0 %s; rill-bench reported %s" % (what, res.get("kbps")))
    ff = res.get("first_frame_ms_p50")
    check(ff is not None and ff > 0,
          "expected a first-frame p50 > 0 ms %s; rill-bench reported %s (players without a keyframe: %s)" % (
              what, ff, res.get("no_frame")))
    check(res.get("latency_ms_p50") is not None,
          "expected an end-to-end latency (publisher in the same process) %s; got null" % what)


@rill.timeout(90)
def test_bench_rtmp_players_counted_by_the_server():
    flv = _flv()
    ip = rill.new_ip()
    api_port = rill.free_port(ip)
    node = rill.Node(ip=ip, global_extra="http_api { enabled on; listen %s:%d; }\n" % (ip, api_port))
    node.start()
    url = node.url(STREAM)
    p, out = _run_bench(["--report", "2", "publish", "-d", "8", "-i", flv, url,
                         "play", "-n", str(PLAYERS), "--delay", "1", "-d", "6", url])

    # the server's view while the players are on (they play from 1 s to 7 s)
    time.sleep(4.0)
    status, clients = _api_get(ip, api_port, "/api/v1/clients?count=1000")
    sstatus, _ = _api_get(ip, api_port, "/api/v1/summaries")
    res = _result(p, out, 30)
    _check_totals(res, PLAYERS, "for %d RTMP players of %s" % (PLAYERS, url))
    check(res.get("stalls") == 0, "expected no stalls with %d players; rill-bench counted %s" % (
        PLAYERS, res.get("stalls")))
    pub = res.get("publish") or {}
    check(pub.get("connected") == 1 and (pub.get("kbps") or 0) > 500,
          "expected rill-bench's publisher to publish to the end at about 1 Mbit/s; it reported %r" % pub)

    if status == 200 and clients is not None and "clients" in clients:
        mine = [c for c in clients["clients"] if c.get("stream") == STREAM]
        players = [c for c in mine if not c.get("publish")]
        publishers = [c for c in mine if c.get("publish")]
        check(len(players) == res["connected"] and len(publishers) == 1,
              "expected the API to list the %d players rill-bench reported connected and 1 publisher of %s; "
              "it listed %d players and %d publishers (%d clients in all)" % (
                  res["connected"], STREAM, len(players), len(publishers), len(clients["clients"])))
        check(sstatus == 200, "expected GET /api/v1/summaries to answer 200; it answered %s" % sstatus)
    else:
        # no API on this build yet: the server's log has one "play" line per player
        plays = len(re.findall(r"\] play \S+/live/%s\b" % STREAM, node.log()))
        rill.note_skip("API check: GET /api/v1/clients answered %s; counted the server's play log lines "
                       "instead" % status)
        check(plays == res["connected"],
              "expected the server to log one play per player rill-bench reported connected (%d); "
              "it logged %d" % (res["connected"], plays))


@rill.timeout(60)
def test_bench_http_flv_players():
    flv = _flv(6)
    ip = rill.new_ip()
    http_port = rill.free_port(ip)
    node = rill.Node(ip=ip, global_extra="http_server { enabled on; listen %s:%d; }\n" % (ip, http_port),
                     vhost_extra="    http_remux { enabled on; mount [vhost]/[app]/[stream].flv; }\n")
    node.start()
    url = node.url(STREAM)
    flv_url = "http://%s:%d/live/%s.flv" % (ip, http_port, STREAM)
    p, out = _run_bench(["--report", "0", "publish", "-d", "6", "-i", flv, url,
                         "play", "-n", "10", "--delay", "1", "-d", "4", flv_url])
    res = _result(p, out, 30)
    _check_totals(res, 10, "for 10 HTTP-FLV players of %s" % flv_url)


@rill.timeout(60)
def test_bench_publish_reconnects_after_the_server_dies():
    """--reconnect: the publisher stands for an encoder that comes back (OBS).
    The node is SIGKILLed under it and started again; the publisher publishes
    again after its delay and says how long it sent nothing."""
    flv = _flv(6)
    node = rill.start_node()
    url = node.url(STREAM)
    p, out = _run_bench(["--report", "0", "publish", "-d", "9", "--reconnect", "0.5", "--write-timeout", "1000",
                         "--send-buffer", "65536", "--timeout", "2", "-i", flv, url])
    pl = rill.watch(node, STREAM, frames=10, timeout=10, pub=p)
    pl.stop()
    node.kill()
    t_kill = time.monotonic()
    time.sleep(0.2)
    node.restart()
    pl2 = rill.raw_player(node, STREAM)
    check(pl2.wait_frames(10, 6), "expected the restarted node to get the stream again from the reconnecting "
                                  "publisher; %s; rill-bench: %s" % (pl2.describe(), rill.sanitize_lines(p.output(), 4)))
    back = pl2.frames()[0][0] - t_kill
    res = _result(p, out, 20)
    pub = res.get("publish") or {}
    lines = [l for l in p.output().splitlines() if "publishing again" in l]
    check(pub.get("reconnects") == 1 and pub.get("connected") == 1 and len(lines) == 1,
          "expected rill-bench to reconnect once and publish to the end; it reported %r; stderr:\n%s" % (
              pub, rill.sanitize_lines(p.output(), 6)))
    stall = pub.get("reconnect_stall_ms_max") or 0
    # the kill, 0.2 s down, the 0.5 s delay, a connect: well under 3 s
    check(500 <= stall < 3000, "expected the publisher's stall across the reconnect between the 0.5 s delay and "
                               "3 s; it was %.0f ms" % stall)
    print("reconnect: stall %.0f ms at the publisher; a new player's first frame %.2fs after the kill; %s" % (
        stall, back, lines[0].split(": ", 1)[-1]), flush=True)


@rill.timeout(45)
def test_bench_sink_reads_the_floor():
    floor = os.path.join(rill.ROOT, "objs", "rill-floor")
    check(os.path.exists(floor), "rill-floor binary %s does not exist (build it with make)" % floor)
    ip = rill.new_ip()
    port = rill.free_port(ip)
    d = rill.tmpdir("rill-floor-")
    fl = rill.Proc("rill-floor", [floor, "-l", "%s:%d" % (ip, port), "-b", "4096", "-i", "32"],
                   os.path.join(d, "floor.log"))
    ok = rill.wait_until(lambda: _accepting(ip, port) or not fl.alive(), 5)
    check(ok and fl.alive(), "expected rill-floor to listen on %s:%d; %s" % (ip, port, rill.proc_state(fl)))
    p, out = _run_bench(["--report", "0", "sink", "-n", "10", "-d", "3", "tcp://%s:%d" % (ip, port)])
    res = _result(p, out, 20)
    check(res.get("connected") == 10 and res.get("failed") == 0 and res.get("stalls") == 0,
          "expected 10 sinks to read the floor to the end without stalls; rill-bench reported %r" % res)
    # 4096 bytes every 32 ms is 1024 kbit/s per connection
    kbps = res.get("kbps") or 0
    check(8000 <= kbps <= 12000, "expected about 10 x 1024 kbit/s from the floor; rill-bench reported %.0f" % kbps)
    check(res.get("first_frame_ms_p50") is None, "expected no first-frame figures for sinks; got %r" % res)
    fl.stop(2)


def _accepting(ip, port):
    try:
        socket.create_connection((ip, port), timeout=0.5).close()
        return True
    except OSError:
        return False
