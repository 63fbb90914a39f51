"""WebSocket handlers in the Starlette/FastAPI style on the core's WebSocket session
(include/spikard/websocket.h): the core checks the handshake and does framing, pings, UTF-8 and
size checks; the handler decides the handshake (``accept()``, or ``close()`` before it: 403);
the core's callbacks feed one asyncio queue per connection on spikard's loop, where the handler
runs; sends go straight to the core (thread-safe)."""
from __future__ import annotations

import asyncio
import json as _json
import logging
from typing import Any, AsyncIterator, Callable
from urllib.parse import parse_qsl

from . import _aio
from ._spikard import ESTATE
from .responses import encode_json

__all__ = ["WebSocket", "WebSocketDisconnect", "WebSocketState"]

log = logging.getLogger("spikard")


class WebSocketDisconnect(Exception):
    def __init__(self, code: int = 1000, reason: str = "") -> None:
        super().__init__(code, reason)
        self.code = code
        self.reason = reason


class WebSocketState:
    CONNECTING, CONNECTED, DISCONNECTED = 0, 1, 2


_CLOSE = object()
# Unread messages a connection may queue before it is closed 1008: the core keeps reading, so
# a handler that stops receiving would otherwise let a client fill memory.
MAX_UNREAD = 10_000


class WebSocket:
    """One connection. The handler starts while the upgrade request waits: ``await accept()``
    answers 101 (optionally with a subprotocol the client offered and extra headers); ``close()``
    before it, or returning without it, answers 403, an exception 500. Receiving or sending
    before ``accept()`` accepts implicitly."""

    def __init__(self, hs: Any, req: Any) -> None:
        self._hs = hs  # RawHandshake until the handshake is answered
        self._raw: Any = None  # RawWebSocket once the connection switched
        self._opened: asyncio.Future | None = None
        self.path: str = req.path
        self.query_string: str = req.query_string
        self.headers: dict[str, str] = {}
        for k, v in req.headers():
            self.headers.setdefault(k.lower(), v)
        self.path_params: dict[str, str] = dict(req.params())
        self.query_params: dict[str, str] = dict(parse_qsl(self.query_string, keep_blank_values=True))
        self._queue: asyncio.Queue = asyncio.Queue()
        self._in = self._out = 0  # messages queued / received: one writer thread each, no race
        self.client_state = WebSocketState.CONNECTING
        self.application_state = WebSocketState.CONNECTING
        self.close_code: int | None = None
        self.close_reason = ""
        self.state: dict[str, Any] = {}

    # -- core callbacks (the connection's loop thread)
    def opened(self, raw: Any) -> None:
        self._raw = raw
        self.client_state = WebSocketState.CONNECTED
        _aio.loop().call_soon_threadsafe(_settle, self._opened, True)

    def dropped(self) -> None:
        """Accepted, but the connection never switched (client gone, shutdown, timeout)."""
        self.client_state = WebSocketState.DISCONNECTED
        self.close_code = 1006
        _aio.loop().call_soon_threadsafe(_settle, self._opened, False)

    def message(self, data: str | bytes) -> None:
        self._in += 1
        if self._in - self._out > MAX_UNREAD:  # the handler does not keep up: bound the memory
            self._raw.close(1008, "message backlog")
            return
        _aio.loop().call_soon_threadsafe(self._queue.put_nowait, data)

    def closed(self, code: int, reason: str) -> None:
        self.close_code, self.close_reason = code, reason
        _aio.loop().call_soon_threadsafe(self._queue.put_nowait, _CLOSE)

    # -- the handler's API (spikard's asyncio loop)
    @property
    def subprotocol(self) -> str | None:
        return self._raw.subprotocol if self._raw is not None else None

    async def accept(self, subprotocol: str | None = None, headers: Any = None) -> None:
        """Answer the handshake 101. ``subprotocol`` must be one the client offered (default: the
        one negotiated from the route's ``subprotocols``); ``headers``: extra response headers."""
        if self._hs is None:
            if self.application_state == WebSocketState.CONNECTED:
                return
            raise RuntimeError("the WebSocket handshake was already refused")
        if isinstance(headers, dict):
            headers = list(headers.items())
        hdrs = [(k.decode() if isinstance(k, bytes) else k, v.decode() if isinstance(v, bytes) else v)
                for k, v in headers or ()]
        self._opened = asyncio.get_running_loop().create_future()
        self._hs.accept(subprotocol, hdrs or None, self)
        self._hs = None
        self.application_state = WebSocketState.CONNECTED
        if not await self._opened:
            self.application_state = WebSocketState.DISCONNECTED
            raise WebSocketDisconnect(1006, "the connection closed during the handshake")

    def _refuse(self, status: int, detail: str | None = None) -> None:
        if self._hs is not None and self._hs.pending:
            self._hs.refuse(status, detail)
        self._hs = None
        self.application_state = self.client_state = WebSocketState.DISCONNECTED

    async def _connected(self) -> None:
        if self.application_state == WebSocketState.CONNECTING:
            await self.accept()

    async def receive(self) -> dict[str, Any]:
        """Starlette's message dicts: websocket.receive with text or bytes, or websocket.disconnect."""
        await self._connected()
        if self.client_state == WebSocketState.DISCONNECTED:
            return {"type": "websocket.disconnect", "code": self.close_code or 1006}
        m = await self._queue.get()
        self._out += 1
        if m is _CLOSE:
            self.client_state = WebSocketState.DISCONNECTED
            return {"type": "websocket.disconnect", "code": self.close_code, "reason": self.close_reason}
        return {"type": "websocket.receive", "text" if isinstance(m, str) else "bytes": m}

    async def _next(self) -> str | bytes:
        m = await self.receive()
        if m["type"] == "websocket.disconnect":
            raise WebSocketDisconnect(m["code"] or 1005, m.get("reason", ""))
        return m.get("text", m.get("bytes"))

    async def receive_text(self) -> str:
        m = await self._next()
        return m if isinstance(m, str) else m.decode("utf-8")

    async def receive_bytes(self) -> bytes:
        m = await self._next()
        return m if isinstance(m, bytes) else m.encode()

    async def receive_json(self, mode: str = "text") -> Any:
        return _json.loads(await self._next())

    async def iter_text(self) -> AsyncIterator[str]:
        try:
            while True:
                yield await self.receive_text()
        except WebSocketDisconnect:
            pass

    async def iter_bytes(self) -> AsyncIterator[bytes]:
        try:
            while True:
                yield await self.receive_bytes()
        except WebSocketDisconnect:
            pass

    async def iter_json(self) -> AsyncIterator[Any]:
        try:
            while True:
                yield await self.receive_json()
        except WebSocketDisconnect:
            pass

    def _sent(self, rc: int) -> None:
        if rc == ESTATE:
            self.application_state = WebSocketState.DISCONNECTED
            raise WebSocketDisconnect(self.close_code or 1006, self.close_reason)
        if rc != 0:
            raise RuntimeError(f"websocket send failed ({rc})")

    async def send_text(self, data: str) -> None:
        await self._connected()
        self._sent(self._raw.send_text(data))

    async def send_bytes(self, data: bytes) -> None:
        await self._connected()
        self._sent(self._raw.send_bytes(data))

    async def send_json(self, data: Any, mode: str = "text") -> None:
        await self._connected()
        body = encode_json(data)
        self._sent(self._raw.send_bytes(body) if mode == "binary" else self._raw.send_text(body))

    async def send(self, message: dict[str, Any]) -> None:
        t = message.get("type")
        if t == "websocket.send":
            if message.get("text") is not None:
                await self.send_text(message["text"])
            else:
                await self.send_bytes(message["bytes"])
        elif t == "websocket.close":
            await self.close(message.get("code", 1000), message.get("reason") or "")
        elif t == "websocket.accept":
            await self.accept(message.get("subprotocol"), message.get("headers"))

    async def close(self, code: int = 1000, reason: str | None = None) -> None:
        """Close the connection — or, before ``accept()``, refuse the handshake (403)."""
        if self.application_state == WebSocketState.CONNECTING:
            self._refuse(403, reason or None)
        elif self.application_state != WebSocketState.DISCONNECTED:
            self.application_state = WebSocketState.DISCONNECTED
            if self._raw is not None:
                self._raw.close(code, reason or "")


def _settle(fut: asyncio.Future | None, ok: bool) -> None:
    if fut is not None and not fut.done():
        fut.set_result(ok)


def entry(app: Any, fn: Callable[..., Any], kwargs: Callable[[WebSocket], dict[str, Any]]) -> Callable[[Any, Any], Any]:
    """The callable the core calls with each valid upgrade request: makes the WebSocket and starts
    the handler task, which answers the handshake."""

    def on_handshake(hs: Any, req: Any) -> WebSocket:
        ws = WebSocket(hs, req)

        async def run() -> None:
            try:
                kw = kwargs(ws)
            except (TypeError, ValueError) as exc:
                ws._refuse(400, f"Invalid parameter: {exc}")
                return
            try:
                await fn(**kw)
            except WebSocketDisconnect:
                pass
            except Exception:
                log.exception("websocket handler failed")
                if ws.application_state == WebSocketState.CONNECTING:
                    ws._refuse(500)
                else:
                    await ws.close(1011, "Internal error")
                return
            if ws.application_state == WebSocketState.CONNECTING:
                ws._refuse(403)  # returned without accepting: Starlette answers 403 too
            else:
                await ws.close(1000)

        _aio.submit(run)
        return ws

    return on_handshake
