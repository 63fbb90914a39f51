"""Child process of test_stream_end_races_cancel (test_realtime.py): async streams that end on
spikard's asyncio thread just as their clients reset the connection, so the core's cancel (loop
thread) and the pump's end (asyncio thread) race. Run under PYTHONMALLOC=debug (freed objects are
overwritten) or malloc (ASan sees them): a RawStream freed while a cancel still used it crashed
here within a few hundred connections. Prints "ok" when every connection was served."""
from __future__ import annotations

import asyncio
import random
import socket
import struct
import sys
import threading

from spikard import App, StreamingResponse

app = App()


@app.get("/a")
async def short_stream():
    async def gen():
        yield b"x"
        await asyncio.sleep(random.random() * 0.002)
        yield b"y"
    return StreamingResponse(gen(), media_type="text/plain")


def main(connections: int, threads: int = 4) -> None:
    with app.serve(port=0) as srv:
        def client() -> None:
            for _ in range(connections // threads):
                with socket.create_connection(("127.0.0.1", srv.port), timeout=10) as s:
                    s.sendall(b"GET /a HTTP/1.1\r\nHost: x\r\n\r\n")
                    try:
                        s.recv(64)
                    except OSError:
                        pass
                    threading.Event().wait(random.random() * 0.002)
                    s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))  # RST
        ts = [threading.Thread(target=client) for _ in range(threads)]
        for t in ts:
            t.start()
        for t in ts:
            t.join(120)
    print("ok")


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 4000)
