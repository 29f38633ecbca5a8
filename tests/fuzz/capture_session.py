#!/usr/bin/env python3
"""Capture real RTMP session bytes as fuzz seeds (stdlib only).

Runs objs/rill on a loopback address, puts a TCP relay in front of it that
records both directions of every connection, and has ffmpeg publish ~2 s of
testsrc2 + sine (libx264 + aac) through the relay while an ffmpeg player
reads the stream. Writes into tests/fuzz/corpus/:

  handshake/ffmpeg_publish.bin  C0C1 + S0S1S2 + C2 of the publish session
                                (the fuzz_handshake input layout)
  chunk/ffmpeg_publish.bin      what ffmpeg sent after the handshake
  chunk/ffmpeg_play.bin         what the ffmpeg player sent after it
  chunk/rill_play.bin           what rill sent the player after it
  flv/ffmpeg_x264_aac.flv       an FLV file written by ffmpeg (whole tags)
  flv/ffmpeg_hevc_*_seq.bin     a libx265 hvcC as legacy (id 12) and
                                Enhanced RTMP (hvc1) sequence headers

Each file is capped at 64 KiB. Then `make fuzz-seeds` extracts AMF0 and FLV
message seeds from the chunk captures. Usage (from the repository root,
after `make`):  python3 tests/fuzz/capture_session.py
"""

import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
CORPUS = os.path.join(ROOT, "tests", "fuzz", "corpus")
IP = "127.0.0.77"
CAP = 64 * 1024
HS_C0C1, HS_S0S1S2, HS_C2 = 1537, 3073, 1536
ENCODE = ["-c:v", "libx264", "-g", "25", "-c:a", "aac"]
SOURCES = ["-f", "lavfi", "-i", "testsrc2=size=320x240:rate=25", "-f", "lavfi", "-i", "sine"]


def free_port():
    s = socket.socket()
    s.bind((IP, 0))
    port = s.getsockname()[1]
    s.close()
    return port


def wait_port(port, timeout=10.0):
    end = time.time() + timeout
    while time.time() < end:
        try:
            socket.create_connection((IP, port), timeout=0.5).close()
            return
        except OSError:
            time.sleep(0.1)
    raise RuntimeError("rill did not listen on %s:%d" % (IP, port))


class Relay:
    """Accepts on listen_port, connects each client to the target port and
    records every byte in both directions, per connection, in order."""

    def __init__(self, listen_port, target_port):
        self.target = target_port
        self.sessions = []            # [{"c2s": bytearray, "s2c": bytearray}]
        self.lock = threading.Lock()
        self.sock = socket.socket()
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind((IP, listen_port))
        self.sock.listen(8)
        self.sock.settimeout(0.2)
        self.stopping = False
        self.threads = [threading.Thread(target=self.accept_loop, daemon=True)]
        self.threads[0].start()

    def accept_loop(self):
        while not self.stopping:
            try:
                client, _ = self.sock.accept()
            except socket.timeout:
                continue
            except OSError:
                return
            server = socket.create_connection((IP, self.target), timeout=5)
            rec = {"c2s": bytearray(), "s2c": bytearray()}
            with self.lock:
                self.sessions.append(rec)
            for src, dst, buf in ((client, server, rec["c2s"]), (server, client, rec["s2c"])):
                t = threading.Thread(target=self.pump, args=(src, dst, buf), daemon=True)
                t.start()
                self.threads.append(t)

    @staticmethod
    def pump(src, dst, buf):
        src.settimeout(10)
        try:
            while True:
                data = src.recv(65536)
                if not data:
                    break
                buf += data
                dst.sendall(data)
        except OSError:
            pass
        for s in (src, dst):
            try:
                s.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass

    def close(self):
        self.stopping = True
        self.sock.close()
        for t in self.threads:
            t.join(timeout=12)


def write(rel, data):
    path = os.path.join(CORPUS, rel)
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "wb") as f:
        f.write(bytes(data[:CAP]))
    print("%s (%d bytes)" % (os.path.relpath(path, ROOT), min(len(data), CAP)))


def run(cmd, timeout):
    subprocess.run(cmd, check=True, timeout=timeout, stdin=subprocess.DEVNULL)


def capture_sessions(tmp):
    rill = os.path.join(tmp, "rill")
    shutil.copy(os.path.join(ROOT, "objs", "rill"), rill)   # a private copy: make may rebuild meanwhile
    port, relay_port = free_port(), free_port()
    conf = os.path.join(tmp, "rill.conf")
    with open(conf, "w") as f:
        f.write("listen %s:%d;\ndaemon off;\npid %s/rill.pid;\nsrs_log_tank console;\n"
                "srs_log_level warn;\nvhost __defaultVhost__ { }\n" % (IP, port, tmp))
    server = subprocess.Popen([rill, "-c", conf], stdin=subprocess.DEVNULL)
    relay = None
    try:
        wait_port(port)
        relay = Relay(relay_port, port)
        url = "rtmp://%s:%d/live/fuzz" % (IP, relay_port)
        pub = subprocess.Popen(["ffmpeg", "-hide_banner", "-loglevel", "error", "-re"] + SOURCES +
                               ["-t", "2"] + ENCODE + ["-f", "flv", url], stdin=subprocess.DEVNULL)
        time.sleep(0.7)
        run(["ffmpeg", "-hide_banner", "-loglevel", "error", "-i", url, "-t", "1", "-c", "copy",
             "-f", "null", "-"], timeout=20)
        if pub.wait(timeout=20) != 0:
            raise RuntimeError("ffmpeg publish failed")
    finally:
        if relay:
            relay.close()
        server.send_signal(signal.SIGTERM)
        try:
            server.wait(timeout=10)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()
    if len(relay.sessions) < 2:
        raise RuntimeError("expected a publish and a play session, got %d" % len(relay.sessions))
    publish, play = relay.sessions[0], relay.sessions[1]
    hs = HS_C0C1 + HS_C2
    write("handshake/ffmpeg_publish.bin",
          publish["c2s"][:HS_C0C1] + publish["s2c"][:HS_S0S1S2] + publish["c2s"][HS_C0C1:hs])
    write("chunk/ffmpeg_publish.bin", publish["c2s"][hs:])
    write("chunk/ffmpeg_play.bin", play["c2s"][hs:])
    write("chunk/rill_play.bin", play["s2c"][HS_S0S1S2:])


def flv_file(tmp):
    out = os.path.join(tmp, "x.flv")
    run(["ffmpeg", "-hide_banner", "-loglevel", "error"] + SOURCES + ["-t", "1"] + ENCODE + [out], timeout=60)
    data = open(out, "rb").read()
    end = pos = 13                    # header + PreviousTagSize0; keep whole tags only
    while pos + 11 <= len(data):
        size = int.from_bytes(data[pos + 1:pos + 4], "big")
        nxt = pos + 11 + size + 4
        if nxt > min(len(data), CAP):
            break
        end = pos = nxt
    write("flv/ffmpeg_x264_aac.flv", data[:end])


def hevc(tmp):
    out = os.path.join(tmp, "x.mp4")
    run(["ffmpeg", "-hide_banner", "-loglevel", "error", "-f", "lavfi", "-i", "testsrc2=size=320x240:rate=25",
         "-frames:v", "1", "-c:v", "libx265", "-x265-params", "log-level=error", out], timeout=60)
    data = open(out, "rb").read()
    i = data.find(b"hvcC")
    if i < 4:
        raise RuntimeError("no hvcC box in the libx265 mp4")
    size = int.from_bytes(data[i - 4:i], "big")
    hvcc = data[i + 4:i - 4 + size]
    write("flv/ffmpeg_hevc_legacy_seq.bin", b"\x1c\x00\x00\x00\x00" + hvcc)
    write("flv/ffmpeg_hevc_hvc1_seq.bin", b"\x90hvc1" + hvcc)


def main():
    if not os.path.exists(os.path.join(ROOT, "objs", "rill")):
        sys.exit("capture_session: build objs/rill first (make)")
    tmp = tempfile.mkdtemp(prefix="rill-capture-")
    try:
        capture_sessions(tmp)
        flv_file(tmp)
        hevc(tmp)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
