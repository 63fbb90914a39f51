"""The request as a handler sees it (a lazy view over the core's request)."""
from __future__ import annotations

from typing import Any
from urllib.parse import parse_qsl

import msgspec

__all__ = ["Request"]


class Request:
    """Valid while the handler runs (sync) or until its response is sent (async)."""

    __slots__ = ("_raw", "_headers", "_query", "_cookies", "_params", "state")

    def __init__(self, raw: Any) -> None:
        self._raw = raw
        self._headers: dict[str, str] | None = None
        self._query: dict[str, str] | None = None
        self._cookies: dict[str, str] | None = None
        self._params: dict[str, str] | None = None
        self.state: dict[str, Any] = {}

    @property
    def method(self) -> str:
        return self._raw.method

    @property
    def path(self) -> str:
        return self._raw.path

    @property
    def query_string(self) -> str:
        return self._raw.query_string

    @property
    def headers(self) -> dict[str, str]:
        """Lower-case names; the first field of a repeated name."""
        if self._headers is None:
            h: dict[str, str] = {}
            for k, v in self._raw.headers():
                h.setdefault(k.lower(), v)
            self._headers = h
        return self._headers

    def header(self, name: str) -> str | None:
        return self._raw.header(name)

    def header_list(self) -> list[tuple[str, str]]:
        return self._raw.headers()

    @property
    def query_params(self) -> dict[str, str]:
        if self._query is None:
            q: dict[str, str] = {}
            for k, v in self._raw.query_items():
                q.setdefault(k, v)
            self._query = q
        return self._query

    def query_list(self, name: str) -> list[str]:
        return [v for k, v in self._raw.query_items() if k == name]

    @property
    def cookies(self) -> dict[str, str]:
        if self._cookies is None:
            c: dict[str, str] = {}
            for k, v in self._raw.cookies():
                c.setdefault(k, v)
            self._cookies = c
        return self._cookies

    @property
    def path_params(self) -> dict[str, str]:
        if self._params is None:
            self._params = dict(self._raw.params())
        return self._params

    def body(self) -> bytes:
        return self._raw.body

    def json(self) -> Any:
        return msgspec.json.decode(self._raw.body)

    def form(self) -> dict[str, str]:
        return dict(parse_qsl(self._raw.body.decode("utf-8", "replace"), keep_blank_values=True))

    @property
    def client(self) -> str:
        return self._raw.remote_addr

    @property
    def last_event_id(self) -> str | None:
        """The Last-Event-ID header of a reconnecting EventSource, or None."""
        return self._raw.last_event_id

    @property
    def request_id(self) -> str:
        return self._raw.request_id

    @property
    def jwt_claims(self) -> dict[str, Any] | None:
        c = self._raw.jwt_claims
        return msgspec.json.decode(c) if c else None

    def __repr__(self) -> str:
        try:
            return f"<Request {self.method} {self.path}>"
        except RuntimeError:
            return "<Request (finished)>"


class ResponseView:
    """What response-phase hooks (on_response, on_error) may read and change."""

    __slots__ = ("_raw",)

    def __init__(self, raw: Any) -> None:
        self._raw = raw

    @property
    def status_code(self) -> int:
        return self._raw.status

    @status_code.setter
    def status_code(self, value: int) -> None:
        self._raw.set_status(value)

    def get_header(self, name: str) -> str | None:
        return self._raw.response_header(name)

    def set_header(self, name: str, value: str) -> None:
        self._raw.set_header(name, value)

    def set_body(self, body: bytes | str) -> None:
        self._raw.set_body(body)
