"""Edge middleware over real sockets: route body limits (early 413 from Content-Length, while
streaming a chunked body, connection closed and drained), CORS preflight and simple requests,
request ids and the access log."""
import json
import os
import re
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from bbutil import Reader, Server, check, eq, request_bytes, run_tests  # noqa: E402

ROUTE_DETAIL = "The request body exceeds the maximum size allowed for this route"


def expect_413_close(srv, raw, detail=ROUTE_DETAIL):
    with srv.connect(5.0) as s:
        try:
            s.sendall(raw)
        except (BrokenPipeError, ConnectionResetError):
            pass
        r = Reader(s)
        resp = r.read_response()
        eq(resp.status, 413, "status")
        eq(resp.header("connection", "").lower(), "close", "Connection header")
        eq(resp.header("content-type"), "application/problem+json; charset=utf-8")
        body = json.loads(resp.body)
        eq(body["type"], "https://spikard.dev/errors/payload-too-large")
        eq(body["detail"], detail)
        check(r.at_eof(3.0), "connection not closed after 413")


def test_route_limit_from_content_length():
    with Server() as srv:
        head = b"POST /limited HTTP/1.1\r\nHost: x\r\nContent-Length: 5000\r\n\r\n"
        # the head alone is answered: the body is never waited for
        expect_413_close(srv, head)
        # the client that sends its body anyway still reads the 413 (no reset): the server
        # half-closes and drains
        expect_413_close(srv, head + b"z" * 5000)
        big = b"POST /limited HTTP/1.1\r\nHost: x\r\nContent-Length: 300000\r\n\r\n"
        expect_413_close(srv, big + b"z" * 300000)
        # Expect: 100-continue gets the 413 instead of the 100
        with srv.connect() as s:
            s.sendall(b"POST /limited HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n"
                      b"Expect: 100-continue\r\n\r\n")
            eq(Reader(s).read_response(allow_interim=True).status, 413)


def test_route_limit_chunked_streaming():
    with Server() as srv:
        raw = b"POST /limited HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n"
        raw += (b"28\r\n" + b"q" * 40 + b"\r\n") * 2 + b"0\r\n\r\n"
        expect_413_close(srv, raw)
        # an endless chunked body is cut once past the limit, without waiting for its end
        with srv.connect(5.0) as s:
            s.sendall(b"POST /limited HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n"
                      + b"40\r\n" + b"w" * 64 + b"\r\n" + b"1\r\nw\r\n")
            eq(Reader(s).read_response().status, 413)


def test_route_limit_under_and_keepalive():
    with Server() as srv, srv.connect() as s:
        r = Reader(s)
        s.sendall(request_bytes("POST", "/limited", body=b"a" * 64))
        eq(r.read_response().body, b"a" * 64)
        chunked = (b"POST /limited HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n"
                   b"20\r\n" + b"b" * 32 + b"\r\n20\r\n" + b"c" * 32 + b"\r\n0\r\n\r\n")
        s.sendall(chunked)
        eq(r.read_response().body, b"b" * 32 + b"c" * 32)
        # other routes keep the global limit
        s.sendall(request_bytes("POST", "/echo", body=b"d" * 5000))
        eq(r.read_response().body, b"d" * 5000)


def test_global_limit_detail():
    with Server("--max-body", "100") as srv:
        raw = b"POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 101\r\n\r\n"
        expect_413_close(srv, raw, "The request body exceeds the maximum size allowed")
        # a route limit replaces the global one, also upwards... here 64 < 100 anyway
        expect_413_close(srv, b"POST /limited HTTP/1.1\r\nHost: x\r\nContent-Length: 65\r\n\r\n")


def test_cors_over_socket():
    with Server() as srv, srv.connect() as s:
        r = Reader(s)
        s.sendall(request_bytes("OPTIONS", "/cors", [
            ("Origin", "https://a.example"), ("Access-Control-Request-Method", "POST"),
            ("Access-Control-Request-Headers", "content-type")]))
        resp = r.read_response("OPTIONS")
        eq(resp.status, 204)
        eq(resp.header("access-control-allow-origin"), "https://a.example")
        eq(resp.header("access-control-allow-methods"), "POST")
        eq(resp.header("access-control-allow-headers"), "Content-Type")
        eq(resp.header("access-control-allow-credentials"), "true")
        s.sendall(request_bytes("POST", "/cors", [("Origin", "https://a.example")], body=b"hi"))
        resp = r.read_response()
        eq(resp.status, 200)
        eq(resp.header("access-control-allow-origin"), "https://a.example")
        eq(resp.header("vary"), "Origin")
        s.sendall(request_bytes("POST", "/cors", [("Origin", "https://evil.example")], body=b"x"))
        resp = r.read_response()
        eq(resp.status, 403)
        eq(json.loads(resp.body),
           {"detail": "CORS request from origin 'https://evil.example' not allowed"})
        # the connection stays usable after a CORS refusal
        s.sendall(request_bytes("GET", "/hello"))
        eq(r.read_response().status, 200)


def test_request_id_and_access_log():
    fd, path = tempfile.mkstemp(prefix="spk-bb-log-", suffix=".log")
    os.close(fd)
    try:
        cfg = json.dumps({"request_id": {"enabled": True},
                          "access_log": {"path": path, "format": "json"}})
        with Server("--configure", cfg, workers=2) as srv:
            ids = set()
            for i in range(20):
                with srv.connect() as s:
                    s.sendall(request_bytes("GET", "/hello"))
                    rid = Reader(s).read_response().header("x-request-id")
                    check(rid and re.fullmatch(r"[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-"
                                               r"[89ab][0-9a-f]{3}-[0-9a-f]{12}", rid),
                          "bad id %r" % rid)
                    ids.add(rid)
            eq(len(ids), 20, "ids unique")
            with srv.connect() as s:
                s.sendall(request_bytes("GET", "/nope", [("X-Request-ID", "trace-9")]))
                resp = Reader(s).read_response()
                eq(resp.status, 404)
                eq(resp.header("x-request-id"), "trace-9")
            with srv.connect() as s:
                s.sendall(b"POST /limited HTTP/1.1\r\nHost: x\r\nX-Request-ID: big-1\r\n"
                          b"Content-Length: 1000\r\n\r\n")
                resp = Reader(s).read_response()
                eq(resp.status, 413)
                eq(resp.header("x-request-id"), "big-1")
            deadline = time.monotonic() + 3
            lines = []
            while time.monotonic() < deadline:
                with open(path) as f:
                    lines = f.read().splitlines()
                if len(lines) >= 22:
                    break
                time.sleep(0.05)
            eq(len(lines), 22, "one log line per request")
            recs = [json.loads(line) for line in lines]
            logged = {r["request_id"] for r in recs}
            check(ids <= logged, "generated ids are logged")
            nope = [r for r in recs if r["request_id"] == "trace-9"][0]
            eq((nope["method"], nope["target"], nope["status"]), ("GET", "/nope", 404))
            big = [r for r in recs if r["request_id"] == "big-1"][0]
            eq(big["status"], 413)
            eq(recs[0]["remote"], "127.0.0.1")
    finally:
        os.unlink(path)


if __name__ == "__main__":
    run_tests(globals())
