"""Streaming responses over real sockets (spk-test-server's /stream/* routes).

- a slow reader holds the producer back: while the client does not read, the pull producer
  stops once the socket buffers are full, and it resumes when the client reads again;
- a client that disconnects makes the server call the stream's cancel callback (pull stream,
  and an idle event stream whose keep-alive comment finds the socket gone);
- a complete stream ends with the terminating chunk and the connection serves the next
  request (keep-alive);
- curl reads a chunked stream and an event stream with keep-alive comments.
"""
import json
import shutil
import socket
import subprocess
import time

from bbutil import Server, Reader, check, eq, request_bytes, run_tests, connect


def stats(port):
    with connect(port) as s:
        s.sendall(request_bytes("GET", "/stream/stats"))
        return json.loads(Reader(s).read_response().body)


def wait_for(fn, timeout=3.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        v = fn()
        if v:
            return v
        time.sleep(0.05)
    return fn()


def test_slow_reader_backpressure():
    with Server("--workers", "1") as srv:
        s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 32768)
        s.settimeout(5)
        s.connect(("127.0.0.1", srv.port))
        s.sendall(request_bytes("GET", "/stream/pull?chunk=16384"))
        s.recv(4096)  # the head and the first bytes, then stop reading
        time.sleep(1.0)
        a = stats(srv.port)
        time.sleep(0.5)
        b = stats(srv.port)
        # Without back-pressure a producer makes gigabytes a second; with it, it stops once the
        # kernel buffers (a few MB at most on loopback) are full.
        check(a["bytes"] < 32 << 20, "producer ran ahead of the reader: %r" % a)
        eq(b["pulls"], a["pulls"], "the producer was called while nothing drained")
        # Reading again lets it go on.
        got = 0
        deadline = time.monotonic() + 3
        while got < 4 * a["bytes"] + (1 << 20) and time.monotonic() < deadline:
            data = s.recv(1 << 20)
            if not data:
                break
            got += len(data)
        c = stats(srv.port)
        check(c["pulls"] > b["pulls"], "the producer did not resume: %r -> %r" % (b, c))
        s.close()
        check(wait_for(lambda: stats(srv.port)["cancels"] >= 1), "no cancel after disconnect")


def test_disconnect_cancels_idle_sse():
    with Server("--workers", "1") as srv:
        before = stats(srv.port)["cancels"]
        s = connect(srv.port)
        s.sendall(request_bytes("GET", "/stream/sse?keepalive=50", [("Accept", "text/event-stream")]))
        r = Reader(s)
        _, status, _, headers = r.read_head()
        eq(status, 200)
        check(("content-type", "text/event-stream") in headers, repr(headers))
        r._line()  # the first chunk's size line: a keep-alive comment is on its way
        s.close()
        check(wait_for(lambda: stats(srv.port)["cancels"] > before),
              "cancel was not called after the client went away")


def test_complete_stream_keeps_connection():
    with Server("--workers", "1") as srv:
        s = connect(srv.port)
        s.sendall(request_bytes("GET", "/stream/pull?chunk=1000&limit=50") +
                  request_bytes("GET", "/hello"))
        r = Reader(s)
        resp = r.read_response()
        eq(resp.status, 200)
        eq(resp.header("transfer-encoding"), "chunked")
        eq(len(resp.body), 50000)
        eq(r.read_response().body, b"hello")
        s.close()


def test_shutdown_cuts_open_streams():
    srv = Server("--workers", "1", "--shutdown-timeout-ms", "60000").start()
    try:
        idle = connect(srv.port)
        idle.sendall(request_bytes("GET", "/stream/sse?keepalive=-1"))
        busy = connect(srv.port)
        busy.sendall(request_bytes("GET", "/stream/pull?chunk=4096"))
        busy.recv(65536)
        time.sleep(0.2)
        t0 = time.monotonic()
        srv.signal()
        # The busy stream is drained by a reader until the server closes it.
        busy.settimeout(0.2)
        deadline = t0 + 20
        while time.monotonic() < deadline:
            try:
                if not busy.recv(1 << 20):
                    break
            except socket.timeout:
                pass
            except ConnectionResetError:
                break
        rc = srv.wait(20)
        eq(rc, 0, "server exit status")
        # Far below the 60 s shutdown timeout: the streams were cut, not waited for.
        check(time.monotonic() - t0 < 15, "streams held the shutdown for %.1fs" % (time.monotonic() - t0))
        idle.close()
        busy.close()
    finally:
        srv.cleanup()


def test_curl():
    curl = shutil.which("curl")
    if not curl:
        return
    with Server("--workers", "1") as srv:
        out = subprocess.run([curl, "-sS", "--max-time", "5",
                              "http://127.0.0.1:%d/stream/pull?chunk=100&limit=7" % srv.port],
                             capture_output=True, check=True).stdout
        eq(len(out), 700)
        out = subprocess.run([curl, "-sS", "-N", "--max-time", "0.5",
                              "http://127.0.0.1:%d/stream/sse?keepalive=100" % srv.port],
                             capture_output=True).stdout
        check(out.count(b": keep-alive\n\n") >= 2, repr(out[:200]))


if __name__ == "__main__":
    run_tests(globals())
