"""Command line: -t (config test) and -v."""

import os
import subprocess

from lib import rill
from lib.rill import check


def _run(args, timeout=20):
    r = subprocess.run([rill.rill_bin()] + args, capture_output=True, timeout=timeout,
                       env=rill.server_env(), stdin=subprocess.DEVNULL)
    out = (r.stdout + r.stderr).decode("utf-8", "replace")
    return r.returncode, out


@rill.timeout(30)
def test_conf_check_good():
    node = rill.Node()   # writes a conf, not started
    rc, out = _run(["-t", "-c", node.conf_path])
    check(rc == 0, "expected `rill -t -c %s` to exit 0 for a valid conf; it exited %s: %s" % (
        node.conf_path, rc, rill.sanitize_lines(out, 6)))


@rill.timeout(30)
def test_conf_check_unknown_directive():
    d = rill.tmpdir()
    path = os.path.join(d, "bad.conf")
    with open(path, "w") as f:
        f.write("listen 127.0.0.5:19350;\n"
                "daemon off;\n"
                "no_such_directive_xyz 42;\n"
                "srs_log_tank console;\n"
                "vhost __defaultVhost__ {\n}\n")
    rc, out = _run(["-t", "-c", path])
    check(rc == 1, "expected `rill -t -c` on a conf with an unknown directive to exit 1; it exited %s: %s" % (
        rc, rill.sanitize_lines(out, 6)))
    check(path + ":3:" in out, "expected the error to name %s:3: (the unknown directive's line); "
                               "output was: %s" % (path, rill.sanitize_lines(out, 6)))


@rill.timeout(30)
def test_conf_check_broken_syntax():
    d = rill.tmpdir()
    path = os.path.join(d, "broken.conf")
    with open(path, "w") as f:
        f.write("listen 127.0.0.5:19350;\n"
                "vhost __defaultVhost__ {\n"
                "    play { gop_cache on;\n")   # unterminated blocks
    rc, out = _run(["-t", "-c", path])
    check(rc == 1, "expected `rill -t -c` on a conf with unterminated blocks to exit 1; it exited %s: %s" % (
        rc, rill.sanitize_lines(out, 6)))
    check(path + ":" in out, "expected the error to start with %s:LINE:; output was: %s" % (
        path, rill.sanitize_lines(out, 6)))


@rill.timeout(30)
def test_version():
    with open(os.path.join(rill.ROOT, "VERSION")) as f:
        version = f.read().strip()
    rc, out = _run(["-v"])
    check(rc == 0, "expected `rill -v` to exit 0; it exited %s: %s" % (rc, rill.sanitize_lines(out, 4)))
    check(version in out, "expected `rill -v` to print the version %s; it printed: %s" % (
        version, rill.sanitize_lines(out, 4)))
