"""Publish takeover: a new publish replaces a publisher that went silent.

An origin (any origin: a master taking an encoder, a slave taking a
master's forward) accepts a second publish of a stream when the current
publisher has sent nothing for `publish { takeover_timeout }` (1000 ms by
default): the silent one is closed, the players stay connected and go on
with the new publisher's sequence headers and GOP, timestamps continuing.
A live publisher is never replaced.

Real ffmpeg publishers, one frozen with SIGSTOP (its TCP connection stays
open, as a hung encoder's or a dead host's would); the players are the
tests' RTMP and HTTP-FLV players, which record every video frame's arrival
and timestamp.
"""

import re
import signal
import time

from lib import httpflv
from lib import rill
from lib import rtmp
from lib.rill import check

STREAM = "s"


def http_origin(name, play="gop_cache on; queue_length 10; mw_latency 350; mw_msgs 8; time_jitter off;",
                publish=rill.DEFAULT_PUBLISH, vhost_extra="", **kw):
    """A node that also serves HTTP-FLV. time_jitter off: the timestamps players
    get are the publishers' own plus the takeover's rebase, nothing smooths them."""
    ip = rill.new_ip()
    port = rill.free_port(ip)
    http_port = rill.free_port(ip)
    while http_port == port:
        http_port = rill.free_port(ip)
    n = rill.Node(name=name, ip=ip, port=port, play=play, publish=publish,
                  global_extra="http_server { enabled on; listen %s:%d; }\n" % (ip, http_port),
                  vhost_extra=vhost_extra + "    http_remux { enabled on; mount [vhost]/[app]/[stream].flv; }\n",
                  **kw)
    n.http_port = http_port
    return n


def flv_player(node, stream=STREAM):
    pl = httpflv.HttpFlvPlayer(node.ip, node.http_port, "/live/%s.flv" % stream)
    rill._players.append(pl)
    return pl.start()


def lines(node, needle):
    return [l for l in node.log().splitlines() if needle in l]


def wait_lines(node, needle, count, timeout):
    return rill.wait_until(lambda: len(lines(node, needle)) >= count, timeout)


def refused_publish(node, what, stream=STREAM):
    """A second ffmpeg publish of stream: expected to be refused while the
    publisher is live. Returns the seconds ffmpeg took to give up."""
    busy = len(lines(node, "refused: stream busy"))
    t = time.monotonic()
    p = rill.publish(node.url(stream), name="refused-" + what.replace(" ", "-"), size="320x240")
    rc = p.wait(10)
    dt = time.monotonic() - t
    if rc is None:
        p.stop(1.0)
    check(rc not in (None, 0) and len(lines(node, "refused: stream busy")) > busy,
          "expected a second publish %s to be refused (StreamBusy/BadName, ffmpeg exits with an error); "
          "ffmpeg %s after %.1fs, server busy lines %d -> %d; log:\n%s" % (
              what, "still running" if rc is None else "exited %s" % rc, dt, busy,
              len(lines(node, "refused: stream busy")), node.tail(6)))
    return dt


def connected(node):
    """A raw RTMP client, handshaken and connected, ready to publish at once."""
    c = rtmp.RtmpConn(node.ip, node.port)
    c.handshake()
    c.connect("live")
    return c


def publish_status(c, stream=STREAM):
    """The onStatus code a publish of stream gets on the connected c."""
    try:
        c.publish(stream)
        return "NetStream.Publish.Start"
    except rtmp.RtmpError as e:
        m = re.search(r"'code': '([^']+)'", str(e))
        return m.group(1) if m else str(e)
    finally:
        c.close()


@rill.timeout(90)
def test_takeover_frozen_encoder_replaced_players_continue_live_one_refused():
    report = []
    o = http_origin("origin").start()
    p1 = rill.publish(o.url(STREAM), name="encoder1")
    check(wait_lines(o, "publish __defaultVhost__/live/%s" % STREAM, 1, 10),
          "expected the first publish to start; %s" % rill.proc_state(p1))
    rtmp_pl = rill.watch(o, STREAM, frames=10, timeout=10, pub=p1)
    flv = flv_player(o)
    check(flv.wait_frames(10, 10), "expected the HTTP-FLV player to get frames; %s" % flv.describe())
    players = [("RTMP", rtmp_pl), ("HTTP-FLV", flv)]

    # A live publisher is never replaced.
    dt = refused_publish(o, "while the first encoder is live")
    report.append("second publish while live: refused (ffmpeg gave up after %.1fs)" % dt)

    # Freeze the encoder: its connection stays open, nothing arrives.
    seq_before = {n: len([v for v in pl.video if v[3]]) for n, pl in players}
    early = connected(o)
    t_stop = time.monotonic()
    p1.kill(signal.SIGSTOP)
    # Within takeover_timeout it is still the publisher (a raw client, so the
    # publish arrives when the test says, not after an encoder's start-up).
    time.sleep(0.3)
    code = publish_status(early)
    heard = [int(x) for x in re.findall(r"stream busy \(publisher cid \d+, last heard (\d+) ms ago\)", o.log())]
    check(code == "NetStream.Publish.BadName" and heard and heard[-1] < 1000 and not lines(o, "takes over"),
          "expected a publish 0.3 s into the silence (under takeover_timeout) to be refused with BadName; got %s, "
          "server saw the publisher last heard %s ms before; log:\n%s" % (code, heard[-1:] or "?", o.tail(5)))
    report.append("publish %.1fs after SIGSTOP (publisher last heard %d ms before): %s" % (0.3, heard[-1], code))
    time.sleep(max(0.0, t_stop + 1.2 - time.monotonic()))

    # A new encoder (another size and GOP) takes the stream over.
    t_new = time.monotonic()
    p2 = rill.publish(o.url(STREAM), name="encoder2", size="320x240", extra=["-g", "100", "-bf", "2"])
    check(wait_lines(o, "takes over from publisher", 1, 10),
          "expected the new publish to take over from the frozen encoder; %s; log:\n%s" % (
              rill.proc_state(p2), o.tail(8)))
    took = lines(o, "takes over from publisher")[0]
    check(wait_lines(o, "replaced by a new publish", 1, 5),
          "expected the frozen encoder's connection to be closed with a clear reason; log:\n%s" % o.tail(8))
    report.append("takeover logged: %s" % took.split("] ", 2)[-1])
    for name, pl in players:
        n0 = pl.count()
        check(pl.wait_frames(n0 + 50, 10),
              "expected the %s player to get the new encoder's frames (50 more within 10 s); %s" % (
                  name, pl.describe()))
    t_after = time.monotonic()
    gaps = {}
    for name, pl in players:
        check(pl.error is None and pl.alive(), "expected the %s player to stay connected through the takeover; %s" % (
            name, pl.describe()))
        gaps[name] = pl.max_gap(t_stop, t_after)
        # Silence until the new publish, then the new encoder's start-up: well under 5 s.
        check(gaps[name] < 5.0, "expected the %s player's gap across the takeover under 5 s; it was %.2fs" % (
            name, gaps[name]))
        seq = len([v for v in pl.video if v[3]]) - seq_before[name]
        check(seq >= 1, "expected the %s player to get the new encoder's sequence header; got %d new" % (name, seq))
        rill.check_timestamps(name, pl, what="across the takeover")
    report.append("players stayed connected; gap from SIGSTOP to the new frames: %s (new publish %.2fs after "
                  "the freeze)" % (", ".join("%s %.2fs" % kv for kv in sorted(gaps.items())), t_new - t_stop))

    # The frozen encoder wakes up to a closed connection; the stream stays the new one's.
    p1.kill(signal.SIGCONT)
    rc = p1.wait(10)
    check(rc not in (None, 0), "expected the replaced ffmpeg to fail once resumed (its connection was closed); "
                               "it %s" % ("still runs" if rc is None else "exited 0"))
    t_cont = time.monotonic()
    time.sleep(2.0)
    for name, pl in players:
        g = pl.max_gap(t_cont)
        check(g < 1.0, "expected the %s player undisturbed after the old encoder woke up; gap %.2fs" % (name, g))
    check(len(lines(o, "unpublish __defaultVhost__/live/%s" % STREAM)) == 0,
          "expected no unpublish of the stream through all this; log:\n%s" % o.tail(10))

    # The new publisher is live: it is not replaced either.
    refused_publish(o, "while the new encoder is live")
    for name, pl in players:
        rill.check_timestamps(name, pl, what="across the takeover")
        check(pl.error is None, "expected the %s player still connected at the end; %s" % (name, pl.describe()))
    report.append("old encoder resumed: ffmpeg exit %s, players undisturbed; third publish refused" % rc)
    p2.stop(1.0)
    o.stop()
    print("\n".join(report), flush=True)


@rill.timeout(90)
def test_takeover_disabled_keeps_the_silent_publisher():
    """takeover_timeout 0: a frozen publisher keeps the stream until normal_timeout drops it."""
    o = http_origin("origin", publish="firstpkt_timeout 20000; normal_timeout 3000; takeover_timeout 0;").start()
    p1 = rill.publish(o.url(STREAM), name="encoder1")
    rill.watch(o, STREAM, frames=5, timeout=10, pub=p1)
    t = time.monotonic()
    p1.kill(signal.SIGSTOP)
    time.sleep(1.5)
    refused_publish(o, "1.5 s after the freeze with takeover_timeout 0")
    check(wait_lines(o, "publish timeout (normal_timeout)", 1, 5),
          "expected normal_timeout (3 s) to drop the frozen publisher; log:\n%s" % o.tail(6))
    dropped = time.monotonic() - t
    p1.kill(signal.SIGCONT)
    p1.stop(1.0)
    check(lines(o, "takes over") == [], "expected no takeover with takeover_timeout 0")
    o.stop()
    print("takeover_timeout 0: a publish 1.5 s into the silence refused; normal_timeout dropped the "
          "frozen one %.1fs after SIGSTOP" % dropped, flush=True)
