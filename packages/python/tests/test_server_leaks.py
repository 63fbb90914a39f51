"""The live server (real sockets) and memory stability over many requests."""
from __future__ import annotations

import gc
import json
import os
import resource
import urllib.request

from spikard import App
from spikard.testing import TestClient


def make_app() -> App:
    app = App()

    @app.get("/json")
    def hello():
        return {"message": "Hello, World!"}

    @app.post("/items/{id}")
    async def item(id: int, body: dict, q: str = "x"):
        return {"id": id, "q": q, "body": body}

    return app


def test_live_server_sync_and_async() -> None:
    app = make_app()
    with app.serve(port=0, workers=2) as srv:
        with urllib.request.urlopen(srv.url + "/json", timeout=10) as r:
            assert r.status == 200 and json.loads(r.read()) == {"message": "Hello, World!"}
        req = urllib.request.Request(srv.url + "/items/3?q=z", data=b'{"k":1}',
                                     headers={"Content-Type": "application/json"}, method="POST")
        with urllib.request.urlopen(req, timeout=10) as r:
            assert json.loads(r.read()) == {"id": 3, "q": "z", "body": {"k": 1}}


def _rss_kb() -> int:
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss


def test_memory_stays_flat() -> None:
    app = make_app()
    c = TestClient(app)

    def burst(n: int) -> None:
        for i in range(n):
            assert c.get("/json").status_code == 200
            assert c.post(f"/items/{i}", json={"v": i}).status_code == 200
            assert c.get("/items/x").status_code in (405, 422)

    burst(2000)  # warm up caches, allocator pools
    gc.collect()
    before = _rss_kb()
    burst(6000)
    gc.collect()
    grown = _rss_kb() - before
    if not os.environ.get("SPK_PY_SANITIZE"):  # ASan's quarantine keeps freed memory resident
        assert grown < 4096, f"RSS grew by {grown} KiB over 18000 requests"
    assert not [o for o in gc.get_objects() if type(o).__name__ == "RawRequest"]
