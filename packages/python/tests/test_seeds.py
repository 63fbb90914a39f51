"""The original Spikard's Python examples run unchanged (examples/python/seeds_quickstart.py):
`Spikard` as the app class, module-level `@get`, msgspec Structs in and out, `Query(...)`."""
from __future__ import annotations

import importlib.util
import os
import pathlib

from spikard.testing import TestClient

EXAMPLE = (pathlib.Path(os.environ.get("SPK_SOURCE_DIR", pathlib.Path(__file__).resolve().parents[3]))
           / "examples" / "python" / "seeds_quickstart.py")


def load():
    spec = importlib.util.spec_from_file_location("seeds_quickstart", EXAMPLE)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def test_seed_examples_run_as_written() -> None:
    mod = load()
    c = TestClient(mod.app)
    r = c.get("/users/7")
    assert (r.status_code, r.json()) == (200, {"id": 7, "name": "Alice"})
    assert c.get("/users/x").status_code == 422  # {id:int}
    r = c.post("/payments", json={"id": "p1", "amount": 9.5})
    assert (r.status_code, r.json()) == (200, {"id": "p1", "amount": 9.5})
    r = c.post("/payments", json={"id": "p1"})
    assert r.status_code == 422 and r.json()["errors"][0]["loc"] == ["body", "amount"]
    r = c.get("/hello", params={"name": "Ada"})
    assert (r.status_code, r.json()) == (200, {"message": "Hello, Ada!"})
    assert c.get("/hello").status_code == 422  # Query(...) is required


def test_module_level_decorators_wait_for_an_app() -> None:
    import spikard
    from spikard import decorators

    saved = decorators._current
    decorators._current = None  # as if no app existed yet in this process
    try:
        @spikard.get("/early")
        def early() -> dict:
            return {"early": True}

        app = spikard.Spikard()
        assert TestClient(app).get("/early").json() == {"early": True}
    finally:
        decorators._current = saved
