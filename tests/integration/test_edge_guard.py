"""An edge cannot be turned against its origins.

A client asking an edge for names no origin has gets its answer at once
(HTTP 404, RTMP NetStream.Play.StreamNotFound) instead of a held-open
response while the edge keeps asking the origins; a name every origin just
said is absent is answered from memory; connection attempts per origin and
plays waiting per client address are bounded, and a request past the bounds
is refused at once (HTTP 503, RTMP NetStream.Play.Rejected). Meanwhile a real
stream's players on the same edge play on.

The origin's cost is counted in its own log: the connect of every
connection an edge upstream makes is logged there with "(edge upstream)".
"""

import selectors
import socket
import time

from lib import httpflv
from lib import rtmp
from lib import rill
from lib.rill import check

STREAM = "s"


def addr(node):
    return "%s:%d" % (node.ip, node.port)


def edge_node(name, origin, extra=""):
    ip = rill.new_ip()
    port = rill.free_port(ip)
    http_port = rill.free_port(ip)
    while http_port == port:
        http_port = rill.free_port(ip)
    n = rill.Node(name=name, ip=ip, port=port,
                  vhost_extra="    cluster { mode remote; origin %s; %s}\n"
                              "    http_remux { enabled on; mount [vhost]/[app]/[stream].flv; }\n" % (addr(origin), extra),
                  global_extra="http_server { enabled on; listen %s:%d; }\n" % (ip, http_port))
    n.http_port = http_port
    return n


def upstream_conns(origin):
    """Connections from edge upstreams: their connect lines (a close line may say "(edge upstream)" too)."""
    return sum(1 for l in origin.log().splitlines() if "] connect " in l and l.endswith("(edge upstream)"))


def flood(edge, names, sources, limit=10.0):
    """GET /live/NAME.flv for every name at once, round-robin from the
    source addresses, each on its own connection held open until its status
    line; returns [(name, status or None, seconds from request to status)]."""
    sel = selectors.DefaultSelector()
    states = []
    try:
        for i, name in enumerate(names):
            s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            st = {"name": name, "sock": s, "sent": None, "buf": b"", "status": None, "took": None,
                  "req": ("GET /live/%s.flv HTTP/1.1\r\nHost: %s\r\n\r\n" % (name, edge.ip)).encode()}
            states.append(st)
            s.bind((sources[i % len(sources)], 0))
            s.setblocking(False)
            s.connect_ex((edge.ip, edge.http_port))
            sel.register(s, selectors.EVENT_WRITE, st)
        end = time.monotonic() + limit
        left = len(names)
        while left and time.monotonic() < end:
            for key, ev in sel.select(0.1):
                s, st = key.fileobj, key.data
                if ev & selectors.EVENT_WRITE:
                    s.send(st["req"])
                    st["sent"] = time.monotonic()
                    sel.modify(s, selectors.EVENT_READ, st)
                    continue
                try:
                    b = s.recv(4096)
                except OSError:
                    b = b""
                st["buf"] += b
                if b"\r\n" in st["buf"] or not b:
                    line = st["buf"].split(b"\r\n", 1)[0].split()
                    st["status"] = int(line[1]) if len(line) > 1 and line[1].isdigit() else "closed"
                    st["took"] = time.monotonic() - st["sent"]
                    sel.unregister(s)
                    left -= 1
        return [(st["name"], st["status"], st["took"]) for st in states]
    finally:
        for st in states:
            st["sock"].close()
        sel.close()


def rtmp_play_status(node, stream, timeout=3.0):
    """Play stream on node; (first error or Play.Start onStatus code, seconds after the play)."""
    c = rtmp.RtmpConn(node.ip, node.port, timeout=timeout)
    try:
        c.handshake()
        c.connect("live")
        sid = c.create_stream()
        t0 = time.monotonic()
        c.play(stream, sid)
        st = c.wait_status("NetStream.Play.Start", timeout)
        return st.get("code"), time.monotonic() - t0
    finally:
        c.close()


@rill.timeout(90)
def test_edge_absent_names_answered_at_once_and_bounded():
    origin = rill.Node(name="origin").start()
    rate, inflight = 20, 8
    edge = edge_node("edge", origin, "origin_connect_rate %d; origin_connect_inflight %d; " % (rate, inflight)).start()
    pub = rill.publish(origin.url(STREAM), name="publisher")
    check(rill.wait_until(lambda: "publish __defaultVhost__/live/%s" % STREAM in origin.log(), 10),
          "expected the origin to get the publish; %s" % rill.proc_state(pub))
    time.sleep(0.5)
    rtmp_pl = rill.raw_player(edge, STREAM)
    flv_pl = httpflv.HttpFlvPlayer(edge.ip, edge.http_port, "/live/%s.flv" % STREAM)
    rill._players.append(flv_pl)
    flv_pl.start()
    for what, pl in (("RTMP", rtmp_pl), ("HTTP-FLV", flv_pl)):
        check(pl.wait_frames(10, 10.0), "expected the %s player of the real stream to play; %s" % (what, pl.describe()))
    time.sleep(1.5)                          # a steady state to compare with
    base = upstream_conns(origin)
    # the edge's answers come from one upstream per name: the real stream's is not counted below
    t0 = time.monotonic()

    # 1. 300 names no origin has, held open at once from 3 client addresses
    n = 300
    sources = [rill.new_ip() for _ in range(3)]
    res = flood(edge, ["absent-%d" % i for i in range(n)], sources)
    took_all = time.monotonic() - t0
    conns = upstream_conns(origin) - base
    statuses = {}
    for _, st, _ in res:
        statuses[st] = statuses.get(st, 0) + 1
    slow = [(name, st, took) for name, st, took in res if took is None or took > 1.0]
    bad = [(name, st) for name, st, _ in res if st not in (404, 503)]
    check(not bad, "expected every request for an absent name answered 404 (absent) or 503 (past the bounds); "
                   "%d were not, e.g. %r; statuses %r" % (len(bad), bad[:5], statuses))
    check(not slow, "expected every request answered within 1 s; %d were not, e.g. %r" % (len(slow), slow[:5]))
    check(statuses.get(404, 0) >= 1, "expected some names asked of the origin and answered 404; statuses %r" % statuses)
    bound = rate * (int(took_all) + 2)
    check(conns <= bound, "expected the origin to get at most %d upstream connections (origin_connect_rate %d/s over "
                          "%.1f s) for %d absent names; it got %d" % (bound, rate, took_all, n, conns))
    worst = max(took for _, _, took in res)
    print("%d absent names from %d addresses: %r in %.2f s (slowest answer %.3f s); origin upstream connections %d "
          "(bound %d)" % (n, len(sources), statuses, took_all, worst, conns, bound))

    # 2. the same absent name again and again: answered from memory, the origin asked once
    time.sleep(1.1)                          # a new second of attempts
    before = upstream_conns(origin)
    first = flood(edge, ["again"], sources[:1])
    check(first[0][1] == 404, "expected 404 for the absent name 'again'; got %r" % (first,))
    res = flood(edge, ["again"] * 100, sources)
    again = upstream_conns(origin) - before
    check(all(st == 404 for _, st, _ in res) and max(t for _, _, t in res) < 1.0,
          "expected 100 repeats of an absent name all answered 404 within 1 s; got %r" %
          sorted(set((st, round(t, 2)) for _, st, t in res))[:10])
    check(again == 1, "expected one upstream connection for 101 requests of one absent name within "
                      "origin_absent_cache (2 s); the origin got %d" % again)
    print("one absent name 101 times: all 404, %d upstream connection" % again)

    # 3. RTMP players of absent names get StreamNotFound at once
    time.sleep(2.1)                          # the memory of 'again' ends; a new second of attempts
    for name in ("rtmp-absent-1", "rtmp-absent-2", "again"):
        code, took = rtmp_play_status(edge, name)
        check(code == "NetStream.Play.StreamNotFound" and took < 1.0,
              "expected NetStream.Play.StreamNotFound within 1 s for the absent %s over RTMP; got %s after %.2f s" % (
                  name, code, took))
    print("RTMP plays of absent names: NetStream.Play.StreamNotFound, each under 1 s")

    # 4. the real stream's players played on (the edge batches their writes
    # every 350 ms, mw_latency's default: that is their gap in steady state)
    for what, pl in (("RTMP", rtmp_pl), ("HTTP-FLV", flv_pl)):
        before = pl.max_gap(t0 - 1.5, t0)
        during = pl.max_gap(t0, t0 + took_all + 1.0)
        after = pl.max_gap(t0)
        check(pl.alive() and not pl.error and after < 1.0,
              "expected the %s player of the real stream to play on through the flood and the plays that "
              "followed (longest gap < 1 s); gap %.2f s, %s" % (what, after, pl.describe()))
        print("%s player of the real stream: longest gap %.2f s in the 1.5 s before the flood, %.2f s during it, "
              "%.2f s until the end" % (what, before, during, after))
    print("edge switches of the real stream's upstream for silence: %d" % sum(
        1 for l in edge.log().splitlines() if "live/%s: origin" % STREAM in l and "silent for" in l))
    edge.assert_running("after the flood")
    pub.stop()


@rill.timeout(60)
def test_edge_waits_for_a_stream_when_told_and_bounds_waiting_plays_per_address():
    origin = rill.Node(name="origin").start()
    wait = 2000
    edge = edge_node("edge", origin, "origin_wait_stream %d; waiting_plays_per_ip 4; " % wait).start()
    x, y = rill.new_ip(), rill.new_ip()

    # 6 plays of absent names from one address: 4 wait, 2 are refused at once;
    # another address is not affected; the waiting ones get 404 after the wait
    both = flood(edge, ["w-%d" % i for i in range(7)], [x] * 6 + [y])
    res, res_y = both[:6], both[6]
    refused = [r for r in res if r[1] == 503]
    waited = [r for r in res if r[1] == 404]
    check(len(refused) == 2 and all(t < 0.5 for _, _, t in refused),
          "expected 2 of 6 plays from one address refused with 503 at once (waiting_plays_per_ip 4); got %r" % res)
    check(len(waited) == 4 and all(wait / 1000.0 - 0.2 <= t <= wait / 1000.0 + 1.5 for _, _, t in waited),
          "expected 4 plays to wait about %d ms (origin_wait_stream) and get 404; got %r" % (wait, res))
    check(res_y[1] == 404 and res_y[2] >= wait / 1000.0 - 0.2,
          "expected the play from another address to wait too (404 after the wait); got %r" % (res_y,))
    print("one address, 6 plays of absent names: %s; another address: %s %.2fs" % (
        ", ".join("%s %.2fs" % (st, t) for _, st, t in res), res_y[1], res_y[2]))

    # players that give up waiting and close: the edge notices at once (their
    # places count no more), not when the wait ends 2 s later
    socks = []
    for i in range(4):
        c = socket.create_connection((edge.ip, edge.http_port), timeout=2.0)
        socks.append(c)
        c.sendall(("GET /live/gone-%d.flv HTTP/1.1\r\nHost: %s\r\n\r\n" % (i, edge.ip)).encode())
    time.sleep(0.3)
    t_close = time.monotonic()
    for c in socks:
        c.close()
    left = lambda: sum(1 for l in edge.log().splitlines() if "player left while waiting for the upstream" in l)
    check(rill.wait_until(lambda: left() >= 4, 1.0),
          "expected the edge to notice 4 waiting HTTP-FLV players closing within 1 s (the wait is %d ms); saw %d; "
          "log:\n%s" % (wait, left(), edge.tail(8)))
    noticed = time.monotonic() - t_close
    print("4 waiting HTTP-FLV players closed: the edge noticed within %.2f s" % noticed)

    # the same for RTMP players (their sockets are peeked too)
    before = left()
    rps = [rill.raw_player(edge, "gone-rtmp-%d" % i) for i in range(2)]
    check(rill.wait_until(lambda: all(getattr(p, "play_sent_at", None) for p in rps), 3.0),
          "expected 2 RTMP players to send their play; %s" % [p.describe() for p in rps])
    time.sleep(0.3)
    t_close = time.monotonic()
    for p in rps:
        p._stop = True
        p.conn.sock.shutdown(socket.SHUT_RDWR)
    check(rill.wait_until(lambda: left() >= before + 2, 1.0),
          "expected the edge to notice 2 waiting RTMP players closing within 1 s (the wait is %d ms); saw %d; "
          "log:\n%s" % (wait, left() - before, edge.tail(8)))
    print("2 waiting RTMP players closed: the edge noticed within %.2f s" % (time.monotonic() - t_close))
    for p in rps:
        p.stop()

    # a stream published while its player waits is played
    pl = httpflv.HttpFlvPlayer(edge.ip, edge.http_port, "/live/late.flv")
    rill._players.append(pl)
    t0 = time.monotonic()
    pl.start()
    time.sleep(0.7)
    pub = rill.publish(origin.url("late"), name="publisher-late")
    check(pl.wait_status(5.0) == 200 and pl.wait_frames(5, 6.0),
          "expected the waiting HTTP-FLV player to play the stream published 0.7 s after its request; %s; edge log:\n%s" %
          (pl.describe(), edge.tail(10)))
    print("player waiting for 'late': HTTP %s, first frame %.2f s after the request" % (
        pl.status, pl.frames()[0][0] - t0))
    # and over RTMP
    code, took = rtmp_play_status(edge, "late")
    check(code == "NetStream.Play.Start", "expected an RTMP play of 'late' to start; got %s" % code)
    pub.stop()
    edge.assert_running("after waiting plays")
