#!/usr/bin/env bash
# HLS benchmark (not part of make test).
#
#   scripts/bench-hls.sh [SECONDS [CONNECTIONS]]
#
# One run, three figures:
#   - segment requests per second per core: wrk (CONNECTIONS keep-alive
#     connections, default 50, SECONDS each, default 10) asks rill for one
#     segment of a live stream, served from memory, then asks nginx (one
#     worker, sendfile, no access log) for the same bytes from a file. The
#     server's CPU time (utime + stime from /proc) over the run gives its
#     requests per CPU-second, whatever share of the 2 cores wrk takes;
#   - the CPU cost of segmenting: rill's CPU over 20 s with one publisher
#     (1 Mbit/s test pattern) with hls off, then with hls on;
#   - the latency from publish to availability: a segment becomes listed when
#     the keyframe that ends it arrives, so its first frame waits about one
#     segment duration; measured as the time from a playlist change to the
#     next, against the EXTINF listed.
#
# Release build objs/rill (RILL_BIN=path for another); every process runs on
# 127.0.0.x with free ports and is stopped by its pid (the integration test
# library's cleanup); bounded by RILL_BENCH_LIMIT seconds (default 300).
set -eu
cd "$(dirname "$0")/.."

if [ -z "${RILL_BIN:-}" ]; then
    make --no-print-directory objs/rill >/dev/null
    export RILL_BIN="$PWD/objs/rill"
fi
for t in ffmpeg nginx wrk python3; do
    command -v "$t" >/dev/null || [ -x "/usr/sbin/$t" ] || { echo "bench-hls: $t is missing (bash scripts/install-deps.sh)"; exit 2; }
done

exec python3 - "${1:-10}" "${2:-50}" <<'PY'
import os, re, shutil, signal, subprocess, sys, time, urllib.request
sys.path.insert(0, os.path.join(os.getcwd(), "tests", "integration"))
from lib import media, rill

SECONDS, CONNS = int(sys.argv[1]), int(sys.argv[2])
signal.alarm(int(os.environ.get("RILL_BENCH_LIMIT", "300")))
HZ = os.sysconf("SC_CLK_TCK")


def cpu(pid):
    with open("/proc/%d/stat" % pid) as f:
        st = f.read()
    fields = st[st.rindex(")") + 2:].split()
    return (int(fields[11]) + int(fields[12])) / HZ


def node(hls):
    ip = rill.new_ip()
    port, http = rill.free_port(ip), rill.free_port(ip)
    while http == port:
        http = rill.free_port(ip)
    n = rill.Node(name="rill-hls" if hls else "rill", ip=ip, port=port, log_level="warn",
                  global_extra="http_server { enabled on; listen %s:%d; }\n" % (ip, http),
                  vhost_extra="    hls { enabled on; hls_fragment 2; hls_window 60; }\n" if hls else "")
    n.http_port = http
    return n.start()


def get(url):
    with urllib.request.urlopen(url, timeout=20) as r:
        return r.read()


def wrk(url):
    out = subprocess.run(["wrk", "-t1", "-c%d" % CONNS, "-d%ds" % SECONDS, url], capture_output=True,
                         text=True, timeout=SECONDS + 30).stdout
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))
    total = int(re.search(r"(\d+) requests in", out).group(1))
    errs = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    return rps, total, int(errs.group(1)) if errs else 0


def measure(name, pid, url):
    c0 = cpu(pid)
    rps, total, errs = wrk(url)
    used = cpu(pid) - c0
    per_core = total / used if used > 0 else float("inf")
    print("%-22s %9.0f req/s  %7d requests  %5.2f s CPU  %9.0f req per CPU-second  %d errors" % (
        name, rps, total, used, per_core, errs), flush=True)
    return per_core


try:
    path = media.media_file("gop2s")
    # ---- CPU of segmenting: the same publish with hls off, then on
    for hls in (False, True):
        n = node(hls)
        pub = media.publish_file(n.url("cost"), path)
        time.sleep(3)
        c0 = cpu(n.proc.p.pid)
        time.sleep(20)
        used = cpu(n.proc.p.pid) - c0
        print("segmenting cost: hls %-3s one 1 Mbit/s publish: %.3f s CPU in 20 s (%.2f%% of a core)" % (
            "on" if hls else "off", used, used / 20 * 100), flush=True)
        if not hls:
            pub.stop()
            n.stop()
    # ---- latency: how long after its first frame a segment is listed
    pl_url = "http://%s:%d/live/cost.m3u8" % (n.ip, n.http_port)
    seen, changes = None, []
    t_end = time.monotonic() + 12
    while time.monotonic() < t_end:
        text = get(pl_url).decode()
        last = [l for l in text.splitlines() if l and not l.startswith("#")][-1]
        if last != seen:
            changes.append((time.monotonic(), last, float(re.findall(r"#EXTINF:([\d.]+)", text)[-1])))
            seen = last
        time.sleep(0.02)
    gaps = ["%.2f s (EXTINF %.2f)" % (b[0] - a[0], b[2]) for a, b in zip(changes[1:], changes[2:])]
    print("availability: a segment is listed when the keyframe after it arrives: playlist changes every %s"
          % ", ".join(gaps), flush=True)
    # ---- requests per core: rill from memory, nginx from a file, same bytes
    seg = [l for l in get(pl_url).decode().splitlines() if l.endswith(".ts")][-1]
    seg_url = "http://%s:%d/live/%s" % (n.ip, n.http_port, seg)
    body = get(seg_url)
    d = rill.tmpdir("rill-bench-hls-")
    os.chmod(d, 0o755)
    os.makedirs(os.path.join(d, "html", "live"))
    with open(os.path.join(d, "html", "live", seg), "wb") as f:
        f.write(body)
    os.chmod(os.path.join(d, "html"), 0o755)
    os.chmod(os.path.join(d, "html", "live"), 0o755)
    ip = rill.new_ip()
    port = rill.free_port(ip)
    conf = os.path.join(d, "nginx.conf")
    with open(conf, "w") as f:
        f.write("daemon off; master_process off; worker_processes 1; pid %s/nginx.pid; error_log %s/error.log;\n"
                "events { worker_connections 4096; }\n"
                "http { access_log off; sendfile on; tcp_nopush on; keepalive_requests 1000000;\n"
                "  types { video/mp2t ts; }\n"
                "  server { listen %s:%d; root %s/html;\n"
                "    location /live/ { add_header Cache-Control 'public, max-age=600'; } } }\n"
                % (d, d, ip, port, d))
    ng = rill.Proc("nginx", [shutil.which("nginx") or "/usr/sbin/nginx", "-p", d, "-c", conf], os.path.join(d, "out.log"))
    time.sleep(0.5)
    check = get("http://%s:%d/live/%s" % (ip, port, seg))
    assert check == body, "nginx serves other bytes"
    print("segment %s: %d bytes; wrk -t1 -c%d -d%ds, keep-alive" % (seg, len(body), CONNS, SECONDS), flush=True)
    a = measure("rill (memory)", n.proc.p.pid, seg_url)
    b = measure("nginx (file, 1 worker)", ng.p.pid, "http://%s:%d/live/%s" % (ip, port, seg))
    print("rill / nginx requests per CPU-second: %.2f" % (a / b), flush=True)
    ng.stop(2)
    pub.stop()
finally:
    rill.cleanup()
PY
