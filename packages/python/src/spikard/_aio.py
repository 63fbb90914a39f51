"""The asyncio loop that runs async handlers, on one background thread per process.

Requests are handed over in batches: the first request of a batch wakes the loop once
(call_soon_threadsafe), the rest are appended to the same batch while the loop is busy."""
from __future__ import annotations

import asyncio
import os
import threading
from typing import Any, Callable, Coroutine

_lock = threading.Lock()
_loop: asyncio.AbstractEventLoop | None = None
_batch: list[Callable[[], Coroutine[Any, Any, Any]]] = []
_scheduled = False


def loop() -> asyncio.AbstractEventLoop:
    global _loop
    if _loop is not None:
        return _loop
    with _lock:
        if _loop is None:
            try:
                import uvloop  # type: ignore[import-not-found]

                new = uvloop.new_event_loop()
            except ImportError:
                new = asyncio.new_event_loop()
            ready = threading.Event()

            def run() -> None:
                asyncio.set_event_loop(new)
                new.call_soon(ready.set)
                new.run_forever()

            threading.Thread(target=run, name="spikard-asyncio", daemon=True).start()
            ready.wait()
            _loop = new
    return _loop


def _reset_after_fork() -> None:
    """A forked child has none of the parent's threads: start its own loop when needed."""
    global _lock, _loop, _batch, _scheduled
    _lock, _loop, _batch, _scheduled = threading.Lock(), None, [], False


os.register_at_fork(after_in_child=_reset_after_fork)


def _drain() -> None:
    global _batch, _scheduled
    with _lock:
        items, _batch, _scheduled = _batch, [], False
    lp = _loop
    assert lp is not None
    for make in items:
        lp.create_task(make())


def submit(make: Callable[[], Coroutine[Any, Any, Any]]) -> None:
    """Run make() on the loop; callable from any thread."""
    global _scheduled
    lp = loop()
    with _lock:
        _batch.append(make)
        wake = not _scheduled
        _scheduled = True
    if wake:
        lp.call_soon_threadsafe(_drain)


def run_sync(coro: Coroutine[Any, Any, Any]) -> Any:
    """Run a coroutine on the loop and wait for it (from a thread that is not the loop's)."""
    lp = loop()
    try:
        running = asyncio.get_running_loop()
    except RuntimeError:
        running = None
    if running is lp:
        raise RuntimeError("run_sync called on the spikard loop")
    return asyncio.run_coroutine_threadsafe(coro, lp).result()
