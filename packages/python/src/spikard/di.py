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


_MISS = object()


def _lookup(prov: Provider, ctx: dict) -> Any:
    """The value already known for this provider (plain, singleton, per-request), or _MISS."""
    if prov.is_value:
        return prov.value
    if prov.singleton and prov._has_cache:
        return prov._cached
    if prov.use_cache:
        return ctx.get(id(prov.factory), _MISS)
    return _MISS


def _needs(prov: Provider, providers: dict[str, Provider]) -> list[tuple[str, Provider | None]]:
    """The factory's parameters: (name, provider), or (name, None) for the request."""
    out: list[tuple[str, Provider | None]] = []
    for p in prov.params:
        if p.name in providers:
            out.append((p.name, providers[p.name]))
        elif isinstance(p.default, Provide):
            out.append((p.name, Provider(p.name, p.default)))
        elif _wants_request(p):
            out.append((p.name, None))
    return out


def _failed(name: str, exc: Exception) -> Exception:
    from .responses import HTTPException
    return exc if isinstance(exc, HTTPException) else DependencyError(name, exc)


def resolve_sync(name: str, prov: Provider, providers: dict[str, Provider], ctx: dict, cleanups: list,
                 request: Request | None) -> Any:
    value = _lookup(prov, ctx)
    if value is not _MISS:
        return value
    if prov.kind in ("async", "agen"):
        from . import _aio
        return _aio.run_sync(resolve_async(name, prov, providers, ctx, cleanups, request))
    kw = {n: request if dep is None else resolve_sync(n, dep, providers, ctx, cleanups, request)
          for n, dep in _needs(prov, providers)}
    try:
        if prov.kind == "gen":
            gen = prov.factory(**kw)
            value = next(gen)
            cleanups.append(gen)
        else:
            value = prov.factory(**kw)
    except Exception as exc:
        raise _failed(name, exc) from exc
    return _store(prov, value, ctx)


def _store(prov: Provider, value: Any, ctx: dict) -> Any:
    if prov.singleton:
        with prov._lock:
            if not prov._has_cache:
                prov._cached, prov._has_cache = value, True
            return prov._cached
    if prov.use_cache:
        ctx[id(prov.factory)] = value
    return value


async def resolve_async(name: str, prov: Provider, providers: dict[str, Provider], ctx: dict, cleanups: list,
                        request: Request | None) -> Any:
    value = _lookup(prov, ctx)
    if value is not _MISS:
        return value
    kw = {}
    for n, dep in _needs(prov, providers):
        kw[n] = request if dep is None else await resolve_async(n, dep, providers, ctx, cleanups, request)
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
        raise _failed(name, exc) from exc
    return _store(prov, value, ctx)


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

