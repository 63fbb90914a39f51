"""Test clients that drive the core's in-memory pipeline (no sockets)."""
from __future__ import annotations

import asyncio
import json as _json
import threading
import uuid
from typing import Any, Iterable, Mapping
from urllib.parse import urlencode

from ._spikard import RawTestClient
from .app import App

__all__ = ["TestClient", "AsyncTestClient", "TestResponse"]


class Headers:
    """Case-insensitive, multi-valued response headers."""

    def __init__(self, items: list[tuple[str, str]]) -> None:
        self._items = items

    def get(self, name: str, default: str | None = None) -> str | None:
        n = name.lower()
        for k, v in self._items:
            if k.lower() == n:
                return v
        return default

    def get_list(self, name: str) -> list[str]:
        n = name.lower()
        return [v for k, v in self._items if k.lower() == n]

    def __getitem__(self, name: str) -> str:
        v = self.get(name)
        if v is None:
            raise KeyError(name)
        return v

    def __contains__(self, name: object) -> bool:
        return isinstance(name, str) and self.get(name) is not None

    def items(self) -> list[tuple[str, str]]:
        return list(self._items)

    def __repr__(self) -> str:
        return f"Headers({self._items!r})"


class TestResponse:
    __test__ = False

    def __init__(self, status: int, headers: list[tuple[str, str]], body: bytes) -> None:
        self.status_code = status
        self.headers = Headers(headers)
        self.content = body

    @property
    def text(self) -> str:
        return self.content.decode("utf-8", "replace")

    def json(self) -> Any:
        return _json.loads(self.content)

    @property
    def cookies(self) -> dict[str, str]:
        out = {}
        for v in self.headers.get_list("set-cookie"):
            k, _, rest = v.partition("=")
            out[k] = rest.split(";", 1)[0]
        return out

    def __repr__(self) -> str:
        return f"<TestResponse {self.status_code}>"


def _multipart(files: Mapping[str, Any], data: Mapping[str, Any] | None) -> tuple[bytes, str]:
    boundary = uuid.uuid4().hex
    out = bytearray()
    for k, v in (data or {}).items():
        out += f"--{boundary}\r\nContent-Disposition: form-data; name=\"{k}\"\r\n\r\n{v}\r\n".encode()
    for k, f in files.items():
        if isinstance(f, tuple):
            name, content, *rest = f
            ctype = rest[0] if rest else "application/octet-stream"
        else:
            name, content, ctype = k, f, "application/octet-stream"
        if isinstance(content, str):
            content = content.encode()
        out += (f"--{boundary}\r\nContent-Disposition: form-data; name=\"{k}\"; filename=\"{name}\"\r\n"
                f"Content-Type: {ctype}\r\n\r\n").encode() + content + b"\r\n"
    out += f"--{boundary}--\r\n".encode()
    return bytes(out), f"multipart/form-data; boundary={boundary}"


class TestClient:
    """``client = TestClient(app); client.get("/users/1").json()``"""

    __test__ = False

    def __init__(self, app: App) -> None:
        self.app = app
        self._local = threading.local()  # the core's client serves one thread at a time
        self._raw = RawTestClient(app._raw)
        self._local.raw = self._raw

    def _client(self) -> RawTestClient:
        raw = getattr(self._local, "raw", None)
        if raw is None:
            raw = self._local.raw = RawTestClient(self.app._raw)
        return raw

    def __enter__(self) -> "TestClient":
        return self

    def __exit__(self, *exc: Any) -> None:
        pass

    def request(self, method: str, url: str, *, params: Mapping[str, Any] | Iterable[tuple[str, Any]] | None = None,
                headers: Mapping[str, str] | Iterable[tuple[str, str]] | None = None,
                cookies: Mapping[str, str] | None = None, json: Any = None, data: Any = None,
                content: bytes | str | None = None, files: Mapping[str, Any] | None = None) -> TestResponse:
        if params:
            items = params.items() if isinstance(params, Mapping) else params
            flat = []
            for k, v in items:
                for x in (v if isinstance(v, (list, tuple)) else [v]):
                    flat.append((k, "true" if x is True else "false" if x is False else str(x)))
            url += ("&" if "?" in url else "?") + urlencode(flat)
        hs: list[tuple[str, str]] = []
        if headers:
            hs = list(headers.items()) if isinstance(headers, Mapping) else list(headers)
        names = {k.lower() for k, _ in hs}
        body = b""
        ctype = None
        if json is not None:
            body, ctype = _json.dumps(json).encode(), "application/json"
        elif files is not None:
            body, ctype = _multipart(files, data)
        elif data is not None:
            if isinstance(data, (bytes, str)):
                body = data.encode() if isinstance(data, str) else data
            else:
                body, ctype = urlencode(data, doseq=True).encode(), "application/x-www-form-urlencoded"
        elif content is not None:
            body = content.encode() if isinstance(content, str) else content
        if ctype and "content-type" not in names:
            hs.append(("Content-Type", ctype))
        if cookies:
            hs.append(("Cookie", "; ".join(f"{k}={v}" for k, v in cookies.items())))
        status, rh, rb = self._client().request(method.upper(), url, hs, body)
        return TestResponse(status, rh, rb)

    def raw(self, data: bytes) -> TestResponse:
        """Send raw HTTP/1.1 bytes (one request)."""
        return TestResponse(*self._client().request_raw(data))

    def drain(self, timeout: float = 5.0) -> bool:
        """Wait for the background tasks spawned so far."""
        return self._raw.drain(int(timeout * 1000))

    def get(self, url: str, **kw: Any) -> TestResponse:
        return self.request("GET", url, **kw)

    def post(self, url: str, **kw: Any) -> TestResponse:
        return self.request("POST", url, **kw)

    def put(self, url: str, **kw: Any) -> TestResponse:
        return self.request("PUT", url, **kw)

    def patch(self, url: str, **kw: Any) -> TestResponse:
        return self.request("PATCH", url, **kw)

    def delete(self, url: str, **kw: Any) -> TestResponse:
        return self.request("DELETE", url, **kw)

    def head(self, url: str, **kw: Any) -> TestResponse:
        return self.request("HEAD", url, **kw)

    def options(self, url: str, **kw: Any) -> TestResponse:
        return self.request("OPTIONS", url, **kw)


class AsyncTestClient:
    """The same, awaitable: each request runs in a worker thread, so the caller's event loop
    keeps running (async handlers run on spikard's own loop)."""

    __test__ = False

    def __init__(self, app: App) -> None:
        self._sync = TestClient(app)

    async def __aenter__(self) -> "AsyncTestClient":
        return self

    async def __aexit__(self, *exc: Any) -> None:
        pass

    async def request(self, method: str, url: str, **kw: Any) -> TestResponse:
        return await asyncio.to_thread(self._sync.request, method, url, **kw)

    async def get(self, url: str, **kw: Any) -> TestResponse:
        return await self.request("GET", url, **kw)

    async def post(self, url: str, **kw: Any) -> TestResponse:
        return await self.request("POST", url, **kw)

    async def put(self, url: str, **kw: Any) -> TestResponse:
        return await self.request("PUT", url, **kw)

    async def patch(self, url: str, **kw: Any) -> TestResponse:
        return await self.request("PATCH", url, **kw)

    async def delete(self, url: str, **kw: Any) -> TestResponse:
        return await self.request("DELETE", url, **kw)
