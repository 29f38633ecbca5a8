#!/usr/bin/env python3
"""scripts/layering.py on the real tree and on copies of it with one bad
include added: it must pass the first and name the file and line of each
fault. Prints "layering: N passed, N failed" for tests/run-all.sh."""
import os
import shutil
import subprocess
import sys
import tempfile
import unittest

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
SCRIPT = os.path.join(ROOT, "scripts", "layering.py")
SRC = os.path.join(ROOT, "trunk", "src")
BENCH = os.path.join(ROOT, "research", "bench")


def run(root, bench=None):
    args = [sys.executable, SCRIPT, "--root", root, "--bench", bench or BENCH]
    p = subprocess.run(args, capture_output=True, text=True, timeout=60)
    return p.returncode, p.stdout + p.stderr


class Layering(unittest.TestCase):
    def setUp(self):
        self.tmp = tempfile.mkdtemp(prefix="rill-layering.")
        self.src = os.path.join(self.tmp, "src")
        shutil.copytree(SRC, self.src)

    def tearDown(self):
        shutil.rmtree(self.tmp, ignore_errors=True)

    def add_line(self, rel, text):
        """Append text to a file of the copy; the line number it lands on."""
        path = os.path.join(self.src, rel)
        with open(path) as f:
            n = sum(1 for _ in f)
        with open(path, "a") as f:
            f.write(text + "\n")
        return n + 1

    def test_tree_passes(self):
        rc, out = run(SRC)
        self.assertEqual(rc, 0, "the tree itself must pass:\n" + out)

    def fails_with(self, rel, include, expected):
        """Add include to rel in the copy: the check must fail and print
        expected, in which {line} is the added line's number."""
        line = self.add_line(rel, include)
        rc, out = run(self.src)
        self.assertEqual(rc, 1, out)
        self.assertIn(expected.format(line=line), out)

    def test_upward_include_fails(self):
        self.fails_with("app/stream/hub.c", '#include "server.h"',
                        'app/stream/hub.c:{line}: upward include "server.h"')

    def test_protocol_using_app_fails(self):
        self.fails_with("protocol/amf0.c", '#include "hub.h"', "protocol/amf0.c:{line}: upward include")

    def test_sideways_include_fails(self):
        self.fails_with("app/rtmp/rtmp_conn.c", '#include "http_flv.h"', "app/rtmp/rtmp_conn.c:{line}: sideways include")

    def test_circle_in_one_folder_fails(self):
        # hub.h already includes stream_ring.h: the way back closes a circle
        self.fails_with("app/stream/stream_ring.c", '#include "hub.h"',
                        "app/stream/stream_ring.c:{line} includes app/stream/hub")

    def test_folder_without_layer_fails(self):
        os.makedirs(os.path.join(self.src, "app", "dash"))
        with open(os.path.join(self.src, "app", "dash", "dash_mux.c"), "w") as f:
            f.write('#include "hub.h"\n')
        rc, out = run(self.src)
        self.assertEqual(rc, 1, out)
        self.assertIn("folder app/dash has no layer", out)

    def test_duplicate_basename_fails(self):
        shutil.copy(os.path.join(self.src, "app", "stream", "hub.h"), os.path.join(self.src, "app", "api", "hub.h"))
        rc, out = run(self.src)
        self.assertEqual(rc, 1, out)
        self.assertIn("header name hub.h is not unique", out)

    def test_bench_using_more_than_its_library_fails(self):
        bench = os.path.join(self.tmp, "bench")
        shutil.copytree(BENCH, bench)
        with open(os.path.join(bench, "bench_sink.c")) as f:
            n = sum(1 for _ in f)
        with open(os.path.join(bench, "bench_sink.c"), "a") as f:
            f.write('#include "hub.h"\n')
        rc, out = run(self.src, bench)
        self.assertEqual(rc, 1, out)
        self.assertIn('bench_sink.c:%d: "hub.h" is in app/stream' % (n + 1), out)

    def test_library_headers_are_skipped(self):
        self.add_line("app/stream/hub.c", '#include "cjson/cJSON.h"')
        rc, out = run(self.src)
        self.assertEqual(rc, 0, out)


if __name__ == "__main__":
    result = unittest.TextTestRunner(verbosity=2).run(unittest.defaultTestLoader.loadTestsFromTestCase(Layering))
    failed = len(result.failures) + len(result.errors)
    print("layering: %d passed, %d failed" % (result.testsRun - failed, failed))
    sys.exit(1 if failed else 0)
