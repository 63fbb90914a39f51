"""Background tasks over real sockets (spk-test-server /bg/...): they run after the response,
a full queue answers 503, and a graceful shutdown drains them (bounded by drain_timeout_ms:
queued leftovers are dropped, running ones asked to stop)."""
import os
import signal
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from bbutil import Reader, Server, check, eq, request_bytes, run_tests  # noqa: E402


def call(srv, method, target, body=b""):
    s = srv.connect()
    try:
        s.sendall(request_bytes(method, target, body=body))
        return Reader(s).read_response()
    finally:
        s.close()


def poll_state(srv, want, timeout=5.0):
    deadline = time.monotonic() + timeout
    got = None
    while time.monotonic() < deadline:
        got = call(srv, "GET", "/bg/state").body
        if got == want:
            return got
        time.sleep(0.02)
    return got


def stdout_lines(srv):
    """Everything the server printed after PORT (call once it has exited)."""
    return srv.proc.stdout.read().decode(errors="replace").splitlines()


def test_runs_after_response():
    srv = Server(workers=2).start()
    try:
        # The task takes 1 s; the response does not wait for it.
        resp = call(srv, "POST", "/bg/tasks?ms=1000", b"late")
        eq(resp.status, 202)
        eq(call(srv, "GET", "/bg/state").body, b"")
        eq(poll_state(srv, b"late#0"), b"late#0")
    finally:
        srv.cleanup()


def test_order_and_queue_full():
    conf = '{"background_tasks": {"max_queue": 3, "max_concurrency": 4}}'
    srv = Server("--configure", conf, workers=2).start()
    try:
        resp = call(srv, "POST", "/bg/tasks?n=4", b"x")
        eq(resp.status, 503)
        eq(resp.header("retry-after"), "1")
        check(b"service-unavailable" in resp.body, "problem details: %r" % resp.body)
        eq(call(srv, "POST", "/bg/tasks?n=3", b"y").status, 202)
        # One request's tasks run in spawn order; the refused request's never run.
        eq(poll_state(srv, b"y#0,y#1,y#2"), b"y#0,y#1,y#2")
    finally:
        srv.cleanup()


def test_shutdown_drains():
    srv = Server(workers=1).start()
    try:
        eq(call(srv, "POST", "/bg/tasks?ms=400", b"slow").status, 202)
        srv.signal(signal.SIGTERM)
        eq(srv.wait(10), 0, "exit status")
        check("TASK slow#0" in stdout_lines(srv), "the task did not finish before exit")
    finally:
        srv.cleanup()


def test_drain_timeout_drops_leftovers():
    conf = '{"background_tasks": {"max_concurrency": 1, "drain_timeout_ms": 100}}'
    srv = Server("--configure", conf, workers=1).start()
    try:
        eq(call(srv, "POST", "/bg/tasks?n=3&ms=3000", b"d").status, 202)
        time.sleep(0.1)  # d#0 is running
        t0 = time.monotonic()
        srv.signal(signal.SIGTERM)
        eq(srv.wait(10), 0, "exit status")
        check(time.monotonic() - t0 < 2.5, "shutdown waited for the whole task")
        out = stdout_lines(srv)
        check("TASK-CANCELLED d#0" in out, "running task not cancelled: %r" % out)
        check(not any("d#1" in line or "d#2" in line for line in out), "dropped tasks ran: %r" % out)
        check("drain timeout: 2 task(s) dropped" in srv.stderr_text(), srv.stderr_text())
    finally:
        srv.cleanup()


if __name__ == "__main__":
    run_tests(globals())
