"""Module-level route decorators, the original Spikard's quick-start style:

    from spikard import Spikard, get

    app = Spikard()

    @get("/hello")
    def hello(name: str): ...

A decorator registers its handler on the most recently created app in this process, or, when
no app exists yet, keeps it until the next one is created (the app adopts it). Explicit
``@app.get`` stays the recommended form when a process builds several apps.
"""
from __future__ import annotations

import sys
import weakref
from typing import TYPE_CHECKING, Any, Callable, TypeVar

if TYPE_CHECKING:
    from .app import App

F = TypeVar("F", bound=Callable[..., Any])

_current: "weakref.ref[App] | None" = None
_pending: list[tuple[str, tuple[str, ...], Callable[..., Any], dict, dict]] = []


def _adopt(app: "App") -> None:
    """Called by App.__init__: this app receives module-level routes from now on."""
    global _current
    _current = weakref.ref(app)
    while _pending:
        path, methods, fn, kw, localns = _pending.pop(0)
        for m in methods:
            app.add_route(m, path, fn, _localns=localns, **kw)


def route(path: str, methods: list[str] | tuple[str, ...] | str = ("GET",), **kw: Any) -> Callable[[F], F]:
    if isinstance(methods, str):
        methods = (methods,)

    def deco(fn: F) -> F:
        localns = dict(sys._getframe(1).f_locals)  # the frame applying the decorator
        app = _current() if _current is not None else None
        if app is None:
            _pending.append((path, tuple(methods), fn, kw, localns))
        else:
            for m in methods:
                app.add_route(m, path, fn, _localns=localns, **kw)
        return fn
    return deco


def get(path: str, **kw: Any) -> Callable[[F], F]:
    return route(path, ("GET",), **kw)


def post(path: str, **kw: Any) -> Callable[[F], F]:
    return route(path, ("POST",), **kw)


def put(path: str, **kw: Any) -> Callable[[F], F]:
    return route(path, ("PUT",), **kw)


def patch(path: str, **kw: Any) -> Callable[[F], F]:
    return route(path, ("PATCH",), **kw)


def delete(path: str, **kw: Any) -> Callable[[F], F]:
    return route(path, ("DELETE",), **kw)


def head(path: str, **kw: Any) -> Callable[[F], F]:
    return route(path, ("HEAD",), **kw)


def options(path: str, **kw: Any) -> Callable[[F], F]:
    return route(path, ("OPTIONS",), **kw)
