"""Spikard for Python: FastAPI-style handlers on a C core that parses, routes, validates and
runs middleware without the GIL."""
from ._spikard import core_version
from .app import App, Server
from .decorators import delete, get, head, options, patch, post, put, route
from .background import BackgroundTasks, QueueFull
from .config import (AccessLogConfig, ApiKeyConfig, BackgroundTaskConfig, CompressionConfig, CorsConfig,
                     JwtConfig, RateLimitConfig, RequestIdConfig, ServerConfig, StaticFilesConfig)
from .params import Body, Cookie, Header, Path, Provide, Query
from .request import Request, ResponseView
from .responses import (FileResponse, HTMLResponse, HTTPException, JSONResponse, PlainTextResponse, RedirectResponse,
                        Response)

from .streaming import EventSourceResponse, ServerSentEvent, StreamingResponse
from .websocket import WebSocket, WebSocketDisconnect, WebSocketState

# The original Spikard's name for the app class; both spellings are the same class.
Spikard = App

__version__ = "0.1.0"

__all__ = [
    "App", "Spikard", "Server", "get", "post", "put", "patch", "delete", "head", "options", "route", "BackgroundTasks", "QueueFull", "Request", "ResponseView", "Response", "JSONResponse", "PlainTextResponse", "HTMLResponse",
    "RedirectResponse", "FileResponse", "HTTPException", "Query", "Header", "Cookie", "Body", "Path", "Provide",
    "ServerConfig", "CompressionConfig", "RateLimitConfig", "CorsConfig", "JwtConfig", "ApiKeyConfig",
    "StaticFilesConfig", "StreamingResponse", "EventSourceResponse", "ServerSentEvent", "WebSocket",
    "WebSocketDisconnect", "WebSocketState", "RequestIdConfig", "AccessLogConfig", "BackgroundTaskConfig", "core_version",
]
