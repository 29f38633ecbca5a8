"""Stopping a busy node with SIGTERM / SIGINT.

The 1 s bound is the server's own shutdown: these nodes run without
LeakSanitizer's exit-time scan (detect_leaks=0), which by itself takes ~1.3 s
of ptrace-stopped CPU in the ASan build. The leak-checked variant allows 5 s
and asserts a clean, report-free exit; every other test's node is
leak-checked at its stop too.
"""

import signal
import time

from lib import rill, rtmp
from lib.rill import check


def _stop_busy(sig, label, limit=1.0, leak_check=False):
    node, pub, pl = rill.start_live("busy", asan_extra=None if leak_check else "detect_leaks=0")
    others = [rill.raw_player(node, "busy") for _ in range(3)]
    rill.wait_until(lambda: all(p.count() > 0 for p in others), 5.0)
    idle = rtmp.RtmpConn(node.ip, node.port)        # mid-session, no stream
    idle.handshake()
    idle.connect("live")
    half = rtmp.RtmpConn(node.ip, node.port)        # mid-handshake
    half.send(b"\x03" + rtmp.simple_c1()[:500])
    t0 = time.monotonic()
    node.proc.kill(sig)
    rc = node.proc.wait(limit)
    dt = time.monotonic() - t0
    idle.close()
    half.close()
    node.checked = rc is not None      # stopped here; cleanup only kills a leftover
    check(rc is not None, "expected the node to exit within %.0f s of %s with clients connected%s; "
                          "still running after %.1fs" % (
                              limit, label, " (LeakSanitizer on)" if leak_check else "", dt))
    rep = node.sanitizer_report()
    check(rep is None, "expected a clean exit after %s; sanitizer report:\n%s" % (label, rep))
    check(rc == 0, "expected exit code 0 after %s; got %s" % (label, rc))


@rill.timeout(40)
def test_sigterm_with_clients():
    _stop_busy(signal.SIGTERM, "SIGTERM")


@rill.timeout(40)
def test_sigint_with_clients():
    _stop_busy(signal.SIGINT, "SIGINT")


@rill.timeout(40)
def test_sigterm_with_clients_leak_checked():
    _stop_busy(signal.SIGTERM, "SIGTERM", limit=5.0, leak_check=True)
