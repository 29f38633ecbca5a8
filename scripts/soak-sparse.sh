#!/usr/bin/env bash
# Sparse streams through edges, for minutes (not part of make test).
#
#   scripts/soak-sparse.sh [SECONDS]
#
# An audio-only stream (AAC) and a 1 fps slide show without audio are
# published to a master, which forwards both to slaves A and B
# (`play { time_jitter off; }`: one timeline). Two edges pull them from
# A and B: edge1 plain, edge2 with `origin_redundancy on`. An HTTP-FLV player
# on each edge plays each stream for SECONDS (default 300). Nothing fails on
# purpose, so no edge should switch origin: the script counts, from each
# edge's log and per stream, the switches for silence, for a standby ahead,
# switches to the standby and every other change of origin, and prints what
# each player got (audio tags, frames, longest gap). Exit 1 when any switch
# happened.
#
# Release build objs/rill (built first if needed; RILL_BIN=path uses another
# binary). Everything runs on 127.0.0.x with free ports; every process is
# started here and stopped by its pid; the run is bounded (SECONDS + 120 s).
set -eu
cd "$(dirname "$0")/.."

if [ -z "${RILL_BIN:-}" ]; then
    make --no-print-directory objs/rill >/dev/null
    export RILL_BIN="$PWD/objs/rill"
fi
command -v ffmpeg >/dev/null || { echo "soak-sparse: ffmpeg is missing (bash scripts/install-deps.sh)"; exit 2; }

exec python3 - "${1:-300}" <<'PY'
import os, sys, time
sys.path.insert(0, os.path.join(os.getcwd(), "tests", "integration"))
sys.dont_write_bytecode = True
from lib import httpflv, media, rill

SECONDS = int(sys.argv[1])
STREAMS = ("audio", "slides")


def addr(n):
    return "%s:%d" % (n.ip, n.port)


def edge(name, origins, extra):
    ip = rill.new_ip()
    port = rill.free_port(ip)
    http_port = rill.free_port(ip)
    while http_port == port:
        http_port = rill.free_port(ip)
    n = rill.Node(name=name, ip=ip, port=port, play="gop_cache on; mw_latency 0;",
                  vhost_extra="    cluster { mode remote; origin %s; %s}\n"
                              "    http_remux { enabled on; mount [vhost]/[app]/[stream].flv; }\n" % (
                                  " ".join(addr(o) for o in origins), extra),
                  global_extra="http_server { enabled on; listen %s:%d; }\n" % (ip, http_port))
    n.http_port = http_port
    return n.start()


def upstream_log(node, stream):
    """The edge's lines about the stream's upstream: (switches, {cause: count}, the lines)."""
    tag = "edge __defaultVhost__/live/%s: " % stream
    ls = [l for l in node.log().splitlines() if tag in l]
    # every session logs "playing from origin" (a switch to the standby too): the first one is the start
    plays = [l for l in ls if tag + "playing from origin " in l]
    causes = {
        "silence": sum(1 for l in ls if "silent for" in l),
        "standby ahead": sum(1 for l in ls if "behind the standby" in l),
        "lost the stream": sum(1 for l in ls if "lost the stream" in l),
        "standby off the timeline": sum(1 for l in ls if "left the active origin's timeline" in l),
    }
    return max(0, len(plays) - 1), causes, ls


def main():
    A = rill.Node(name="slaveA", play="gop_cache on; mw_latency 0; time_jitter off;").start()
    B = rill.Node(name="slaveB", play="gop_cache on; mw_latency 0; time_jitter off;").start()
    master = rill.Node(name="master", vhost_extra="    forward { enabled on; destination %s %s; }\n" % (
        addr(A), addr(B))).start()
    slides = media.Profile("slides1fps", "640x360 1 fps, a keyframe a second, no audio", 1,
                           sum(media._video("640x360", 1, 1, "300k"), []), audio=False)
    profiles = {"audio": media.PROFILES["audio"], "slides": slides}
    for name in STREAMS:
        media.publish_file(master.url(name), media.media_file(profiles[name]), name="publisher-" + name)
    for n in (A, B):
        for name in STREAMS:
            if not rill.wait_until(lambda: "publish __defaultVhost__/live/%s" % name in n.log(), 15):
                raise SystemExit("soak-sparse: %s did not get %s from the master" % (n.name, name))
    edges = [edge("edge1", (A, B), ""), edge("edge2", (A, B), "origin_redundancy on; ")]
    players = {}
    for e in edges:
        for name in STREAMS:
            pl = httpflv.HttpFlvPlayer(e.ip, e.http_port, "/live/%s.flv" % name)
            rill._players.append(pl)
            players[(e.name, name)] = pl.start()
    t0 = time.monotonic()
    print("binary %s; master %s -> slaves A %s, B %s; edge1 %s (plain), edge2 %s (origin_redundancy on); "
          "%d s" % (rill.rill_bin(), addr(master), addr(A), addr(B), addr(edges[0]), addr(edges[1]), SECONDS),
          flush=True)
    while time.monotonic() - t0 < SECONDS:
        time.sleep(min(30, SECONDS - (time.monotonic() - t0)) if SECONDS > time.monotonic() - t0 else 0)
        print("  %3.0f s: %s" % (time.monotonic() - t0, "; ".join(
            "%s/%s %d switches" % (e.name, n, upstream_log(e, n)[0]) for e in edges for n in STREAMS)),
            flush=True)
    total = 0
    for e in edges:
        e.assert_running("after %d s" % SECONDS)
        for name in STREAMS:
            n_sw, causes, ls = upstream_log(e, name)
            pl = players[(e.name, name)]
            total += n_sw
            got = ("%d audio tags" % pl.audio if name == "audio" else
                   "%d frames, longest gap between frames %.2f s (after its first 5 s)" % (pl.count(), pl.max_gap(t0 + 5)))
            print("%s %s: %d switches (%s); player: %s" % (e.name, name, n_sw,
                                                          ", ".join("%s %d" % kv for kv in causes.items()), got))
            if n_sw:
                print("\n".join("    " + l for l in ls[-12:]))
    print("switches without a fault: %d" % total)
    return 1 if total else 0


sys.exit(rill.run_script("soak-sparse", main, SECONDS + 120, "SECONDS + 120", keep_logs=True))
PY
