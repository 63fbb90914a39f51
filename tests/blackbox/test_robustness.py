"""Robustness: descriptor exhaustion (EMFILE) without spinning, garbage and resets, slow
readers, and the server still serving afterwards."""
import os
import random
import resource
import socket
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from bbutil import Closed, Reader, Server, check, eq, request_bytes, run_tests  # noqa: E402


def cpu_seconds(pid):
    with open("/proc/%d/stat" % pid) as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def hello_ok(srv):
    with srv.connect() as s:
        s.sendall(request_bytes("GET", "/hello"))
        return Reader(s).read_response().body == b"hello"


def test_emfile_does_not_spin():
    if not os.path.exists("/proc/self/stat"):
        return

    def limit_fds():
        resource.setrlimit(resource.RLIMIT_NOFILE, (48, 48))

    srv = Server(workers=1, preexec_fn=limit_fds).start()
    clients = []
    try:
        for _ in range(80):
            try:
                clients.append(socket.create_connection(("127.0.0.1", srv.port), timeout=2))
            except OSError:
                break
        time.sleep(0.3)
        c0 = cpu_seconds(srv.proc.pid)
        time.sleep(1.0)
        used = cpu_seconds(srv.proc.pid) - c0
        check(used < 0.3, "server burned %.2fs CPU in 1s while out of descriptors" % used)
        check(srv.proc.poll() is None, "server died")
        for c in clients:
            c.close()
        clients = []
        time.sleep(0.3)
        ok = False
        for _ in range(100):  # the accept back-off, and a loaded CI machine: up to ~10 s
            try:
                if hello_ok(srv):
                    ok = True
                    break
            except (OSError, Closed):
                time.sleep(0.1)
        check(ok, "server does not serve after the descriptor storm")
    finally:
        for c in clients:
            c.close()
        srv.cleanup()


def test_garbage_and_resets():
    rnd = random.Random(1234)
    with Server(workers=2) as srv:
        for i in range(150):
            s = srv.connect(timeout=2)
            try:
                kind = i % 3
                if kind == 0:
                    s.sendall(bytes(rnd.getrandbits(8) for _ in range(rnd.randint(1, 300))))
                elif kind == 1:
                    raw = request_bytes("POST", "/echo", body=b"x" * 100)
                    s.sendall(raw[:rnd.randint(1, len(raw) - 1)])
                else:
                    s.sendall(request_bytes("GET", "/slow?ms=20"))
                if rnd.random() < 0.5:
                    s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER,
                                 b"\x01\x00\x00\x00\x00\x00\x00\x00")
            except OSError:
                pass
            finally:
                s.close()
        time.sleep(0.2)
        check(hello_ok(srv), "server broken after garbage")


def test_slow_reader_big_echo():
    body = b"r" * (4 * 1024 * 1024)
    with Server(workers=1) as srv:
        s = srv.connect(timeout=10)
        s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 65536)
        try:
            s.sendall(request_bytes("POST", "/echo", body=body))
        except OSError:
            pass
        time.sleep(0.5)
        # meanwhile the worker serves others
        t0 = time.monotonic()
        check(hello_ok(srv), "worker blocked by a slow reader")
        check(time.monotonic() - t0 < 0.5, "worker slow while a reader stalls")
        # then the reader drains everything
        r = Reader(s)
        resp = r.read_response()
        eq(len(resp.body), len(body))
        s.close()


def test_reset_during_big_response():
    body = b"z" * (2 * 1024 * 1024)
    with Server(workers=1) as srv:
        for _ in range(5):
            s = srv.connect(timeout=5)
            s.sendall(request_bytes("POST", "/echo", body=body))
            s.recv(1000)
            s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, b"\x01\x00\x00\x00\x00\x00\x00\x00")
            s.close()
        time.sleep(0.2)
        check(hello_ok(srv), "server broken after resets mid-response")


if __name__ == "__main__":
    run_tests(globals())
