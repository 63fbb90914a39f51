"""Async handlers, lifecycle hooks, dependency injection, configuration."""
from __future__ import annotations

import asyncio
import threading
from typing import Annotated

import pytest

from spikard import (ApiKeyConfig, App, CompressionConfig, CorsConfig, HTTPException, Provide, Request,
                     RequestIdConfig, Response, ResponseView, ServerConfig)
from spikard.testing import AsyncTestClient, TestClient


def test_async_handlers_run_on_the_loop() -> None:
    app = App()
    seen: list[str] = []

    @app.get("/slow/{n}")
    async def slow(n: int):
        await asyncio.sleep(0.001 * n)
        seen.append(threading.current_thread().name)
        return {"n": n}

    @app.get("/fail")
    async def fail():
        await asyncio.sleep(0)
        raise HTTPException(409, "conflict")

    @app.get("/crash")
    async def crash():
        raise RuntimeError("no")

    c = TestClient(app)
    for n in range(5):
        assert c.get(f"/slow/{n}").json() == {"n": n}
    assert set(seen) == {"spikard-asyncio"}
    assert c.get("/fail").status_code == 409
    assert c.get("/crash").status_code == 500


def test_async_test_client_concurrency() -> None:
    app = App()
    gate = {"n": 0}

    @app.get("/x/{i}")
    async def x(i: int):
        gate["n"] += 1
        await asyncio.sleep(0.01)
        return {"i": i}

    async def main() -> list[int]:
        ac = AsyncTestClient(app)
        rs = await asyncio.gather(*(ac.get(f"/x/{i}") for i in range(8)))
        return [r.json()["i"] for r in rs]

    assert sorted(asyncio.run(main())) == list(range(8))


def test_hooks_order_and_short_circuit() -> None:
    app = App()
    order: list[str] = []

    @app.on_request
    def on_request(request: Request):
        order.append("on_request")
        if request.path == "/blocked":
            return Response({"blocked": True}, status_code=403)
        return None

    @app.pre_validation
    def pre_validation(request: Request):
        order.append("pre_validation")

    @app.pre_handler
    async def pre_handler(request: Request):
        order.append("pre_handler")
        if request.headers.get("x-deny"):
            raise HTTPException(401, "denied")

    @app.on_response
    def on_response(request: Request, response: ResponseView):
        order.append("on_response")
        response.set_header("X-Hooked", str(response.status_code))

    @app.on_error
    def on_error(request: Request, response: ResponseView):
        order.append("on_error")
        response.set_header("X-Error", "1")

    @app.get("/ok/{n}")
    def ok(n: int):
        order.append("handler")
        return {"n": n}

    c = TestClient(app)
    r = c.get("/ok/1")
    assert r.status_code == 200 and r.headers["x-hooked"] == "200"
    assert order == ["on_request", "pre_validation", "pre_handler", "handler", "on_response"]
    order.clear()
    r = c.get("/blocked")
    assert (r.status_code, r.json()) == (403, {"blocked": True})
    assert order == ["on_request"]
    order.clear()
    r = c.get("/ok/x")
    assert r.status_code == 422 and r.headers["x-error"] == "1"
    assert order == ["on_request", "pre_validation", "on_error"]
    r = c.get("/ok/1", headers={"X-Deny": "1"})
    assert r.status_code == 401


def test_handler_exceptions_go_to_on_error_sync_and_async() -> None:
    """An uncaught exception fails the handler in the core (spk_res_fail for async ones): the
    same 500 problem details and on_error hooks, never on_response, whichever kind it is."""
    app = App()
    seen: list[str] = []

    @app.on_response
    def on_response(request: Request, response: ResponseView):
        seen.append("on_response")

    @app.on_error
    def on_error(request: Request, response: ResponseView):
        seen.append(f"on_error {response.status_code}")

    @app.get("/sync")
    def sync_boom():
        raise RuntimeError("sync boom")

    @app.get("/async")
    async def async_boom():
        await asyncio.sleep(0)
        raise RuntimeError("async boom")

    c = TestClient(app)
    for path in ("/sync", "/async"):
        seen.clear()
        r = c.get(path)
        assert r.status_code == 500, path
        assert r.headers["content-type"].startswith("application/problem+json"), path
        assert "boom" not in r.text, path  # no traceback outside debug mode
        assert seen == ["on_error 500"], (path, seen)


def test_hook_exception_is_500_not_a_crash() -> None:
    app = App()

    @app.on_request
    def bad(request: Request):
        raise RuntimeError("hook broke")

    @app.get("/")
    def root():
        return {}

    assert TestClient(app).get("/").status_code == 500


class Db:
    def __init__(self) -> None:
        self.closed = False


async def get_user(request: Request, db: Db):
    return {"user": request.headers.get("x-user", "anon"), "db_open": not db.closed}


def test_dependency_injection() -> None:
    app = App()
    events: list[str] = []
    app.provide("settings", {"name": "test"})

    def get_db(settings: dict):
        db = Db()
        events.append(f"open:{settings['name']}")
        yield db
        db.closed = True
        events.append("close")

    app.provide("db", get_db)
    counter = {"n": 0}

    def make_singleton():
        counter["n"] += 1
        return counter["n"]

    app.provide("single", make_singleton, singleton=True)

    holder: dict = {}

    @app.get("/sync")
    def sync(db: Db, settings: dict, single: int):
        holder["db"] = db
        return {"settings": settings, "single": single, "open": not db.closed}

    @app.get("/async")
    async def async_(user: Annotated[dict, Provide(get_user)], single: int):
        return {**user, "single": single}

    def failing():
        raise ConnectionError("db down")

    @app.get("/fails")
    def fails(x=Provide(failing)):
        return {}

    c = TestClient(app)
    assert c.get("/sync").json() == {"settings": {"name": "test"}, "single": 1, "open": True}
    assert holder["db"].closed and events == ["open:test", "close"]
    r = c.get("/async", headers={"X-User": "ann"})
    assert r.json() == {"user": "ann", "db_open": True, "single": 1}
    r = c.get("/fails")
    assert r.status_code == 503 and r.json()["type"].endswith("/dependency-error")


def test_config_objects_reach_the_core() -> None:
    cfg = ServerConfig(
        compression=CompressionConfig(gzip=True, brotli=False, zstd=False, min_size=10),
        cors=CorsConfig(allowed_origins=["https://a.example"], allowed_methods=["GET"]),
        request_id=RequestIdConfig(),
        api_key_auth=ApiKeyConfig(keys=["k1"]),
    )
    app = App(cfg)

    @app.get("/data")
    def data():
        return {"items": ["x" * 10] * 50}

    c = TestClient(app)
    assert c.get("/data").status_code == 401
    r = c.get("/data", headers={"X-API-Key": "k1", "Accept-Encoding": "gzip", "Origin": "https://a.example"})
    assert r.status_code == 200
    assert r.headers["content-encoding"] == "gzip"
    assert r.headers["access-control-allow-origin"] == "https://a.example"
    assert r.headers.get("x-request-id")
    assert c.get("/data", headers={"X-API-Key": "k1", "Origin": "https://evil"}).status_code == 403


def test_bad_config_raises() -> None:
    app = App()
    with pytest.raises(ValueError):
        app.configure({"no_such_section": {}})


def test_per_route_middleware_and_limits() -> None:
    app = App()

    @app.post("/small", max_body_size=8)
    def small(data: dict):
        return data

    c = TestClient(app)
    assert c.post("/small", json={"a": 1}).status_code == 200
    assert c.post("/small", json={"a": "0123456789"}).status_code == 413


def test_core_dependency_graph_errors_and_scopes() -> None:
    app = App()
    app.provide("a", lambda b: {"a": b})
    app.provide("b", lambda a: {"b": a})  # a cycle: found by the core at freeze
    app.provide("needs_ghost", lambda ghost: 1)  # an unknown name
    counter = {"n": 0}

    def fresh():
        counter["n"] += 1
        return counter["n"]

    app.provide("fresh", fresh, use_cache=False)  # transient

    async def conn():
        yield "conn"
        counter["closed"] = counter.get("closed", 0) + 1

    app.provide("conn", conn)

    @app.get("/cycle")
    def cycle(a: dict):
        return a

    @app.get("/ghost")
    def ghost(needs_ghost: int):
        return {}

    @app.get("/fresh")
    async def fresh_route(fresh: int, conn: str):
        return {"fresh": fresh, "conn": conn}

    c = TestClient(app)
    r = c.get("/cycle")
    assert r.status_code == 500 and "ircular" in r.text
    r = c.get("/ghost")
    assert r.status_code == 500 and "not found" in r.text
    assert c.get("/fresh").json() == {"fresh": 1, "conn": "conn"}
    assert c.get("/fresh").json()["fresh"] == 2
    deadline = __import__("time").monotonic() + 5
    while counter.get("closed", 0) < 2 and __import__("time").monotonic() < deadline:
        __import__("time").sleep(0.01)
    assert counter.get("closed") == 2  # async generator cleanup ran for each request


def test_background_tasks() -> None:
    from spikard import BackgroundTasks

    app = App()
    app.configure({"background_tasks": {"max_queue": 2, "max_concurrency": 1}})
    done: list[str] = []
    gate = threading.Event()

    def record(what: str) -> None:
        done.append(what)

    async def record_async(what: str) -> None:
        await asyncio.sleep(0)
        done.append(what)

    def blocker() -> None:
        gate.wait(5)

    @app.post("/signup/{name}")
    def signup(name: str, tasks: BackgroundTasks):
        tasks.add_task(record, f"mail:{name}")
        tasks.add_task(record_async, f"audit:{name}")
        return {"ok": True}

    @app.post("/block")
    def block(tasks: BackgroundTasks):
        tasks.add_task(blocker)
        return {}

    @app.post("/boom")
    def boom(tasks: BackgroundTasks):
        tasks.add_task(record, "never")
        raise RuntimeError("handler failed: its tasks are dropped")

    c = TestClient(app)
    assert c.post("/signup/ann").json() == {"ok": True}
    assert c.drain(5)
    assert done == ["mail:ann", "audit:ann"]
    assert c.post("/boom").status_code == 500
    assert c.drain(5) and "never" not in done
    # One worker busy, queue bound 2: the third waiting task is refused → 503.
    codes = [c.post("/block").status_code for _ in range(4)]
    gate.set()
    assert 503 in codes and codes[0] == 200
    assert app.wait_background(5)
    app.spawn(record, "app-level")
    assert app.wait_background(5) and done[-1] == "app-level"


def test_async_request_hooks_suspend_the_request() -> None:
    app = App()
    threads: list[str] = []

    @app.on_request
    async def slow_auth(request: Request):
        await asyncio.sleep(0.001)
        threads.append(threading.current_thread().name)
        if request.headers.get("x-deny"):
            return Response({"denied": True}, status_code=403)
        return None

    @app.pre_handler
    async def failing(request: Request):
        if request.headers.get("x-crash"):
            raise RuntimeError("hook crashed")

    @app.get("/x")
    def x():
        return {"ok": True}

    c = TestClient(app)
    assert c.get("/x").json() == {"ok": True}
    assert threads == ["spikard-asyncio"]
    r = c.get("/x", headers={"X-Deny": "1"})
    assert (r.status_code, r.json()) == (403, {"denied": True})
    assert c.get("/x", headers={"X-Crash": "1"}).status_code == 500
    with app.serve(port=0, workers=1) as srv:  # and over sockets
        import urllib.request
        with urllib.request.urlopen(srv.url + "/x", timeout=10) as resp:
            assert resp.status == 200


def test_async_response_hooks_do_not_block_the_server() -> None:
    """An async on_response hook suspends only its own response: while it awaits, the same
    single-threaded server answers other requests; then it edits the response and the next hook
    runs. A failing one answers 500."""
    import http.client

    from spikard import _aio

    app = App()
    release = asyncio.Event()
    order: list[str] = []

    @app.on_response
    async def audit(request: Request, response: ResponseView):
        if request.path == "/slow":
            order.append("waiting /slow")
            await asyncio.wait_for(release.wait(), 10)
        if request.path == "/crash":
            raise RuntimeError("audit store down")
        response.set_header("X-Audited", request.path)
        order.append("audit " + request.path)

    @app.on_response
    def after(request: Request, response: ResponseView):
        response.set_header("X-After", response.get_header("x-audited") or "-")

    @app.get("/slow")
    def slow():
        return {"slow": True}

    @app.get("/fast")
    def fast():
        return {"fast": True}

    @app.get("/release")
    def release_slow():
        _aio.loop().call_soon_threadsafe(release.set)
        return {"released": True}

    @app.get("/crash")
    def crash():
        return {"crash": False}

    c = TestClient(app)
    r = c.get("/fast")
    assert (r.status_code, r.headers["x-audited"], r.headers["x-after"]) == (200, "/fast", "/fast")
    r = c.get("/crash")
    assert r.status_code == 500 and "x-audited" not in r.headers

    with app.serve(port=0) as srv:
        results: dict[str, tuple[int, str | None]] = {}

        def get(path: str) -> None:
            conn = http.client.HTTPConnection("127.0.0.1", srv.port, timeout=15)
            conn.request("GET", path)
            resp = conn.getresponse()
            resp.read()
            results[path] = (resp.status, resp.getheader("x-after"))
            conn.close()

        t = threading.Thread(target=get, args=("/slow",))
        t.start()
        for _ in range(200):
            if "waiting /slow" in order:
                break
            threading.Event().wait(0.05)
        assert "waiting /slow" in order
        get("/fast")  # the slow response's hook is waiting: the one server thread still serves
        assert "/slow" not in results
        get("/release")
        t.join(15)
        assert results["/slow"] == (200, "/slow")
        assert results["/fast"] == (200, "/fast")
