"""Graceful shutdown: in-flight requests complete, idle connections close, new connections are
refused, the process exits 0 within the shutdown timeout; stragglers are cut at the timeout."""
import os
import signal
import socket
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from bbutil import Closed, Reader, Server, check, eq, request_bytes, run_tests  # noqa: E402


def refused(port):
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=2) as s:
            s.settimeout(2)
            s.sendall(request_bytes("GET", "/hello"))
            data = s.recv(100)
            return data == b""
    except (ConnectionRefusedError, ConnectionResetError, BrokenPipeError):
        return True
    except socket.timeout:
        return False


def test_inflight_completes_on_sigterm():
    srv = Server("--shutdown-timeout-ms", "5000", workers=2).start()
    try:
        slow = srv.connect()
        slow.sendall(request_bytes("GET", "/slow?ms=800"))
        idle = srv.connect()
        idle.sendall(request_bytes("GET", "/hello"))
        idle_r = Reader(idle)
        eq(idle_r.read_response().body, b"hello")
        time.sleep(0.2)  # the slow request is in its handler
        t0 = time.monotonic()
        srv.signal(signal.SIGTERM)
        # the idle keep-alive connection is closed promptly
        check(idle_r.at_eof(1.0), "idle connection not closed on shutdown")
        # new connections are refused while the slow one is still running
        time.sleep(0.1)
        check(refused(srv.port), "server still accepts after SIGTERM")
        r = Reader(slow)
        resp = r.read_response()
        eq(resp.status, 200)
        eq(resp.body, b"slow 800")
        eq(resp.header("connection", "").lower(), "close")
        check(r.at_eof(2.0), "in-flight connection not closed after its response")
        rc = srv.wait(5)
        dt = time.monotonic() - t0
        eq(rc, 0, "exit status")
        check(dt < 3.0, "shutdown took %.2fs" % dt)
        slow.close()
        idle.close()
    finally:
        srv.cleanup()


def test_sigint_idle_exit():
    srv = Server(workers=3).start()
    try:
        with srv.connect() as s:
            s.sendall(request_bytes("GET", "/hello"))
            eq(Reader(s).read_response().body, b"hello")
            t0 = time.monotonic()
            srv.signal(signal.SIGINT)
            rc = srv.wait(5)
            eq(rc, 0, "exit status")
            check(time.monotonic() - t0 < 2.0, "idle shutdown was slow")
    finally:
        srv.cleanup()


def test_shutdown_timeout_cuts_stragglers():
    srv = Server("--shutdown-timeout-ms", "300", workers=1).start()
    try:
        s = srv.connect()
        s.sendall(request_bytes("GET", "/slow?ms=2500"))
        time.sleep(0.2)
        t0 = time.monotonic()
        srv.signal(signal.SIGTERM)
        r = Reader(s)
        got = None
        try:
            got = r.read_response()
        except (Closed, ConnectionResetError):
            pass
        cut = time.monotonic() - t0
        check(got is None, "expected the connection to be cut, got %r" % got)
        check(cut < 1.5, "connection cut after %.2fs (timeout 0.3s)" % cut)
        # the process waits for its handler thread (2.5s) and exits 0
        rc = srv.wait(6)
        eq(rc, 0, "exit status")
        s.close()
    finally:
        srv.cleanup()


def test_partial_request_closed_on_shutdown():
    srv = Server(workers=1).start()
    try:
        s = srv.connect()
        s.sendall(b"GET /hello HTTP/1.1\r\nHost: x\r\n")  # incomplete head
        time.sleep(0.1)
        srv.signal(signal.SIGTERM)
        r = Reader(s)
        try:
            r.read_response()
        except (Closed, ConnectionResetError):
            pass
        eq(srv.wait(5), 0, "exit status")
        s.close()
    finally:
        srv.cleanup()


def test_shutdown_under_load():
    srv = Server("--shutdown-timeout-ms", "3000", workers=2).start()
    errors = []
    stop = threading.Event()

    def client():
        while not stop.is_set():
            try:
                with socket.create_connection(("127.0.0.1", srv.port), timeout=2) as s:
                    s.settimeout(3)
                    s.sendall(request_bytes("GET", "/hello"))
                    resp = Reader(s).read_response()
                    if resp.status != 200 or resp.body != b"hello":
                        errors.append(resp)
            except (OSError, Closed):
                pass  # refused / cut while shutting down: fine
    threads = [threading.Thread(target=client) for _ in range(4)]
    try:
        for t in threads:
            t.start()
        time.sleep(0.5)
        srv.signal(signal.SIGTERM)
        rc = srv.wait(6)
        eq(rc, 0, "exit status")
    finally:
        stop.set()
        for t in threads:
            t.join(10)
        srv.cleanup()
    check(not errors, "bad responses: %r" % errors[:3])


if __name__ == "__main__":
    run_tests(globals())
