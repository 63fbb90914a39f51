"""Limits and timeouts: 414, 431, 413 (Content-Length and chunked), 408 (slowloris), idle."""
import os
import select
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from bbutil import Closed, Reader, Server, check, eq, request_bytes, run_tests  # noqa: E402


def expect_error_and_close(srv, raw, status, timeout=5.0):
    with srv.connect(timeout) as s:
        try:
            s.sendall(raw)
        except (BrokenPipeError, ConnectionResetError):
            pass
        r = Reader(s)
        resp = r.read_response()
        eq(resp.status, status, "status")
        eq(resp.header("connection", "").lower(), "close", "Connection header")
        check(r.at_eof(3.0), "connection not closed after %d" % status)
        return resp


def test_uri_too_long():
    with Server() as srv:
        resp = expect_error_and_close(srv, request_bytes("GET", "/hello?" + "a" * 10000), 414)
        check(resp.body, "error response has no body")


def test_uri_too_long_custom_limit():
    with Server("--max-request-line", "100") as srv:
        expect_error_and_close(srv, request_bytes("GET", "/" + "b" * 200), 414)
        # just under the limit is fine (404: no such route)
        with srv.connect() as s:
            s.sendall(request_bytes("GET", "/" + "b" * 50))
            eq(Reader(s).read_response().status, 404)


def test_header_too_large():
    with Server() as srv:
        expect_error_and_close(srv, request_bytes("GET", "/hello", [("X-Big", "v" * 70000)]), 431)


def test_too_many_headers():
    with Server() as srv:
        hdrs = [("X-H%d" % i, "v") for i in range(150)]
        expect_error_and_close(srv, request_bytes("GET", "/hello", hdrs), 431)


def test_header_count_custom_limit():
    with Server("--max-header-count", "10") as srv:
        hdrs = [("X-H%d" % i, "v") for i in range(12)]
        expect_error_and_close(srv, request_bytes("GET", "/hello", hdrs), 431)
        with srv.connect() as s:
            s.sendall(request_bytes("GET", "/hello", hdrs[:5]))
            eq(Reader(s).read_response().status, 200)


def test_body_too_large_content_length():
    with Server("--max-body", "1000") as srv:
        # the head alone is refused, the body never needs to be sent
        raw = b"POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 5000\r\n\r\n"
        expect_error_and_close(srv, raw, 413)
        # with the body sent too the response must still arrive (no reset)
        expect_error_and_close(srv, raw + b"z" * 5000, 413)
        # at the limit it is accepted
        with srv.connect() as s:
            s.sendall(request_bytes("POST", "/echo", body=b"k" * 1000))
            eq(Reader(s).read_response().body, b"k" * 1000)


def test_body_too_large_chunked():
    with Server("--max-body", "1000") as srv:
        raw = b"POST /echo HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n"
        raw += (b"190\r\n" + b"q" * 400 + b"\r\n") * 3 + b"0\r\n\r\n"
        expect_error_and_close(srv, raw, 413)


def test_header_timeout_slowloris():
    with Server("--header-timeout-ms", "500") as srv, srv.connect() as s:
        t0 = time.monotonic()
        s.sendall(b"GET /hello HTTP/1.1\r\nHost: x\r\n")
        # keep trickling header bytes: the head deadline is total, not per read
        answered = None
        try:
            for i in range(30):
                if select.select([s], [], [], 0.1)[0]:
                    answered = time.monotonic() - t0
                    break
                s.sendall(b"X-Slow-%d: 1\r\n" % i)
        except (BrokenPipeError, ConnectionResetError):
            answered = time.monotonic() - t0
        check(answered is not None, "no answer while trickling headers for 3s")
        check(answered < 1.5, "answered after %.2fs (header timeout 0.5s)" % answered)
        r = Reader(s)
        status = None
        try:
            status = r.read_response().status
        except (Closed, ConnectionResetError):
            pass
        check(status in (408, None), "unexpected status %r" % status)
        check(r.eof or r.at_eof(3.0), "connection not closed")


def test_header_timeout_answers_408():
    with Server("--header-timeout-ms", "300") as srv, srv.connect() as s:
        t0 = time.monotonic()
        s.sendall(b"GET /hello HTTP/1.1\r\nHost: x\r\n")
        r = Reader(s)
        resp = r.read_response()
        eq(resp.status, 408)
        dt = time.monotonic() - t0
        check(0.25 <= dt < 2.0, "408 after %.2fs" % dt)
        check(r.at_eof(2.0), "connection not closed after 408")


def test_body_timeout():
    with Server("--body-timeout-ms", "300") as srv, srv.connect() as s:
        s.sendall(b"POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 10\r\n\r\nabc")
        r = Reader(s)
        resp = r.read_response()
        eq(resp.status, 408)
        check(r.at_eof(2.0), "connection not closed after body timeout")


def test_idle_new_connection_closed():
    """A connection that never sends a byte must not be kept forever."""
    with Server("--header-timeout-ms", "300", "--keepalive-ms", "300") as srv, \
            srv.connect() as s:
        r = Reader(s)
        if r.at_eof(3.0):
            return
        # a 408 before closing is fine too
        check(r.buf, "silent connection still open after 3s (timeouts 300ms)")
        eq(r.read_response().status, 408)
        check(r.at_eof(2.0), "connection not closed after 408")


def test_server_survives_errors():
    with Server(workers=1) as srv:
        for _ in range(5):
            expect_error_and_close(srv, b"GARBAGE\r\n\r\n", 400)
        with srv.connect() as s:
            s.sendall(request_bytes("GET", "/hello"))
            eq(Reader(s).read_response().body, b"hello")


if __name__ == "__main__":
    run_tests(globals())
