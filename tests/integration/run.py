#!/usr/bin/env python3
"""rill integration test runner.

  python3 tests/integration/run.py [FILTER...]

Discovers tests/integration/test_*.py and runs every test_* function, one at a
time, each in a fresh python process (so a test's threads, sockets and
processes die with it) with a time bound (the function's .timeout attribute,
set by lib.rill.timeout, default 60 s). Prints `PASS name (1.2s)` or
`FAIL name: reason` (then the tail of the test's node logs) per test and ends
with `integration: N passed, N failed`. FILTERs are substrings of
`file.function` names; a test runs when any filter matches.

RILL_BIN overrides the server binary (default objs/asan/rill).
"""

import importlib.util
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import traceback

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
sys.dont_write_bytecode = True
DEFAULT_TIMEOUT = 60
LOG_TAIL = 30


def load_module(path):
    name = os.path.splitext(os.path.basename(path))[0]
    spec = importlib.util.spec_from_file_location(name, path)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def discover():
    tests = []
    for fn in sorted(os.listdir(HERE)):
        if not (fn.startswith("test_") and fn.endswith(".py")):
            continue
        path = os.path.join(HERE, fn)
        try:
            mod = load_module(path)
        except Exception:  # noqa: BLE001 - reported as a failing test of its own
            tests.append((path, fn[:-3] + ".<import>", None,
                          traceback.format_exc(limit=-2).strip()))
            continue
        funcs = [(getattr(f, "__code__").co_firstlineno, n, f) for n, f in vars(mod).items()
                 if n.startswith("test_") and callable(f) and getattr(f, "__module__", "") == mod.__name__]
        for _, n, f in sorted(funcs, key=lambda x: x[0]):
            tests.append((path, mod.__name__ + "." + n, n, getattr(f, "timeout", DEFAULT_TIMEOUT)))
    return tests


# ---------------------------------------------------------------- child side

class TestTimeout(Exception):
    pass


def _on_alarm(signum, frame):
    raise TestTimeout()


def child(path, func_name, limit, result_path):
    from lib import rill
    signal.signal(signal.SIGALRM, _on_alarm)
    signal.signal(signal.SIGTERM, _on_alarm)
    status, reason = "PASS", ""
    t0 = time.monotonic()
    try:
        signal.setitimer(signal.ITIMER_REAL, limit)
        try:
            mod = load_module(path)
            getattr(mod, func_name)()
        finally:
            signal.setitimer(signal.ITIMER_REAL, 0)
    except TestTimeout:
        status, reason = "FAIL", "timed out after %ds" % limit
    except rill.Skip as e:
        status, reason = "SKIP", str(e)
    except AssertionError as e:
        status, reason = "FAIL", str(e) or traceback.format_exc(limit=-2).strip()
    except Exception:  # noqa: BLE001
        status, reason = "FAIL", traceback.format_exc(limit=-4).strip()
    duration = time.monotonic() - t0
    # Cleanup has its own bound: a stuck cleanup must not hang the run.
    signal.signal(signal.SIGALRM, _on_alarm)
    problems = []
    try:
        signal.setitimer(signal.ITIMER_REAL, 35)
        problems = rill.cleanup()
    except TestTimeout:
        problems = ["cleanup timed out"]
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
    if problems and status in ("PASS", "SKIP"):
        status, reason = "FAIL", "; ".join(problems)
    elif problems:
        reason += " (also: %s)" % "; ".join(problems)
    logs = rill.node_logs(LOG_TAIL) if status == "FAIL" else []
    with open(result_path, "w") as f:
        json.dump({"status": status, "reason": reason, "duration": duration, "logs": logs}, f)
    if status in ("PASS", "SKIP"):
        rill.remove_tmpdirs()
    return 0


# ---------------------------------------------------------------- parent side

def run_one(path, name, func, limit, slot):
    fd, result_path = tempfile.mkstemp(prefix="rill-it-result-", suffix=".json")
    os.close(fd)
    env = dict(os.environ)
    env["RILL_TEST_SLOT"] = str(slot)
    env["PYTHONDONTWRITEBYTECODE"] = "1"
    t0 = time.monotonic()
    p = subprocess.Popen([sys.executable, os.path.abspath(__file__), "--child", path, func,
                          str(limit), result_path],
                         stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                         env=env)
    try:
        out, _ = p.communicate(timeout=limit + 40)
    except subprocess.TimeoutExpired:
        p.send_signal(signal.SIGTERM)
        try:
            out, _ = p.communicate(timeout=25)
        except subprocess.TimeoutExpired:
            p.kill()
            out, _ = p.communicate()
    wall = time.monotonic() - t0
    res = None
    try:
        with open(result_path) as f:
            res = json.load(f)
    except (OSError, ValueError):
        pass
    finally:
        try:
            os.unlink(result_path)
        except OSError:
            pass
    out = out.decode("utf-8", "replace") if out else ""
    if res is None:
        res = {"status": "FAIL", "duration": wall, "logs": [],
               "reason": "test process ended without a result (exit code %s)%s" % (
                   p.returncode, ("\n" + "\n".join(out.splitlines()[-20:])) if out.strip() else "")}
    res["output"] = out
    return res


def main(argv):
    if len(argv) >= 2 and argv[1] == "--child":
        return child(argv[2], argv[3], float(argv[4]), argv[5])
    filters = [a for a in argv[1:] if not a.startswith("-")]
    listing = "--list" in argv[1:]
    try:
        tests = discover()
    except Exception:  # noqa: BLE001
        print("FAIL discover: " + traceback.format_exc(limit=-3).strip())
        print("integration: 0 passed, 1 failed")
        return 1
    if filters:
        tests = [t for t in tests if any(f in t[1] for f in filters)]
    if listing:
        for t in tests:
            print(t[1])
        return 0
    if not tests:
        print("no tests match %s" % " ".join(filters))
        print("integration: 0 passed, 0 failed")
        return 1
    sys.path.insert(0, HERE)
    from lib import rill
    binary = rill.rill_bin()
    if not os.path.exists(binary):
        print("FAIL setup: rill binary %s not found (build it with make)" % binary)
        print("integration: 0 passed, 1 failed")
        return 1
    # Run a private copy, so a rebuild during the run cannot swap or remove
    # the binary under a test.
    bindir = tempfile.mkdtemp(prefix="rill-it-bin-")
    copy = os.path.join(bindir, os.path.basename(binary))
    try:
        shutil.copy2(binary, copy)
        os.environ["RILL_BIN"] = copy
    except OSError as e:
        print("(could not copy %s: %s; using it in place)" % (binary, e))
    try:
        return run_all(tests, binary)
    finally:
        shutil.rmtree(bindir, ignore_errors=True)


def run_all(tests, binary):
    print("(rill binary: %s)" % binary, flush=True)
    passed = failed = 0
    skipped = []
    t_all = time.monotonic()
    for slot, (path, name, func, limit) in enumerate(tests):
        if func is None:     # the file did not import; limit holds the error
            res = {"status": "FAIL", "reason": "cannot import %s: %s" % (path, limit), "duration": 0}
        else:
            res = run_one(path, name, func, limit, slot)
        if res["status"] == "SKIP":
            skipped.append(name)
            print("SKIP %s: %s" % (name, res["reason"]), flush=True)
        elif res["status"] == "PASS":
            passed += 1
            print("PASS %s (%.1fs)" % (name, res["duration"]), flush=True)
            # parts of a passing test that were left out (lib.rill.note_skip)
            for line in res.get("output", "").splitlines():
                if line.startswith("SKIPPED "):
                    print("  " + line, flush=True)
        else:
            failed += 1
            print("FAIL %s: %s" % (name, res["reason"]), flush=True)
            for (nname, lpath, tail) in res.get("logs", []):
                print("  --- %s log (%s), last lines:" % (nname, lpath))
                for line in tail.splitlines():
                    print("  | " + line)
            extra = res.get("output", "").strip()
            if extra:
                print("  --- test output:")
                for line in extra.splitlines()[-15:]:
                    print("  | " + line)
            sys.stdout.flush()
    print("(integration took %.0fs)" % (time.monotonic() - t_all))
    if skipped:
        print("(%d skipped, counted neither passed nor failed: %s)" % (len(skipped), ", ".join(skipped)))
    print("integration: %d passed, %d failed" % (passed, failed))
    return 0 if failed == 0 else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv))
