"""Listening: IPv6, Unix domain sockets, port conflicts, several workers on one port."""
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from bbutil import (Reader, Server, SkipTest, check, eq, request_bytes,  # noqa: E402
                    run_tests, server_binary)


def test_ipv6_loopback():
    if not socket.has_ipv6:
        raise SkipTest("no IPv6")
    try:
        probe = socket.socket(socket.AF_INET6, socket.SOCK_STREAM)
        probe.bind(("::1", 0))
        probe.close()
    except OSError:
        raise SkipTest("no IPv6 loopback")
    with Server("--host", "::1") as srv:
        with socket.create_connection(("::1", srv.port), timeout=5) as s:
            s.settimeout(5)
            s.sendall(request_bytes("GET", "/hello"))
            eq(Reader(s).read_response().body, b"hello")


def test_unix_socket():
    d = tempfile.mkdtemp(prefix="spk-bb-")
    path = os.path.join(d, "srv.sock")
    try:
        # a stale socket file from a dead server is replaced
        stale = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        stale.bind(path)
        stale.close()
        with Server("--host", "unix:" + path) as srv:
            eq(srv.port, 0, "port of a Unix socket server")
            for _ in range(3):
                with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as s:
                    s.settimeout(5)
                    s.connect(path)
                    s.sendall(request_bytes("GET", "/hello") + request_bytes("GET", "/users/3"))
                    r = Reader(s)
                    eq(r.read_response().body, b"hello")
                    eq(r.read_response().body, b"3")
            if shutil.which("curl"):
                p = subprocess.run(["curl", "-sS", "--max-time", "5", "--unix-socket", path,
                                    "http://x/json"], capture_output=True, timeout=10)
                eq(p.stdout, b'{"message":"Hello, World!"}', p.stderr)
            # a second server on the same live socket is refused
            p = subprocess.run([server_binary(), "--host", "unix:" + path], capture_output=True,
                               timeout=10)
            check(p.returncode != 0, "second server bound a live Unix socket")
        check(not os.path.exists(path), "socket file left behind after exit")
    finally:
        shutil.rmtree(d, ignore_errors=True)


def test_port_in_use_is_an_error():
    with Server() as srv:
        p = subprocess.run([server_binary(), "--port", str(srv.port)], capture_output=True,
                           timeout=10)
        check(p.returncode != 0, "second server on a busy port started")
        check(b"bind" in p.stderr.lower() or b"listen" in p.stderr.lower(), p.stderr)


def test_fixed_port():
    # find a free port, then ask for it explicitly
    with socket.socket() as tmp:
        tmp.bind(("127.0.0.1", 0))
        port = tmp.getsockname()[1]
    with Server("--port", str(port), workers=3) as srv:
        eq(srv.port, port)
        for _ in range(10):
            with srv.connect() as s:
                s.sendall(request_bytes("GET", "/hello"))
                eq(Reader(s).read_response().body, b"hello")


def test_workers_default_cpu_count():
    with Server(workers=0) as srv:
        with srv.connect() as s:
            s.sendall(request_bytes("GET", "/hello"))
            eq(Reader(s).read_response().body, b"hello")
        srv.signal(signal.SIGTERM)
        eq(srv.wait(5), 0, "exit status")


if __name__ == "__main__":
    run_tests(globals())
