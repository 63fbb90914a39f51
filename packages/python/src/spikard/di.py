"""Dependency injection through the core's container (include/spikard/di.h).

`app.provide(name, value_or_factory)` registers a provider with the core: a plain value, or a
factory whose parameters name the providers it depends on (a parameter annotated `Request`, or
named `request`, receives the request). The core plans the resolution at freeze (unknown names
and cycles are reported there), resolves per request / once (singleton) / per use (transient),
runs the async factories of one batch concurrently, answers 503 `dependency-error` when a
factory fails, and runs the cleanup of generator factories after the response has been sent.
The binding only translates: it calls the Python factory and hands the core the value."""
from __future__ import annotations

import inspect
import itertools
import logging
from typing import Any, Callable

from . import _aio
from ._spikard import DEP_REQUEST, DEP_SINGLETON, DEP_TRANSIENT
from .params import Provide
from .request import Request

__all__ = ["register", "definition", "unwrap", "anonymous_name"]

log = logging.getLogger("spikard")
_anon = itertools.count(1)


class _WithCleanup:
    """A generator factory's value together with the generator that cleans it up."""

    __slots__ = ("value", "gen")

    def __init__(self, value: Any, gen: Any) -> None:
        self.value, self.gen = value, gen


def unwrap(v: Any) -> Any:
    return v.value if type(v) is _WithCleanup else v


def _drop(v: Any) -> None:
    """Core cleanup callback (after the response, or with the app)."""
    if type(v) is not _WithCleanup:
        return
    gen = v.gen
    if inspect.isasyncgen(gen):
        async def close() -> None:
            try:
                await gen.__anext__()
            except StopAsyncIteration:
                pass
            except Exception:
                log.exception("dependency cleanup failed")
        _aio.submit(close)
        return
    try:
        next(gen)
    except StopIteration:
        pass
    except Exception:
        log.exception("dependency cleanup failed")


def anonymous_name(factory: Callable[..., Any]) -> str:
    return f"{getattr(factory, '__qualname__', 'factory')}#{next(_anon)}"


def register(raw_app: Any, name: str, target: Any, *, singleton: bool = False, use_cache: bool = True) -> None:
    """Register `target` (value, factory or Provide) under `name` with the core."""
    raw_app.provide(definition(raw_app, name, target, singleton=singleton, use_cache=use_cache))


def definition(raw_app: Any, name: str, target: Any, *, singleton: bool = False, use_cache: bool = True) -> tuple:
    """The core's provider definition (name, factory, value, depends_on, scope, drop); inline
    `Provide(...)` parameters of the factory are registered with the app on the way."""
    if isinstance(target, Provide):
        singleton = singleton or target.singleton
        use_cache = target.use_cache
        target = target.factory
    if not callable(target):
        return (name, None, target, None, DEP_REQUEST, None)
    sig = inspect.signature(target)
    needs: list[tuple[str, str | None]] = []  # (parameter, provider name | None for the request)
    for p in sig.parameters.values():
        if p.kind in (p.VAR_POSITIONAL, p.VAR_KEYWORD):
            continue
        if p.annotation is Request or (p.name == "request" and p.annotation in (inspect.Parameter.empty, "Request")):
            needs.append((p.name, None))
        elif isinstance(p.default, Provide):
            anon = anonymous_name(p.default.factory)
            register(raw_app, anon, p.default)
            needs.append((p.name, anon))
        elif p.default is inspect.Parameter.empty:  # parameters with defaults keep them
            needs.append((p.name, p.name))
    kind = ("agen" if inspect.isasyncgenfunction(target) else "gen" if inspect.isgeneratorfunction(target)
            else "async" if inspect.iscoroutinefunction(target) else "func")

    def entry(raw: Any, dep: Any) -> None:
        try:
            kw = {pn: Request(raw) if prov is None else unwrap(raw.dep(prov)) for pn, prov in needs}
        except Exception as exc:
            dep.fail(f"{name}: {exc!r}")
            return
        if kind in ("func", "gen"):
            try:
                if kind == "gen":
                    gen = target(**kw)
                    value = _WithCleanup(next(gen), gen)
                else:
                    value = target(**kw)
            except Exception as exc:
                log.warning("dependency %r failed: %r", name, exc)
                dep.fail(str(exc) or type(exc).__name__)
                return
            dep.resolve(value)
            return

        async def run() -> None:
            try:
                if kind == "agen":
                    agen = target(**kw)
                    value = _WithCleanup(await agen.__anext__(), agen)
                else:
                    value = await target(**kw)
            except Exception as exc:
                log.warning("dependency %r failed: %r", name, exc)
                dep.fail(str(exc) or type(exc).__name__)
                return
            dep.resolve(value)

        _aio.submit(run)

    scope = DEP_SINGLETON if singleton else DEP_REQUEST if use_cache else DEP_TRANSIENT
    return (name, entry, None, [prov for _, prov in needs if prov is not None], scope, _drop)
