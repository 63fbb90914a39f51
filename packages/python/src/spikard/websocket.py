"""WebSocket handlers in the Starlette/FastAPI style on the core's WebSocket session
(include/spikard/websocket.h): the core does the handshake, framing, pings, UTF-8 and size
checks; its callbacks feed one asyncio queue per connection on spikard's loop, where the
handler runs; sends go straight to the core (thread-safe)."""
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
    """One connection. The core has already answered the handshake (101) when the handler
    starts, so ``accept()`` only records that the handler is ready."""

    def __init__(self, raw: Any, req: Any) -> None:
        self._raw = raw
        self.path: str = req.path
        self.query_string: str = req.query_string
        self.headers: dict[str, str] = {}
        for k, v in req.headers():
            self.headers.setdefault(k.lower(), v)
        self.path_params: dict[str, str] = dict(req.params())
        self.query_params: dict[str, str] = dict(parse_qsl(self.query_string, keep_blank_values=True))
        self._queue: asyncio.Queue = asyncio.Queue()
        self._in = self._out = 0  # messages queued / received: one writer thread each, no race
        self.client_state = WebSocketState.CONNECTED
        self.application_state = WebSocketState.CONNECTING
        self.close_code: int | None = None
        self.close_reason = ""
        self.state: dict[str, Any] = {}

    # -- core callbacks (the connection's loop thread)
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
        return self._raw.subprotocol

    async def accept(self, subprotocol: str | None = None, headers: Any = None) -> None:
        self.application_state = WebSocketState.CONNECTED

    async def receive(self) -> dict[str, Any]:
        """Starlette's message dicts: websocket.receive with text or bytes, or websocket.disconnect."""
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
        self._sent(self._raw.send_text(data))

    async def send_bytes(self, data: bytes) -> None:
        self._sent(self._raw.send_bytes(data))

    async def send_json(self, data: Any, mode: str = "text") -> None:
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
            await self.accept()

    async def close(self, code: int = 1000, reason: str | None = None) -> None:
        if self.application_state != WebSocketState.DISCONNECTED:
            self.application_state = WebSocketState.DISCONNECTED
            self._raw.close(code, reason or "")


def entry(app: Any, fn: Callable[..., Any], kwargs: Callable[[WebSocket], dict[str, Any]]) -> Callable[[Any, Any], Any]:
    """The callable the core calls on open: makes the WebSocket and starts the handler task."""

    def on_open(raw: Any, req: Any) -> WebSocket:
        ws = WebSocket(raw, req)

        async def run() -> None:
            try:
                await fn(**kwargs(ws))
            except WebSocketDisconnect:
                pass
            except Exception:
                log.exception("websocket handler failed")
                await ws.close(1011, "Internal error")
                return
            await ws.close(1000)

        _aio.submit(run)
        return ws

    return on_open
