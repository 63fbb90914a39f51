"""The realtime part of the fixture replay (a port of e2e/c/fx_stream.c and fx_ws.c): streaming
and sse fixtures become StreamingResponse / EventSourceResponse routes, websockets fixtures an
@app.websocket route whose session is played frame by frame, in memory (the test client's
WebSocket) or over a socket (a minimal masked-frame client)."""
from __future__ import annotations

import base64
import json
import os
import socket
import struct
from typing import Any, Callable

from spikard import App, EventSourceResponse, Request, ServerSentEvent, StreamingResponse, WebSocket
from spikard.testing import TestClient, TestResponse

OPS = {"continuation": 0, "text": 1, "binary": 2, "close": 8, "ping": 9, "pong": 10}


def _compact(v: Any) -> str:
    return json.dumps(v, separators=(",", ":"), ensure_ascii=False)


def reply_factory(fx: dict, expand: Callable[[Any], Any]) -> Callable[[Request], Any] | None:
    """A fresh streamed response per request, or None for other fixtures."""
    st = fx.get("streaming")
    if isinstance(st, dict):
        chunks = []
        for c in st.get("chunks") or []:
            chunks.append(base64.b64decode(c["base64"]) if c.get("type") == "bytes" else str(expand(c.get("value", ""))))
        ctype = st.get("content_type") or "application/octet-stream"
        status = fx["expected_response"].get("status_code", 200)
        return lambda request: StreamingResponse(iter(chunks), status_code=status, media_type=ctype)
    sse = fx.get("sse")
    if isinstance(sse, dict):
        events = sse.get("events") or []

        def make(request: Request) -> EventSourceResponse:
            start = 0
            last = request.last_event_id
            if last is not None:
                for i, e in enumerate(events):
                    if str(e.get("id")) == last:
                        start = i + 1
            out = []
            for e in events[start:]:
                d = e.get("data")
                out.append(ServerSentEvent(d if isinstance(d, str) else _compact(d), event=e.get("event"),
                                           id=e.get("id"), retry=e.get("retry")))
            return EventSourceResponse(iter(out))
        return make
    return None


def expected_stream_body(fx: dict, expand: Callable[[Any], Any]) -> bytes | None:
    st = fx.get("streaming")
    if not isinstance(st, dict):
        return None
    return b"".join(base64.b64decode(c["base64"]) if c.get("type") == "bytes" else str(expand(c.get("value", ""))).encode()
                    for c in st.get("chunks") or [])


def install_ws(app: App, fx: dict, route: str) -> None:
    spec = (fx.get("handler") or {}).get("websocket") or {}
    silent = spec.get("behavior") == "no_response"

    async def handler(websocket: WebSocket) -> None:
        await websocket.accept()
        while True:
            m = await websocket.receive()
            if m["type"] == "websocket.disconnect":
                return
            if silent:
                continue
            if "text" in m:
                await websocket.send_text(m["text"])
            else:
                await websocket.send_bytes(m["bytes"])

    app.add_websocket(route, handler, json_messages=True, message_schema=spec.get("message_schema"),
                      max_message_size=spec.get("max_message_bytes"),
                      subprotocols=spec.get("subprotocols"), permessage_deflate=bool(spec.get("permessage_deflate")))


def _payload(m: dict) -> bytes:
    if "payload" in m:
        return _compact(m["payload"]).encode()
    if "raw_text" in m:
        return m["raw_text"].encode()
    if "payload_base64" in m:
        return base64.b64decode(m["payload_base64"])
    return b""


def _check(m: dict, frame: tuple[int, bytes, int]) -> str | None:
    op, data, code = frame
    want = OPS.get(m.get("frame_type", ""), -1)
    if op != want:
        return f"expected opcode {want}, got {op}"
    if want == 8:
        if isinstance(m.get("close_code"), int) and m["close_code"] != code:
            return f"close code {code}, expected {m['close_code']}"
        return None
    if "payload" in m:
        try:
            return None if json.loads(data) == m["payload"] else f"payload {data[:200]!r}"
        except ValueError:
            return f"payload not JSON: {data[:200]!r}"
    return None if data == _payload(m) else f"payload differs ({len(data)} bytes)"


class _MemLink:
    def __init__(self, app: App, req: bytes) -> None:
        self.client = TestClient(app)
        resp, self.ws = self.client._client().websocket_raw(req)
        self.response = TestResponse(*resp)

    def send(self, fin: int, op: int, data: bytes) -> None:
        self.ws.send_frame(fin, 0, op, data)

    def close_frame(self, code: int | None) -> None:
        self.ws.send_close(code or 0, "")

    def recv(self) -> tuple[int, bytes, int]:
        f = self.ws.recv(5000)
        if f is None:
            raise TimeoutError("no frame in time")
        return f[0], f[1], f[2]

    def close(self) -> None:
        if self.ws is not None:
            self.ws.free()


class _SockLink:
    def __init__(self, port: int, req: bytes) -> None:
        self.s = socket.create_connection(("127.0.0.1", port), timeout=5)
        self.s.sendall(req)
        self.buf = b""
        while b"\r\n\r\n" not in self.buf:
            d = self.s.recv(65536)
            if not d:
                break
            self.buf += d
        head, _, self.buf = self.buf.partition(b"\r\n\r\n")
        lines = head.decode("latin-1").split("\r\n")
        status = int(lines[0].split()[1]) if lines and len(lines[0].split()) > 1 else 0
        hs = [tuple(x.strip() for x in l.split(":", 1)) for l in lines[1:] if ":" in l]
        body = b""
        if status != 101:  # a refusal: read the body it announced
            n = next((int(v) for k, v in hs if k.lower() == "content-length"), 0)
            while len(self.buf) < n:
                d = self.s.recv(65536)
                if not d:
                    break
                self.buf += d
            body = self.buf[:n]
        self.response = TestResponse(status, [(k.lower(), v) for k, v in hs], body)
        self.ws = self if status == 101 else None

    def send(self, fin: int, op: int, data: bytes) -> None:
        key = os.urandom(4)
        n = len(data)
        hdr = bytes([(0x80 if fin else 0) | op])
        if n < 126:
            hdr += bytes([0x80 | n])
        elif n < 65536:
            hdr += bytes([0x80 | 126]) + struct.pack("!H", n)
        else:
            hdr += bytes([0x80 | 127]) + struct.pack("!Q", n)
        self.s.sendall(hdr + key + bytes(b ^ key[i % 4] for i, b in enumerate(data)))

    def close_frame(self, code: int | None) -> None:
        self.send(1, 8, struct.pack("!H", code) if code else b"")

    def _need(self, n: int) -> bytes:
        while len(self.buf) < n:
            d = self.s.recv(65536)
            if not d:
                raise ConnectionError("the server closed the connection")
            self.buf += d
        out, self.buf = self.buf[:n], self.buf[n:]
        return out

    def recv(self) -> tuple[int, bytes, int]:
        b0, b1 = self._need(2)
        n = b1 & 0x7F
        if n == 126:
            n = struct.unpack("!H", self._need(2))[0]
        elif n == 127:
            n = struct.unpack("!Q", self._need(8))[0]
        data = self._need(n)
        op = b0 & 0x0F
        code = struct.unpack("!H", data[:2])[0] if op == 8 and len(data) >= 2 else (1005 if op == 8 else 0)
        return op, data, code

    def close(self) -> None:
        self.s.close()


def run_ws(fx: dict, app: App, req: bytes, port: int | None,
           compare: Callable[[dict, TestResponse, bool], str | None]) -> str | None:
    link: Any = _SockLink(port, req) if port else _MemLink(app, req)
    try:
        why = compare(fx, link.response, False)
        if why or link.ws is None:
            return why
        closed = False
        msgs = (fx.get("websocket") or {}).get("messages") or []
        for i, m in enumerate(msgs):
            op = OPS.get(m.get("frame_type", ""), 1)
            try:
                if m.get("direction") == "send":
                    if op == 8:
                        link.close_frame(m.get("close_code"))
                        closed = True
                    else:
                        link.send(0 if m.get("fin") is False else 1, op, _payload(m))
                else:
                    f = link.recv()
                    why = _check(m, f)
                    if why:
                        return f"websocket message {i + 1}: {why}"
                    closed = closed or f[0] == 8
            except (ConnectionError, TimeoutError, OSError) as exc:
                return f"websocket message {i + 1}: {exc}"
        if not closed:
            code = (fx.get("websocket") or {}).get("close_code") or 1000
            try:
                link.close_frame(code)
                f = link.recv()
            except (ConnectionError, TimeoutError, OSError) as exc:
                return f"websocket close: {exc}"
            if f[0] != 8 or f[2] != code:
                return f"websocket close: got opcode {f[0]} code {f[2]}, expected close {code}"
        return None
    finally:
        link.close()


# ------------------------------------------------------------------ AsyncAPI message files

def is_message_fixture(fx: dict) -> bool:
    return "request" not in fx and isinstance(fx.get("examples"), list)


def _sibling_example(path: Any, name: str) -> Any:
    sib = path.parent / f"{name}.json"
    ex = json.loads(sib.read_text()).get("examples") or []
    if not ex:
        raise ValueError(f"reply message {name}: no sibling fixture with an example")
    return ex[0]


def run_message(fx: dict, path: Any, mode: str, compare: Callable[[dict, TestResponse, bool], str | None]) -> str | None:
    """sse: GET the channel, one data: event per example, in order. websockets: each example sent
    as a text message; the reply is the declared reply's example, or the example plus
    "validated": true (channel messages are validated against the schema by the core)."""
    examples = fx["examples"]
    app = App()
    if fx.get("protocol") == "sse":
        channel = fx.get("channel") or f"/events/{fx.get('name', 'message')}"

        @app.get(channel)
        def events() -> EventSourceResponse:
            return EventSourceResponse(iter([ServerSentEvent(_compact(e)) for e in examples]))

        with (app.serve(port=0) if mode == "socket" else _nullcm()) as srv:
            if srv is not None:
                with socket.create_connection(("127.0.0.1", srv.port), timeout=5) as s:
                    s.sendall(f"GET {channel} HTTP/1.1\r\nHost: x\r\nAccept: text/event-stream\r\n"
                              f"Connection: close\r\n\r\n".encode())
                    buf = b""
                    while True:
                        d = s.recv(65536)
                        if not d:
                            break
                        buf += d
                head, _, body = buf.partition(b"\r\n\r\n")
                text = _dechunk(body).decode()
                ok_head = b"200" in head.split(b"\r\n")[0] and b"text/event-stream" in head.lower()
                chunked = b"transfer-encoding: chunked" in head.lower()
            else:
                r = TestClient(app).get(channel, headers={"Accept": "text/event-stream"})
                text = r.text
                ok_head = r.status_code == 200 and (r.headers.get("content-type") or "").startswith("text/event-stream")
                chunked = (r.headers.get("transfer-encoding") or "") == "chunked"
        if not ok_head or not chunked:
            return "not a streamed text/event-stream 200"
        from spikard.testing import parse_sse
        got = [json.loads(e["data"]) for e in parse_sse(text)]
        return None if got == examples else f"events {got!r} != {examples!r}"

    channel = fx.get("channel") or f"/ws/{fx.get('name', 'message')}"
    reply = None
    for op in fx.get("operations") or []:
        reps = op.get("replies") or []
        if reps and isinstance(reps[0], str):
            reply = _sibling_example(path, reps[0])
            break

    async def handler(websocket: WebSocket) -> None:
        async for m in _messages(websocket):
            if isinstance(m, bytes):
                await websocket.send_bytes(m)
            elif reply is not None:
                await websocket.send_text(_compact(reply))
            else:
                v = json.loads(m)
                if isinstance(v, dict):
                    v["validated"] = True
                await websocket.send_text(_compact(v))

    app.add_websocket(channel, handler, message_schema=fx.get("schema") if fx.get("channel") else None,
                      json_messages=True)
    req = (f"GET {channel} HTTP/1.1\r\nHost: localhost\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
           "Sec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n").encode()
    with (app.serve(port=0) if mode == "socket" else _nullcm()) as srv:
        link: Any = _SockLink(srv.port, req) if srv is not None else _MemLink(app, req)
        try:
            if link.response.status_code != 101:
                return f"handshake on {channel} answered {link.response.status_code}"
            for i, ex in enumerate(examples):
                text = _compact(ex)
                link.send(1, 1, text.encode())
                op, data, _ = link.recv()
                want = reply if reply is not None else (dict(ex, validated=True) if isinstance(ex, dict) else ex)
                if op != 1 or json.loads(data) != want:
                    return f"example {i + 1}: got {data[:200]!r}"
            return None
        except (ConnectionError, TimeoutError, OSError, ValueError) as exc:
            return f"websocket: {exc}"
        finally:
            link.close()


async def _messages(ws: WebSocket) -> Any:
    while True:
        m = await ws.receive()
        if m["type"] == "websocket.disconnect":
            return
        yield m.get("text", m.get("bytes"))


class _nullcm:
    def __enter__(self) -> None:
        return None

    def __exit__(self, *exc: Any) -> None:
        pass


def _dechunk(body: bytes) -> bytes:
    out = b""
    while body:
        line, _, body = body.partition(b"\r\n")
        n = int(line.split(b";")[0] or b"0", 16)
        if n == 0:
            break
        out, body = out + body[:n], body[n + 2:]
    return out
