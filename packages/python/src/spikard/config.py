"""Typed configuration objects, serialised to the core's spk_app_configure JSON
(docs/middleware.md). Fields left as None are omitted, so the core's defaults apply."""
from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Any, Literal

__all__ = ["ServerConfig", "CompressionConfig", "RateLimitConfig", "CorsConfig", "JwtConfig",
           "ApiKeyConfig", "StaticFilesConfig", "RequestIdConfig", "AccessLogConfig",
           "BackgroundTaskConfig", "to_core"]


def _clean(obj: Any) -> Any:
    if dataclasses.is_dataclass(obj):
        return {f.name: _clean(getattr(obj, f.name)) for f in dataclasses.fields(obj)
                if getattr(obj, f.name) is not None and not f.metadata.get("local")}
    if isinstance(obj, (list, tuple)):
        return [_clean(x) for x in obj]
    if isinstance(obj, dict):
        return {k: _clean(v) for k, v in obj.items()}
    return obj


@dataclass
class CompressionConfig:
    gzip: bool | dict | None = None
    brotli: bool | dict | None = None
    zstd: bool | dict | None = None
    deflate: bool | dict | None = None
    min_size: int | None = None
    quality: int | None = None
    enabled: bool | None = None


@dataclass
class RateLimitConfig:
    per_second: float = 100
    burst: int = 200
    ip_based: bool | None = None
    headers: bool | None = None
    trusted_proxies: list[str] | None = None
    max_clients: int | None = None
    backend: Literal["memory", "redis"] | None = None
    redis: dict | None = None
    on_error: Literal["allow", "deny"] | None = None
    enabled: bool | None = None


@dataclass
class CorsConfig:
    allowed_origins: list[str] = field(default_factory=list)
    allowed_methods: list[str] | None = None
    allowed_headers: list[str] | None = None
    expose_headers: list[str] | None = None
    max_age: int | None = None
    allow_credentials: bool | None = None
    enabled: bool | None = None


@dataclass
class JwtConfig:
    secret: str | None = None
    algorithm: str | None = None
    public_key: str | None = None
    public_key_file: str | None = None
    audience: str | list[str] | None = None
    issuer: str | None = None
    leeway: int | None = None
    enabled: bool | None = None


@dataclass
class ApiKeyConfig:
    keys: list[str] = field(default_factory=list)
    header_name: str | None = None
    enabled: bool | None = None


@dataclass
class StaticFilesConfig:
    directory: str
    route_prefix: str
    index_file: bool | None = None
    cache_control: str | None = None
    precompressed: bool | None = None


@dataclass
class RequestIdConfig:
    enabled: bool | None = True
    header: str | None = None
    generate: bool | None = None
    trust_incoming: bool | None = None


@dataclass
class AccessLogConfig:
    format: Literal["common", "json"] | None = None
    path: str | None = None
    enabled: bool | None = None


@dataclass
class BackgroundTaskConfig:
    max_queue: int | None = None
    max_concurrency: int | None = None
    drain_timeout_ms: int | None = None


@dataclass
class ServerConfig:
    """Everything `App(config=...)` accepts. host/port/workers are used by `app.run()`."""

    host: str = field(default="127.0.0.1", metadata={"local": True})
    port: int = field(default=8000, metadata={"local": True})
    workers: int = field(default=1, metadata={"local": True})
    shutdown_timeout: float = field(default=10.0, metadata={"local": True})
    max_body_size: int | None = field(default=None, metadata={"local": True})
    compression: CompressionConfig | None = None
    rate_limit: RateLimitConfig | None = None
    cors: CorsConfig | None = None
    jwt_auth: JwtConfig | None = None
    api_key_auth: ApiKeyConfig | None = None
    static_files: list[StaticFilesConfig] | None = None
    request_id: RequestIdConfig | None = None
    request_timeout: float | None = None
    body_limit: int | None = None
    access_log: AccessLogConfig | None = None
    background_tasks: BackgroundTaskConfig | None = None


def to_core(cfg: ServerConfig | dict) -> dict:
    """The spk_app_configure document for a ServerConfig (or a dict already in that shape)."""
    if isinstance(cfg, dict):
        return _clean(cfg)
    doc = _clean(cfg)
    if cfg.request_timeout is not None:
        doc["request_timeout"] = {"ms": int(cfg.request_timeout * 1000)}
    if cfg.body_limit is not None:
        doc["body_limit"] = {"max_bytes": int(cfg.body_limit)}
    return doc
