"""Python code run inside a network namespace made by `ip netns add` (a
test's "host"): a thread enters the namespace (setns with CLONE_NEWNET
moves the calling thread only), runs the function, and ends. A socket keeps
the namespace it was made in, and a thread starts in its creator's, so a
test player started this way plays from that host for its whole life while
the test itself stays in the machine's namespace."""

import ctypes
import os
import threading

CLONE_NEWNET = 0x40000000
_libc = ctypes.CDLL(None, use_errno=True)


def _enter(ns):
    fd = os.open(os.path.join("/run/netns", ns), os.O_RDONLY | os.O_CLOEXEC)
    try:
        if _libc.setns(fd, CLONE_NEWNET) != 0:
            e = ctypes.get_errno()
            raise OSError(e, "setns to network namespace %s: %s" % (ns, os.strerror(e)))
    finally:
        os.close(fd)


def run_in(ns, fn, *args, timeout=30.0):
    """fn(*args) in a thread inside network namespace ns: its value, or its
    exception raised here."""
    out = {}

    def body():
        try:
            _enter(ns)
            out["value"] = fn(*args)
        except BaseException as e:  # noqa: BLE001 - raised in the caller's thread
            out["error"] = e

    t = threading.Thread(target=body, daemon=True, name="netns-%s" % ns)
    t.start()
    t.join(timeout)
    if t.is_alive():
        raise TimeoutError("%s in network namespace %s did not return in %.0f s" % (
            getattr(fn, "__name__", fn), ns, timeout))
    if "error" in out:
        raise out["error"]
    return out.get("value")
