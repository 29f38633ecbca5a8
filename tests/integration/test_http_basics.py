"""The HTTP server and API: static files with their MIME types, HEAD,
keep-alive, 404/405, path traversal refused (.., encoded, symlinks), request
limits (431, 414, 400), the slowloris header timeout, CORS, the API's JSON and
basic auth, a shared http/api listener, and a clean shutdown with HTTP
clients still connected."""

import hashlib
import http.client
import json
import os
import socket
import threading
import time

from lib import rill
from lib.rill import check

FILES = {
    "index.html": (b"<!doctype html><h1>rill</h1>\n", "text/html; charset=utf-8"),
    "app.js": (b"console.log('rill');\n", "text/javascript; charset=utf-8"),
    "style.css": (b"body { color: red }\n", "text/css; charset=utf-8"),
    "data.json": (b'{"a": 1}\n', "application/json"),
    "img.png": (b"\x89PNG\r\n\x1a\n" + bytes(range(256)), "image/png"),
    "pic.jpg": (b"\xff\xd8\xff\xe0jpeg", "image/jpeg"),
    "logo.svg": (b"<svg xmlns='http://www.w3.org/2000/svg'/>", "image/svg+xml"),
    "favicon.ico": (b"\x00\x00\x01\x00", "image/x-icon"),
    "live/s.m3u8": (b"#EXTM3U\n", "application/vnd.apple.mpegurl"),
    "live/s-1.ts": (b"\x47" * 188, "video/mp2t"),
    "v.flv": (b"FLV\x01\x05\x00\x00\x00\x09", "video/x-flv"),
    "v.mp4": (b"\x00\x00\x00\x18ftypmp42", "video/mp4"),
    "notes.txt": (b"hello\n", "text/plain; charset=utf-8"),
    "m.wasm": (b"\x00asm\x01\x00\x00\x00", "application/wasm"),
    "app.js.map": (b"{}", "application/json"),
    "noext": (b"raw", "application/octet-stream"),
    "sub/index.html": (b"<p>sub</p>\n", "text/html; charset=utf-8"),
}


def _www():
    d = rill.tmpdir("rill-www-")
    for name, (data, _) in FILES.items():
        p = os.path.join(d, name)
        os.makedirs(os.path.dirname(p), exist_ok=True)
        with open(p, "wb") as f:
            f.write(data)
    with open(os.path.join(d, "big.bin"), "wb") as f:
        f.write(os.urandom(3 * 1024 * 1024 + 17))
    os.symlink("/etc", os.path.join(d, "etc"))                    # a directory outside
    os.symlink("/etc/passwd", os.path.join(d, "passwd"))          # a file outside
    os.symlink("notes.txt", os.path.join(d, "inside-link.txt"))   # a link that stays inside
    return d


def _wait_port(ip, port, timeout=5.0):
    ok = rill.wait_until(lambda: _can_connect(ip, port), timeout)
    check(ok, "expected something to listen on %s:%d within %.0fs" % (ip, port, timeout))


def _can_connect(ip, port):
    try:
        socket.create_connection((ip, port), timeout=0.5).close()
        return True
    except OSError:
        return False


class Http:
    """A node with http_server (and http_api) on its own 127.0.0.x."""

    def __init__(self, header_timeout=10000, crossdomain="on", auth=False, shared=False, api=True):
        self.ip = rill.new_ip()
        self.www = _www()
        self.port = rill.free_port(self.ip)
        self.api_port = self.port if shared else rill.free_port(self.ip)
        extra = ("http_server { enabled on; listen %s:%d; dir %s; crossdomain %s; header_timeout %d; }\n" % (
            self.ip, self.port, self.www, crossdomain, header_timeout))
        if api:
            auth_block = "auth { enabled on; username admin; password 's3cret'; }" if auth else ""
            extra += "http_api { enabled on; listen %s:%d; crossdomain %s; %s }\n" % (
                self.ip, self.api_port, crossdomain, auth_block)
        self.node = rill.Node(ip=self.ip, global_extra=extra).start()
        _wait_port(self.ip, self.port)
        if api:
            _wait_port(self.ip, self.api_port)

    def conn(self, api=False, timeout=5):
        return http.client.HTTPConnection(self.ip, self.api_port if api else self.port, timeout=timeout)

    def get(self, path, method="GET", headers=None, api=False, body=None):
        c = self.conn(api)
        try:
            c.request(method, path, body=body, headers=headers or {})
            r = c.getresponse()
            return r.status, {k.lower(): v for k, v in r.getheaders()}, r.read()
        finally:
            c.close()

    def raw(self, data, timeout=5.0, api=False):
        """Send raw bytes (tolerating a close while sending) and return
        everything the server answers until it closes or goes quiet."""
        s = socket.create_connection((self.ip, self.api_port if api else self.port), timeout=timeout)
        out = b""
        try:
            try:
                s.sendall(data)
            except OSError:
                pass
            deadline = time.monotonic() + timeout
            while time.monotonic() < deadline:
                try:
                    d = s.recv(65536)
                except socket.timeout:
                    break
                except OSError:
                    break
                if not d:
                    break
                out += d
        finally:
            s.close()
        return out


def _status_of(raw):
    line = raw.split(b"\r\n", 1)[0]
    parts = line.split(b" ")
    return int(parts[1]) if len(parts) > 1 and parts[0].startswith(b"HTTP/") and parts[1].isdigit() else None


@rill.timeout(40)
def test_static_files_with_mime_types():
    h = Http()
    for name, (data, ctype) in FILES.items():
        st, hd, body = h.get("/" + name)
        check(st == 200, "expected GET /%s to be 200; got %s" % (name, st))
        check(hd.get("content-type") == ctype, "expected /%s to be served as %r; got %r" % (
            name, ctype, hd.get("content-type")))
        check(body == data, "expected /%s to have its %d bytes; got %d different ones" % (
            name, len(data), len(body)))
    st, hd, body = h.get("/")
    check(st == 200 and body == FILES["index.html"][0], "expected / to serve index.html; got %s %r" % (st, body[:60]))
    st, hd, body = h.get("/sub/")
    check(st == 200 and body == FILES["sub/index.html"][0], "expected /sub/ to serve sub/index.html; got %s" % st)
    st, hd, _ = h.get("/sub?x=1")
    check(st == 301 and hd.get("location") == "/sub/?x=1",
          "expected /sub (a directory) to redirect to /sub/?x=1; got %s location %r" % (st, hd.get("location")))
    # "//sub" would send a browser to the host "sub": the redirect keeps one leading slash
    st, hd, _ = h.get("//sub")
    check(st == 301 and hd.get("location") == "/sub/",
          "expected //sub to redirect to /sub/ (not //sub/, another host); got %s location %r" % (
              st, hd.get("location")))
    st, hd, body = h.get("/inside-link.txt")
    check(st == 200 and body == FILES["notes.txt"][0], "expected a symlink that stays inside dir to work; got %s" % st)
    st, hd, body = h.get("/big.bin")
    with open(os.path.join(h.www, "big.bin"), "rb") as f:
        want = f.read()
    check(st == 200 and hashlib.sha256(body).digest() == hashlib.sha256(want).digest(),
          "expected /big.bin (%d bytes) intact; got status %s and %d bytes" % (len(want), st, len(body)))


@rill.timeout(30)
def test_head_sends_headers_only():
    h = Http()
    c = h.conn()
    c.request("HEAD", "/big.bin")
    r = c.getresponse()
    body = r.read()
    size = os.path.getsize(os.path.join(h.www, "big.bin"))
    check(r.status == 200, "expected HEAD /big.bin to be 200; got %s" % r.status)
    check(r.getheader("Content-Length") == str(size), "expected HEAD to announce Content-Length %d; got %r" % (
        size, r.getheader("Content-Length")))
    check(body == b"", "expected no body for HEAD; got %d bytes" % len(body))
    # Had a body been sent, this second response on the same connection would be garbage.
    c.request("GET", "/notes.txt")
    r = c.getresponse()
    check(r.status == 200 and r.read() == FILES["notes.txt"][0],
          "expected a GET after HEAD on the same connection to work; got %s" % r.status)
    c.close()


@rill.timeout(30)
def test_keep_alive_two_requests_on_one_connection():
    h = Http()
    s = socket.create_connection((h.ip, h.port), timeout=5)
    f = s.makefile("rb")
    try:
        for path in ("/notes.txt", "/data.json"):
            s.sendall(("GET %s HTTP/1.1\r\nHost: x\r\n\r\n" % path).encode())
            status = f.readline()
            headers = {}
            while True:
                line = f.readline()
                check(line, "expected the response headers for %s; the connection closed" % path)
                if line in (b"\r\n", b"\n"):
                    break
                k, _, v = line.decode().partition(":")
                headers[k.strip().lower()] = v.strip()
            body = f.read(int(headers.get("content-length", "0")))
            check(b" 200 " in status, "expected 200 for %s on the kept-alive connection; got %r" % (path, status))
            check(headers.get("connection") == "keep-alive", "expected Connection: keep-alive; got %r" % (
                headers.get("connection")))
            check(body == FILES[path[1:]][0], "expected the body of %s; got %r" % (path, body[:40]))
    finally:
        f.close()
        s.close()
    # Pipelined: two requests in one write, two responses in order.
    out = h.raw(b"GET /notes.txt HTTP/1.1\r\nHost: x\r\n\r\nGET /noext HTTP/1.1\r\nHost: x\r\n"
                b"Connection: close\r\n\r\n")
    check(out.count(b"HTTP/1.1 200 OK") == 2 and out.index(b"hello") < out.index(b"raw"),
          "expected two pipelined requests to get two responses in order; got %r" % out[:300])
    # HTTP/1.0 without keep-alive: one response, then the server closes.
    out = h.raw(b"GET /notes.txt HTTP/1.0\r\n\r\n")
    check(_status_of(out) == 200 and b"Connection: close" in out,
          "expected an HTTP/1.0 request to be answered with Connection: close; got %r" % out[:200])


@rill.timeout(30)
def test_not_found_and_method_not_allowed():
    h = Http()
    st, _, _ = h.get("/no/such/file.html")
    check(st == 404, "expected a missing file to be 404; got %s" % st)
    st, hd, _ = h.get("/notes.txt", method="POST", body=b"x")
    check(st == 405 and "GET" in hd.get("allow", ""), "expected POST on a file to be 405 with Allow: GET; "
                                                       "got %s allow %r" % (st, hd.get("allow")))
    st, hd, _ = h.get("/api/v1/versions", method="DELETE", api=True)
    check(st == 405, "expected DELETE on /api/v1/versions to be 405; got %s" % st)


@rill.timeout(30)
def test_path_traversal_is_refused():
    h = Http()
    attempts = [
        "/../etc/passwd",
        "/../../../../etc/passwd",
        "/%2e%2e/%2e%2e/etc/passwd",
        "/%2E%2E/%2E%2E/etc/passwd",
        "/..%2f..%2fetc/passwd",
        "/.%2e/.%2e/etc/passwd",
        "/sub/../../etc/passwd",
        "/..\\..\\etc\\passwd",
        "/%5c..%5c..%5cetc/passwd",
        "/etc/passwd",          # www/etc is a symlink to /etc
        "/passwd",              # www/passwd is a symlink to /etc/passwd
        "/etc/",
    ]
    for p in attempts:
        out = h.raw(("GET %s HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n" % p).encode())
        st = _status_of(out)
        check(st in (400, 403, 404), "expected %s to be refused with 400/403/404; got %s: %r" % (p, st, out[:120]))
        check(b"root:" not in out, "expected no part of /etc/passwd for %s; the response had it" % p)
    h.node.assert_running("after traversal attempts")


@rill.timeout(30)
def test_request_limits():
    h = Http()
    big = b"GET /notes.txt HTTP/1.1\r\nHost: x\r\nX-Big: " + b"a" * (20 * 1024) + b"\r\n\r\n"
    st = _status_of(h.raw(big))
    check(st == 431, "expected a 20 KiB header to be refused with 431; got %s" % st)
    many = b"GET /notes.txt HTTP/1.1\r\nHost: x\r\n" + b"".join(b"X-H%d: v\r\n" % i for i in range(10000)) + b"\r\n"
    st = _status_of(h.raw(many))
    check(st == 431, "expected a request with 10,000 headers to be refused with 431; got %s" % st)
    long_url = b"GET /" + b"a" * 9000 + b" HTTP/1.1\r\nHost: x\r\n\r\n"
    st = _status_of(h.raw(long_url))
    check(st == 414, "expected a 9000-byte URL to be refused with 414; got %s" % st)
    for bad in (b"HELLO\r\n\r\n", b"GET / HTTP/1.1\r\nNo colon here\r\n\r\n", b"GET /a%zz HTTP/1.1\r\n\r\n"):
        st = _status_of(h.raw(bad))
        check(st == 400, "expected %r to be refused with 400; got %s" % (bad[:30], st))
    st, _, body = h.get("/notes.txt")
    check(st == 200, "expected the server to go on serving after refused requests; got %s" % st)
    h.node.assert_running("after oversized requests")


@rill.timeout(40)
def test_slowloris_is_cut_at_the_header_timeout():
    h = Http(header_timeout=2000)
    slow = socket.create_connection((h.ip, h.port), timeout=10)
    t0 = time.monotonic()
    closed_at = [None]

    def trickle():
        msg = b"GET /notes.txt HTTP/1.1\r\nHost: x\r\nX-Slow: " + b"z" * 200
        for i in range(len(msg)):
            try:
                slow.send(msg[i:i + 1])
            except OSError:
                closed_at[0] = time.monotonic() - t0
                return
            try:
                slow.settimeout(0.5)
                if slow.recv(4096) == b"":
                    closed_at[0] = time.monotonic() - t0
                    return
            except socket.timeout:
                pass
            except OSError:
                closed_at[0] = time.monotonic() - t0
                return

    th = threading.Thread(target=trickle, daemon=True)
    th.start()
    # Meanwhile other clients are served at once.
    served, slowest = 0, 0.0
    while th.is_alive() and time.monotonic() - t0 < 8:
        t = time.monotonic()
        st, _, body = h.get("/notes.txt")
        slowest = max(slowest, time.monotonic() - t)
        check(st == 200, "expected another client to be served during the slowloris; got %s" % st)
        served += 1
        time.sleep(0.2)
    th.join(10)
    slow.close()
    check(closed_at[0] is not None, "expected the trickling client to be closed; it was still open after %.1fs" % (
        time.monotonic() - t0))
    check(1.5 <= closed_at[0] <= 4.0, "expected the trickling client to be closed about 2 s (header_timeout) "
                                      "after connecting; it was closed after %.1fs" % closed_at[0])
    check(served >= 5 and slowest < 1.0, "expected other clients served quickly meanwhile; %d served, slowest "
                                         "%.2fs" % (served, slowest))


@rill.timeout(30)
def test_cors_headers_and_preflight():
    h = Http()
    st, hd, _ = h.get("/notes.txt")
    check(hd.get("access-control-allow-origin") == "*", "expected Access-Control-Allow-Origin: * with crossdomain on; "
                                                        "got %r" % hd.get("access-control-allow-origin"))
    st, hd, body = h.get("/api/v1/versions", method="OPTIONS", api=True,
                         headers={"Origin": "http://example.com", "Access-Control-Request-Method": "GET"})
    check(st == 200 and "GET" in hd.get("access-control-allow-methods", "") and body == b"",
          "expected an OPTIONS preflight to be 200 with Access-Control-Allow-Methods; got %s %r" % (
              st, hd.get("access-control-allow-methods")))
    st, hd, _ = h.get("/api/v1/versions", api=True)
    check(hd.get("access-control-allow-origin") == "*", "expected CORS headers on API responses too")


@rill.timeout(30)
def test_crossdomain_off_sends_no_cors():
    h = Http(crossdomain="off")
    st, hd, _ = h.get("/notes.txt")
    check(st == 200 and "access-control-allow-origin" not in hd,
          "expected no CORS header with crossdomain off; got %r" % hd.get("access-control-allow-origin"))
    st, _, _ = h.get("/notes.txt", method="OPTIONS")
    check(st == 405, "expected OPTIONS on a file to be 405 with crossdomain off; got %s" % st)


@rill.timeout(30)
def test_api_versions_and_health():
    h = Http()
    st, hd, body = h.get("/api/v1/versions", api=True)
    check(st == 200 and hd.get("content-type") == "application/json",
          "expected /api/v1/versions to be 200 application/json; got %s %r" % (st, hd.get("content-type")))
    try:
        j = json.loads(body)
    except ValueError as e:
        raise rill.TestFailure("expected /api/v1/versions to be JSON; %s: %r" % (e, body[:200]))
    with open(os.path.join(rill.ROOT, "VERSION")) as f:
        version = f.read().strip()
    check(j.get("code") == 0, "expected code 0; got %r" % j)
    check(str(j.get("server", "")).startswith("vid-") and j.get("service"), "expected server/service ids; got %r" % j)
    check(j.get("pid") == str(h.node.proc.pid), "expected pid %s; got %r" % (h.node.proc.pid, j.get("pid")))
    d = j.get("data", {})
    check(d.get("version") == version and "%s.%s.%s" % (d.get("major"), d.get("minor"), d.get("revision")) == version,
          "expected data to describe version %s; got %r" % (version, d))
    st, _, body = h.get("/api/v1/health", api=True)
    check(st == 200 and json.loads(body) == {"code": 0}, "expected /api/v1/health to be {\"code\":0}; got %s %r" % (
        st, body))
    st, _, _ = h.get("/api/v1/nothing", api=True)
    check(st == 404, "expected an unknown API path to be 404; got %s" % st)


@rill.timeout(30)
def test_api_basic_auth():
    import base64
    h = Http(auth=True)
    st, hd, _ = h.get("/api/v1/versions", api=True)
    check(st == 401 and hd.get("www-authenticate", "").startswith("Basic"),
          "expected 401 with WWW-Authenticate: Basic without credentials; got %s %r" % (st, hd.get("www-authenticate")))
    bad = "Basic " + base64.b64encode(b"admin:wrong").decode()
    st, _, _ = h.get("/api/v1/versions", api=True, headers={"Authorization": bad})
    check(st == 401, "expected 401 with a wrong password; got %s" % st)
    good = "Basic " + base64.b64encode(b"admin:s3cret").decode()
    st, _, body = h.get("/api/v1/versions", api=True, headers={"Authorization": good})
    check(st == 200 and json.loads(body).get("code") == 0, "expected 200 with the right credentials; got %s" % st)
    st, _, _ = h.get("/notes.txt")
    check(st == 200, "expected static files on their own port to need no credentials; got %s" % st)


@rill.timeout(30)
def test_shared_listener_serves_api_and_files():
    h = Http(shared=True)
    st, _, body = h.get("/notes.txt")
    check(st == 200 and body == FILES["notes.txt"][0], "expected files on the shared port; got %s" % st)
    st, _, body = h.get("/api/v1/versions")
    check(st == 200 and json.loads(body).get("code") == 0, "expected the API on the shared port; got %s" % st)
    check("http+api listen at %s:%d" % (h.ip, h.port) in h.node.log(),
          "expected one shared listener logged as 'http+api listen at %s:%d'" % (h.ip, h.port))


@rill.timeout(30)
def test_stop_with_http_clients_connected():
    h = Http()
    idle = [socket.create_connection((h.ip, h.port), timeout=5) for _ in range(5)]
    half = socket.create_connection((h.ip, h.port), timeout=5)
    half.sendall(b"GET /notes.txt HTTP/1.1\r\nHost: x\r\n")        # headers never finished
    kept = h.conn()
    kept.request("GET", "/notes.txt")
    kept.getresponse().read()                                       # a kept-alive idle connection
    time.sleep(0.3)
    dt = h.node.stop()   # asserts exit code 0 and no sanitizer report
    check(dt < 3.0, "expected rill to stop within 3 s with HTTP clients connected; it took %.1fs" % dt)
    for s in idle + [half]:
        s.close()
    kept.close()
