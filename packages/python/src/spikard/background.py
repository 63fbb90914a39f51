"""Background tasks: work run after the response has been sent, on the app's pool (the core's
include/spikard/background.h: bounded queue, tasks of one request in order, drained on shutdown).

    @app.post("/signup")
    def signup(user: User, tasks: BackgroundTasks):
        tasks.add_task(send_mail, user.email)
        return {"ok": True}
"""
from __future__ import annotations

import functools
import inspect
from typing import Any, Callable

from . import _aio
from ._spikard import QueueFull

__all__ = ["BackgroundTasks", "QueueFull"]


def task_callable(fn: Callable[..., Any], args: tuple, kwargs: dict) -> Callable[[], Any]:
    call = functools.partial(fn, *args, **kwargs)
    if inspect.iscoroutinefunction(fn):
        return lambda: _aio.run_sync(call())  # the pool thread waits for the loop
    return call


class BackgroundTasks:
    """Declared as a handler parameter (``tasks: BackgroundTasks``). A full queue raises
    QueueFull, which answers 503 (Retry-After: 1) and drops the request's earlier tasks."""

    __slots__ = ("_raw", "_app")

    def __init__(self, raw: Any, raw_app: Any) -> None:
        self._raw, self._app = raw, raw_app

    def add_task(self, fn: Callable[..., Any], *args: Any, **kwargs: Any) -> None:
        call = task_callable(fn, args, kwargs)
        if self._raw.live:
            self._raw.spawn(call)
        else:  # the response is gone (a task added late): run it as app-level work
            self._app.spawn(call)
