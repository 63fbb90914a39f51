"""Pipelining: several requests in one send are answered in order, async ones included."""
import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from bbutil import Reader, Server, check, eq, request_bytes, run_tests  # noqa: E402


def test_three_in_one_send():
    with Server() as srv, srv.connect() as s:
        s.sendall(request_bytes("GET", "/hello") + request_bytes("GET", "/json") +
                  request_bytes("GET", "/users/7"))
        r = Reader(s)
        eq(r.read_response().body, b"hello")
        eq(r.read_response().body, b'{"message":"Hello, World!"}')
        eq(r.read_response().body, b"7")


def test_slow_async_first_keeps_order():
    with Server(workers=1) as srv, srv.connect() as s:
        t0 = time.monotonic()
        s.sendall(request_bytes("GET", "/slow?ms=300") + request_bytes("GET", "/hello") +
                  request_bytes("POST", "/echo", [("Content-Type", "text/plain")], b"body!"))
        r = Reader(s)
        first = r.read_response()
        eq(first.body, b"slow 300")
        check(time.monotonic() - t0 >= 0.28, "slow response came too early")
        eq(r.read_response().body, b"hello")
        third = r.read_response()
        eq(third.body, b"body!")
        eq(third.header("content-type"), "text/plain")


def test_pipelined_bodies_and_chunked():
    chunked = (b"POST /echo HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n"
               b"3\r\nabc\r\n2\r\nde\r\n0\r\n\r\n")
    with Server() as srv, srv.connect() as s:
        s.sendall(request_bytes("POST", "/echo", body=b"first") + chunked +
                  request_bytes("GET", "/hello"))
        r = Reader(s)
        eq(r.read_response().body, b"first")
        eq(r.read_response().body, b"abcde")
        eq(r.read_response().body, b"hello")


def test_many_pipelined():
    n = 200
    with Server(workers=1) as srv, srv.connect(timeout=10) as s:
        s.sendall(b"".join(request_bytes("GET", "/users/%d" % i) for i in range(n)))
        r = Reader(s)
        for i in range(n):
            eq(r.read_response().body, str(i).encode(), "response %d" % i)


def test_pipelined_byte_by_byte():
    raw = request_bytes("GET", "/hello") + request_bytes("GET", "/users/9")
    with Server() as srv, srv.connect() as s:
        s.setsockopt(__import__("socket").IPPROTO_TCP, __import__("socket").TCP_NODELAY, 1)
        for i in range(len(raw)):
            s.send(raw[i:i + 1])
            if i % 16 == 0:
                time.sleep(0.001)
        r = Reader(s)
        eq(r.read_response().body, b"hello")
        eq(r.read_response().body, b"9")


def test_head_request():
    with Server() as srv, srv.connect() as s:
        s.sendall(request_bytes("HEAD", "/hello") + request_bytes("GET", "/hello"))
        r = Reader(s)
        head = r.read_response("HEAD")
        eq(head.status, 200)
        eq(head.header("content-length"), "5")
        eq(r.read_response().body, b"hello")


if __name__ == "__main__":
    run_tests(globals())
