"""Async completion: a handler ending its response from another thread while the same worker
keeps serving; concurrency of async handlers; clients leaving before the response."""
import os
import socket
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from bbutil import Reader, Server, check, eq, request_bytes, run_tests  # noqa: E402


def test_worker_keeps_serving_while_async_pending():
    with Server(workers=1) as srv:
        a = srv.connect()
        b = srv.connect()
        try:
            t0 = time.monotonic()
            a.sendall(request_bytes("GET", "/slow?ms=500"))
            time.sleep(0.05)
            b.sendall(request_bytes("GET", "/hello"))
            eq(Reader(b).read_response().body, b"hello")
            t_hello = time.monotonic() - t0
            resp = Reader(a).read_response()
            t_slow = time.monotonic() - t0
            eq(resp.body, b"slow 500")
            check(t_hello < 0.3, "/hello took %.3fs while /slow was pending" % t_hello)
            check(t_slow >= 0.45, "/slow returned after %.3fs" % t_slow)
        finally:
            a.close()
            b.close()


def test_many_concurrent_async():
    n = 30
    results = [None] * n
    with Server(workers=1) as srv:
        def one(i):
            try:
                with srv.connect(timeout=5) as s:
                    s.sendall(request_bytes("GET", "/slow?ms=400"))
                    results[i] = Reader(s).read_response().body
            except Exception as e:  # noqa: BLE001
                results[i] = e
        t0 = time.monotonic()
        threads = [threading.Thread(target=one, args=(i,)) for i in range(n)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(10)
        dt = time.monotonic() - t0
    check(all(r == b"slow 400" for r in results), "results: %r" % results[:5])
    check(dt < 2.5, "%d concurrent 400ms handlers took %.2fs (serialized?)" % (n, dt))


def test_async_then_sync_on_same_connection():
    with Server(workers=1) as srv, srv.connect() as s:
        r = Reader(s)
        for i in range(5):
            s.sendall(request_bytes("GET", "/slow?ms=%d" % (i * 20)))
            eq(r.read_response().body, b"slow %d" % (i * 20))
            s.sendall(request_bytes("GET", "/hello"))
            eq(r.read_response().body, b"hello")


def test_zero_delay_async():
    with Server(workers=1) as srv, srv.connect() as s:
        r = Reader(s)
        s.sendall(b"".join(request_bytes("GET", "/slow?ms=0") for _ in range(50)))
        for _ in range(50):
            eq(r.read_response().body, b"slow 0")


def test_client_leaves_before_async_end():
    with Server(workers=1) as srv:
        for _ in range(10):
            s = srv.connect()
            s.sendall(request_bytes("GET", "/slow?ms=150"))
            s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, b"\x01\x00\x00\x00\x00\x00\x00\x00")
            s.close()  # RST
        time.sleep(0.4)  # the handlers end on orphaned exchanges
        with srv.connect() as s:
            s.sendall(request_bytes("GET", "/hello"))
            eq(Reader(s).read_response().body, b"hello")
        check(srv.proc.poll() is None, "server died")


def test_request_timeout_answers_408_and_keeps_serving():
    """A handler slower than the request timeout: 408 with an empty body, the connection
    closed, the late spk_res_end discarded (no crash, no leak under ASan), other clients
    served meanwhile."""
    with Server("--request-timeout-ms", 200, workers=1) as srv:
        s = srv.connect(timeout=5)
        try:
            t0 = time.monotonic()
            s.sendall(request_bytes("GET", "/slow?ms=700"))
            r = Reader(s).read_response()
            took = time.monotonic() - t0
            eq(r.status, 408)
            eq(r.body, b"")
            check(0.15 <= took < 0.6, "408 after %.3fs" % took)
            check(s.recv(1) == b"", "connection not closed after the 408")
        finally:
            s.close()
        with srv.connect(timeout=5) as b:
            b.sendall(request_bytes("GET", "/slow?ms=50"))
            eq(Reader(b).read_response().body, b"slow 50")
        time.sleep(0.7)  # the timed-out handler ends now: its exchange is released
        with srv.connect(timeout=5) as c:
            c.sendall(request_bytes("GET", "/hello"))
            eq(Reader(c).read_response().body, b"hello")
        check(srv.proc.poll() is None, "server died")


if __name__ == "__main__":
    run_tests(globals())
