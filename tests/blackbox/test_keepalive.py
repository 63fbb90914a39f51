"""Keep-alive reuse, keep-alive timeout, Connection: close and HTTP/1.0 close rules."""
import http.client
import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from bbutil import Reader, Server, check, eq, request_bytes, run_tests  # noqa: E402


def test_reuse_raw_socket():
    with Server(workers=2) as srv, srv.connect() as s:
        r = Reader(s)
        for target, body in [("/hello", b"hello"), ("/json", b'{"message":"Hello, World!"}'),
                             ("/users/42", b"42"), ("/hello", b"hello")]:
            s.sendall(request_bytes("GET", target))
            resp = r.read_response()
            eq(resp.status, 200, target)
            eq(resp.body, body, target)
            check(resp.header("connection", "").lower() != "close", "unexpected close")
            check(resp.header("date") is not None, "Date header missing")
        check(not r.at_eof(0.2), "server closed a keep-alive connection")


def test_reuse_http_client():
    with Server() as srv:
        conn = http.client.HTTPConnection("127.0.0.1", srv.port, timeout=5)
        try:
            conn.request("GET", "/hello")
            r1 = conn.getresponse()
            eq(r1.read(), b"hello")
            sock1 = conn.sock
            conn.request("POST", "/echo", body=b"abc", headers={"Content-Type": "text/x-test"})
            r2 = conn.getresponse()
            eq(r2.status, 200)
            eq(r2.read(), b"abc")
            eq(r2.getheader("Content-Type"), "text/x-test")
            check(conn.sock is sock1, "http.client had to reconnect")
        finally:
            conn.close()


def test_keepalive_timeout_closes_idle():
    with Server("--keepalive-ms", "300") as srv, srv.connect() as s:
        r = Reader(s)
        s.sendall(request_bytes("GET", "/hello"))
        eq(r.read_response().status, 200)
        t0 = time.monotonic()
        check(r.at_eof(3.0), "idle keep-alive connection not closed")
        dt = time.monotonic() - t0
        check(dt >= 0.2, "closed too early (%.3fs)" % dt)


def test_connection_close_11():
    with Server() as srv, srv.connect() as s:
        r = Reader(s)
        s.sendall(request_bytes("GET", "/hello", [("Connection", "close")]))
        resp = r.read_response()
        eq(resp.status, 200)
        eq(resp.header("connection", "").lower(), "close")
        check(r.at_eof(2.0), "server did not close after Connection: close")


def test_http10_default_close():
    with Server() as srv, srv.connect() as s:
        r = Reader(s)
        s.sendall(request_bytes("GET", "/hello", version="HTTP/1.0", host=False))
        resp = r.read_response()
        eq(resp.status, 200)
        eq(resp.body, b"hello")
        check(resp.version in ("HTTP/1.0", "HTTP/1.1"), resp.version)
        check(resp.header("connection", "").lower() != "keep-alive", "1.0 kept alive")
        check(r.at_eof(2.0), "server did not close an HTTP/1.0 connection")


def test_http10_keepalive():
    with Server() as srv, srv.connect() as s:
        r = Reader(s)
        for _ in range(2):
            s.sendall(request_bytes("GET", "/hello", [("Connection", "keep-alive")],
                                    version="HTTP/1.0"))
            resp = r.read_response()
            eq(resp.status, 200)
            eq(resp.header("connection", "").lower(), "keep-alive")
            check(resp.header("content-length") is not None, "1.0 keep-alive needs a length")
        check(not r.at_eof(0.2), "server closed a 1.0 keep-alive connection")


def test_many_connections_many_workers():
    with Server(workers=4) as srv:
        socks = [srv.connect() for _ in range(40)]
        try:
            for s in socks:
                s.sendall(request_bytes("GET", "/hello"))
            for s in socks:
                eq(Reader(s).read_response().body, b"hello")
        finally:
            for s in socks:
                s.close()


def test_client_half_close_still_answered():
    """A client that sends its request and shuts down its write side still gets the answer."""
    import socket as _socket
    with Server() as srv, srv.connect() as s:
        s.sendall(request_bytes("GET", "/hello"))
        s.shutdown(_socket.SHUT_WR)
        r = Reader(s)
        eq(r.read_response().body, b"hello")
        check(r.at_eof(2.0), "server did not close after the peer's EOF")


def test_keepalive_timer_not_running_during_write():
    """The idle timer starts when the response has been written, not when it was queued: a
    response that takes longer than keepalive_timeout to drain keeps the connection usable."""
    import socket as _socket
    body = b"w" * (8 * 1024 * 1024)
    # After the last write completes, the kernel still holds megabytes the client must read
    # before it can send again: the keep-alive window must cover that on a loaded machine.
    with Server("--keepalive-ms", "1500", "--max-body", str(len(body))) as srv:
        s = _socket.create_connection(("127.0.0.1", srv.port), timeout=10)
        s.setsockopt(_socket.SOL_SOCKET, _socket.SO_RCVBUF, 65536)
        try:
            s.sendall(request_bytes("POST", "/echo", body=body))
            time.sleep(3.0)  # stall well past the keep-alive timeout with the response queued
            r = Reader(s)
            resp = r.read_response()
            eq(len(resp.body), len(body), "body length")
            check(resp.header("connection", "").lower() != "close", "response said close")
            s.sendall(request_bytes("GET", "/hello"))
            eq(r.read_response().body, b"hello", "second request on the connection")
        finally:
            s.close()


if __name__ == "__main__":
    run_tests(globals())
