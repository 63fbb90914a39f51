"""Responses, HTTP errors and JSON encoding."""
from __future__ import annotations

import dataclasses
import decimal
import http
import os
from typing import Any, Iterable, Mapping

import msgspec

__all__ = ["Response", "JSONResponse", "FileResponse", "PlainTextResponse", "HTMLResponse", "RedirectResponse",
           "HTTPException", "encode_json", "problem"]

Reply = tuple  # (status, headers | None, body | None, content_type | None)


def _enc_hook(obj: Any) -> Any:
    dump = getattr(obj, "model_dump", None)  # pydantic v2
    if dump is not None:
        return dump(mode="json")
    if isinstance(obj, decimal.Decimal):
        return float(obj)
    if isinstance(obj, (set, frozenset)):
        return list(obj)
    if dataclasses.is_dataclass(obj):
        return dataclasses.asdict(obj)
    raise TypeError(f"Object of type {type(obj).__name__} is not JSON serializable")


_encoder = msgspec.json.Encoder(enc_hook=_enc_hook)
encode_json = _encoder.encode


def _phrase(status: int) -> str:
    try:
        return http.HTTPStatus(status).phrase
    except ValueError:
        return "Error"


def problem(status: int, detail: str | None = None, *, title: str | None = None,
            slug: str | None = None, headers: Iterable[tuple[str, str]] | None = None,
            extra: Mapping[str, Any] | None = None) -> Reply:
    """An RFC 9457 problem-details reply, in the core's shape."""
    title = title or _phrase(status)
    slug = slug or title.lower().replace(" ", "-").replace("'", "")
    doc: dict[str, Any] = {"type": f"https://spikard.dev/errors/{slug}", "title": title, "status": status}
    if detail is not None:
        doc["detail"] = detail
    if extra:
        doc.update(extra)
    return (status, list(headers) if headers else None, encode_json(doc),
            "application/problem+json; charset=utf-8")


class HTTPException(Exception):
    """Raise to answer with problem details: ``raise HTTPException(404, "no such item")``."""

    def __init__(self, status_code: int, detail: Any = None, headers: Mapping[str, str] | None = None) -> None:
        super().__init__(detail if detail is not None else _phrase(status_code))
        self.status_code = status_code
        self.detail = detail
        self.headers = dict(headers) if headers else None

    def to_reply(self) -> Reply:
        detail = self.detail
        extra = None
        if detail is not None and not isinstance(detail, str):
            extra = {"errors": detail} if isinstance(detail, list) else {"detail": detail}
            detail = None
        return problem(self.status_code, detail, headers=self.headers.items() if self.headers else None, extra=extra)


class Response:
    """A response with full control: ``Response(content, status_code, headers, media_type)``.

    bytes and str are sent as they are (str as UTF-8); anything else is encoded as JSON."""

    media_type: str | None = None

    def __init__(self, content: Any = None, status_code: int = 200,
                 headers: Mapping[str, str] | Iterable[tuple[str, str]] | None = None,
                 media_type: str | None = None) -> None:
        self.content = content
        self.status_code = status_code
        if headers is None:
            self.headers: list[tuple[str, str]] = []
        elif isinstance(headers, Mapping):
            self.headers = [(str(k), str(v)) for k, v in headers.items()]
        else:
            self.headers = [(str(k), str(v)) for k, v in headers]
        if media_type is not None:
            self.media_type = media_type

    def set_cookie(self, key: str, value: str = "", *, max_age: int | None = None, path: str | None = "/",
                   domain: str | None = None, secure: bool = False, httponly: bool = False,
                   samesite: str | None = "lax") -> None:
        parts = [f"{key}={value}"]
        if max_age is not None:
            parts.append(f"Max-Age={max_age}")
        if path:
            parts.append(f"Path={path}")
        if domain:
            parts.append(f"Domain={domain}")
        if secure:
            parts.append("Secure")
        if httponly:
            parts.append("HttpOnly")
        if samesite:
            parts.append(f"SameSite={samesite.capitalize()}")
        self.headers.append(("Set-Cookie", "; ".join(parts)))

    def delete_cookie(self, key: str, path: str = "/") -> None:
        self.set_cookie(key, "", max_age=0, path=path)

    def render(self) -> Reply:
        c = self.content
        mt = self.media_type
        own_ct = mt is None and any(k.lower() == "content-type" for k, _ in self.headers)
        if c is None:
            body = b""
        elif isinstance(c, (bytes, bytearray, memoryview)):
            body = bytes(c)
            mt = mt or "application/octet-stream"
        elif isinstance(c, str) and mt != "application/json":
            body = c.encode()
            mt = mt or "text/plain; charset=utf-8"
        else:
            body = encode_json(c)
            mt = mt or "application/json"
        if own_ct:
            mt = None  # the caller's own Content-Type header wins
        elif mt and mt.startswith("text/") and "charset" not in mt:
            mt += "; charset=utf-8"
        return (self.status_code, self.headers or None, body, mt)


class JSONResponse(Response):
    media_type = "application/json"

    def render(self) -> Reply:
        return (self.status_code, self.headers or None, encode_json(self.content), self.media_type)


class PlainTextResponse(Response):
    media_type = "text/plain; charset=utf-8"


class HTMLResponse(Response):
    media_type = "text/html; charset=utf-8"


class FileResponse(Response):
    """A file from disk, read by the core (large files are sent from the file, not copied).
    The media type is guessed from the extension unless given; a missing file answers 404."""

    def __init__(self, path: "str | os.PathLike[str]", status_code: int = 200,
                 headers: Mapping[str, str] | None = None, media_type: str | None = None,
                 filename: str | None = None) -> None:
        super().__init__(None, status_code, headers, media_type)
        self.path = path
        if filename:
            self.headers.append(("Content-Disposition", f'attachment; filename="{filename}"'))

    def render(self) -> Reply:
        return (self.status_code, self.headers or None, (self.path,), self.media_type)


class RedirectResponse(Response):
    def __init__(self, url: str, status_code: int = 307, headers: Mapping[str, str] | None = None) -> None:
        super().__init__(None, status_code, headers)
        self.headers.append(("Location", url))
