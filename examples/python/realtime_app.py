"""Realtime endpoints: a streamed NDJSON export, Server-Sent Events (resumable with
Last-Event-ID) and a WebSocket chat room with JSON messages.

    PYTHONPATH=packages/python/src python3 examples/python/realtime_app.py [--port 8000]
    curl -N localhost:8000/export?rows=5
    curl -N localhost:8000/clock?ticks=3            # or: new EventSource("/clock") in a browser
    websocat ws://localhost:8000/ws/chat/lobby        # {"text": "hi"}
"""
from __future__ import annotations

import argparse
import asyncio
import datetime as dt

from spikard import (App, EventSourceResponse, Query, Request, ServerSentEvent, StreamingResponse, WebSocket,
                     WebSocketDisconnect)

app = App()
_rooms: dict[str, set[WebSocket]] = {}


@app.get("/export")
def export(rows: int = Query(10, ge=0, le=1_000_000)) -> StreamingResponse:
    # A sync generator is pulled by the core whenever the socket has drained: a slow client
    # slows the generator down instead of filling memory.
    def lines():
        for i in range(rows):
            yield {"id": i, "square": i * i}
            yield "\n"
    return StreamingResponse(lines(), media_type="application/x-ndjson")


@app.get("/clock")
async def clock(request: Request, ticks: int = Query(10, ge=1, le=3600), interval: float = 1.0) -> EventSourceResponse:
    start = int(request.last_event_id or 0)  # a reconnecting EventSource resumes

    async def events():
        for n in range(start + 1, start + ticks + 1):
            yield ServerSentEvent({"n": n, "at": dt.datetime.now(dt.timezone.utc).isoformat()},
                                  event="tick", id=n, retry=2000)
            await asyncio.sleep(interval)
    return EventSourceResponse(events())


@app.websocket("/ws/chat/{room}", message_schema={
    "type": "object", "required": ["text"], "properties": {"text": {"type": "string", "maxLength": 500}}})
async def chat(websocket: WebSocket, room: str, name: str = "anon") -> None:
    await websocket.accept()
    members = _rooms.setdefault(room, set())
    members.add(websocket)
    try:
        await websocket.send_json({"joined": room, "members": len(members)})
        while True:
            msg = await websocket.receive_json()  # invalid or off-schema messages never get here
            for peer in list(members):
                try:
                    await peer.send_json({"from": name, "text": msg["text"]})
                except WebSocketDisconnect:
                    members.discard(peer)
    except WebSocketDisconnect:
        pass
    finally:
        members.discard(websocket)


if __name__ == "__main__":
    ap = argparse.ArgumentParser()
    ap.add_argument("--host", default="127.0.0.1")
    ap.add_argument("--port", type=int, default=8000)
    a = ap.parse_args()
    app.run(host=a.host, port=a.port)
