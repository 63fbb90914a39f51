"""Dependency injection: providers by name, resolved per request (or once, for singletons).

A factory's parameters are resolved by name from the other providers; a parameter annotated
`Request` (or named `request`) receives the request. Generator factories (sync or async) yield
the value and run their cleanup after the handler. Resolution is done in the binding: Python
callables must run with the GIL anyway, so there is nothing for the core to overlap."""
from __future__ import annotations

import inspect
import threading
from typing import Any

from .params import Provide
from .request import Request

__all__ = ["Provider", "DependencyError", "resolve_sync", "resolve_async"]


class DependencyError(Exception):
    """A factory failed: answered 503 dependency-error, like the core's own DI."""

    def __init__(self, name: str, cause: BaseException) -> None:
        super().__init__(f"dependency '{name}' failed: {cause!r}")
        self.name = name
        self.cause = cause


class Provider:
    __slots__ = ("name", "factory", "value", "is_value", "singleton", "use_cache", "kind", "params",
                 "_lock", "_cached", "_has_cache")

    def __init__(self, name: str, target: Any, *, singleton: bool = False, use_cache: bool = True) -> None:
        if isinstance(target, Provide):
            singleton = singleton or target.singleton
            use_cache = target.use_cache
            target = target.factory
        self.name = name
        self.singleton = singleton
        self.use_cache = use_cache
        self._lock = threading.Lock()
        self._cached: Any = None
        self._has_cache = False
        if not callable(target):
            self.is_value, self.value, self.factory, self.kind, self.params = True, target, None, "value", []
            return
        self.is_value, self.value, self.factory = False, None, target
        if inspect.isasyncgenfunction(target):
            self.kind = "agen"
        elif inspect.isgeneratorfunction(target):
            self.kind = "gen"
        elif inspect.iscoroutinefunction(target):
            self.kind = "async"
        else:
            self.kind = "func"
        try:
            sig = inspect.signature(target)
            self.params = [p for p in sig.parameters.values()
                           if p.kind not in (p.VAR_POSITIONAL, p.VAR_KEYWORD)]
        except (TypeError, ValueError):
            self.params = []


def _wants_request(p: inspect.Parameter) -> bool:
    return p.annotation is Request or p.name == "request"


def _kwargs_sync(prov: Provider, providers: dict[str, Provider], ctx: dict, cleanups: list,
                 request: Request | None) -> dict:
    kw = {}
    for p in prov.params:
        if p.name in providers:
            kw[p.name] = resolve_sync(p.name, providers[p.name], providers, ctx, cleanups, request)
        elif isinstance(p.default, Provide):
            kw[p.name] = resolve_sync(p.name, Provider(p.name, p.default), providers, ctx, cleanups, request)
        elif _wants_request(p) and request is not None:
            kw[p.name] = request
    return kw


def resolve_sync(name: str, prov: Provider, providers: dict[str, Provider], ctx: dict, cleanups: list,
                 request: Request | None) -> Any:
    if prov.is_value:
        return prov.value
    if prov.singleton and prov._has_cache:
        return prov._cached
    key = id(prov.factory)
    if prov.use_cache and key in ctx:
        return ctx[key]
    if prov.kind in ("async", "agen"):
        from . import _aio
        value = _aio.run_sync(resolve_async(name, prov, providers, ctx, cleanups, request))
        return value
    kw = _kwargs_sync(prov, providers, ctx, cleanups, request)
    try:
        if prov.kind == "gen":
            gen = prov.factory(**kw)
            value = next(gen)
            cleanups.append(gen)
        else:
            value = prov.factory(**kw)
    except Exception as exc:
        from .responses import HTTPException
        if isinstance(exc, HTTPException):
            raise
        raise DependencyError(name, exc) from exc
    return _store(prov, key, value, ctx)


def _store(prov: Provider, key: int, value: Any, ctx: dict) -> Any:
    if prov.singleton:
        with prov._lock:
            if not prov._has_cache:
                prov._cached, prov._has_cache = value, True
            return prov._cached
    if prov.use_cache:
        ctx[key] = value
    return value


async def resolve_async(name: str, prov: Provider, providers: dict[str, Provider], ctx: dict, cleanups: list,
                        request: Request | None) -> Any:
    if prov.is_value:
        return prov.value
    if prov.singleton and prov._has_cache:
        return prov._cached
    key = id(prov.factory)
    if prov.use_cache and key in ctx:
        return ctx[key]
    kw = {}
    for p in prov.params:
        if p.name in providers:
            kw[p.name] = await resolve_async(p.name, providers[p.name], providers, ctx, cleanups, request)
        elif isinstance(p.default, Provide):
            kw[p.name] = await resolve_async(p.name, Provider(p.name, p.default), providers, ctx, cleanups, request)
        elif _wants_request(p) and request is not None:
            kw[p.name] = request
    try:
        if prov.kind == "agen":
            gen = prov.factory(**kw)
            value = await gen.__anext__()
            cleanups.append(gen)
        elif prov.kind == "gen":
            gen = prov.factory(**kw)
            value = next(gen)
            cleanups.append(gen)
        elif prov.kind == "async":
            value = await prov.factory(**kw)
        else:
            value = prov.factory(**kw)
    except Exception as exc:
        from .responses import HTTPException
        if isinstance(exc, HTTPException):
            raise
        raise DependencyError(name, exc) from exc
    return _store(prov, key, value, ctx)


def cleanup_sync(cleanups: list) -> None:
    for gen in reversed(cleanups):
        if inspect.isasyncgen(gen):
            from . import _aio
            _aio.run_sync(_aclose(gen))
            continue
        try:
            next(gen)
        except StopIteration:
            pass
        except Exception:  # a failing cleanup must not change a response already decided
            import logging
            logging.getLogger("spikard").exception("dependency cleanup failed")


async def _aclose(gen: Any) -> None:
    try:
        await gen.__anext__()
    except StopAsyncIteration:
        pass
    except Exception:
        import logging
        logging.getLogger("spikard").exception("dependency cleanup failed")


async def cleanup_async(cleanups: list) -> None:
    for gen in reversed(cleanups):
        if inspect.isasyncgen(gen):
            await _aclose(gen)
        else:
            cleanup_sync([gen])

