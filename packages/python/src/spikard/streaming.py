"""Streamed responses and Server-Sent Events on the core's streams (include/spikard/stream.h).

A sync iterator is a *pull* producer: the core asks for the next item on the connection's loop
thread when the socket has taken everything sent so far (back-pressure for free). An async
iterator is a *push* producer: it runs on spikard's asyncio loop and writes each item from there;
when the core's queue is full the write answers EAGAIN and the pump waits and retries. When the
client goes away the core cancels the stream: the generator is closed (its ``finally`` blocks
run) — a sync one at once, an async one by cancelling its task."""
from __future__ import annotations

import asyncio
import logging
from typing import Any, AsyncIterable, Iterable, Mapping

from . import _aio
from ._spikard import EAGAIN, ECLOSED, EIO, STREAM_END, STREAM_MORE
from .responses import Response, encode_json

__all__ = ["StreamingResponse", "EventSourceResponse", "ServerSentEvent"]

log = logging.getLogger("spikard")
_RETRY_S = 0.002  # first wait after EAGAIN; doubles up to _RETRY_MAX_S
_RETRY_MAX_S = 0.05


def _chunk(item: Any) -> bytes | str:
    if isinstance(item, (bytes, str)):
        return item
    if isinstance(item, (bytearray, memoryview)):
        return bytes(item)
    return encode_json(item)


class ServerSentEvent:
    """One event: ``ServerSentEvent(data, event=None, id=None, retry=None, comment=None)``.
    ``data`` that is not str/bytes is sent as JSON; line breaks in it become data: lines."""

    __slots__ = ("data", "event", "id", "retry", "comment")

    def __init__(self, data: Any = None, *, event: str | None = None, id: str | int | None = None,
                 retry: int | None = None, comment: str | None = None) -> None:
        self.data, self.event, self.id, self.retry, self.comment = data, event, id, retry, comment

    def fields(self) -> tuple:
        d = self.data
        if d is not None and not isinstance(d, (str, bytes)):
            d = encode_json(d)
        return (d, self.event, None if self.id is None else str(self.id),
                int(self.retry) if self.retry else 0, self.comment)


_EVENT_KEYS = {"data", "event", "id", "retry", "comment"}


def _event(item: Any) -> tuple:
    if isinstance(item, ServerSentEvent):
        return item.fields()
    if isinstance(item, Mapping) and item and set(item) <= _EVENT_KEYS:  # sse-starlette style
        return ServerSentEvent(**item).fields()
    return ServerSentEvent(item).fields()


class _Producer:
    """Drives one iterator into one core stream (the C layer calls start/pull/cancel)."""

    def __init__(self, content: Any, sse: bool) -> None:
        self.sse = sse
        self.is_async = hasattr(content, "__aiter__")
        self.it: Any = content.__aiter__() if self.is_async else iter(content)
        self.cancelled = False
        self.task: asyncio.Task | None = None

    def _write(self, stream: Any, item: Any) -> int:
        return stream.send_event(*_event(item)) if self.sse else stream.write(_chunk(item))

    # -- pull (sync iterators), on the connection's loop thread
    def start(self, stream: Any) -> None:
        if self.is_async:
            _aio.submit(lambda: self._pump(stream))

    def pull(self, stream: Any) -> int:
        while True:
            try:
                item = next(self.it)
            except StopIteration:
                return STREAM_END
            except Exception:
                log.exception("streaming iterator failed")
                self._close_sync()
                return EIO  # abort: the client sees an incomplete body, not a short success
            if not self.sse and not item and isinstance(item, (bytes, str, bytearray)):
                continue  # an empty write queues nothing, and MORE without a write would pause
            rc = self._write(stream, item)
            if rc == 0:
                return STREAM_MORE
            if rc != EAGAIN:  # the client went away or the write was refused
                if rc != ECLOSED:
                    log.error("stream write failed (%d)", rc)
                self._close_sync()  # returning an error releases the stream: no cancel follows
                return EIO
            # EAGAIN with a pull producer cannot happen (nothing is queued when pulled); retry

    def _close_sync(self) -> None:
        close = getattr(self.it, "close", None)
        if close is not None:
            try:
                close()
            except Exception:
                log.exception("closing the streaming iterator failed")

    # -- cancel: the client went away (loop thread)
    def cancel(self, stream: Any) -> None:
        self.cancelled = True
        if not self.is_async:
            self._close_sync()
        elif self.task is not None:
            _aio.loop().call_soon_threadsafe(self.task.cancel)

    # -- push (async iterators), on the asyncio loop
    async def _pump(self, stream: Any) -> None:
        self.task = asyncio.current_task()
        ok = False
        try:
            while not self.cancelled:
                try:
                    item = await self.it.__anext__()
                except StopAsyncIteration:
                    ok = True
                    break
                rc = self._write(stream, item)
                wait = _RETRY_S
                while rc == EAGAIN and not self.cancelled:  # the consumer is slow: back off
                    await asyncio.sleep(wait)
                    wait = min(wait * 2, _RETRY_MAX_S)
                    rc = self._write(stream, item)
                if rc != 0:
                    break
        except asyncio.CancelledError:
            pass
        except Exception:
            log.exception("streaming async iterator failed")
        finally:
            aclose = getattr(self.it, "aclose", None)
            if aclose is not None:
                try:
                    await aclose()
                except BaseException:
                    log.exception("closing the streaming async iterator failed")
            if ok:
                stream.end()
            else:
                stream.abort()


class StreamingResponse(Response):
    """``StreamingResponse(content, status_code=200, headers=None, media_type=None)``: content is
    a sync or async iterable of bytes/str (other items are sent as JSON); one chunk per item."""

    def __init__(self, content: Iterable[Any] | AsyncIterable[Any], status_code: int = 200,
                 headers: Mapping[str, str] | None = None, media_type: str | None = None) -> None:
        super().__init__(None, status_code, headers, media_type)
        self.body_iterator = content

    def render(self) -> tuple:
        p = _Producer(self.body_iterator, sse=False)
        mt = self.media_type  # sent as given: the chunks' encoding is the producer's business
        if mt is None and not any(k.lower() == "content-type" for k, _ in self.headers):
            mt = "application/octet-stream"
        return (self.status_code, self.headers or None, ("stream", p, not p.is_async, 0), mt)


class EventSourceResponse(Response):
    """``EventSourceResponse(events, ping=None, headers=None)``: a text/event-stream of the items
    of a sync or async iterable — ServerSentEvent, a dict with data/event/id/retry/comment keys
    (sse-starlette style), str (data) or anything else (JSON data). ``ping`` is the keep-alive
    interval in seconds (None: the app's ``sse`` setting, else 15 s; 0: none)."""

    def __init__(self, content: Iterable[Any] | AsyncIterable[Any], status_code: int = 200,
                 headers: Mapping[str, str] | None = None, ping: float | None = None) -> None:
        super().__init__(None, status_code, headers)
        self.body_iterator = content
        self.ping = ping

    def render(self) -> tuple:
        p = _Producer(self.body_iterator, sse=True)
        keep = 0 if self.ping is None else (-1 if self.ping <= 0 else max(1, int(self.ping * 1000)))
        return (self.status_code, self.headers or None, ("sse", p, not p.is_async, keep), None)
