"""Realtime throughput of the Python binding over loopback (one process, one core worker):
streamed bytes (sync pull / async push generators), SSE events, WebSocket echo round trips.

    PYTHONPATH=build/python python3 bench/python/realtime.py
Not a test: numbers for packages/python/README.md."""
from __future__ import annotations

import socket
import time

from spikard import App, EventSourceResponse, ServerSentEvent, StreamingResponse, WebSocket

CHUNK = b"x" * 65536
N_CHUNKS = 1600  # 100 MiB
N_EVENTS = 100_000

app = App()


@app.get("/sync")
def sync_stream():
    return StreamingResponse((CHUNK for _ in range(N_CHUNKS)))


@app.get("/async")
async def async_stream():
    async def gen():
        for _ in range(N_CHUNKS):
            yield CHUNK
    return StreamingResponse(gen())


@app.get("/sse-sync")
def sse_sync():
    return EventSourceResponse(({"n": i} for i in range(N_EVENTS)))


@app.get("/sse-async")
async def sse_async():
    async def gen():
        for i in range(N_EVENTS):
            yield ServerSentEvent({"n": i}, id=i)
    return EventSourceResponse(gen())


@app.websocket("/echo")
async def echo(ws: WebSocket):
    async for m in ws.iter_text():
        await ws.send_text(m)


def drain(port: int, path: str) -> tuple[int, float]:
    s = socket.create_connection(("127.0.0.1", port))
    s.sendall(f"GET {path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n".encode())
    t = time.perf_counter()
    n = 0
    while True:
        d = s.recv(1 << 20)
        if not d:
            break
        n += len(d)
    s.close()
    return n, time.perf_counter() - t


def main() -> None:
    with app.serve(port=0) as srv:
        for path in ("/sync", "/async"):
            n, dt = drain(srv.port, path)
            print(f"stream {path:7s} {n / dt / 2**20:8.0f} MiB/s  ({N_CHUNKS} × 64 KiB chunks)")
        for path in ("/sse-sync", "/sse-async"):
            n, dt = drain(srv.port, path)
            print(f"sse    {path:10s} {N_EVENTS / dt:8.0f} events/s")
        try:
            from websockets.sync.client import connect
        except ImportError:
            return
        with connect(f"ws://127.0.0.1:{srv.port}/echo") as ws:
            k = 5000
            t = time.perf_counter()
            for i in range(k):
                ws.send("ping")
                ws.recv()
            print(f"ws echo (websockets client) {k / (time.perf_counter() - t):8.0f} round trips/s")
    from spikard.testing import TestClient
    c = TestClient(app)
    with c.websocket_connect("/echo") as ws:
        k = 20000
        t = time.perf_counter()
        for i in range(k):
            ws.send_text("ping")
            ws.receive_text()
        print(f"ws echo (in-memory test client) {k / (time.perf_counter() - t):8.0f} round trips/s")


if __name__ == "__main__":
    main()
