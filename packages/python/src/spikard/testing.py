"""Test clients that drive the core's in-memory pipeline (no sockets)."""
from __future__ import annotations

import asyncio
import json as _json
import threading
import uuid
from typing import Any, Iterable, Iterator, Mapping
from urllib.parse import urlencode

from ._spikard import RawTestClient
from .app import App

__all__ = ["TestClient", "AsyncTestClient", "TestResponse", "TestWebSocket", "WebSocketRejected", "parse_sse"]


class Headers:
    """Case-insensitive, multi-valued response headers."""

    def __init__(self, items: list[tuple[str, str]]) -> None:
        self._items = items

    def get(self, name: str, default: str | None = None) -> str | None:
        n = name.lower()
        for k, v in self._items:
            if k.lower() == n:
                return v
        return default

    def get_list(self, name: str) -> list[str]:
        n = name.lower()
        return [v for k, v in self._items if k.lower() == n]

    def __getitem__(self, name: str) -> str:
        v = self.get(name)
        if v is None:
            raise KeyError(name)
        return v

    def __contains__(self, name: object) -> bool:
        return isinstance(name, str) and self.get(name) is not None

    def items(self) -> list[tuple[str, str]]:
        return list(self._items)

    def __repr__(self) -> str:
        return f"Headers({self._items!r})"


class WebSocketRejected(Exception):
    """The server answered the upgrade with something other than 101."""

    def __init__(self, response: "TestResponse") -> None:
        super().__init__(f"websocket handshake refused: {response.status_code}")
        self.response = response
        self.status_code = response.status_code


class TestResponse:
    __test__ = False

    def __init__(self, status: int, headers: list[tuple[str, str]], body: bytes,
                 chunk_sizes: list[int] | None = None, incomplete: bool = False) -> None:
        self.status_code = status
        self.headers = Headers(headers)
        self.content = body
        self.chunk_sizes = chunk_sizes or []
        self.incomplete = bool(incomplete)  # a streamed body that was aborted (no final chunk)

    @property
    def chunks(self) -> list[bytes]:
        """A streamed body as it was framed: one item per chunk (the whole body otherwise)."""
        if not self.chunk_sizes:
            return [self.content] if self.content else []
        out, off = [], 0
        for n in self.chunk_sizes:
            out.append(self.content[off:off + n])
            off += n
        return out

    def iter_bytes(self) -> Iterator[bytes]:
        return iter(self.chunks)

    def iter_text(self) -> Iterator[str]:
        return (c.decode("utf-8", "replace") for c in self.chunks)

    def iter_lines(self) -> Iterator[str]:
        return iter(self.text.splitlines())

    def events(self) -> list[dict[str, Any]]:
        """A text/event-stream body parsed like a browser's EventSource (comments skipped):
        [{"event": "message", "data": "...", "id": ..., "retry": ...}]."""
        return parse_sse(self.text)

    def close(self) -> None:
        pass

    def __enter__(self) -> "TestResponse":
        return self

    def __exit__(self, *exc: Any) -> None:
        pass

    @property
    def text(self) -> str:
        return self.content.decode("utf-8", "replace")

    def json(self) -> Any:
        return _json.loads(self.content)

    @property
    def cookies(self) -> dict[str, str]:
        out = {}
        for v in self.headers.get_list("set-cookie"):
            k, _, rest = v.partition("=")
            out[k] = rest.split(";", 1)[0]
        return out

    def __repr__(self) -> str:
        return f"<TestResponse {self.status_code}>"


def parse_sse(text: str) -> list[dict[str, Any]]:
    events: list[dict[str, Any]] = []
    cur: dict[str, Any] = {}
    data: list[str] = []
    for line in text.replace("\r\n", "\n").replace("\r", "\n").split("\n"):
        if line == "":
            if data or cur:
                if data:
                    ev = {"event": cur.get("event", "message"), "data": "\n".join(data)}
                    for k in ("id", "retry"):
                        if k in cur:
                            ev[k] = cur[k]
                    events.append(ev)
                cur, data = {}, []
            continue
        if line.startswith(":"):
            continue
        field, _, value = line.partition(":")
        if value.startswith(" "):
            value = value[1:]
        if field == "data":
            data.append(value)
        elif field == "retry":
            cur["retry"] = int(value) if value.isdigit() else value
        elif field in ("event", "id"):
            cur[field] = value
    return events


class TestWebSocket:
    """An in-memory WebSocket (``with client.websocket_connect("/ws") as ws:``): frames go
    through the core's session code exactly as over a socket."""

    __test__ = False

    def __init__(self, raw: Any, response: TestResponse, timeout: float) -> None:
        self._raw = raw
        self.response = response
        self.timeout = timeout
        self.close_code: int | None = None
        self.close_reason = ""
        self.subprotocol = response.headers.get("sec-websocket-protocol")

    def __enter__(self) -> "TestWebSocket":
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()

    def send_text(self, data: str) -> None:
        self._raw.send(1, data.encode())

    def send_bytes(self, data: bytes) -> None:
        self._raw.send(2, bytes(data))

    def send_json(self, data: Any, mode: str = "text") -> None:
        body = _json.dumps(data).encode()
        self._raw.send(1 if mode == "text" else 2, body)

    def send(self, message: dict[str, Any]) -> None:
        if message.get("text") is not None:
            self.send_text(message["text"])
        else:
            self.send_bytes(message["bytes"])

    def ping(self, data: bytes = b"") -> None:
        self._raw.send(9, data)

    def receive_frame(self, timeout: float | None = None) -> tuple[int, bytes]:
        """The next frame: (opcode, payload); a close frame records close_code / close_reason."""
        f = self._raw.recv(int((self.timeout if timeout is None else timeout) * 1000))
        if f is None:
            raise TimeoutError("no WebSocket frame from the server")
        op, data, code, reason = f
        if op == 8:
            self.close_code, self.close_reason = code, reason
        return op, data

    def receive(self, timeout: float | None = None) -> dict[str, Any]:
        while True:
            try:
                op, data = self.receive_frame(timeout)
            except ConnectionError:
                return {"type": "websocket.close", "code": self.close_code or 1006}
            if op == 8:
                return {"type": "websocket.close", "code": self.close_code, "reason": self.close_reason}
            if op == 1:
                return {"type": "websocket.send", "text": data.decode("utf-8")}
            if op == 2:
                return {"type": "websocket.send", "bytes": data}
            # pings/pongs: the next one

    def _data(self) -> Any:
        m = self.receive()
        if m["type"] == "websocket.close":
            from .websocket import WebSocketDisconnect
            raise WebSocketDisconnect(m["code"] or 1005, m.get("reason", ""))
        return m.get("text", m.get("bytes"))

    def receive_text(self) -> str:
        d = self._data()
        return d if isinstance(d, str) else d.decode()

    def receive_bytes(self) -> bytes:
        d = self._data()
        return d if isinstance(d, bytes) else d.encode()

    def receive_json(self, mode: str = "text") -> Any:
        return _json.loads(self._data())

    def close(self, code: int = 1000, reason: str = "") -> None:
        """Send a close frame (unless the server closed first), wait for its echo, and free."""
        if self._raw is None:
            return
        try:
            if self.close_code is None and not self._raw.server_closed:
                self._raw.send_close(code, reason)
                while self.close_code is None:
                    self.receive_frame()
        except (ConnectionError, TimeoutError):
            pass
        finally:
            self._raw.free()
            self._raw = None


def _multipart(files: Mapping[str, Any], data: Mapping[str, Any] | None) -> tuple[bytes, str]:
    boundary = uuid.uuid4().hex
    out = bytearray()
    for k, v in (data or {}).items():
        out += f"--{boundary}\r\nContent-Disposition: form-data; name=\"{k}\"\r\n\r\n{v}\r\n".encode()
    for k, f in files.items():
        if isinstance(f, tuple):
            name, content, *rest = f
            ctype = rest[0] if rest else "application/octet-stream"
        else:
            name, content, ctype = k, f, "application/octet-stream"
        if isinstance(content, str):
            content = content.encode()
        out += (f"--{boundary}\r\nContent-Disposition: form-data; name=\"{k}\"; filename=\"{name}\"\r\n"
                f"Content-Type: {ctype}\r\n\r\n").encode() + content + b"\r\n"
    out += f"--{boundary}--\r\n".encode()
    return bytes(out), f"multipart/form-data; boundary={boundary}"


class TestClient:
    """``client = TestClient(app); client.get("/users/1").json()``"""

    __test__ = False

    def __init__(self, app: App) -> None:
        self.app = app
        self._local = threading.local()  # the core's client serves one thread at a time
        self._raw = RawTestClient(app._raw)
        self._local.raw = self._raw

    def _client(self) -> RawTestClient:
        raw = getattr(self._local, "raw", None)
        if raw is None:
            raw = self._local.raw = RawTestClient(self.app._raw)
        return raw

    def __enter__(self) -> "TestClient":
        return self

    def __exit__(self, *exc: Any) -> None:
        pass

    def request(self, method: str, url: str, *, params: Mapping[str, Any] | Iterable[tuple[str, Any]] | None = None,
                headers: Mapping[str, str] | Iterable[tuple[str, str]] | None = None,
                cookies: Mapping[str, str] | None = None, json: Any = None, data: Any = None,
                content: bytes | str | None = None, files: Mapping[str, Any] | None = None) -> TestResponse:
        if params:
            items = params.items() if isinstance(params, Mapping) else params
            flat = []
            for k, v in items:
                for x in (v if isinstance(v, (list, tuple)) else [v]):
                    flat.append((k, "true" if x is True else "false" if x is False else str(x)))
            url += ("&" if "?" in url else "?") + urlencode(flat)
        hs: list[tuple[str, str]] = []
        if headers:
            hs = list(headers.items()) if isinstance(headers, Mapping) else list(headers)
        names = {k.lower() for k, _ in hs}
        body = b""
        ctype = None
        if json is not None:
            body, ctype = _json.dumps(json).encode(), "application/json"
        elif files is not None:
            body, ctype = _multipart(files, data)
        elif data is not None:
            if isinstance(data, (bytes, str)):
                body = data.encode() if isinstance(data, str) else data
            else:
                body, ctype = urlencode(data, doseq=True).encode(), "application/x-www-form-urlencoded"
        elif content is not None:
            body = content.encode() if isinstance(content, str) else content
        if ctype and "content-type" not in names:
            hs.append(("Content-Type", ctype))
        if cookies:
            hs.append(("Cookie", "; ".join(f"{k}={v}" for k, v in cookies.items())))
        return TestResponse(*self._client().request(method.upper(), url, hs, body))

    def stream(self, method: str, url: str, **kw: Any) -> TestResponse:
        """``with client.stream("GET", "/events") as r: for chunk in r.iter_bytes(): ...``. The
        in-memory client returns when the stream has ended; chunks keep their boundaries."""
        return self.request(method, url, **kw)

    def websocket_connect(self, url: str, *, headers: Mapping[str, str] | None = None,
                          subprotocols: list[str] | None = None, timeout: float = 5.0) -> TestWebSocket:
        """Open a WebSocket through the pipeline; a refused handshake raises
        WebSocketRejected carrying the HTTP response."""
        hs = list(headers.items()) if headers else []
        if subprotocols:
            hs.append(("Sec-WebSocket-Protocol", ", ".join(subprotocols)))
        resp, raw = self._client().websocket(url, hs)
        r = TestResponse(*resp)
        if raw is None:
            raise WebSocketRejected(r)
        return TestWebSocket(raw, r, timeout)

    def raw(self, data: bytes) -> TestResponse:
        """Send raw HTTP/1.1 bytes (one request)."""
        return TestResponse(*self._client().request_raw(data))

    def drain(self, timeout: float = 5.0) -> bool:
        """Wait for the background tasks spawned so far."""
        return self._raw.drain(int(timeout * 1000))

    def get(self, url: str, **kw: Any) -> TestResponse:
        return self.request("GET", url, **kw)

    def post(self, url: str, **kw: Any) -> TestResponse:
        return self.request("POST", url, **kw)

    def put(self, url: str, **kw: Any) -> TestResponse:
        return self.request("PUT", url, **kw)

    def patch(self, url: str, **kw: Any) -> TestResponse:
        return self.request("PATCH", url, **kw)

    def delete(self, url: str, **kw: Any) -> TestResponse:
        return self.request("DELETE", url, **kw)

    def head(self, url: str, **kw: Any) -> TestResponse:
        return self.request("HEAD", url, **kw)

    def options(self, url: str, **kw: Any) -> TestResponse:
        return self.request("OPTIONS", url, **kw)


class AsyncTestClient:
    """The same, awaitable: each request runs in a worker thread, so the caller's event loop
    keeps running (async handlers run on spikard's own loop)."""

    __test__ = False

    def __init__(self, app: App) -> None:
        self._sync = TestClient(app)

    async def __aenter__(self) -> "AsyncTestClient":
        return self

    async def __aexit__(self, *exc: Any) -> None:
        pass

    async def request(self, method: str, url: str, **kw: Any) -> TestResponse:
        return await asyncio.to_thread(self._sync.request, method, url, **kw)

    async def get(self, url: str, **kw: Any) -> TestResponse:
        return await self.request("GET", url, **kw)

    async def post(self, url: str, **kw: Any) -> TestResponse:
        return await self.request("POST", url, **kw)

    async def put(self, url: str, **kw: Any) -> TestResponse:
        return await self.request("PUT", url, **kw)

    async def patch(self, url: str, **kw: Any) -> TestResponse:
        return await self.request("PATCH", url, **kw)

    async def delete(self, url: str, **kw: Any) -> TestResponse:
        return await self.request("DELETE", url, **kw)
