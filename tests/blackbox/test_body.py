"""Request bodies: Content-Length split across reads, chunked, 100-continue, large bodies."""
import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from bbutil import Reader, Server, check, eq, request_bytes, run_tests  # noqa: E402


def test_content_length_split():
    body = b"0123456789" * 10
    with Server() as srv, srv.connect() as s:
        raw = request_bytes("POST", "/echo", [("Content-Type", "application/x-split")], body)
        head_len = raw.index(b"\r\n\r\n") + 4
        s.sendall(raw[:head_len - 3])
        time.sleep(0.05)
        s.sendall(raw[head_len - 3:head_len + 7])
        time.sleep(0.05)
        s.sendall(raw[head_len + 7:])
        resp = Reader(s).read_response()
        eq(resp.status, 200)
        eq(resp.body, body)
        eq(resp.header("content-type"), "application/x-split")


def test_chunked_body():
    with Server() as srv, srv.connect() as s:
        s.sendall(b"POST /echo HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n"
                  b"Content-Type: text/plain\r\n\r\n")
        time.sleep(0.05)
        s.sendall(b"5\r\nhello\r\n")
        time.sleep(0.05)
        s.sendall(b"1;ext=1\r\n \r\n6\r\nworld!\r\n0\r\nTrailer-X: 1\r\n\r\n")
        resp = Reader(s).read_response()
        eq(resp.status, 200)
        eq(resp.body, b"hello world!")


def test_expect_100_continue():
    body = b"x" * 2000
    with Server() as srv, srv.connect() as s:
        s.sendall(b"POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 2000\r\n"
                  b"Expect: 100-continue\r\n\r\n")
        r = Reader(s)
        interim = r.read_response(allow_interim=True)
        eq(interim.status, 100, "interim status")
        s.sendall(body)
        resp = r.read_response()
        eq(resp.status, 200)
        eq(resp.body, body)


def test_expect_100_body_already_sent():
    """A client that does not wait for 100 must still get a correct final response."""
    with Server() as srv, srv.connect() as s:
        s.sendall(b"POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\n"
                  b"Expect: 100-continue\r\n\r\nabc")
        resp = Reader(s).read_response()
        eq(resp.status, 200)
        eq(resp.body, b"abc")


def test_large_body():
    body = os.urandom(3 * 1024 * 1024)
    with Server() as srv, srv.connect(timeout=20) as s:
        s.sendall(request_bytes("POST", "/echo", body=body))
        resp = Reader(s).read_response()
        eq(resp.status, 200)
        check(resp.body == body, "3 MiB echo differs (%d bytes back)" % len(resp.body))


def test_large_chunked_body():
    parts = [os.urandom(n) for n in (1, 100, 65536, 70000, 5)]
    raw = b"POST /echo HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n"
    for p in parts:
        raw += b"%x\r\n" % len(p) + p + b"\r\n"
    raw += b"0\r\n\r\n"
    with Server() as srv, srv.connect(timeout=20) as s:
        s.sendall(raw)
        resp = Reader(s).read_response()
        eq(resp.status, 200)
        check(resp.body == b"".join(parts), "chunked echo differs")


def test_empty_body_post():
    with Server() as srv, srv.connect() as s:
        s.sendall(b"POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\n\r\n")
        resp = Reader(s).read_response()
        eq(resp.status, 200)
        eq(resp.body, b"")


if __name__ == "__main__":
    run_tests(globals())
