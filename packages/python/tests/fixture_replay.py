"""Replay testing_data/ fixtures through the Python binding and its TestClient.

A port of the C runner's core (e2e/c/fx_app.c, fx_request.c, fx_compare.c, tier 1) for the
categories whose behaviour lives in routes, contracts and app middleware. Each fixture becomes an
App whose route is registered through `App.add_route` with the fixture's raw parameter/body
schemas; the Python handler answers the fixture's expected success (or a placeholder when an
error is expected: the framework must earn every error). Requests are serialized to HTTP/1.1
bytes exactly as the C runner does and sent with TestClient.raw().

    python3 fixture_replay.py [--socket] DIR [DIR…]     per-category pass counts (in memory, or
                                                        through a live server over loopback)
"""
from __future__ import annotations

import asyncio
import base64
import contextlib
import json
import os
import re
import shutil
import socket
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any
from urllib.parse import quote

import inspect

import threading

from spikard import App, BackgroundTasks, Provide, Request, Response, ResponseView
from spikard.testing import TestClient, TestResponse

import fixture_realtime as realtime

BOUNDARY = "spkFixtureBoundary7d93b1c2e4"
SKIP_CATEGORIES = {  # not REST: the C runner does not run these either
                   "asyncapi_schemas", "graphql", "jsonrpc", "openapi_schemas", "openrpc_schemas", "protobuf",
                   "schemas", "sql_handlers"}
NO_DEFAULT_CT = {"content_types/19_missing_content_type_default_json"}
_REPEAT = re.compile(r"\{\{\s*repeat\s+'((?:[^'\\]|\\.)*)'\s+(\d+)\s+times\s*\}\}")


def expand(v: Any) -> Any:
    if isinstance(v, str):
        return _REPEAT.sub(lambda m: m.group(1) * int(m.group(2)), v)
    if isinstance(v, list):
        return [expand(x) for x in v]
    if isinstance(v, dict):
        return {expand(k): expand(x) for k, x in v.items()}
    return v


def scalar(v: Any) -> str | None:
    if v is None:
        return None
    if v is True:
        return "true"
    if v is False:
        return "false"
    if isinstance(v, (dict, list)):
        return json.dumps(v, separators=(",", ":"))
    return str(v)


def form_encode(s: str) -> str:
    return quote(s, safe="-._~").replace("%20", "+")


def target_encode(s: str) -> str:
    return quote(s, safe="-._~!$&'()*+,;=:@/?%")


def encode_pairs(obj: dict) -> str:
    out = []
    for k, v in obj.items():
        for item in (v if isinstance(v, list) else [v]):
            t = scalar(item)
            if t is not None:
                out.append(f"{form_encode(k)}={form_encode(t)}")
    return "&".join(out)


def build_request(fx: dict, fid: str) -> bytes:
    rq = expand(fx["request"])
    method, path = rq["method"], rq["path"]
    target = target_encode(path)
    if "?" not in path:
        qs, qp = rq.get("query_string"), rq.get("query_params")
        if qs:
            target += "?" + target_encode(qs)
        elif isinstance(qp, dict) and qp:
            q = encode_pairs(qp)
            if q:
                target += "?" + q
    body = b""
    default_ct = None
    files, data, form = rq.get("files"), rq.get("data"), rq.get("form_data")
    req_ct, jbody, b64 = rq.get("content_type"), rq.get("body"), rq.get("body_base64")
    if files or data or (req_ct and req_ct.lower().startswith("multipart/")):
        parts = bytearray()
        for group in (data, form):
            if isinstance(group, dict):
                for k, v in group.items():
                    for item in (v if isinstance(v, list) else [v]):
                        t = scalar(item)
                        if t is not None:
                            parts += (f"--{BOUNDARY}\r\nContent-Disposition: form-data; name=\"{k}\"\r\n\r\n"
                                      f"{t}\r\n").encode()
        for f in files or []:
            parts += f"--{BOUNDARY}\r\nContent-Disposition: form-data; name=\"{f['field_name']}\"".encode()
            if f.get("filename") is not None:
                parts += f"; filename=\"{f['filename']}\"".encode()
            parts += b"\r\n"
            if f.get("content_type"):
                parts += f"Content-Type: {f['content_type']}\r\n".encode()
            for hk, hv in (f.get("headers") or {}).items():
                parts += f"{hk}: {hv}\r\n".encode()
            parts += b"\r\n"
            if f.get("magic_bytes"):
                parts += bytes.fromhex(f["magic_bytes"])
            if isinstance(f.get("content"), str):
                parts += f["content"].encode()
            parts += b"\r\n"
        parts += f"--{BOUNDARY}--\r\n".encode()
        body = bytes(parts)
        base = req_ct or "multipart/form-data"
        default_ct = base if "boundary=" in base else f"{base}; boundary={BOUNDARY}"
    elif isinstance(form, dict):
        body = encode_pairs(form).encode()
        default_ct = req_ct or "application/x-www-form-urlencoded"
    elif b64:
        body = base64.b64decode(b64 + "=" * (-len(b64) % 4))
        default_ct = req_ct
    elif isinstance(jbody, str):
        body = jbody.encode()
        default_ct = req_ct
    elif jbody is not None:
        body = json.dumps(jbody, separators=(",", ":"), ensure_ascii=False).encode()
        default_ct = req_ct or (None if fid in NO_DEFAULT_CT else "application/json")
    head = [f"{method} {target} HTTP/1.1"]
    has = {"host": False, "content-type": False, "transfer-encoding": False}
    declared = -1
    for k, v in (rq.get("headers") or {}).items():
        t = scalar(v)
        if t is None:
            continue
        lk = k.lower()
        if lk in has:
            has[lk] = True
        if lk == "content-length":
            try:
                declared = int(t)
            except ValueError:
                declared = 0
        head.append(f"{k}: {t}")
    if not has["host"]:
        head.append("Host: test")
    cookies = rq.get("cookies")
    if isinstance(cookies, dict) and cookies:
        c = "; ".join(f"{k}={scalar(v)}" for k, v in cookies.items() if scalar(v) is not None)
        if c:
            head.append(f"Cookie: {c}")
    if not has["content-type"] and default_ct:
        head.append(f"Content-Type: {default_ct}")
    if declared < 0 and not has["transfer-encoding"] and (body or method in ("POST", "PUT", "PATCH")):
        head.append(f"Content-Length: {len(body)}")
    return ("\r\n".join(head) + "\r\n\r\n").encode("utf-8", "surrogateescape") + body


# ------------------------------------------------------------------ the app

MW_OWNED = ("access-control-", "vary", "content-encoding", "ratelimit", "x-ratelimit", "retry-after",
            "www-authenticate")
CORE_OWNED = {"content-length", "transfer-encoding", "connection", "date"}


def _concrete(v: Any) -> Any:
    if v == "<<uuid>>":
        return str(uuid.uuid4())
    if v == "<<present>>":
        return "present"
    if isinstance(v, list):
        return [_concrete(x) for x in v]
    if isinstance(v, dict):
        out = {k: _concrete(x) for k, x in v.items() if x != "<<absent>>"}
        for k, x in v.items():  # "<<same_as:key>>": the member `key` of the same object
            if isinstance(x, str) and x.startswith("<<same_as:") and x.endswith(">>"):
                out[k] = out.get(x[len("<<same_as:"):-2])
        return out
    return v


def _set_cookie(name: str, c: Any) -> str:
    if not isinstance(c, dict):
        return f"{name}={c}"
    parts = [f"{name}={c.get('value', '')}"]
    for key, attr in (("path", "Path"), ("domain", "Domain"), ("max_age", "Max-Age"), ("samesite", "SameSite")):
        if c.get(key) is not None:
            parts.append(f"{attr}={c[key]}")
    if c.get("secure"):
        parts.append("Secure")
    if c.get("httponly"):
        parts.append("HttpOnly")
    return "; ".join(parts)


def make_reply(fx: dict) -> Response:
    h = fx.get("handler") or {}
    exp = fx["expected_response"]
    status = exp["status_code"]
    if status >= 400:
        return Response({"placeholder": True}, 200)
    mw = h.get("middleware")
    has_comp = bool((mw or {}).get("compression") or h.get("compression"))
    own = h.get("response_headers") or {}
    headers: list[tuple[str, str]] = []
    has_ct = False
    for k, v in (exp.get("headers") or {}).items():
        lk = k.lower()
        if not isinstance(v, str) or v.startswith("<<") or lk in CORE_OWNED:
            continue
        if (mw or {}).get("lifecycle_hooks") and lk != "content-type":
            continue  # the hooks must produce them
        if mw is not None or h.get("cors"):
            rid = (mw or {}).get("request_id")
            if isinstance(rid, dict) and lk == (rid.get("header") or "x-request-id").lower():
                continue
            if any(lk.startswith(p) for p in MW_OWNED):
                continue
        if has_comp and lk in ("content-encoding", "vary"):
            continue
        if any(lk == o.lower() for o in own):
            continue
        has_ct = has_ct or lk == "content-type"
        headers.append((k, v))
    for k, v in own.items():
        if isinstance(v, str):
            has_ct = has_ct or k.lower() == "content-type"
            headers.append((k, v))
    for name, c in (exp.get("cookies") or {}).items():
        headers.append(("Set-Cookie", _set_cookie(name, c)))
    body = exp.get("body")
    if isinstance(body, str):
        mt = None if has_ct or not body else "text/plain; charset=utf-8"
        return Response(body.encode(), status, headers, mt or _ct_of(headers))
    if body is not None:
        text = json.dumps(_concrete(body), separators=(",", ":"), ensure_ascii=False).encode()
        return Response(text, status, headers, None if has_ct else "application/json")
    return Response(None, status, headers, None)


def _ct_of(headers: list[tuple[str, str]]) -> str | None:
    return None


RATE_DIRECTIVES = ("warmup_requests", "warmup_expect_status", "sleep_ms_between")


def _write_mount(root: str, files: list) -> None:
    for f in files or []:
        rel = f["path"]
        if not rel or rel.startswith("/") or ".." in rel:
            raise ValueError("static_files: bad file path")
        path = os.path.join(root, rel)
        os.makedirs(os.path.dirname(path), exist_ok=True)
        if f.get("symlink") is not None:
            os.symlink(f["symlink"], path)
        elif f.get("directory"):
            os.makedirs(path, exist_ok=True)
        else:
            data = f["content"].encode() if isinstance(f.get("content"), str) else base64.b64decode(f["content_base64"])
            with open(path, "wb") as out:
                out.write(data)
            if isinstance(f.get("mtime"), int):
                os.utime(path, (f["mtime"], f["mtime"]))


def _core_sections(mw: dict, tmpdirs: list[str]) -> dict:
    """handler.middleware minus what the runner plays (fx_mw.c)."""
    cfg = {k: v for k, v in mw.items() if k not in ("body_limit", "lifecycle_hooks")}
    if isinstance(cfg.get("rate_limit"), dict):
        cfg["rate_limit"] = {k: v for k, v in cfg["rate_limit"].items() if k not in RATE_DIRECTIVES}
    rt = cfg.get("request_timeout")
    if isinstance(rt, dict) and "seconds" in rt:
        cfg["request_timeout"] = {"seconds": rt["seconds"]}
    if isinstance(cfg.get("static_files"), list):
        tmp = tempfile.mkdtemp(prefix="spk-py-static-")
        tmpdirs.append(tmp)
        mounts = []
        for i, m in enumerate(cfg["static_files"]):
            name = m.get("directory_name")
            root = os.path.join(tmp, f"{i}-{name if name and '/' not in name else 'public'}")
            os.mkdir(root)
            _write_mount(root, m.get("files"))
            mounts.append({"directory": root, **{k: v for k, v in m.items() if k not in ("files", "directory_name")}})
        cfg["static_files"] = mounts
    return cfg


# ------------------------------------------------------------------ background (fx_bg.c)
# A state a GET endpoint shows, filled by background tasks (one per value of body[value_field]),
# by generator dependencies' open/close events and by the spawn_background_task hook.

class BgState:
    def __init__(self, section: dict) -> None:
        self.section = section
        self.values: list[Any] = []
        self.lock = threading.Lock()

    def push(self, v: Any) -> None:
        with self.lock:
            self.values.append(v)

    def task(self, v: Any) -> Any:
        sleep_ms = self.section.get("task_sleep_ms") or 0
        fail = v in (self.section.get("fail_values") or [])

        def run() -> None:
            if 0 < sleep_ms < 10000:
                time.sleep(sleep_ms / 1000)
            if fail:
                raise RuntimeError("the fixture's fail_values lists this value")
            self.push(v)
        return run

    def spawn_from_body(self, request: Request, tasks: BackgroundTasks) -> None:
        field = self.section.get("value_field")
        body = request.body()
        if not field or not body:
            return
        try:
            v = json.loads(body).get(field)
        except (ValueError, AttributeError):
            return
        for item in (v if isinstance(v, list) else [] if v is None else [v]):
            tasks.add_task(self.task(item))

    def install(self, app: App) -> None:
        @app.get(self.section["state_path"])
        def state() -> Response:
            with self.lock:
                return Response({self.section["state_key"]: list(self.values)})


def _bg_cleanup_factory(st: BgState, name: str, inner: Any) -> Any:
    """`cleanup: true`: '<resource>_opened' when the factory runs, '<resource>_closed' when the
    core drops the value after the response (resource: the name's last word, or its first
    for X_connection)."""
    parts = name.split("_")
    resource = parts[0] if name.endswith("_connection") else parts[-1]

    def gen(**kw: Any) -> Any:
        st.push(f"{resource}_opened")
        value = {name: True}
        yield value
        st.push(f"{resource}_closed")
    gen.__signature__ = inner.__signature__  # type: ignore[attr-defined]
    return gen


def _check_state(fx: dict, get_state: Any, drain: Any) -> str | None:
    sec = fx["background"]
    deadline = time.monotonic() + 10
    while True:
        drain()
        res = get_state()
        got = res.json().get(sec["state_key"]) if res.status_code == 200 else None
        if got == sec.get("expected_state"):
            return None
        if time.monotonic() > deadline:
            return f"background: state {res.text[:200]}, expected {sec.get('expected_state')}"
        time.sleep(0.01)


# ------------------------------------------------------------------ hooks and providers
# The C runner's library of named behaviours (e2e/c/fx_hooks.c), written with the Python API.

def _json_reply(status: int, error: str, message: str) -> Response:
    return Response({"error": error, "message": message}, status_code=status)


def _bearer(request: Request) -> str | None:
    v = request.header("authorization") or ""
    return v[7:] if v.startswith("Bearer ") and len(v) > 7 else None


def _hook_library(fx: dict, name: str, config: dict | None) -> Any:
    def cont(request: Request) -> None:
        return None

    def add_request_id(request: Request, response: ResponseView) -> None:
        response.set_header("X-Request-ID", str(uuid.uuid4()))

    def check_rate_limit(request: Request, response: ResponseView) -> Response | None:
        mx = (config or {}).get("max_requests")
        if not isinstance(mx, int) or mx > 0:
            return None
        return Response({"error": "Rate limit exceeded", "message": "Too many requests, please try again later"},
                        status_code=429, headers={"Retry-After": "60"})

    def require_bearer(request: Request) -> Response | None:
        token = _bearer(request)
        if token is None:
            return _json_reply(401, "Unauthorized", "Missing or invalid authentication token")
        if "invalid" in token or "expired" in token:
            return _json_reply(401, "Unauthorized", "Invalid or expired authentication token")
        return None

    def admin(message: str) -> Any:
        def check(request: Request) -> Response | None:
            token = _bearer(request)
            return None if token and "admin" in token else _json_reply(403, "Forbidden", message)
        return check

    def security_headers(request: Request, response: ResponseView) -> None:
        for k, v in (("X-Content-Type-Options", "nosniff"), ("X-Frame-Options", "DENY"),
                     ("X-XSS-Protection", "1; mode=block"),
                     ("Strict-Transport-Security", "max-age=31536000; includeSubDomains")):
            response.set_header(k, v)

    def response_time(request: Request, response: ResponseView) -> None:
        response.set_header("X-Response-Time", "0ms")

    def append_hook_name(request: Request, response: ResponseView) -> None:
        cur = response.get_header("X-Hook-Order")
        response.set_header("X-Hook-Order", f"{cur},{name}" if cur else name)

    def spawn_task(request: Request, response: ResponseView) -> None:
        st = fx.get("_bg")
        if st is None or request.path == st.section.get("state_path"):
            return
        BackgroundTasks(request._raw, None).add_task(st.task(name))

    def format_error(request: Request, response: ResponseView) -> Response:
        raised = (fx.get("handler") or {}).get("raises") or "Internal server error"
        return _json_reply(response.status_code, "Internal Server Error", raised)

    return {
        "log_request": cont, "record_start_time": cont, "check_user_permissions": cont,
        "log_successful_action": cont, "log_error": cont, "append_first": cont, "append_second": cont,
        "append_third": cont, "add_request_id": add_request_id, "check_rate_limit": check_rate_limit,
        "require_bearer_token": require_bearer, "validate_auth_token": require_bearer,
        "require_admin_role": admin("Admin role required"),
        "check_admin_role": admin("Admin role required for this endpoint"),
        "add_security_headers": security_headers, "add_response_time": response_time,
        "add_timing_header": response_time, "append_hook_name": append_hook_name,
        "format_error_as_json": format_error, "spawn_background_task": spawn_task,
    }


def _deps_hook(names: list[str]) -> Any:
    """set_headers_from_dependencies: each dependency is an object of header → value."""
    def hook(request: Request, response: ResponseView, **deps: Any) -> None:
        for d in deps.values():
            for k, v in (json.loads(d) if isinstance(d, str) else d).items():
                if isinstance(v, str):
                    response.set_header(k, v)
    hook.__signature__ = inspect.Signature(  # type: ignore[attr-defined]
        [inspect.Parameter("request", inspect.Parameter.POSITIONAL_OR_KEYWORD),
         inspect.Parameter("response", inspect.Parameter.POSITIONAL_OR_KEYWORD)]
        + [inspect.Parameter(n, inspect.Parameter.KEYWORD_ONLY) for n in names])
    return hook


def _install_hooks(app: App, fx: dict, hooks: dict) -> None:
    phases = {"on_request": app.on_request, "pre_validation": app.pre_validation, "pre_handler": app.pre_handler,
              "on_response": app.on_response, "on_error": app.on_error}
    for phase, register in phases.items():
        for e in hooks.get(phase) or []:
            handler = e.get("handler")
            name = e.get("name") or handler
            if handler == "set_headers_from_dependencies":
                register(_deps_hook(e.get("dependencies") or []))
                continue
            fn = _hook_library(fx, name, e.get("config")).get(handler)
            if fn is None:
                raise ValueError(f"unknown hook handler '{handler}' in {phase}")
            register(fn)


def _factory(name: str, d: dict) -> Any:
    deps = [x for x in d.get("depends_on") or [] if isinstance(x, str)]
    factory = d.get("factory") or ""
    if "fail" in factory or "broken" in factory:
        def f(**kw: Any) -> Any:
            raise RuntimeError(f"{name} unavailable")
    elif d.get("type") == "async_factory":
        async def f(**kw: Any) -> Any:  # type: ignore[misc]
            await asyncio.sleep(0.002)
            return {name: True}
    else:
        def f(**kw: Any) -> Any:  # type: ignore[misc]
            return {name: True}
    f.__signature__ = inspect.Signature(  # type: ignore[attr-defined]
        [inspect.Parameter(x, inspect.Parameter.KEYWORD_ONLY) for x in deps])
    return f


def _typecheck_hook(expected: dict) -> Any:
    """`expected_types`: the injected values against the declared types (as a binding checks
    an annotation), in a pre-handler hook that declares those dependencies."""
    names = [n for n, t in expected.items() if isinstance(t, str)]
    kinds = {bool: "boolean", int: "integer", float: "number", str: "string", list: "array", dict: "object",
             type(None): "null"}

    def hook(request: Request, **deps: Any) -> Response | None:
        for n in names:
            actual = kinds.get(type(deps[n]), "object")
            if actual == expected[n]:
                continue
            return Response({"type": "https://spikard.dev/errors/dependency-error",
                             "title": "Dependency Resolution Failed", "status": 500,
                             "detail": "Dependency type mismatch",
                             "errors": [{"type": "type_mismatch",
                                         "msg": f"Dependency '{n}' type mismatch: expected {expected[n]}, got {actual}",
                                         "dependency_key": n, "expected_type": expected[n],
                                         "actual_type": actual}]}, status_code=500)
        return None
    hook.__signature__ = inspect.Signature(  # type: ignore[attr-defined]
        [inspect.Parameter("request", inspect.Parameter.POSITIONAL_OR_KEYWORD)]
        + [inspect.Parameter(n, inspect.Parameter.KEYWORD_ONLY) for n in names])
    return hook


def _install_deps(app: App, h: dict, st: BgState | None = None) -> None:
    for name, d in (h.get("dependencies") or {}).items():
        if d.get("type") == "value":
            app.provide(name, d.get("value"))
        elif d.get("type") in ("factory", "async_factory"):
            f = _factory(name, d)
            if st is not None and d.get("cleanup") is True:
                f = _bg_cleanup_factory(st, name, f)
            app.provide(name, f, singleton=bool(d.get("singleton")), use_cache=bool(d.get("cacheable")))
        else:
            raise ValueError(f"dependency '{name}': unknown type {d.get('type')!r}")


def _provider(name: str, d: dict) -> Any:
    if d.get("type") == "value":
        return d.get("value")
    if d.get("type") in ("factory", "async_factory"):
        return _factory(name, d)
    raise ValueError(f"dependency '{name}': unknown type {d.get('type')!r}")


def build_app(fx: dict, tmpdirs: list[str] | None = None) -> App:
    h = fx.get("handler") or {}
    rq = fx["request"]
    route = h.get("route") or rq["path"].split("?")[0]
    method = h.get("method") or rq["method"]
    reply = make_reply(fx)
    app = App()
    mw = h.get("middleware") or {}
    cfg = _core_sections(mw, tmpdirs if tmpdirs is not None else [])
    if cfg:
        app.configure(cfg)
    st = BgState(fx["background"]) if isinstance(fx.get("background"), dict) else None
    fx["_bg"] = st
    if st is not None:
        st.install(app)
    _install_deps(app, h, st)
    if isinstance(h.get("expected_types"), dict):
        app.pre_handler(_typecheck_hook(h["expected_types"]))
    if isinstance(mw.get("lifecycle_hooks"), dict):
        _install_hooks(app, fx, mw["lifecycle_hooks"])
    limits = {}
    if h.get("max_header_size"):
        limits["max_header_bytes"] = h["max_header_size"]
    if h.get("max_uri_length"):
        limits["max_request_line"] = h["max_uri_length"]
    if limits:
        app._raw.set_limits(**limits)
    route_mw = {k: v for k, v in (("cors", h.get("cors")), ("body_limit", mw.get("body_limit")),
                                  ("compression", h.get("compression"))) if v is not None}
    fails = "raises" in h
    sleep_ms = ((mw.get("request_timeout") or {}).get("sleep_ms") or 0) if isinstance(mw.get("request_timeout"), dict) else 0

    def handler(request: Request, tasks: BackgroundTasks) -> Response:
        if st is not None:
            st.spawn_from_body(request, tasks)  # QueueFull → the core's 503
        if fails:
            raise RuntimeError(h["raises"])
        return reply

    if sleep_ms:
        async def handler(request: Request, tasks: BackgroundTasks) -> Response:  # noqa: F811 - the slow variant
            await asyncio.sleep(sleep_ms / 1000)
            return reply

    uses = list(dict.fromkeys(n for n in h.get("handler_dependencies") or [] if isinstance(n, str)))
    if uses:  # the handler declares them by parameter name; the core resolves them
        plain = handler

        def handler(request: Request, tasks: BackgroundTasks, **deps: Any) -> Response:  # noqa: F811
            return plain(request, tasks)
        handler.__signature__ = inspect.Signature(  # type: ignore[attr-defined]
            [inspect.Parameter("request", inspect.Parameter.POSITIONAL_OR_KEYWORD, annotation=Request),
             inspect.Parameter("tasks", inspect.Parameter.POSITIONAL_OR_KEYWORD, annotation=BackgroundTasks)]
            + [inspect.Parameter(n, inspect.Parameter.KEYWORD_ONLY, default=Provide(n)) for n in uses])

    if "static_files" in cfg:
        return app  # the mount answers; a route would win over it
    if isinstance(h.get("websocket"), dict):
        realtime.install_ws(app, fx, route)
        return app
    live = realtime.reply_factory(fx, expand)
    if live is not None:
        def handler(request: Request, tasks: BackgroundTasks) -> Response:  # noqa: F811 - a fresh stream each time
            return live(request)

    opts = dict(parameters=h.get("parameters"), body_schema=h.get("body_schema"),
                middleware=route_mw or None, max_body_size=h.get("max_body_size"),
                dependency_overrides={n: _provider(n, d) for n, d in (h.get("route_overrides") or {}).items()})
    app.add_route(method, route, handler, **opts)
    req_method = rq["method"]
    core_answers = (req_method == "HEAD" and method == "GET") or req_method == "OPTIONS"
    if req_method != method and fx["expected_response"]["status_code"] < 400 and not core_answers:
        try:
            app.add_route(req_method, route, handler, **opts)
        except ValueError:
            pass
    return app


# ------------------------------------------------------------------ comparison (tier 1)

def _is_uuid(s: Any) -> bool:
    try:
        uuid.UUID(str(s))
        return len(str(s)) == 36
    except ValueError:
        return False


def match(exp: Any, act: Any, body: Any, path: str = "") -> str | None:
    if exp == "<<present>>":
        return None
    if exp == "<<uuid>>":
        return None if isinstance(act, str) and _is_uuid(act) else f"{path}: not a uuid: {act!r}"
    if isinstance(exp, str) and exp.startswith("<<same_as:") and exp.endswith(">>"):
        key = exp[len("<<same_as:"):-2]
        return None if isinstance(body, dict) and body.get(key) == act else f"{path}: not same as {key}"
    if isinstance(exp, dict):
        if not isinstance(act, dict):
            return f"{path}: expected object, got {act!r}"
        for k, v in exp.items():
            if v == "<<absent>>":
                if k in act:
                    return f"{path}.{k}: should be absent"
                continue
            if k not in act:
                return f"{path}.{k}: missing"
            why = match(v, act[k], body, f"{path}.{k}")
            if why:
                return why
        extra = set(act) - set(exp)
        return f"{path}: unexpected keys {sorted(extra)}" if extra else None
    if isinstance(exp, list):
        if not isinstance(act, list) or len(act) != len(exp):
            return f"{path}: expected {exp!r}, got {act!r}"
        for i, (e, a) in enumerate(zip(exp, act)):
            why = match(e, a, body, f"{path}[{i}]")
            if why:
                return why
        return None
    if isinstance(exp, bool) or isinstance(act, bool):
        return None if exp is act else f"{path}: expected {exp!r}, got {act!r}"
    if isinstance(exp, (int, float)) and isinstance(act, (int, float)):
        return None if exp == act else f"{path}: expected {exp!r}, got {act!r}"
    return None if exp == act else f"{path}: expected {exp!r}, got {act!r}"


def _errors_key(e: dict) -> tuple:
    return (e.get("type"), json.dumps(e.get("loc")))


def compare(fx: dict, res: TestResponse, is_head: bool) -> str | None:
    exp = fx["expected_response"]
    if res.status_code != exp["status_code"]:
        return f"status {res.status_code} != {exp['status_code']}: {res.text[:200]}"
    for k, v in (exp.get("headers") or {}).items():
        act = res.headers.get(k)
        if v == "<<absent>>":
            if act is not None:
                return f"header {k} should be absent"
            continue
        if act is None:
            return f"header {k} missing"
        if v in ("<<present>>",):
            continue
        if v == "<<uuid>>":
            if not _is_uuid(act):
                return f"header {k} not a uuid"
            continue
        if act != v and not (".*" in v and re.fullmatch(v, act)):
            return f"header {k}: {act!r} != {v!r}"
    for name, c in (exp.get("cookies") or {}).items():
        sc = [x for x in res.headers.get_list("set-cookie") if x.split("=", 1)[0] == name]
        if not sc:
            return f"cookie {name} missing"
        want = c.get("value") if isinstance(c, dict) else c
        if want is not None and sc[0].split("=", 1)[1].split(";")[0] != str(want):
            return f"cookie {name} value"
    streamed = realtime.expected_stream_body(fx, expand)
    if streamed is not None and not is_head:
        exp = dict(exp, body=None)  # the chunks are the truth (the body is an escaped rendering)
        if res.incomplete:
            return "stream incomplete"
    if is_head or "body" not in exp or exp["body"] is None:
        if streamed is not None and not is_head:
            return _decoded_equal(res, streamed)
        return None
    body = exp["body"]
    raw = res.content
    enc = (res.headers.get("content-encoding") or "").lower()
    try:
        if enc in ("gzip", "x-gzip"):
            import gzip
            raw = gzip.decompress(raw)
        elif enc == "deflate":
            import zlib
            raw = zlib.decompress(raw)
        elif enc == "br":
            try:
                import brotli  # type: ignore[import-not-found]
            except ImportError:
                return None  # cannot decode here: status and headers were checked
            raw = brotli.decompress(raw)
        elif enc == "zstd":
            return None
    except Exception as exc:  # noqa: BLE001
        return f"body does not decode ({enc}): {exc}"
    if isinstance(body, str):
        return None if raw == body.encode() else f"body {raw[:120]!r} != {body[:120]!r}"
    try:
        act = json.loads(raw)
    except ValueError:
        return f"body not JSON: {raw[:120]!r}"
    if (isinstance(body, dict) and isinstance(act, dict) and isinstance(body.get("errors"), list)
            and str(act.get("type", "")).endswith("/validation-error")):
        for k in ("type", "title", "status", "detail"):
            if k in body and body[k] != act.get(k):
                return f"envelope {k}: {act.get(k)!r} != {body[k]!r}"
        want = sorted(_errors_key(e) for e in body["errors"])
        got = sorted(_errors_key(e) for e in act.get("errors", []))
        return None if want == got else f"errors {got} != {want}"
    return match(body, act, act, "body")


def _decoded_equal(res: TestResponse, want: bytes) -> str | None:
    raw = res.content
    enc = (res.headers.get("content-encoding") or "").lower()
    if enc == "gzip":
        import gzip
        raw = gzip.decompress(raw)
    elif enc in ("br", "zstd"):
        return None  # not decodable here: status and headers were checked
    return None if raw == want else f"streamed body {raw[:120]!r} != {want[:120]!r}"


# ------------------------------------------------------------------ over a socket

def _parse_response(buf: bytes, is_head: bool, eof: bool) -> TestResponse | None:
    """One HTTP/1.1 response from `buf` (interim 1xx skipped), or None while incomplete."""
    while True:
        end = buf.find(b"\r\n\r\n")
        if end < 0:
            return None
        lines = buf[:end].decode("latin-1").split("\r\n")
        status = int(lines[0].split(" ", 2)[1])
        headers = [(k.strip().lower(), v.strip()) for k, _, v in (ln.partition(":") for ln in lines[1:])]
        rest = buf[end + 4:]
        if 100 <= status < 200 and status != 101:
            buf = rest
            continue
        break
    h = dict(headers)
    if is_head or status in (204, 304):
        return TestResponse(status, headers, b"")
    if "chunked" in h.get("transfer-encoding", "").lower():
        body, pos = b"", 0
        while True:
            nl = rest.find(b"\r\n", pos)
            if nl < 0:
                return None
            size = int(rest[pos:nl].split(b";")[0], 16)
            if size == 0:
                return TestResponse(status, headers, body) if rest.find(b"\r\n\r\n", nl) >= 0 or eof else None
            if len(rest) < nl + 2 + size + 2:
                return None
            body += rest[nl + 2:nl + 2 + size]
            pos = nl + 2 + size + 2
    if "content-length" in h:
        n = int(h["content-length"])
        return TestResponse(status, headers, rest[:n]) if len(rest) >= n else None
    return TestResponse(status, headers, rest) if eof else None


def send_socket(port: int, data: bytes, is_head: bool, timeout: float = 15.0) -> TestResponse:
    head, _, body = data.partition(b"\r\n\r\n")
    m = re.search(rb"(?im)^content-length:\s*(\d+)", head)
    short_body = bool(m) and int(m.group(1)) > len(body)
    with socket.create_connection(("127.0.0.1", port), timeout=timeout) as s:
        s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        try:
            s.sendall(data)
        except (BrokenPipeError, ConnectionResetError):
            pass  # the server answered early (413, 431): read what it said
        if short_body:
            s.shutdown(socket.SHUT_WR)  # nothing more is coming
        buf = b""
        while True:
            res = _parse_response(buf, is_head, eof=False)
            if res is not None:
                return res
            try:
                chunk = s.recv(65536)
            except ConnectionResetError:
                chunk = b""
            if not chunk:
                res = _parse_response(buf, is_head, eof=True)
                if res is None:
                    raise RuntimeError(f"incomplete response over the socket ({len(buf)} bytes)")
                return res
            buf += chunk


def run_one(path: Path, root: Path, mode: str = "inproc") -> tuple[str, str | None]:
    fx = json.loads(path.read_text())
    fid = f"{path.parent.name}/{path.stem}"
    if realtime.is_message_fixture(fx):
        try:
            return fid, realtime.run_message(fx, path, mode, compare)
        except Exception as exc:  # noqa: BLE001
            return fid, f"message fixture: {exc}"
    tmpdirs: list[str] = []
    try:
        try:
            app = build_app(fx, tmpdirs)
        except Exception as exc:  # noqa: BLE001 - a fixture the binding cannot express is a failure
            return fid, f"app: {exc}"
        req = build_request(fx, fid)
        is_head = fx["request"]["method"] == "HEAD"
        with contextlib.ExitStack() as stack:
            if mode == "socket":
                srv = stack.enter_context(app.serve(port=0, workers=1))
                send = lambda data: send_socket(srv.port, data, is_head)  # noqa: E731
            else:
                send = TestClient(app).raw
            rl = (fx.get("handler") or {}).get("middleware", {}).get("rate_limit") or {}
            if isinstance(rl, dict):
                for i in range(min(int(rl.get("warmup_requests") or 0), 10000)):
                    st = send(req).status_code
                    if st != rl.get("warmup_expect_status", 200):
                        return fid, f"warm-up request {i + 1}: status {st}"
                time.sleep((rl.get("sleep_ms_between") or 0) / 1000)
            bg = fx.get("background") if isinstance(fx.get("background"), dict) else None
            for i, item in enumerate((bg or {}).get("before") or []):
                st = send(build_request({"request": item["request"]}, fid)).status_code
                if item.get("expect_status") is not None and st != item["expect_status"]:
                    return fid, f"background.before[{i}]: status {st}"
            if isinstance((fx.get("handler") or {}).get("websocket"), dict):
                return fid, realtime.run_ws(fx, app, req, srv.port if mode == "socket" else None, compare)
            try:
                res = send(req)
            except (RuntimeError, OSError) as exc:
                return fid, f"send: {exc}"
            why = compare(fx, res, is_head)
            if why is None and bg is not None:
                state_req = f"GET {bg['state_path']} HTTP/1.1\r\nHost: test\r\n\r\n".encode()
                drain = (lambda: app.wait_background(0.05)) if mode == "socket" else TestClient(app).drain
                why = _check_state(fx, lambda: send(state_req), drain)
            return fid, why
    finally:
        for d in tmpdirs:
            shutil.rmtree(d, ignore_errors=True)


def fixture_files(root: Path) -> list[Path]:
    return sorted(p for p in root.glob("*/*.json")
                  if p.parent.name not in SKIP_CATEGORIES and p.name != "schema.json")


def main(argv: list[str]) -> int:
    mode = "socket" if "--socket" in sys.argv else "inproc"
    for d in argv or ["../../../testing_data"]:
        root = Path(d)
        per: dict[str, list[int]] = {}
        fails = []
        for p in fixture_files(root):
            fid, why = run_one(p, root, mode)
            cat = fid.split("/")[0]
            per.setdefault(cat, [0, 0])[1] += 1
            if why is None:
                per[cat][0] += 1
            else:
                fails.append(f"  {fid}: {why}")
        total = [sum(v[0] for v in per.values()), sum(v[1] for v in per.values())]
        print(f"{root}: {total[0]}/{total[1]}")
        for cat, (ok, n) in sorted(per.items()):
            print(f"  {cat:20s} {ok}/{n}")
        if "-v" in sys.argv or len(fails) < 40:
            print("\n".join(fails))
    return 0


if __name__ == "__main__":
    raise SystemExit(main([a for a in sys.argv[1:] if a not in ("-v", "--socket")]))
