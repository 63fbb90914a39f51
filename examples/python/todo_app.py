"""A small Spikard app: a todo list and /json.

    PYTHONPATH=packages/python/src python3 examples/python/todo_app.py [--port 8000]
"""
from __future__ import annotations

import argparse
import itertools
import threading
from typing import Annotated, Literal

import msgspec

from spikard import App, HTTPException, Query, Response

app = App()


class TodoIn(msgspec.Struct, forbid_unknown_fields=True):
    title: Annotated[str, msgspec.Meta(min_length=1, max_length=200)]
    done: bool = False


class Todo(msgspec.Struct):
    id: int
    title: str
    done: bool


_todos: dict[int, Todo] = {}
_ids = itertools.count(1)
_lock = threading.Lock()  # handlers may run on several worker threads


@app.get("/json")
def hello() -> dict:
    return {"message": "Hello, World!"}


@app.get("/todos")
def list_todos(status: Literal["all", "open", "done"] = "all",
               limit: int = Query(50, ge=1, le=500)) -> list[Todo]:
    with _lock:
        items = list(_todos.values())
    if status != "all":
        items = [t for t in items if t.done == (status == "done")]
    return items[:limit]


@app.post("/todos", status_code=201)
def create_todo(todo: TodoIn) -> Todo:
    with _lock:
        item = Todo(id=next(_ids), title=todo.title, done=todo.done)
        _todos[item.id] = item
    return item


@app.get("/todos/{todo_id}")
async def get_todo(todo_id: int) -> Todo:
    item = _todos.get(todo_id)
    if item is None:
        raise HTTPException(404, f"todo {todo_id} not found")
    return item


@app.put("/todos/{todo_id}")
def update_todo(todo_id: int, todo: TodoIn) -> Todo:
    with _lock:
        if todo_id not in _todos:
            raise HTTPException(404, f"todo {todo_id} not found")
        item = _todos[todo_id] = Todo(id=todo_id, title=todo.title, done=todo.done)
    return item


@app.delete("/todos/{todo_id}")
def delete_todo(todo_id: int) -> Response:
    with _lock:
        if _todos.pop(todo_id, None) is None:
            raise HTTPException(404, f"todo {todo_id} not found")
    return Response(status_code=204)


if __name__ == "__main__":
    ap = argparse.ArgumentParser()
    ap.add_argument("--host", default="127.0.0.1")
    ap.add_argument("--port", type=int, default=8000)
    ap.add_argument("--workers", type=int, default=1)
    a = ap.parse_args()
    app.run(host=a.host, port=a.port, workers=a.workers)
