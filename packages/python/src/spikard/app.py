"""App: routes, hooks, dependencies and configuration on top of the core."""
from __future__ import annotations

import contextlib
import datetime as _dt
import enum
import inspect
import json
import logging
import os
import re
import signal
import sys
import threading
import traceback
import typing
import uuid
from typing import Any, Callable, Iterator, TypeVar

import msgspec

from . import _aio
from ._spikard import (HOOK_ON_ERROR, HOOK_ON_REQUEST, HOOK_ON_RESPONSE, HOOK_PRE_HANDLER,
                       HOOK_PRE_VALIDATION, RawApp, RawServer)
from .config import ServerConfig, to_core
from . import di
from ._spikard import EQUEUEFULL
from .background import BackgroundTasks, QueueFull, task_callable
from .params import (REQUIRED, Param, Provide, _Body, body_schema, converter, inspect_empty, is_model,
                     param_schema, unwrap_optional)
from .request import Request, ResponseView
from .responses import HTTPException, Response, encode_json, problem

__all__ = ["App", "Server"]

log = logging.getLogger("spikard")
F = TypeVar("F", bound=Callable[..., Any])
_decode = msgspec.json.decode
_PATH_NAMES = re.compile(r"\{(\w+)(?::[^}]*)?\}|/:(\w+)")
_NO_BODY = (204, 304)


class ConversionError(Exception):
    """The core accepted a value that the annotated Python type still refused."""

    def __init__(self, loc: list[str], msg: str, value: Any) -> None:
        super().__init__(msg)
        self.loc, self.msg, self.value = loc, msg, value


def _jsonable(v: Any) -> Any:
    if isinstance(v, enum.Enum):
        return v.value
    if isinstance(v, (_dt.date, _dt.datetime, _dt.time)):
        return v.isoformat()
    if isinstance(v, uuid.UUID):
        return str(v)
    if isinstance(v, (list, tuple, set, frozenset)):
        return [_jsonable(x) for x in v]
    return v


def _render(result: Any, status: int) -> tuple:
    if isinstance(result, Response):
        return result.render()
    if status in _NO_BODY:
        return (status, None, None, None)
    return (status, None, encode_json(result), "application/json")


def _type_hints(fn: Callable[..., Any], localns: dict | None = None) -> dict[str, Any]:
    """Annotations as types. String annotations (`from __future__ import annotations`) naming a
    class local to a function resolve through the namespace of the frame that registered the
    route; what still does not resolve becomes Any, with a warning."""
    try:
        return typing.get_type_hints(fn, localns=localns, include_extras=True)
    except Exception:
        pass
    out: dict[str, Any] = {}
    ns = dict(getattr(fn, "__globals__", {}))
    ns.update(localns or {})
    try:
        ns.update(inspect.getclosurevars(fn).nonlocals)
    except (TypeError, ValueError):
        pass
    for name, ann in getattr(fn, "__annotations__", {}).items():
        if isinstance(ann, str):
            try:
                ann = eval(ann, ns)  # noqa: S307 - the handler's own annotation text
            except Exception:
                log.warning("spikard: cannot resolve annotation %r of %s.%s; treating it as Any",
                            ann, getattr(fn, "__qualname__", fn), name)
                ann = Any
        out[name] = ann
    return out


class _Route:
    """A handler compiled once: the core's contract and the per-request argument builder."""

    def __init__(self, app: "App", method: str, path: str, fn: Callable[..., Any], status_code: int | None,
                 parameters: dict | None, body: dict | None, localns: dict | None = None) -> None:
        self.app, self.method, self.path, self.fn = app, method, path, fn
        self.status = status_code or 200
        self.is_async = inspect.iscoroutinefunction(fn)
        self.extract: list[tuple[str, str, str, Callable[[Any], Any] | None, Any]] = []
        self.body_kw: str | None = None
        self.body_conv: Callable[[Any], Any] | None = None
        self.raw_body_kw: str | None = None
        self.request_kw: str | None = None
        self.tasks_kw: str | None = None
        self.deps: list[tuple[str, str]] = []  # (parameter, provider name)
        groups: dict[str, dict] = {"path": {}, "query": {}, "headers": {}, "cookies": {}}
        body_type: Any = None
        schema: dict | None = None
        path_names = {a or b for a, b in _PATH_NAMES.findall(path)}
        hints = _type_hints(fn, localns)
        for p in inspect.signature(fn).parameters.values():
            if p.kind in (p.VAR_POSITIONAL, p.VAR_KEYWORD):
                continue
            ann = hints.get(p.name, p.annotation)
            default = p.default
            marker: Any = None
            if typing.get_origin(ann) is typing.Annotated:
                args = typing.get_args(ann)
                ann = args[0]
                for m in args[1:]:
                    if isinstance(m, (Param, Provide)):
                        marker = m
            if isinstance(default, (Param, Provide)):
                marker = default
                default = marker.default if isinstance(marker, Param) else inspect_empty
            if isinstance(marker, Provide) and isinstance(marker.factory, str):
                self.deps.append((p.name, marker.factory))
                continue
            if isinstance(marker, Provide):
                anon = di.anonymous_name(marker.factory)
                di.register(app._raw, anon, marker)
                self.deps.append((p.name, anon))
                continue
            if ann is Request or (p.name == "request" and ann is inspect_empty):
                self.request_kw = p.name
                continue
            if ann is BackgroundTasks:
                self.tasks_kw = p.name
                continue
            if marker is None and p.name in app._providers:
                self.deps.append((p.name, p.name))
                continue
            if isinstance(marker, Param):
                source = marker.source
            elif p.name in path_names:
                source = "path"
            elif is_model(ann):
                source = "body"
            elif ann is bytes and p.name in ("body", "data", "content"):
                self.raw_body_kw = p.name
                continue
            else:
                source = "query"
            inner, nullable = unwrap_optional(ann)
            has_default = default is not inspect_empty and default is not REQUIRED
            if source == "body":
                if body is None:
                    schema = body_schema(ann)
                if schema is None and body is None:
                    self.raw_body_kw = p.name
                    continue
                self.body_kw = p.name
                self.body_conv = converter(ann)
                body_type = ann
                continue
            key = (marker.alias if isinstance(marker, Param) and marker.alias else
                   p.name.replace("_", "-") if source == "headers" else p.name)
            s = param_schema(inner)
            if isinstance(marker, Param):
                s.update(marker.extra)
                if marker.description:
                    s["description"] = marker.description
            if source != "path":
                if has_default and default is not None:
                    s["default"] = _jsonable(default)
                elif has_default or nullable:
                    s["optional"] = True
            groups[source][key] = s
            self.extract.append((p.name, source, key, converter(ann), default if has_default else None))
        if parameters is not None:
            for k, v in parameters.items():
                groups.setdefault(k, {}).update(v)
        if body is not None:
            schema = body
        self.parameters = {k: v for k, v in groups.items() if v}
        self.body_schema = schema
        self.needs_validated = bool(self.extract or self.body_kw)
        self.kwargs = self._fast_kwargs(body_type) or self._kwargs

    def _fast_kwargs(self, body_type: Any) -> Callable[[Any], dict[str, Any]] | None:
        """For a body converted by msgspec (Struct, dataclass, TypedDict, attrs, lists…) and nothing
        else to convert: one typed, lax decode of the validated document straight into the body
        type — the same msgspec conversion as decode-to-dict then convert(strict=False), without
        the intermediate dicts. Anything it refuses goes through the general path, so errors are
        unchanged."""
        if (self.extract or not self.body_kw or self.raw_body_kw or self.request_kw or self.tasks_kw
                or self.deps or getattr(self.body_conv, "msgspec_target", None) is None):
            return None
        doc = msgspec.defstruct("ValidatedRequest", [("body", body_type | None, None)])
        try:
            decode = msgspec.json.Decoder(doc, strict=False).decode
        except (TypeError, ValueError):  # a type msgspec cannot decode into: convert() it is
            return None
        name, general, invalid = self.body_kw, self._kwargs, msgspec.ValidationError

        def kwargs(raw: Any) -> dict[str, Any]:
            try:
                return {name: decode(raw.validated).body}
            except invalid:
                return general(raw)
        return kwargs

    def _kwargs(self, raw: Any) -> dict[str, Any]:
        kw: dict[str, Any] = {}
        if self.needs_validated:
            v = _decode(raw.validated)
            for name, src, key, conv, dflt in self.extract:
                val = v[src].get(key, dflt)
                if conv is not None and val is not None and val is not dflt:
                    try:
                        val = conv(val)
                    except (msgspec.ValidationError, ValueError, TypeError) as exc:
                        raise ConversionError([src, key], str(exc), val) from exc
                kw[name] = val
            if self.body_kw:
                val = v.get("body")
                if self.body_conv is not None and val is not None:
                    try:
                        val = self.body_conv(val)
                    except (msgspec.ValidationError, ValueError, TypeError) as exc:
                        raise ConversionError(["body"], str(exc), val) from exc
                kw[self.body_kw] = val
        if self.raw_body_kw:
            kw[self.raw_body_kw] = raw.body
        if self.request_kw:
            kw[self.request_kw] = Request(raw)
        if self.tasks_kw:
            kw[self.tasks_kw] = BackgroundTasks(raw, self.app._raw)
        for name, prov in self.deps:
            kw[name] = di.unwrap(raw.dep(prov))
        return kw

    def entry(self) -> Callable[[Any], Any]:
        """The callable the core calls with each request (reply tuple, or None when async).
        Dependencies were resolved by the core before it runs (kwargs reads them)."""
        fn, status, app = self.fn, self.status, self.app
        kwargs = self.kwargs

        if not self.is_async:
            def sync_entry(raw: Any) -> Any:
                try:
                    return _render(fn(**kwargs(raw)), status)
                except Exception as exc:
                    return app._error_reply(raw, exc, failed=True)
            return sync_entry

        def async_entry(raw: Any) -> Any:
            try:
                kw = kwargs(raw)
            except Exception as exc:
                return app._error_reply(raw, exc)

            async def run() -> None:
                try:
                    reply = _render(await fn(**kw), status)
                except Exception as exc:
                    reply = await app._error_reply_async(raw, exc, failed=True)
                raw.send(reply)

            _aio.submit(run)
            return None
        return async_entry


class App:
    """A Spikard application.

    >>> app = App()
    >>> @app.get("/users/{id}")
    ... def user(id: int, verbose: bool = False) -> dict: ...
    """

    def __init__(self, config: ServerConfig | None = None, *, debug: bool = False) -> None:
        self._raw = RawApp()
        self.config = config or ServerConfig()
        self.debug = debug
        self._providers: set[str] = set()
        self._exception_handlers: dict[type, Callable[..., Any]] = {}
        self.routes: list[_Route] = []
        if config is not None:
            self.configure(config)
            if config.max_body_size is not None:
                self._raw.set_limits(max_body_bytes=config.max_body_size)
        from . import decorators
        decorators._adopt(self)  # module-level @get/@post… register here from now on

    # ------------------------------------------------------------ configuration
    def configure(self, config: ServerConfig | dict) -> None:
        """Apply middleware sections (ServerConfig or a dict in spk_app_configure's shape)."""
        doc = to_core(config)
        if doc:
            self._raw.configure(json.dumps(doc))

    def provide(self, name: str, value_or_factory: Any, *, singleton: bool = False, use_cache: bool = True) -> None:
        """Register a dependency: handlers (and factories) receive it by parameter name."""
        di.register(self._raw, name, value_or_factory, singleton=singleton, use_cache=use_cache)
        self._providers.add(name)

    def exception_handler(self, exc_type: type[BaseException]) -> Callable[[F], F]:
        """``@app.exception_handler(ValueError) def h(request, exc) -> Response``."""
        def deco(fn: F) -> F:
            self._exception_handlers[exc_type] = fn
            return fn
        return deco

    # ------------------------------------------------------------ routes
    def add_route(self, method: str, path: str, fn: Callable[..., Any], *, status_code: int | None = None,
                  parameters: dict | None = None, body_schema: dict | None = None,
                  response_schema: dict | None = None, middleware: dict | None = None,
                  max_body_size: int | None = None, dependency_overrides: dict[str, Any] | None = None,
                  _localns: dict | None = None) -> None:
        if _localns is None:
            _localns = dict(sys._getframe(1).f_locals)
        route = _Route(self, method.upper(), path, fn, status_code, parameters, body_schema, _localns)
        self._raw.route(
            route.method, path, route.entry(),
            parameters=json.dumps(route.parameters) if route.parameters else None,
            body_schema=json.dumps(route.body_schema) if route.body_schema is not None else None,
            response_schema=json.dumps(response_schema) if response_schema is not None else None,
            middleware=json.dumps(middleware) if middleware else None,
            max_body_bytes=max_body_size or 0,
            dependencies=sorted({prov for _, prov in route.deps}) or None,
            overrides=[di.definition(self._raw, n, t) for n, t in (dependency_overrides or {}).items()] or None,
        )
        self.routes.append(route)

    def websocket(self, path: str, *, subprotocols: list[str] | None = None, require_subprotocol: bool = False,
                  message_schema: dict | None = None, json_messages: bool = False,
                  max_message_size: int | None = None, idle_timeout: float | None = None,
                  ping_interval: float | None = None, permessage_deflate: bool = False,
                  origins: list[str] | None = None) -> Callable[[F], F]:
        """``@app.websocket("/ws") async def ws(websocket: WebSocket): ...`` — parameters: the
        WebSocket (annotated, or named websocket/ws), then path and query parameters by name
        (converted to int/float/bool when annotated so). ``message_schema`` / ``json_messages``
        make the core check text messages as JSON before the handler sees them."""
        def deco(fn: F) -> F:
            if not inspect.iscoroutinefunction(fn):
                raise TypeError("websocket handlers must be async def")
            self.add_websocket(path, fn, subprotocols=subprotocols, require_subprotocol=require_subprotocol,
                               message_schema=message_schema, json_messages=json_messages,
                               max_message_size=max_message_size, idle_timeout=idle_timeout,
                               ping_interval=ping_interval, permessage_deflate=permessage_deflate,
                               origins=origins)
            return fn
        return deco

    def add_websocket(self, path: str, fn: Callable[..., Any], *, subprotocols: list[str] | None = None,
                      require_subprotocol: bool = False, message_schema: dict | None = None,
                      json_messages: bool = False, max_message_size: int | None = None,
                      idle_timeout: float | None = None, ping_interval: float | None = None,
                      permessage_deflate: bool = False, origins: list[str] | None = None) -> None:
        from . import websocket as _ws
        hints = _type_hints(fn)
        ws_kw: str | None = None
        plan: list[tuple[str, bool, Callable[[str], Any], Any]] = []  # (name, from path, convert, default)
        path_names = {a or b for a, b in _PATH_NAMES.findall(path)}
        for p in inspect.signature(fn).parameters.values():
            ann = hints.get(p.name, p.annotation)
            if ann is _ws.WebSocket or (ws_kw is None and p.name in ("websocket", "ws")):
                ws_kw = p.name
                continue
            ann, _ = unwrap_optional(ann)
            conv: Callable[[str], Any] = {int: int, float: float,
                                          bool: lambda v: v.lower() in ("1", "true", "yes", "on")}.get(ann, str)
            plan.append((p.name, p.name in path_names, conv, p.default))

        def kwargs(ws: Any) -> dict[str, Any]:
            kw: dict[str, Any] = {ws_kw: ws} if ws_kw else {}
            for name, in_path, conv, default in plan:
                v = (ws.path_params if in_path else ws.query_params).get(name)
                kw[name] = conv(v) if v is not None else (None if default is inspect.Parameter.empty else default)
            return kw

        self._raw.websocket(
            path, _ws.entry(self, fn, kwargs), subprotocols=list(subprotocols) if subprotocols else None,
            require_subprotocol=require_subprotocol,
            message_schema=json.dumps(message_schema) if message_schema is not None else None,
            json_messages=json_messages, max_message_bytes=max_message_size or 0,
            idle_timeout_ms=int((idle_timeout or 0) * 1000), ping_interval_ms=int((ping_interval or 0) * 1000),
            permessage_deflate=permessage_deflate, origins=list(origins) if origins else None)

    def route(self, path: str, methods: list[str] | tuple[str, ...] | str = ("GET",), **kw: Any) -> Callable[[F], F]:
        if isinstance(methods, str):
            methods = (methods,)

        def deco(fn: F) -> F:
            localns = dict(sys._getframe(1).f_locals)  # the frame applying the decorator
            for m in methods:
                self.add_route(m, path, fn, _localns=localns, **kw)
            return fn
        return deco

    def get(self, path: str, **kw: Any) -> Callable[[F], F]:
        return self.route(path, ("GET",), **kw)

    def post(self, path: str, **kw: Any) -> Callable[[F], F]:
        return self.route(path, ("POST",), **kw)

    def put(self, path: str, **kw: Any) -> Callable[[F], F]:
        return self.route(path, ("PUT",), **kw)

    def patch(self, path: str, **kw: Any) -> Callable[[F], F]:
        return self.route(path, ("PATCH",), **kw)

    def delete(self, path: str, **kw: Any) -> Callable[[F], F]:
        return self.route(path, ("DELETE",), **kw)

    def head(self, path: str, **kw: Any) -> Callable[[F], F]:
        return self.route(path, ("HEAD",), **kw)

    def options(self, path: str, **kw: Any) -> Callable[[F], F]:
        return self.route(path, ("OPTIONS",), **kw)

    # ------------------------------------------------------------ hooks
    def _hook_args(self, fn: Callable[..., Any], positional: int) -> tuple[bool, list[str]]:  # noqa: ARG002
        """(wants the response view, provider names) from a hook's signature: the first
        parameter is the request, an optional second one the response; the others name
        providers, which the core resolves before the hook runs."""
        params = [p for p in inspect.signature(fn).parameters.values()
                  if p.kind not in (p.VAR_POSITIONAL, p.VAR_KEYWORD)]
        wants_response = positional > 1 or (len(params) > 1 and params[1].name not in self._providers)
        skip = 2 if wants_response else 1
        return wants_response, [p.name for p in params[skip:] if p.name in self._providers]

    @staticmethod
    def _hook_call(raw: Any, view: ResponseView | None, deps: list[str]) -> tuple[tuple, dict[str, Any]]:
        """One hook call's arguments: the request, the response view when the hook takes it, and
        the providers it names (resolved by the core before the hook runs)."""
        args = (Request(raw), view) if view is not None else (Request(raw),)
        return args, {d: di.unwrap(raw.dep(d)) for d in deps}

    def _request_hook(self, phase: int, fn: F) -> F:
        wants_response, deps = self._hook_args(fn, 1)

        if inspect.iscoroutinefunction(fn):
            def async_hook(raw: Any) -> Any:
                """Suspends the request (SPK_HOOK_ASYNC); the loop resumes or answers it."""
                args, kw = self._hook_call(raw, ResponseView(raw) if wants_response else None, deps)

                async def run() -> None:
                    try:
                        r = await fn(*args, **kw)
                    except HTTPException as exc:
                        raw.send(exc.to_reply())
                        return
                    except Exception as exc:
                        log.error("unhandled exception in hook", exc_info=exc)
                        raw.send(problem(500, "A lifecycle hook failed", slug="internal-server-error"))
                        return
                    if r is None:
                        raw.resume()
                    else:
                        raw.send(_render(r, 200))

                _aio.submit(run)
                return ...
            self._raw.add_hook(phase, async_hook, deps or None)
            return fn

        def hook(raw: Any) -> Any:
            args, kw = self._hook_call(raw, ResponseView(raw) if wants_response else None, deps)
            try:
                r = fn(*args, **kw)
                if inspect.isawaitable(r):
                    r = _aio.run_sync(r)
            except HTTPException as exc:
                return exc.to_reply()
            return None if r is None else _render(r, 200)
        self._raw.add_hook(phase, hook, deps or None)
        return fn

    def _response_hook(self, phase: int, fn: F) -> F:
        wants_response, deps = self._hook_args(fn, 1)

        def apply(view: ResponseView, r: Any) -> None:
            if isinstance(r, Response):
                status, headers, body, ctype = r.render()
                view.status_code = status
                for k, v in headers or ():
                    view.set_header(k, v)
                if ctype:
                    view.set_header("Content-Type", ctype)
                view.set_body(body or b"")

        if inspect.iscoroutinefunction(fn):
            def async_hook(raw: Any) -> Any:
                """Suspends the response phase (SPK_HOOK_ASYNC): the coroutine runs on the asyncio
                loop, edits the response there, and resumes it; the worker loop goes on serving."""
                view = ResponseView(raw)
                args, kw = self._hook_call(raw, view if wants_response else None, deps)

                async def run() -> None:
                    try:
                        apply(view, await fn(*args, **kw))
                    except Exception as exc:
                        log.error("unhandled exception in response hook", exc_info=exc)
                        raw.send(problem(500, "A lifecycle hook failed", slug="internal-server-error"))
                        return
                    raw.resume()

                _aio.submit(run)
                return ...
            self._raw.add_hook(phase, async_hook, deps or None)
            return fn

        def hook(raw: Any) -> None:
            view = ResponseView(raw)
            args, kw = self._hook_call(raw, view if wants_response else None, deps)
            r = fn(*args, **kw)
            if inspect.isawaitable(r):
                r = _aio.run_sync(r)
            apply(view, r)
        self._raw.add_hook(phase, hook, deps or None)
        return fn

    def on_request(self, fn: F) -> F:
        """Before routing: ``fn(request[, response][, provider names…])``; return a Response
        to answer at once (or set headers on `response`, which the answer keeps)."""
        return self._request_hook(HOOK_ON_REQUEST, fn)

    def pre_validation(self, fn: F) -> F:
        return self._request_hook(HOOK_PRE_VALIDATION, fn)

    def pre_handler(self, fn: F) -> F:
        return self._request_hook(HOOK_PRE_HANDLER, fn)

    def on_response(self, fn: F) -> F:
        """``fn(request, response)``: change status, headers or body of the response."""
        return self._response_hook(HOOK_ON_RESPONSE, fn)

    def on_error(self, fn: F) -> F:
        return self._response_hook(HOOK_ON_ERROR, fn)

    # ------------------------------------------------------------ errors
    def _find_exception_handler(self, exc: BaseException) -> Callable[..., Any] | None:
        if not self._exception_handlers:
            return None
        for klass in type(exc).__mro__:
            h = self._exception_handlers.get(klass)
            if h is not None:
                return h
        return None

    def _builtin_error(self, exc: BaseException) -> tuple:
        if isinstance(exc, HTTPException):
            return exc.to_reply()
        if isinstance(exc, QueueFull):
            return problem(503, "The background task queue is full; retry later", slug="service-unavailable",
                           title="Service Unavailable", headers=[("Retry-After", "1")])
        if isinstance(exc, ConversionError):
            err = {"type": "validation_error", "loc": exc.loc, "msg": exc.msg, "input": _jsonable(exc.value)}
            doc = {"type": "https://spikard.dev/errors/validation-error", "title": "Request Validation Failed",
                   "status": 422, "detail": "1 validation error in request", "errors": [err]}
            try:
                body = encode_json(doc)
            except TypeError:
                err["input"] = None
                body = encode_json(doc)
            return (422, None, body, "application/json")
        log.error("unhandled exception in handler", exc_info=exc)
        detail = "".join(traceback.format_exception(exc)) if self.debug else "An unexpected error occurred"
        return problem(500, detail, slug="internal-server-error")

    def _error_reply(self, raw: Any, exc: BaseException, failed: bool = False) -> Any:
        """The reply for an exception. `failed`: a sync handler's uncaught exception is reported
        to the core as a handler failure (False), which answers 500 problem details and runs the
        on_error hooks; debug mode answers with the traceback instead."""
        h = self._find_exception_handler(exc)
        if h is None and failed and isinstance(exc, QueueFull):
            return EQUEUEFULL  # the core answers 503 and drops the tasks spawned before
        if h is None:
            if failed and not self.debug and not isinstance(exc, (HTTPException, ConversionError)):
                log.error("unhandled exception in handler", exc_info=exc)
                return False
            return self._builtin_error(exc)
        try:
            r = h(Request(raw), exc)
            return _render(_aio.run_sync(r) if inspect.isawaitable(r) else r, 500)
        except Exception as exc2:
            return self._builtin_error(exc2)

    async def _error_reply_async(self, raw: Any, exc: BaseException, failed: bool = False) -> Any:
        """As _error_reply, for async handlers: with `failed`, an unhandled exception ends the
        response as a handler failure (False / EQUEUEFULL → spk_res_fail), so async and sync
        handlers get the same 500 or 503 and the same on_error hooks."""
        h = self._find_exception_handler(exc)
        if h is None and failed and isinstance(exc, QueueFull):
            return EQUEUEFULL
        if h is None:
            if failed and not self.debug and not isinstance(exc, (HTTPException, ConversionError)):
                log.error("unhandled exception in handler", exc_info=exc)
                return False
            return self._builtin_error(exc)
        try:
            r = h(Request(raw), exc)
            return _render(await r if inspect.isawaitable(r) else r, 500)
        except Exception as exc2:
            return self._builtin_error(exc2)

    # ------------------------------------------------------------ background work
    def spawn(self, fn: Callable[..., Any], *args: Any, **kwargs: Any) -> None:
        """Queue fn(*args, **kwargs) on the app's background pool now (outside any request)."""
        self._raw.spawn(task_callable(fn, args, kwargs))

    def wait_background(self, timeout: float = 5.0) -> bool:
        """Wait until no background task is queued or running (True), at most `timeout` s."""
        return self._raw.bg_wait(int(timeout * 1000))

    # ------------------------------------------------------------ serving
    def freeze(self) -> None:
        """Make the app read-only (servers and test clients do it); reports contract errors."""
        self._raw.freeze()

    @contextlib.contextmanager
    def serve(self, host: str = "127.0.0.1", port: int = 0, workers: int = 1) -> Iterator["Server"]:
        """Serve in the background for the duration of the block (tests, benchmarks)."""
        srv = Server(self, host, port, workers)
        try:
            yield srv
        finally:
            srv.close()

    def run(self, host: str | None = None, port: int | None = None, workers: int | None = None,
            threads: int | None = None) -> None:
        """Serve until Ctrl-C / SIGTERM, then shut down gracefully (in-flight requests finish).

        `workers` processes are pre-forked and share the port (one SO_REUSEPORT group), so
        Python handlers run in parallel; each runs `threads` core worker threads (default 1)."""
        cfg = self.config
        host = host or cfg.host
        port = cfg.port if port is None else port
        workers = max(1, workers or cfg.workers)
        threads = max(1, threads or 1)
        timeout_ms = int(cfg.shutdown_timeout * 1000)
        if workers == 1:
            srv = Server(self, host, port, threads, timeout_ms)
            print(f"spikard: serving on http://{host}:{srv.port} (1 process, {threads} thread(s)); Ctrl-C to stop",
                  file=sys.stderr)
            _serve_until_signal(srv)
            return
        self.freeze()  # contract errors surface here, once, not in every child
        port = _claim_port(host, port)
        print(f"spikard: serving on http://{host}:{port} ({workers} processes x {threads} thread(s)); "
              "Ctrl-C to stop", file=sys.stderr)
        children = []
        for _ in range(workers):
            pid = os.fork()
            if pid == 0:  # the child serves; it never returns into the caller's code
                code = 1
                try:
                    srv = Server(self, host, port, threads, timeout_ms, join_port_group=True)
                    _serve_until_signal(srv, quiet=True)
                    code = 0
                except BaseException:
                    traceback.print_exc()
                finally:
                    os._exit(code)
            children.append(pid)
        _supervise(children)


def _claim_port(host: str, port: int) -> int:
    """The port the pre-forked group will share: refused when in use, chosen when 0."""
    import socket

    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as s:
        s.bind((host, port))  # raises OSError when someone listens there already
        return s.getsockname()[1]


def _serve_until_signal(srv: "Server", quiet: bool = False) -> None:
    stop = threading.Event()
    previous = None
    if threading.current_thread() is threading.main_thread():
        previous = signal.signal(signal.SIGTERM, lambda *_: stop.set())
    try:
        while not stop.wait(0.5):
            pass
    except KeyboardInterrupt:
        pass
    finally:
        if threading.current_thread() is threading.main_thread():
            # A second Ctrl-C must not abort the graceful close half way.
            signal.signal(signal.SIGINT, signal.SIG_IGN)
            signal.signal(signal.SIGTERM, signal.SIG_IGN)
        if not quiet:
            print("spikard: shutting down", file=sys.stderr)
        srv.close()
        if previous is not None:
            signal.signal(signal.SIGTERM, previous)
            signal.signal(signal.SIGINT, signal.default_int_handler)


def _supervise(children: list[int]) -> None:
    """Parent of pre-forked workers: forward SIGINT/SIGTERM, wait for every child."""
    def forward(signum: int, _frame: Any) -> None:
        for pid in children:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGTERM)

    previous = {s: signal.signal(s, forward) for s in (signal.SIGINT, signal.SIGTERM)}
    try:
        for pid in children:
            while True:
                try:
                    os.waitpid(pid, 0)
                    break
                except InterruptedError:
                    continue
                except ChildProcessError:
                    break
    finally:
        print("spikard: shutting down", file=sys.stderr)
        for s, h in previous.items():
            signal.signal(s, h)


class Server:
    """A running server for an App (started on creation)."""

    def __init__(self, app: App, host: str = "127.0.0.1", port: int = 0, workers: int = 1,
                 shutdown_timeout_ms: int = 10000, join_port_group: bool = False) -> None:
        self._raw = RawServer(app._raw, host, port, workers, shutdown_timeout_ms,
                              join_port_group=join_port_group)
        self.host = host
        self._raw.start()

    @property
    def port(self) -> int:
        return self._raw.port

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    def close(self) -> None:
        """Graceful stop: stop accepting, finish in-flight requests, free the workers."""
        self._raw.stop()
        self._raw.wait()
        self._raw.close()
