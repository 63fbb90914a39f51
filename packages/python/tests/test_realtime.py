"""Streaming responses, Server-Sent Events and WebSockets: in memory and over a live server."""
from __future__ import annotations

import asyncio
import json
import socket
import threading
import time

import pytest

from spikard import (App, CompressionConfig, EventSourceResponse, Request, ServerConfig, ServerSentEvent,
                     StreamingResponse, WebSocket, WebSocketDisconnect)
from spikard.testing import TestClient, WebSocketRejected, parse_sse


def _wait(cond, timeout: float = 5.0) -> bool:
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if cond():
            return True
        time.sleep(0.01)
    return cond()


def make_app(log: list) -> App:
    app = App(ServerConfig(compression=CompressionConfig(min_size=0)))

    @app.get("/sync")
    def sync_stream(n: int = 3):
        def gen():
            try:
                for i in range(n):
                    yield f'{{"i":{i}}}\n'
            finally:
                log.append("sync-finally")
        return StreamingResponse(gen(), media_type="application/x-ndjson", headers={"X-Kind": "sync"})

    @app.get("/mixed")
    def mixed():
        return StreamingResponse(iter([b"\x00\x01", "text", {"k": [1]}]), media_type="application/octet-stream")

    @app.get("/empties")
    def empties():
        return StreamingResponse(iter([b"", "a", "", b"", b"b", ""]), media_type="text/plain")

    @app.get("/async")
    async def async_stream():
        async def gen():
            try:
                for i in range(4):
                    await asyncio.sleep(0.001)
                    yield f"part{i};".encode()
            finally:
                log.append("async-finally")
        return StreamingResponse(gen(), media_type="text/plain")

    @app.get("/sync-from-async-gen")
    def sync_handler_async_gen():
        async def gen():
            yield "a"
            yield "b"
        return StreamingResponse(gen(), media_type="text/plain")

    @app.get("/fails")
    def fails():
        def gen():
            yield "ok;"
            raise ValueError("boom")
        return StreamingResponse(gen(), media_type="text/plain")

    @app.get("/endless")
    def endless():
        def gen():
            try:
                i = 0
                while True:
                    i += 1
                    yield b"x" * 1024
            finally:
                log.append("endless-finally")
        return StreamingResponse(gen(), media_type="application/octet-stream")

    @app.get("/endless-async")
    async def endless_async():
        async def gen():
            try:
                while True:
                    await asyncio.sleep(0.005)
                    yield b"tick\n"
            finally:
                log.append("endless-async-finally")
        return StreamingResponse(gen(), media_type="text/plain")

    @app.get("/events")
    def events(request: Request):
        start = int(request.last_event_id or 0)

        def gen():
            yield ServerSentEvent({"n": start + 1}, event="update", id=start + 1, retry=2500)
            yield "line1\nline2"
            yield {"data": "dict-style", "event": "named", "id": "x"}
            yield ServerSentEvent(comment="just a comment")
            yield [1, 2]
        return EventSourceResponse(gen())

    @app.get("/events-async")
    async def events_async():
        async def gen():
            for i in range(3):
                await asyncio.sleep(0.001)
                yield ServerSentEvent(f"tick {i}", id=i)
        return EventSourceResponse(gen(), ping=0)

    @app.get("/events-endless")
    async def events_endless():
        async def gen():
            try:
                i = 0
                while True:
                    i += 1
                    yield ServerSentEvent(i)
                    await asyncio.sleep(0.01)
            finally:
                log.append("sse-finally")
        return EventSourceResponse(gen())

    @app.websocket("/ws/echo")
    async def echo(websocket: WebSocket):
        await websocket.accept()
        try:
            while True:
                m = await websocket.receive()
                if m["type"] == "websocket.disconnect":
                    log.append(("echo-closed", m["code"]))
                    return
                if "text" in m:
                    await websocket.send_text(m["text"])
                else:
                    await websocket.send_bytes(m["bytes"])
        finally:
            log.append("echo-finally")

    @app.websocket("/ws/json/{room}")
    async def json_room(ws: WebSocket, room: str, limit: int = 2):
        await ws.accept()
        for _ in range(limit):
            msg = await ws.receive_json()
            await ws.send_json({"room": room, "got": msg, "query": ws.query_params})
        await ws.close(4000, "enough")

    @app.websocket("/ws/disconnect")
    async def disconnect(websocket: WebSocket):
        await websocket.accept()
        try:
            await websocket.receive_text()
        except WebSocketDisconnect as e:
            log.append(("disconnect", e.code))

    @app.websocket("/ws/schema", message_schema={"type": "object", "required": ["type"],
                                                 "properties": {"type": {"type": "string"}}})
    async def schema(websocket: WebSocket):
        await websocket.accept()
        async for msg in websocket.iter_json():
            await websocket.send_json({"ok": msg["type"]})

    @app.websocket("/ws/proto", subprotocols=["chat.v2", "chat.v1"])
    async def proto(websocket: WebSocket):
        await websocket.accept()
        await websocket.send_text(websocket.subprotocol or "none")

    @app.websocket("/ws/origin", origins=["https://ok.example"])
    async def origin(websocket: WebSocket):
        await websocket.send_text(websocket.headers.get("origin", ""))

    @app.websocket("/ws/fail")
    async def fail(websocket: WebSocket):
        await websocket.accept()
        raise RuntimeError("handler bug")

    return app


@pytest.fixture(scope="module")
def env():
    log: list = []
    app = make_app(log)
    return app, TestClient(app), log


# ------------------------------------------------------------------ streaming, in memory

def test_sync_stream_chunks(env) -> None:
    _, c, log = env
    r = c.get("/sync?n=3")
    assert r.status_code == 200
    assert r.headers["content-type"] == "application/x-ndjson"
    assert r.headers["x-kind"] == "sync"
    assert r.headers["transfer-encoding"] == "chunked"
    assert r.chunks == [b'{"i":0}\n', b'{"i":1}\n', b'{"i":2}\n']
    assert not r.incomplete
    assert "sync-finally" in log
    with c.stream("GET", "/sync?n=2") as s:
        assert [json.loads(x) for x in s.iter_lines()] == [{"i": 0}, {"i": 1}]


def test_mixed_items_and_empty_stream(env) -> None:
    _, c, _ = env
    r = c.get("/mixed")
    assert r.chunks == [b"\x00\x01", b"text", b'{"k":[1]}']
    assert c.get("/empties").chunks == [b"a", b"b"]
    r = c.get("/sync?n=0")
    assert r.status_code == 200 and r.content == b"" and not r.incomplete


def test_async_stream_and_async_gen_from_sync_handler(env) -> None:
    _, c, log = env
    r = c.get("/async")
    assert r.chunks == [b"part0;", b"part1;", b"part2;", b"part3;"]
    assert _wait(lambda: "async-finally" in log)
    assert c.get("/sync-from-async-gen").content == b"ab"


def test_failing_generator_aborts(env) -> None:
    _, c, _ = env
    r = c.get("/fails")
    assert r.incomplete and r.content == b"ok;"  # never a short success


def test_stream_head_and_compression(env) -> None:
    _, c, _ = env
    r = c.head("/sync")
    assert r.status_code == 200 and r.content == b""
    r = c.get("/sync?n=2", headers={"Accept-Encoding": "gzip"})
    assert r.headers.get("content-encoding") == "gzip"
    import zlib
    assert zlib.decompress(r.content, 31) == b'{"i":0}\n{"i":1}\n'


# ------------------------------------------------------------------ SSE, in memory

def test_sse_events(env) -> None:
    _, c, _ = env
    r = c.get("/events", headers={"Accept-Encoding": "gzip"})
    assert r.status_code == 200
    assert r.headers["content-type"].startswith("text/event-stream")
    assert r.headers["cache-control"] == "no-cache"
    assert "content-encoding" not in r.headers  # event streams are never compressed
    assert ": just a comment" in r.text
    evs = r.events()
    assert evs[0] == {"event": "update", "data": '{"n":1}', "id": "1", "retry": 2500}
    assert evs[1] == {"event": "message", "data": "line1\nline2"}
    assert evs[2] == {"event": "named", "data": "dict-style", "id": "x"}
    assert evs[3]["data"] == "[1,2]"
    assert len(r.chunks) == 5  # one chunk per event


def test_sse_last_event_id(env) -> None:
    _, c, _ = env
    evs = c.get("/events", headers={"Last-Event-ID": "41"}).events()
    assert evs[0]["id"] == "42" and json.loads(evs[0]["data"]) == {"n": 42}


def test_sse_async(env) -> None:
    _, c, _ = env
    evs = c.get("/events-async").events()
    assert [(e["data"], e["id"]) for e in evs] == [("tick 0", "0"), ("tick 1", "1"), ("tick 2", "2")]


# ------------------------------------------------------------------ WebSocket, in memory

def test_ws_echo_text_bytes(env) -> None:
    _, c, log = env
    with c.websocket_connect("/ws/echo") as ws:
        assert ws.response.status_code == 101
        ws.send_text("hello")
        assert ws.receive_text() == "hello"
        ws.send_bytes(b"\x00\xff")
        assert ws.receive_bytes() == b"\x00\xff"
        ws.send_json({"a": [1, 2]})
        assert ws.receive_json() == {"a": [1, 2]}
    assert _wait(lambda: ("echo-closed", 1000) in log and "echo-finally" in log)


def test_ws_json_path_query_and_server_close(env) -> None:
    _, c, _ = env
    with c.websocket_connect("/ws/json/lobby?limit=1") as ws:
        ws.send_json({"x": 1})
        assert ws.receive_json() == {"room": "lobby", "got": {"x": 1}, "query": {"limit": "1"}}
        with pytest.raises(WebSocketDisconnect) as e:
            ws.receive_text()
        assert e.value.code == 4000 and e.value.reason == "enough"


def test_ws_client_close_code_reaches_handler(env) -> None:
    _, c, log = env
    ws = c.websocket_connect("/ws/disconnect")
    ws.close(4321)
    assert ws.close_code == 4321  # echoed
    assert _wait(lambda: ("disconnect", 4321) in log)


def test_ws_schema_and_invalid_json(env) -> None:
    _, c, _ = env
    with c.websocket_connect("/ws/schema") as ws:
        ws.send_text("not json")
        assert ws.receive_json() == {"type": "error", "message": "Invalid JSON"}
        ws.send_json({"nope": 1})
        assert ws.receive_json() == {"error": "Message validation failed"}
        ws.send_json({"type": "hi"})
        assert ws.receive_json() == {"ok": "hi"}


def test_ws_subprotocol_and_rejections(env) -> None:
    _, c, _ = env
    with c.websocket_connect("/ws/proto", subprotocols=["chat.v1", "x"]) as ws:
        assert ws.subprotocol == "chat.v1"
        assert ws.receive_text() == "chat.v1"
    assert c.get("/ws/echo").status_code == 426  # a plain GET
    with pytest.raises(WebSocketRejected) as e:
        c.websocket_connect("/ws/echo", headers={"Sec-WebSocket-Version": "8"})
    assert e.value.status_code == 426


def test_ws_origins(env) -> None:
    _, c, _ = env
    with c.websocket_connect("/ws/origin", headers={"Origin": "https://ok.example"}) as ws:
        assert ws.receive_text() == "https://ok.example"
    with pytest.raises(WebSocketRejected) as e:
        c.websocket_connect("/ws/origin", headers={"Origin": "https://evil.example"})
    assert e.value.status_code == 403


def test_ws_handler_exception_closes_1011(env) -> None:
    _, c, _ = env
    with c.websocket_connect("/ws/fail") as ws:
        with pytest.raises(WebSocketDisconnect) as e:
            ws.receive_text()
        assert e.value.code == 1011


def test_parse_sse_helper() -> None:
    assert parse_sse(": c\r\ndata: a\r\ndata:b\r\n\r\nevent: e\nid: 1\ndata\n\n") == [
        {"event": "message", "data": "a\nb"}, {"event": "e", "data": "", "id": "1"}]


# ------------------------------------------------------------------ live server

def _read_chunked(sock: socket.socket, limit: int) -> list[bytes]:
    """Read chunks (chunk boundaries as framed) until the terminating chunk or `limit` chunks."""
    f = sock.makefile("rb")
    while f.readline() not in (b"\r\n", b""):
        pass
    chunks = []
    while len(chunks) < limit:
        size = int(f.readline().strip(), 16)
        if size == 0:
            break
        chunks.append(f.read(size))
        f.read(2)
    return chunks


def _get(port: int, path: str, extra: str = "") -> socket.socket:
    s = socket.create_connection(("127.0.0.1", port), timeout=10)
    s.sendall(f"GET {path} HTTP/1.1\r\nHost: x\r\n{extra}\r\n".encode())
    return s


def test_live_stream_sse_and_disconnect() -> None:
    log: list = []
    app = make_app(log)
    with app.serve(port=0) as srv:
        with _get(srv.port, "/sync?n=4") as s:
            assert _read_chunked(s, 10) == [f'{{"i":{i}}}\n'.encode() for i in range(4)]
        with _get(srv.port, "/events", "Last-Event-ID: 7\r\n") as s:
            chunks = _read_chunked(s, 10)
            evs = parse_sse(b"".join(chunks).decode())
            assert evs[0]["id"] == "8" and len(evs) == 4
        # The client goes away mid-stream: the generators' finally blocks run.
        for path, mark in (("/endless", "endless-finally"), ("/endless-async", "endless-async-finally"),
                           ("/events-endless", "sse-finally")):
            s = _get(srv.port, path)
            assert len(_read_chunked(s, 3)) == 3
            s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, b"\x01\x00\x00\x00\x00\x00\x00\x00")
            s.close()
            assert _wait(lambda: mark in log, 10), (path, log)


def test_live_websocket() -> None:
    sync_client = pytest.importorskip("websockets.sync.client")
    log: list = []
    app = make_app(log)
    with app.serve(port=0) as srv:
        url = f"ws://127.0.0.1:{srv.port}"
        with sync_client.connect(url + "/ws/echo") as ws:
            ws.send("hi")
            assert ws.recv(timeout=5) == "hi"
            ws.send(b"\x01\x02")
            assert ws.recv(timeout=5) == b"\x01\x02"
        assert _wait(lambda: ("echo-closed", 1000) in log)
        with sync_client.connect(url + "/ws/json/r?limit=1") as ws:
            ws.send(json.dumps({"k": 1}))
            assert json.loads(ws.recv(timeout=5))["got"] == {"k": 1}
            with pytest.raises(Exception):
                ws.recv(timeout=5)
            assert ws.close_code == 4000
        # Many connections at once, each on its own asyncio queue.
        results: list = []

        def one(i: int) -> None:
            with sync_client.connect(url + "/ws/echo") as ws:
                for j in range(20):
                    ws.send(f"{i}-{j}")
                    assert ws.recv(timeout=5) == f"{i}-{j}"
                results.append(i)
        ts = [threading.Thread(target=one, args=(i,)) for i in range(8)]
        for t in ts:
            t.start()
        for t in ts:
            t.join(20)
        assert sorted(results) == list(range(8))


def test_no_leaks_streams_and_websockets(env) -> None:
    """Producers, streams and connections are all released (no cycles kept by the core)."""
    import gc
    import weakref

    from spikard import streaming, websocket as wsmod
    _, c, _ = env
    seen: list = []
    orig_p, orig_w = streaming._Producer.__init__, wsmod.WebSocket.__init__

    def track_p(self, *a, **k):
        orig_p(self, *a, **k)
        seen.append(weakref.ref(self))

    def track_w(self, *a, **k):
        orig_w(self, *a, **k)
        seen.append(weakref.ref(self))
    streaming._Producer.__init__, wsmod.WebSocket.__init__ = track_p, track_w
    import logging
    logging.disable(logging.ERROR)  # pytest keeps logged tracebacks (and their frames) alive
    try:
        for _ in range(50):
            assert c.get("/sync?n=2").status_code == 200
            assert c.get("/async").status_code == 200
            assert c.get("/fails").incomplete
            assert len(c.get("/events").events()) == 4
            with c.websocket_connect("/ws/echo") as ws:
                ws.send_text("x")
                assert ws.receive_text() == "x"
    finally:
        logging.disable(logging.NOTSET)
        streaming._Producer.__init__, wsmod.WebSocket.__init__ = orig_p, orig_w
    assert len(seen) == 250

    def alive() -> int:
        gc.collect()
        return sum(1 for r in seen if r() is not None)
    assert _wait(lambda: alive() == 0), [type(r()).__name__ + str(getattr(r(), "sse", "")) + str(getattr(r(), "is_async", "")) for r in seen if r() is not None][:3]


def test_live_back_pressure_sync_and_async() -> None:
    """A client that stops reading stops the producer (pull: not called; push: EAGAIN waits)."""
    app = App()
    counts = {"sync": 0, "async": 0}
    big = b"z" * 65536

    @app.get("/pull")
    def pull():
        def gen():
            while True:
                counts["sync"] += 1
                yield big
        return StreamingResponse(gen())

    @app.get("/push")
    async def push():
        async def gen():
            while True:
                counts["async"] += 1
                yield big
        return StreamingResponse(gen())

    with app.serve(port=0) as srv:
        for kind, path in (("sync", "/pull"), ("async", "/push")):
            s = _get(srv.port, path)
            s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 65536)
            time.sleep(0.4)
            stalled = counts[kind]
            time.sleep(0.4)
            assert counts[kind] == stalled, (kind, stalled, counts[kind])
            assert stalled < 2000  # bounded by the socket buffers and the core's queue
            got = 0
            while got < 4 * 1024 * 1024:  # reading again resumes the producer
                got += len(s.recv(1 << 20))
            assert _wait(lambda: counts[kind] > stalled)
            s.close()


def test_ws_upgrade_goes_through_hooks_and_sync_stream_in_async_client() -> None:
    from spikard import Response
    from spikard.testing import AsyncTestClient
    app = App()

    @app.on_request
    def guard(request: Request):
        if request.path.startswith("/ws") and request.query_params.get("token") != "t":
            return Response({"detail": "no token"}, status_code=401)
        return None

    @app.websocket("/ws")
    async def ws(websocket: WebSocket, token: str):
        await websocket.send_text(f"token={token}")

    @app.get("/s")
    def s():
        return StreamingResponse(iter(["a", "b"]), media_type="text/plain")

    c = TestClient(app)
    with pytest.raises(WebSocketRejected) as e:
        c.websocket_connect("/ws")
    assert e.value.status_code == 401 and e.value.response.json() == {"detail": "no token"}
    with c.websocket_connect("/ws?token=t") as w:
        assert w.receive_text() == "token=t"
        with pytest.raises(WebSocketDisconnect) as d:
            w.receive_text()
        assert d.value.code == 1000

    async def go():
        async with AsyncTestClient(app) as ac:
            return (await ac.get("/s")).chunks
    assert asyncio.run(go()) == [b"a", b"b"]


def test_ws_unread_backlog_is_bounded(monkeypatch) -> None:
    from spikard import websocket as wsmod
    monkeypatch.setattr(wsmod, "MAX_UNREAD", 5)
    app = App()
    gate = threading.Event()

    @app.websocket("/ws")
    async def slow(websocket: WebSocket):
        await websocket.accept()
        while not gate.is_set():
            await asyncio.sleep(0.01)
        await websocket.receive_text()

    c = TestClient(app)
    with c.websocket_connect("/ws") as ws:
        for i in range(10):
            ws.send_text(str(i))
        op, _ = ws.receive_frame()
        assert op == 8 and ws.close_code == 1008 and ws.close_reason == "message backlog"
    gate.set()


def test_websocket_handler_must_be_async() -> None:
    app = App()
    with pytest.raises(TypeError):
        @app.websocket("/ws")
        def ws(websocket: WebSocket):  # noqa: ARG001
            pass


def test_live_shutdown_with_open_streams_and_websockets() -> None:
    from fixture_realtime import _SockLink
    log: list = []
    app = make_app(log)
    with app.serve(port=0) as srv:
        s = _get(srv.port, "/endless-async")
        assert len(_read_chunked(s, 2)) == 2
        link = _SockLink(srv.port, b"GET /ws/disconnect HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\n"
                         b"Connection: Upgrade\r\nSec-WebSocket-Version: 13\r\n"
                         b"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n")
        assert link.response.status_code == 101
        time.sleep(0.05)
    # the server has stopped: the stream was cut and cancelled, the WebSocket closed 1001
    assert _wait(lambda: "endless-async-finally" in log)
    assert _wait(lambda: ("disconnect", 1001) in log), log
    s.close()
    link.close()


def test_stream_end_races_cancel() -> None:
    """The pump ends an async stream while the client resets: the RawStream must outlive the
    core's cancel. In a child with freed memory made visible (it crashed there before the fix)."""
    import os
    import subprocess
    import sys
    from pathlib import Path
    env = dict(os.environ)
    env["PYTHONMALLOC"] = "malloc" if os.environ.get("SPK_PY_SANITIZE") else "debug"
    child = Path(__file__).with_name("stream_race.py")
    for _ in range(2):  # without the fix, each run crashed about 2 times in 3
        out = subprocess.run([sys.executable, str(child), "4000"], env=env, capture_output=True, text=True,
                             timeout=240)
        assert out.returncode == 0 and out.stdout.strip().endswith("ok"), (out.returncode, out.stderr[:4000])


def _handshake_app() -> App:
    """Handlers that decide the handshake the Starlette way."""
    app = App()

    @app.websocket("/auth")
    async def auth(websocket: WebSocket, token: str = ""):
        if token != "secret":
            await websocket.close(code=1008)  # before accept: the upgrade is refused (403)
            return
        await websocket.accept(headers={"X-Session": "s-1"})
        await websocket.send_text("welcome")
        await websocket.receive_text()

    @app.websocket("/proto")
    async def proto(websocket: WebSocket, pick: str = ""):
        await websocket.accept(subprotocol=pick or None)  # not offered: ValueError → 500
        await websocket.send_text(websocket.subprotocol or "-")
        await websocket.receive_text()

    @app.websocket("/silent")
    async def silent(websocket: WebSocket):
        return None  # never accepted: 403

    @app.websocket("/boom")
    async def boom(websocket: WebSocket):
        raise RuntimeError("before accept")

    @app.websocket("/implicit")
    async def implicit(websocket: WebSocket):
        await websocket.send_text("no accept() needed to talk")  # accepts implicitly
        await websocket.receive_text()

    @app.websocket("/typed/{n}")
    async def typed(websocket: WebSocket, n: int):
        await websocket.accept()
        await websocket.send_json({"n": n})
        await websocket.receive_text()

    return app


def test_ws_handler_decides_the_handshake() -> None:
    c = TestClient(_handshake_app())
    with pytest.raises(WebSocketRejected) as r:
        c.websocket_connect("/auth?token=wrong")
    assert r.value.status_code == 403
    assert r.value.response.headers["content-type"].startswith("application/problem+json")
    with c.websocket_connect("/auth?token=secret") as ws:
        assert ws.response.status_code == 101 and ws.response.headers["x-session"] == "s-1"
        assert ws.receive_text() == "welcome"
    with c.websocket_connect("/proto?pick=graphql-ws", subprotocols=["mqtt", "graphql-ws"]) as ws:
        assert ws.subprotocol == "graphql-ws"
        assert ws.receive_text() == "graphql-ws"
    with pytest.raises(WebSocketRejected) as r:
        c.websocket_connect("/proto?pick=wamp", subprotocols=["mqtt"])
    assert r.value.status_code == 500
    for path, status in (("/silent", 403), ("/boom", 500), ("/typed/x", 400)):
        with pytest.raises(WebSocketRejected) as r:
            c.websocket_connect(path)
        assert r.value.status_code == status, path
    with c.websocket_connect("/implicit") as ws:
        assert ws.receive_text() == "no accept() needed to talk"
    with c.websocket_connect("/typed/7") as ws:
        assert ws.receive_json() == {"n": 7}


def test_live_ws_handshake_refusal() -> None:
    sync_client = pytest.importorskip("websockets.sync.client")
    exceptions = pytest.importorskip("websockets.exceptions")
    app = _handshake_app()
    with app.serve(port=0) as srv:
        url = f"ws://127.0.0.1:{srv.port}"
        with pytest.raises(exceptions.InvalidStatus) as r:
            sync_client.connect(url + "/auth?token=nope", open_timeout=10)
        assert r.value.response.status_code == 403
        with sync_client.connect(url + "/auth?token=secret", open_timeout=10) as ws:
            assert ws.response.headers["X-Session"] == "s-1"
            assert ws.recv(timeout=10) == "welcome"
