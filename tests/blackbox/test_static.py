"""Static files over real sockets: a multi-MB file streamed in chunks while the same (single)
worker answers other requests; a reader that stalls and one that disconnects mid-file; ranges
and conditional requests; curl as a client."""
import hashlib
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from bbutil import Reader, Server, SkipTest, check, eq, request_bytes, run_tests  # noqa: E402

BIG = 6 * 1024 * 1024 + 123


def make_tree():
    d = tempfile.mkdtemp(prefix="spk-bb-static-")
    data = hashlib.sha256(b"seed").digest() * (BIG // 32 + 1)
    data = data[:BIG]
    with open(os.path.join(d, "big.bin"), "wb") as f:
        f.write(data)
    with open(os.path.join(d, "hello.txt"), "wb") as f:
        f.write(b"Hello, world!")
    return d, data


def static_server(d):
    return Server("--static", d, workers=1)


def read_all(sock, n, timeout=30.0):
    sock.settimeout(timeout)
    chunks, got = [], 0
    while got < n:
        b = sock.recv(min(1 << 20, n - got))
        if not b:
            break
        chunks.append(b)
        got += len(b)
    return b"".join(chunks)


def head_of(sock):
    buf = b""
    while b"\r\n\r\n" not in buf:
        b = sock.recv(1)
        if not b:
            raise AssertionError("closed before the head")
        buf += b
    return buf.decode("latin-1")


def test_big_file_while_other_requests_are_served():
    d, data = make_tree()
    try:
        with static_server(d) as srv:
            a = srv.connect(timeout=30)
            # A small receive buffer so that the server fills the socket and must wait.
            a.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 32768)
            a.sendall(request_bytes("GET", "/static/big.bin"))
            head = head_of(a)
            check(head.startswith("HTTP/1.1 200"), head)
            check(("content-length: %d" % BIG) in head.lower(), head)
            first = read_all(a, 100000)
            # Stall this reader; the single worker must still answer another connection fast.
            for _ in range(5):
                t0 = time.monotonic()
                b = srv.connect()
                b.sendall(request_bytes("GET", "/static/hello.txt", [("Connection", "close")]))
                resp = Reader(b).read_response()
                b.close()
                eq(resp.status, 200)
                eq(resp.body, b"Hello, world!")
                check(time.monotonic() - t0 < 1.0, "the loop was blocked by the big file")
            rest = read_all(a, BIG - len(first))
            body = first + rest
            eq(len(body), BIG)
            check(hashlib.sha256(body).digest() == hashlib.sha256(data).digest(),
                  "streamed bytes differ")
            # The connection is reusable after the file (keep-alive).
            a.sendall(request_bytes("GET", "/static/hello.txt"))
            eq(Reader(a).read_response().body, b"Hello, world!")
            a.close()
    finally:
        shutil.rmtree(d)


def test_reader_disconnects_mid_file():
    d, _ = make_tree()
    try:
        with static_server(d) as srv:
            for _ in range(3):
                a = srv.connect()
                a.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 32768)
                a.sendall(request_bytes("GET", "/static/big.bin"))
                head_of(a)
                read_all(a, 50000)
                # RST instead of FIN: the server's next write fails.
                a.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, b"\x01\x00\x00\x00\x00\x00\x00\x00")
                a.close()
            b = srv.connect()
            b.sendall(request_bytes("GET", "/static/hello.txt", [("Connection", "close")]))
            eq(Reader(b).read_response().status, 200)
            b.close()
    finally:
        shutil.rmtree(d)


def test_pipelined_big_then_small():
    d, data = make_tree()
    try:
        with static_server(d) as srv:
            a = srv.connect(timeout=30)
            a.sendall(request_bytes("GET", "/static/big.bin") +
                      request_bytes("GET", "/static/hello.txt", [("Connection", "close")]))
            r = Reader(a)
            first = r.read_response()
            eq(first.status, 200)
            eq(len(first.body), BIG)
            check(first.body == data, "bytes differ")
            second = r.read_response()
            eq(second.body, b"Hello, world!")
            a.close()
    finally:
        shutil.rmtree(d)


def test_range_and_conditional():
    d, data = make_tree()
    try:
        with static_server(d) as srv:
            a = srv.connect(timeout=30)
            r = Reader(a)
            a.sendall(request_bytes("GET", "/static/big.bin", [("Range", "bytes=1000000-5000000")]))
            resp = r.read_response()
            eq(resp.status, 206)
            eq(resp.header("content-range"), "bytes 1000000-5000000/%d" % BIG)
            check(resp.body == data[1000000:5000001], "range bytes differ")
            etag = resp.header("etag")
            a.sendall(request_bytes("GET", "/static/big.bin", [("If-None-Match", etag)]))
            resp = r.read_response()
            eq(resp.status, 304)
            eq(resp.body, b"")
            a.sendall(request_bytes("GET", "/static/big.bin", [("Range", "bytes=%d-" % BIG)]))
            resp = r.read_response()
            eq(resp.status, 416)
            eq(resp.header("content-range"), "bytes */%d" % BIG)
            a.sendall(request_bytes("HEAD", "/static/big.bin"))
            resp = r.read_response(method="HEAD")
            eq(resp.header("content-length"), str(BIG))
            a.close()
    finally:
        shutil.rmtree(d)


def test_curl_download():
    if not shutil.which("curl"):
        raise SkipTest("curl not installed")
    d, data = make_tree()
    try:
        with static_server(d) as srv:
            out = os.path.join(d, "out.bin")
            url = "http://127.0.0.1:%d/static/big.bin" % srv.port
            p = subprocess.run(["curl", "-sS", "--max-time", "30", "-o", out, url],
                               capture_output=True, timeout=40)
            eq(p.returncode, 0, p.stderr.decode(errors="replace"))
            with open(out, "rb") as f:
                check(f.read() == data, "curl download differs")
            # Resume a partial download (Range: bytes=N-).
            with open(out, "r+b") as f:
                f.truncate(BIG // 3)
            p = subprocess.run(["curl", "-sS", "--max-time", "30", "-C", "-", "-o", out, url],
                               capture_output=True, timeout=40)
            eq(p.returncode, 0, p.stderr.decode(errors="replace"))
            with open(out, "rb") as f:
                check(f.read() == data, "resumed download differs")
    finally:
        shutil.rmtree(d)


if __name__ == "__main__":
    run_tests(globals())
