"""Every file in examples/python/ runs: imported and exercised through TestClient, and the todo
app served for real in a subprocess and stopped with SIGINT (graceful shutdown)."""
from __future__ import annotations

import importlib.util
import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

from spikard.testing import TestClient

EXAMPLES = Path(os.environ.get("SPK_SOURCE_DIR", Path(__file__).resolve().parents[3])) / "examples" / "python"


def load(name: str):
    spec = importlib.util.spec_from_file_location(name, EXAMPLES / f"{name}.py")
    assert spec and spec.loader
    mod = importlib.util.module_from_spec(spec)
    sys.modules[name] = mod  # type hints resolve through the module
    spec.loader.exec_module(mod)
    return mod


def test_todo_app_through_test_client() -> None:
    c = TestClient(load("todo_app").app)
    assert c.get("/json").json() == {"message": "Hello, World!"}
    r = c.post("/todos", json={"title": "write tests"})
    assert r.status_code == 201
    tid = r.json()["id"]
    assert c.get(f"/todos/{tid}").json() == {"id": tid, "title": "write tests", "done": False}
    assert c.put(f"/todos/{tid}", json={"title": "write tests", "done": True}).json()["done"] is True
    assert [t["id"] for t in c.get("/todos?status=done").json()] == [tid]
    assert c.get("/todos?status=open").json() == []
    assert c.post("/todos", json={"title": ""}).status_code == 422
    assert c.post("/todos", json={"title": "x", "extra": 1}).status_code == 422
    assert c.get("/todos?limit=0").status_code == 422
    assert c.get("/todos/999").status_code == 404
    assert c.delete(f"/todos/{tid}").status_code == 204
    assert c.delete(f"/todos/{tid}").status_code == 404


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_todo_app_served_and_stopped_with_ctrl_c() -> None:
    port = _free_port()
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(sys.path))
    proc = subprocess.Popen([sys.executable, str(EXAMPLES / "todo_app.py"), "--port", str(port)], env=env,
                            stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + 15
        while True:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/json", timeout=2) as r:
                    assert json.loads(r.read()) == {"message": "Hello, World!"}
                break
            except OSError:
                if time.monotonic() > deadline or proc.poll() is not None:
                    raise
                time.sleep(0.05)
        proc.send_signal(signal.SIGINT)
        _, err = proc.communicate(timeout=15)
        assert proc.returncode == 0, err
        assert "shutting down" in err
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()


PREFORK_APP = """
import os, sys
from spikard import App
app = App()

@app.get("/pid")
async def pid():
    return {"pid": os.getpid()}

app.run(port=int(sys.argv[1]), workers=2)
"""


def test_prefork_workers_share_the_port() -> None:
    port = _free_port()
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(sys.path))
    proc = subprocess.Popen([sys.executable, "-c", PREFORK_APP, str(port)], env=env, stderr=subprocess.PIPE,
                            text=True)
    try:
        pids = set()
        deadline = time.monotonic() + 20
        while len(pids) < 2 and time.monotonic() < deadline:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/pid", timeout=2) as r:
                    pids.add(json.loads(r.read())["pid"])
            except OSError:
                if proc.poll() is not None:
                    break
                time.sleep(0.05)
        assert len(pids) == 2, f"answers from {pids}"
        assert proc.pid not in pids
        proc.send_signal(signal.SIGINT)
        _, err = proc.communicate(timeout=20)
        assert proc.returncode == 0, err
        for pid in pids:  # every worker has exited
            assert not os.path.exists(f"/proc/{pid}") or open(f"/proc/{pid}/stat").read().split()[2] == "Z"
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()


def test_realtime_app_through_test_client() -> None:
    c = TestClient(load("realtime_app").app)
    r = c.get("/export?rows=3")
    assert r.headers["content-type"] == "application/x-ndjson"
    assert [json.loads(x) for x in r.iter_lines()] == [{"id": i, "square": i * i} for i in range(3)]
    evs = c.get("/clock?ticks=2&interval=0", headers={"Last-Event-ID": "5"}).events()
    assert [(e["event"], e["id"], json.loads(e["data"])["n"]) for e in evs] == [("tick", "6", 6), ("tick", "7", 7)]
    with c.websocket_connect("/ws/chat/lobby?name=ann") as a, c.websocket_connect("/ws/chat/lobby?name=bob") as b:
        assert a.receive_json() == {"joined": "lobby", "members": 1}
        assert b.receive_json() == {"joined": "lobby", "members": 2}
        b.send_json({"text": "hi"})
        assert a.receive_json() == {"from": "bob", "text": "hi"}
        assert b.receive_json() == {"from": "bob", "text": "hi"}
        a.send_json({"nope": 1})
        assert a.receive_json() == {"error": "Message validation failed"}


def test_every_example_is_exercised() -> None:
    """A new file in examples/python/ needs a test here (or in test_seeds.py)."""
    covered = {"todo_app", "realtime_app", "seeds_quickstart"}
    assert {p.stem for p in EXAMPLES.glob("*.py")} <= covered
