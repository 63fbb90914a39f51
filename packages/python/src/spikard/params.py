"""Parameter markers and the translation of Python annotations into the core's contract.

Everything here runs once, when a route is registered: each handler parameter becomes an entry
of the core's parameter schema (path/query/headers/cookies) or the body schema, plus a small
converter that turns the core's validated, coerced JSON value into the annotated Python type.
"""
from __future__ import annotations

import dataclasses
import datetime as _dt
import decimal
import enum
import types
import typing
import uuid
from typing import Any, Callable

import msgspec

__all__ = ["Param", "Query", "Header", "Cookie", "Body", "Path", "Provide"]


class _Missing:
    def __repr__(self) -> str:
        return "<required>"


REQUIRED: Any = _Missing()


class Param:
    """Where a handler parameter comes from, and its constraints (JSON Schema keywords)."""

    source = "query"

    def __init__(
        self,
        default: Any = REQUIRED,
        *,
        alias: str | None = None,
        ge: float | None = None,
        gt: float | None = None,
        le: float | None = None,
        lt: float | None = None,
        multiple_of: float | None = None,
        min_length: int | None = None,
        max_length: int | None = None,
        pattern: str | None = None,
        min_items: int | None = None,
        max_items: int | None = None,
        description: str | None = None,
        schema: dict | None = None,
    ) -> None:
        # `Query(...)`: Ellipsis means required, as in FastAPI and the original Spikard.
        self.default = REQUIRED if default is Ellipsis else default
        self.alias = alias
        self.description = description
        self.extra = {
            k: v
            for k, v in {
                "minimum": ge,
                "exclusiveMinimum": gt,
                "maximum": le,
                "exclusiveMaximum": lt,
                "multipleOf": multiple_of,
                "minLength": min_length,
                "maxLength": max_length,
                "pattern": pattern,
                "minItems": min_items,
                "maxItems": max_items,
            }.items()
            if v is not None
        }
        if schema:
            self.extra.update(schema)

    def __repr__(self) -> str:
        return f"{type(self).__name__}(default={self.default!r}, alias={self.alias!r})"


class _Query(Param):
    source = "query"


class _Header(Param):
    source = "headers"


class _Cookie(Param):
    source = "cookies"


class _Path(Param):
    source = "path"


class _Body(Param):
    source = "body"

    def __init__(self, default: Any = REQUIRED, *, media_type: str | None = None, **kw: Any) -> None:
        super().__init__(default, **kw)
        self.media_type = media_type


def Query(default: Any = REQUIRED, **kw: Any) -> Any:
    """A query parameter: ``page: int = Query(1, ge=1)`` or ``Annotated[int, Query(ge=1)]``."""
    return _Query(default, **kw)


def Header(default: Any = REQUIRED, **kw: Any) -> Any:
    """A header; the name is the alias or the parameter name with ``_`` read as ``-``."""
    return _Header(default, **kw)


def Cookie(default: Any = REQUIRED, **kw: Any) -> Any:
    return _Cookie(default, **kw)


def Path(default: Any = REQUIRED, **kw: Any) -> Any:
    return _Path(default, **kw)


def Body(default: Any = REQUIRED, **kw: Any) -> Any:
    return _Body(default, **kw)


class Provide:
    """A dependency: ``db = Provide(get_db)`` or ``Annotated[DB, Provide(get_db)]``, or
    ``Provide("name")`` for the app's provider of that name (resolved, or reported missing, by
    the core).

    The factory's own parameters are resolved by name from the app's providers (and
    ``request: Request``). Generator factories run their cleanup after the response."""

    def __init__(self, factory: "Callable[..., Any] | str", *, singleton: bool = False,
                 use_cache: bool = True) -> None:
        self.factory = factory
        self.singleton = singleton
        self.use_cache = use_cache


# ---------------------------------------------------------------- type inspection

NoneType = type(None)


def unwrap_optional(tp: Any) -> tuple[Any, bool]:
    """(inner type, accepts None)."""
    origin = typing.get_origin(tp)
    if origin is typing.Union or origin is types.UnionType:
        args = [a for a in typing.get_args(tp) if a is not NoneType]
        nullable = len(args) != len(typing.get_args(tp))
        if len(args) == 1:
            return args[0], nullable
        return typing.Union[tuple(args)], nullable  # type: ignore[return-value]
    return tp, False


def is_pydantic_model(tp: Any) -> bool:
    try:
        from pydantic import BaseModel
    except ImportError:  # pragma: no cover - pydantic is optional
        return False
    return isinstance(tp, type) and issubclass(tp, BaseModel)


def is_attrs_class(tp: Any) -> bool:
    return isinstance(tp, type) and hasattr(tp, "__attrs_attrs__")


def is_typeddict(tp: Any) -> bool:
    return isinstance(tp, type) and issubclass(tp, dict) and hasattr(tp, "__total__")


def is_model(tp: Any) -> bool:
    """Types that come from a request body rather than a query parameter."""
    tp, _ = unwrap_optional(tp)
    origin = typing.get_origin(tp) or tp
    return (
        (isinstance(tp, type) and issubclass(tp, msgspec.Struct))
        or dataclasses.is_dataclass(tp)
        or is_typeddict(tp)
        or is_pydantic_model(tp)
        or is_attrs_class(tp)
        or origin in (dict, typing.Dict)
    )


_SCALARS: dict[Any, dict] = {
    int: {"type": "integer"},
    float: {"type": "number"},
    decimal.Decimal: {"type": "number"},
    bool: {"type": "boolean"},
    str: {"type": "string"},
    bytes: {"type": "string"},
    uuid.UUID: {"type": "string", "format": "uuid"},
    _dt.datetime: {"type": "string", "format": "date-time"},
    _dt.date: {"type": "string", "format": "date"},
    _dt.time: {"type": "string", "format": "time"},
    _dt.timedelta: {"type": "string", "format": "duration"},
}


def param_schema(tp: Any) -> dict:
    """JSON Schema for a parameter type (the core coerces text by the schema's `type`)."""
    if tp in _SCALARS:
        return dict(_SCALARS[tp])
    if tp is Any or tp is inspect_empty:
        return {}
    origin = typing.get_origin(tp)
    if origin is typing.Literal:
        values = list(typing.get_args(tp))
        s: dict = {"enum": values}
        kinds = {type(v) for v in values}
        if kinds == {str}:
            s["type"] = "string"
        elif kinds == {int}:
            s["type"] = "integer"
        return s
    if isinstance(tp, type) and issubclass(tp, enum.Enum):
        values = [m.value for m in tp]
        s = {"enum": values}
        if all(isinstance(v, str) for v in values):
            s["type"] = "string"
        elif all(isinstance(v, int) for v in values):
            s["type"] = "integer"
        return s
    if origin in (list, set, frozenset, tuple, typing.List, typing.Sequence) or tp in (list, set, tuple):
        args = typing.get_args(tp)
        s = {"type": "array"}
        if args and args[0] is not Ellipsis:
            s["items"] = param_schema(unwrap_optional(args[0])[0])
        return s
    inner, nullable = unwrap_optional(tp)
    if inner is not tp:
        return param_schema(inner)
    if origin is typing.Union or origin is types.UnionType:
        return {"anyOf": [param_schema(a) for a in typing.get_args(tp)]}
    if origin is typing.Annotated:
        return param_schema(typing.get_args(tp)[0])
    return {}


def body_schema(tp: Any) -> dict | None:
    """JSON Schema for a body type, or None when the body is not validated (bytes, str, Any)."""
    inner, _ = unwrap_optional(tp)
    if inner in (bytes, str, Any, inspect_empty):
        return None
    if is_pydantic_model(inner):
        return inner.model_json_schema(ref_template="#/$defs/{model}")
    origin = typing.get_origin(inner) or inner
    if origin in (dict, typing.Dict):
        return {"type": "object"}
    try:
        return _inline_root(msgspec.json.schema(inner))
    except (TypeError, ValueError):
        return {}


def _inline_root(schema: dict) -> dict:
    """{"$ref": "#/$defs/X", "$defs": {...}} → X's own keywords at the root (with $defs kept):
    the core coerces form and multipart fields by the root's `properties`."""
    ref = schema.get("$ref")
    defs = schema.get("$defs") or {}
    if isinstance(ref, str) and ref.startswith("#/$defs/") and len(schema) == 2:
        root = dict(defs.get(ref[len("#/$defs/"):], {}))
        if root:
            root["$defs"] = defs
            return root
    return schema


def converter(tp: Any) -> Callable[[Any], Any] | None:
    """A function from the validated JSON value to the annotated type (None: use as is)."""
    inner, nullable = unwrap_optional(tp)
    if inner in (int, str, bool, Any, inspect_empty) or typing.get_origin(inner) in (dict,) or inner is dict:
        return None
    if inner is float:
        return lambda v: float(v) if v is not None else v
    if is_pydantic_model(inner):
        validate = inner.model_validate
        return lambda v: validate(v) if v is not None or not nullable else None
    if typing.get_origin(inner) is list and typing.get_args(inner) and typing.get_args(inner)[0] in (int, str, bool):
        return None
    target = tp

    def conv(v: Any) -> Any:
        return msgspec.convert(v, target, strict=False)

    conv.msgspec_target = target  # type: ignore[attr-defined]  # app._Route's typed decode
    return conv


class _InspectEmpty:
    pass


import inspect as _inspect  # noqa: E402

inspect_empty = _inspect.Parameter.empty
