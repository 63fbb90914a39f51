"""API surface: parameters by source and type, bodies, responses, errors."""
from __future__ import annotations

import dataclasses
import datetime as dt
import enum
import uuid
from typing import Annotated, Literal, Optional, TypedDict

import msgspec
import pytest

from spikard import (App, Body, Cookie, Header, HTTPException, Path, PlainTextResponse, Query, Request,
                     Response)
from spikard.testing import TestClient


class Color(enum.Enum):
    RED = "red"
    BLUE = "blue"


class ItemStruct(msgspec.Struct):
    name: str
    price: float
    tags: list[str] = []


@dataclasses.dataclass
class ItemDC:
    name: str
    price: float


class ItemTD(TypedDict):
    name: str
    price: float


class Login(msgspec.Struct):
    user: str
    remember: bool = False


pydantic = pytest.importorskip("pydantic")
attrs = pytest.importorskip("attrs")


class User(pydantic.BaseModel):
    name: str = pydantic.Field(min_length=2)
    age: int = pydantic.Field(ge=0)


@attrs.define
class Point:
    x: int
    y: int


@pytest.fixture
def client() -> TestClient:
    app = App()

    @app.get("/users/{user_id}")
    def user(user_id: int, verbose: bool = False, limit: int = Query(10, ge=1, le=100)):
        return {"id": user_id, "verbose": verbose, "limit": limit}

    @app.get("/typed/{when}")
    def typed(when: dt.date, at: dt.datetime, u: uuid.UUID, color: Color, mode: Literal["a", "b"] = "a",
              ratio: float = 1.0, ids: list[int] = Query([]), note: Optional[str] = None):
        return {
            "when": [type(when).__name__, when.isoformat()],
            "at": type(at).__name__,
            "u": [type(u).__name__, str(u)],
            "color": [type(color).__name__, color.value],
            "mode": mode, "ratio": [type(ratio).__name__, ratio], "ids": ids, "note": note,
        }

    @app.get("/hdr")
    def hdr(x_token: str = Header(), agent: Annotated[str | None, Header(alias="User-Agent")] = None,
            session: str | None = Cookie(None)):
        return {"token": x_token, "agent": agent, "session": session}

    @app.get("/p/{name}")
    def p(name: Annotated[str, Path(min_length=3)]):
        return name

    @app.post("/struct", status_code=201)
    def struct(item: ItemStruct):
        assert isinstance(item, ItemStruct)
        return item

    @app.post("/dc")
    def dc(item: ItemDC):
        assert isinstance(item, ItemDC)
        return {"kind": "dataclass", "name": item.name, "price": item.price}

    @app.post("/td")
    def td(item: ItemTD):
        return {"kind": "typeddict", **item}

    @app.post("/dict")
    def d(data: dict):
        return {"keys": sorted(data)}

    @app.post("/raw")
    def raw(body: bytes):
        return Response(body[::-1], media_type="application/octet-stream")

    @app.put("/embed")
    def embed(payload: dict = Body()):
        return payload

    @app.route("/multi", methods=["PATCH", "DELETE"])
    def multi(request: Request):
        return {"method": request.method}

    @app.head("/h")
    def h():
        return Response(None, headers={"X-Head": "1"})

    @app.options("/o")
    def o():
        return Response(None, status_code=204, headers={"Allow": "GET, OPTIONS"})

    @app.get("/text")
    def text():
        return PlainTextResponse("hello")

    @app.get("/resp")
    def resp():
        r = Response({"ok": True}, status_code=202, headers={"X-One": "1"})
        r.set_cookie("sid", "abc", httponly=True)
        return r

    @app.get("/missing")
    def missing():
        raise HTTPException(404, "no such thing", headers={"X-Why": "gone"})

    @app.get("/boom")
    def boom():
        raise RuntimeError("kaput")

    @app.get("/req")
    def req(request: Request):
        return {"path": request.path, "q": request.query_params, "h": request.headers.get("x-a"),
                "c": request.cookies}

    return TestClient(app)


def test_path_query_coercion(client: TestClient) -> None:
    r = client.get("/users/42?verbose=true&limit=5")
    assert r.status_code == 200
    assert r.json() == {"id": 42, "verbose": True, "limit": 5}
    assert client.get("/users/42").json() == {"id": 42, "verbose": False, "limit": 10}


def test_validation_errors_are_problem_details(client: TestClient) -> None:
    r = client.get("/users/abc?limit=0")
    assert r.status_code == 422
    body = r.json()
    assert body["type"].endswith("/validation-error")
    assert {(e["type"], tuple(e["loc"])) for e in body["errors"]} == {
        ("int_parsing", ("path", "user_id")), ("greater_than_equal", ("query", "limit"))}


def test_typed_conversion(client: TestClient) -> None:
    u = uuid.uuid4()
    r = client.get(f"/typed/2024-02-29?at=2024-01-01T10:00:00Z&u={u}&color=blue&ratio=2&ids=1&ids=2")
    assert r.status_code == 200, r.text
    assert r.json() == {"when": ["date", "2024-02-29"], "at": "datetime", "u": ["UUID", str(u)],
                        "color": ["Color", "blue"], "mode": "a", "ratio": ["float", 2.0], "ids": [1, 2],
                        "note": None}


@pytest.mark.parametrize("query", ["color=green", "mode=c", "u=nope", "at=yesterday"])
def test_typed_rejections(client: TestClient, query: str) -> None:
    base = {"at": "2024-01-01T10:00:00Z", "u": str(uuid.uuid4()), "color": "red"}
    k, v = query.split("=")
    base[k] = v
    r = client.get("/typed/2024-01-01", params=base)
    assert r.status_code == 422
    assert r.json()["errors"][0]["loc"] == ["query", k]


def test_headers_and_cookies(client: TestClient) -> None:
    r = client.get("/hdr", headers={"X-Token": "t1", "User-Agent": "ua"}, cookies={"session": "s"})
    assert r.json() == {"token": "t1", "agent": "ua", "session": "s"}
    r = client.get("/hdr")
    assert r.status_code == 422
    assert r.json()["errors"][0]["loc"][0] == "headers"


def test_path_marker_constraint(client: TestClient) -> None:
    assert client.get("/p/abc").json() == "abc"
    assert client.get("/p/ab").status_code == 422


@pytest.mark.parametrize("route", ["/struct", "/dc", "/td"])
def test_body_models(client: TestClient, route: str) -> None:
    r = client.post(route, json={"name": "pen", "price": 2})
    assert r.status_code in (200, 201), r.text
    assert r.json()["name"] == "pen"
    bad = client.post(route, json={"name": "pen", "price": "x"})
    assert bad.status_code == 422
    assert bad.json()["errors"][0]["loc"] == ["body", "price"]
    assert client.post(route, content=b"{nope", headers={"Content-Type": "application/json"}).status_code == 400


def test_status_code_and_struct_echo(client: TestClient) -> None:
    r = client.post("/struct", json={"name": "a", "price": 1.5})
    assert r.status_code == 201
    assert r.json() == {"name": "a", "price": 1.5, "tags": []}


def test_dict_and_raw_bodies(client: TestClient) -> None:
    assert client.post("/dict", json={"b": 1, "a": 2}).json() == {"keys": ["a", "b"]}
    r = client.post("/raw", content=b"abc")
    assert r.content == b"cba" and r.headers["content-type"] == "application/octet-stream"
    assert client.put("/embed", json={"x": 1}).json() == {"x": 1}


def test_methods(client: TestClient) -> None:
    assert client.patch("/multi").json() == {"method": "PATCH"}
    assert client.delete("/multi").json() == {"method": "DELETE"}
    assert client.get("/multi").status_code == 405
    r = client.head("/h")
    assert r.status_code == 200 and r.headers["x-head"] == "1" and r.content == b""
    assert client.options("/o").status_code == 204
    assert client.get("/nowhere").status_code == 404


def test_responses(client: TestClient) -> None:
    r = client.get("/text")
    assert r.text == "hello" and r.headers["content-type"].startswith("text/plain")
    r = client.get("/resp")
    assert r.status_code == 202 and r.headers["x-one"] == "1" and r.json() == {"ok": True}
    assert r.cookies == {"sid": "abc"}
    assert "HttpOnly" in r.headers["set-cookie"]


def test_http_exception(client: TestClient) -> None:
    r = client.get("/missing")
    assert r.status_code == 404
    assert r.headers["content-type"].startswith("application/problem+json")
    assert r.headers["x-why"] == "gone"
    assert r.json() == {"type": "https://spikard.dev/errors/not-found", "title": "Not Found", "status": 404,
                        "detail": "no such thing"}


def test_uncaught_exception_is_500(client: TestClient) -> None:
    r = client.get("/boom")
    assert r.status_code == 500
    assert r.json()["status"] == 500
    assert "kaput" not in r.text  # traceback only in debug mode
    assert client.get("/users/1").status_code == 200  # still serving


def test_request_object(client: TestClient) -> None:
    r = client.get("/req?a=1&a=2&b=x", headers={"X-A": "h"}, cookies={"k": "v"})
    assert r.json() == {"path": "/req", "q": {"a": "1", "b": "x"}, "h": "h", "c": {"k": "v"}}


def test_debug_mode_shows_traceback() -> None:
    app = App(debug=True)

    @app.get("/boom")
    def boom():
        raise ValueError("visible")

    assert "visible" in TestClient(app).get("/boom").text


def test_custom_exception_handlers() -> None:
    app = App()

    class Teapot(Exception):
        pass

    @app.exception_handler(Teapot)
    def teapot(request: Request, exc: Teapot) -> Response:
        return Response({"error": "teapot", "path": request.path}, status_code=418)

    @app.exception_handler(LookupError)
    async def lookup(request: Request, exc: LookupError) -> Response:
        return Response({"missing": str(exc)}, status_code=404)

    @app.get("/t")
    def t():
        raise Teapot()

    @app.get("/k")
    async def k():
        raise KeyError("x")

    c = TestClient(app)
    r = c.get("/t")
    assert (r.status_code, r.json()) == (418, {"error": "teapot", "path": "/t"})
    r = c.get("/k")
    assert (r.status_code, r.json()) == (404, {"missing": "'x'"})


def test_pydantic_and_attrs_bodies() -> None:
    app = App()

    @app.post("/user")
    def user(u: User) -> User:
        assert isinstance(u, User)
        return u

    @app.post("/point")
    def point(p: Point):
        assert isinstance(p, Point)
        return {"sum": p.x + p.y}

    c = TestClient(app)
    assert c.post("/user", json={"name": "ann", "age": 3}).json() == {"name": "ann", "age": 3}
    r = c.post("/user", json={"name": "a", "age": -1})
    assert r.status_code == 422
    assert {tuple(e["loc"]) for e in r.json()["errors"]} == {("body", "name"), ("body", "age")}
    assert c.post("/point", json={"x": 1, "y": 2}).json() == {"sum": 3}
    assert c.post("/point", json={"x": 1}).status_code == 422


def test_form_and_multipart_bodies() -> None:
    app = App()

    @app.post("/login")
    def login(form: Login):
        return {"user": form.user, "remember": form.remember}

    @app.post("/upload", body_schema={"type": "object", "required": ["file"]})
    def upload(request: Request):
        return {"len": len(request.body())}

    c = TestClient(app)
    assert c.post("/login", data={"user": "ann", "remember": "true"}).json() == {"user": "ann", "remember": True}
    assert c.post("/login", data={"remember": "true"}).status_code == 422
    r = c.post("/upload", files={"file": ("a.txt", b"hello", "text/plain")})
    assert r.status_code == 200 and r.json()["len"] > 5


def test_registration_errors_raise() -> None:
    app = App()
    with pytest.raises(ValueError):
        app.add_route("GET", "/bad/{", lambda: None)
    app.add_route("GET", "/ok", lambda: {"ok": 1})
    with pytest.raises(ValueError):
        app.add_route("GET", "/ok", lambda: None)
    with pytest.raises(ValueError):
        app.add_route("POST", "/s", lambda: None, body_schema={"type": 12})


def test_local_model_classes_resolve() -> None:
    # Under `from __future__ import annotations` a class local to a function is only a string
    # in the handler's annotations: the registering frame's namespace resolves it.
    class Local(msgspec.Struct):
        n: int

    app = App()

    @app.post("/local")
    def local(body: Local):
        assert isinstance(body, Local)
        return {"n": body.n}

    c = TestClient(app)
    assert c.post("/local", json={"n": 2}).json() == {"n": 2}
    assert c.post("/local", json={"n": "x"}).status_code == 422


def test_file_response(tmp_path) -> None:
    from spikard import FileResponse

    (tmp_path / "a.txt").write_text("hello file")
    big = tmp_path / "big.bin"
    big.write_bytes(bytes(range(256)) * 4096)  # 1 MiB: sent from the file
    app = App()

    @app.get("/f/{name}")
    def f(name: str):
        return FileResponse(tmp_path / name, filename=name if name == "big.bin" else None)

    c = TestClient(app)
    r = c.get("/f/a.txt")
    assert (r.status_code, r.text) == (200, "hello file")
    assert r.headers["content-type"].startswith("text/plain")
    r = c.get("/f/big.bin")
    assert r.content == big.read_bytes()
    assert r.headers["content-disposition"] == 'attachment; filename="big.bin"'
    assert c.get("/f/missing.txt").status_code == 404


class _When(msgspec.Struct):
    at: dt.datetime
    day: dt.date
    ids: list[uuid.UUID] = []
    color: Color = Color.RED
    count: int = 0


def test_typed_body_decode_matches_general_path() -> None:
    """A body-only route decodes the validated document straight into its type: same values and
    same errors as the general path (decode to dicts, then msgspec.convert(strict=False))."""
    from spikard.app import ConversionError, _Route

    class Raw:
        def __init__(self, body: bytes) -> None:
            self.validated = b'{"path":{},"query":{},"headers":{},"cookies":{},"body":' + body + b"}"

    def create(item: ItemStruct): ...
    def when(w: _When): ...
    def opt(w: Optional[_When] = None): ...
    def many(items: list[ItemDC]): ...
    def td(item: ItemTD): ...
    cases = [
        (create, [b'{"name":"a","price":1}', b'{"name":"a","price":"2.5","tags":["x"]}', b'{"name":1,"price":1}']),
        (when, [b'{"at":"2024-01-02T03:04:05Z","day":"2024-01-02","ids":["0e4bd2f2-9f49-4ab7-9b9b-6c7a5d2f0e10"],'
                b'"color":"blue","count":"7"}', b'{"at":"nope","day":"2024-01-02"}', b'{"at":1,"day":"x"}']),
        (opt, [b"null", b'{"at":"2024-01-02T03:04:05+01:00","day":"2024-01-02"}']),
        (many, [b'[{"name":"a","price":1},{"name":"b","price":2.5}]', b'[{"name":"a"}]']),
        (td, [b'{"name":"a","price":1}']),
    ]
    app = App()
    for fn, bodies in cases:
        route = _Route(app, "POST", "/x", fn, None, None, None)
        assert route.kwargs is not route._kwargs, fn.__name__  # the typed decode is in use
        for body in bodies:
            outs = []
            for kwargs in (route.kwargs, route._kwargs):
                try:
                    outs.append(("ok", kwargs(Raw(body))))
                except ConversionError as exc:
                    outs.append(("error", exc.loc, exc.msg))
            assert outs[0] == outs[1], (fn.__name__, body, outs)
    # Routes with anything else to convert keep the general path.
    def mixed(item: ItemStruct, limit: int = 1): ...
    route = _Route(app, "POST", "/x", mixed, None, None, None)
    assert route.kwargs == route._kwargs
