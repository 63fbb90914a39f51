"""Request sequences on one keep-alive connection that reuse per-connection state: a request
with a body followed (after the first response is written) by requests without one, and mixes
of Content-Length, chunked and empty bodies."""
import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from bbutil import Reader, Server, eq, request_bytes, run_tests  # noqa: E402


def test_body_then_no_body_after_write():
    """Per-request body state must not leak into the next request once the previous exchange
    is gone (was: '\\0' written into the freed arena of the previous exchange)."""
    with Server(workers=1) as srv, srv.connect() as s:
        r = Reader(s)
        s.sendall(request_bytes("POST", "/echo", body=b"x" * 5000))
        eq(len(r.read_response().body), 5000)
        time.sleep(0.05)  # the first exchange has been written and freed
        for _ in range(3):
            s.sendall(request_bytes("GET", "/hello"))
            eq(r.read_response().body, b"hello")


def test_mixed_sequence():
    chunked = (b"POST /echo HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n"
               b"4\r\nabcd\r\n0\r\n\r\n")
    with Server(workers=1) as srv, srv.connect() as s:
        r = Reader(s)
        for i in range(5):
            s.sendall(request_bytes("POST", "/echo", body=b"b%d" % i))
            eq(r.read_response().body, b"b%d" % i)
            s.sendall(b"POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\n\r\n")
            eq(r.read_response().body, b"")
            s.sendall(chunked)
            eq(r.read_response().body, b"abcd")
            s.sendall(request_bytes("GET", "/users/%d" % i))
            eq(r.read_response().body, str(i).encode())
            time.sleep(0.01)


if __name__ == "__main__":
    run_tests(globals())
