"""nginx with the RTMP module (Debian nginx + libnginx-mod-rtmp) as a real
RTMP peer for interop tests; and conf/nginx-front.conf as the HTTP front
(front()).

It always runs as a plain foreground process of the test (never the system
service): its own prefix directory, conf, pid file and error log, on its own
127.0.0.x and a free port, registered with lib.rill so cleanup() stops it by
pid like everything else.

    ng = Nginx()                                       # application live { live on; }
    ng = Nginx(apps={"live": "live on; pull rtmp://127.0.0.12:1935/live;"})
"""

import os
import re
import shutil
import socket
import types

from . import rill
from .rill import check

NGINX_RTMP_MODULE = "/usr/lib/nginx/modules/ngx_rtmp_module.so"


def available():
    """(True, "") when nginx and its RTMP module are installed, else (False, why)."""
    nginx = shutil.which("nginx") or "/usr/sbin/nginx"
    if not os.path.exists(nginx):
        return False, "nginx is not installed (bash scripts/install-deps.sh)"
    if not os.path.exists(NGINX_RTMP_MODULE):
        return False, "%s is missing (Debian libnginx-mod-rtmp; bash scripts/install-deps.sh)" % NGINX_RTMP_MODULE
    return True, ""


class Nginx:
    """nginx-rtmp on 127.0.0.x: `apps` maps application names to the body of
    their application { } block."""

    def __init__(self, name="nginx-rtmp", apps=None, ip=None, port=None, timeout=10.0):
        ok, why = available()
        check(ok, "expected nginx with the RTMP module: " + why)
        self.name = name
        self.ip = ip or rill.new_ip()
        self.port = port or rill.free_port(self.ip)
        self.dir = rill.tmpdir("rill-nginx-")
        self.error_log = os.path.join(self.dir, "error.log")
        self.conf_path = os.path.join(self.dir, "nginx.conf")
        apps = apps or {"live": "live on;"}
        blocks = "".join("        application %s { %s }\n" % (a, body) for a, body in apps.items())
        self.conf = (
            "load_module %s;\n"
            "daemon off;\n"
            "master_process off;\n"
            "worker_processes 1;\n"
            "error_log %s info;\n"
            "pid %s;\n"
            "events { worker_connections 256; }\n"
            "rtmp {\n"
            "    server {\n"
            "        listen %s:%d;\n"
            "%s"
            "    }\n"
            "}\n" % (NGINX_RTMP_MODULE, self.error_log, os.path.join(self.dir, "nginx.pid"),
                     self.ip, self.port, blocks))
        with open(self.conf_path, "w") as f:
            f.write(self.conf)
        nginx = shutil.which("nginx") or "/usr/sbin/nginx"
        self.proc = rill.Proc(name, [nginx, "-p", self.dir, "-c", self.conf_path, "-e", self.error_log],
                              os.path.join(self.dir, "stderr.log"))
        ok = rill.wait_until(self._accepting, timeout)
        check(ok and self.proc.alive(), "expected %s to accept on %s:%d within %.0f s; %s; error log:\n%s" % (
            name, self.ip, self.port, timeout, rill.proc_state(self.proc), self.log(15)))

    def _accepting(self):
        if not self.proc.alive():
            return True
        try:
            socket.create_connection((self.ip, self.port), timeout=0.5).close()
            return True
        except OSError:
            return False

    def url(self, stream, app="live"):
        return "rtmp://%s:%d/%s/%s" % (self.ip, self.port, app, stream)

    def alive(self):
        return self.proc.alive()

    def log(self, n=30):
        try:
            with open(self.error_log, "rb") as f:
                return rill.sanitize_lines(f.read().decode("utf-8", "replace"), n)
        except OSError:
            return "(no error log)"

    def stop(self):
        return self.proc.stop(2.0)


def front(up_ip, up_port):
    """conf/nginx-front.conf as it ships (HTTP-FLV, HLS cache, player page), on
    its own address and directory, in front of one node's HTTP server at
    up_ip:up_port. .ip, .http_port, .proc."""
    d = rill.tmpdir("rill-front-")
    ip = rill.new_ip()
    port = rill.free_port(ip)
    with open(os.path.join(rill.ROOT, "conf", "nginx-front.conf")) as f:
        conf = f.read()
    conf = re.sub(r"listen\s+127\.0\.0\.1:8080;", "listen %s:%d;" % (ip, port), conf)
    conf = re.sub(r"(\n\s*server\s+127\.0\.0\.21:8080[^\n]*)\n\s*server\s+127\.0\.0\.22:8080[^\n]*",
                  "\n        server  %s:%d max_fails=2 fail_timeout=5s;" % (up_ip, up_port), conf)
    conf = conf.replace("/run/nginx-rill-front.pid", os.path.join(d, "nginx.pid"))
    conf = re.sub(r"/var/log/nginx/rill-front\.([a-z]+)\.log", os.path.join(d, r"\1.log"), conf)
    conf = conf.replace("/var/lib/nginx/", d + "/tmp/")
    conf = conf.replace("worker_processes    auto;", "worker_processes    2;")
    os.makedirs(os.path.join(d, "tmp"))
    os.chmod(d, 0o755)   # nginx's workers (not root) reach the cache below it
    path = os.path.join(d, "nginx.conf")
    with open(path, "w") as f:
        f.write(conf)
    nginx = shutil.which("nginx") or "/usr/sbin/nginx"
    proc = rill.Proc("nginx-front", [nginx, "-p", d, "-c", path, "-e", os.path.join(d, "error.log"),
                                     "-g", "daemon off;"], os.path.join(d, "stderr.log"))
    ok = rill.wait_until(lambda: not proc.alive() or _accepts(ip, port), 10)
    check(ok and proc.alive(), "expected nginx with conf/nginx-front.conf to start; %s" % proc.tail(10))
    return types.SimpleNamespace(ip=ip, http_port=port, proc=proc)


def _accepts(ip, port):
    try:
        socket.create_connection((ip, port), timeout=0.5).close()
        return True
    except OSError:
        return False
