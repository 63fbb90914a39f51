"""The same four endpoints on Spikard (sync or async handlers), Starlette, FastAPI, Litestar,
Granian (serving the Starlette app over its Rust HTTP server) and Robyn.

    GET  /json               {"message": "Hello, World!"}
    GET  /items/{id}?limit=  path + query, int conversion
    POST /items              validated JSON body (~200 B)
    GET  /big                ~16 KB JSON
"""

import functools

BIG = {"items": [{"id": i, "name": f"item-{i:04d}", "price": i * 1.25, "tags": ["a", "b", "c"],
                  "active": i % 2 == 0} for i in range(190)]}


def item_struct():
    """The validated POST body as a msgspec Struct (Spikard and Litestar)."""
    import msgspec

    class Item(msgspec.Struct):
        name: str
        price: float
        quantity: int
        tags: list[str]
        description: str | None = None

    return Item


def spikard_app(mode: str):
    from spikard import App

    Item = item_struct()
    app = App()

    def handler(fn):
        """The same body as a sync or an async handler (the signature is kept for the binding)."""
        if mode != "async":
            return fn

        @functools.wraps(fn)
        async def wrapper(*args, **kwargs):
            return fn(*args, **kwargs)
        return wrapper

    @app.get("/json")
    @handler
    def hello():
        return {"message": "Hello, World!"}

    @app.get("/items/{item_id}")
    @handler
    def item(item_id: int, limit: int = 10):
        return {"id": item_id, "limit": limit}

    @app.post("/items")
    @handler
    def create(item: Item):
        return {"name": item.name, "total": item.price * item.quantity}

    @app.get("/big")
    @handler
    def big():
        return BIG
    return app


def starlette_app():
    from starlette.applications import Starlette
    from starlette.responses import JSONResponse
    from starlette.routing import Route

    async def hello(request):
        return JSONResponse({"message": "Hello, World!"})

    async def item(request):
        try:
            item_id = int(request.path_params["item_id"])
            limit = int(request.query_params.get("limit", 10))
        except ValueError:
            return JSONResponse({"detail": "invalid"}, status_code=422)
        return JSONResponse({"id": item_id, "limit": limit})

    async def create(request):
        data = await request.json()
        if not (isinstance(data.get("name"), str) and isinstance(data.get("price"), (int, float))
                and isinstance(data.get("quantity"), int) and isinstance(data.get("tags"), list)):
            return JSONResponse({"detail": "invalid"}, status_code=422)
        return JSONResponse({"name": data["name"], "total": data["price"] * data["quantity"]})

    async def big(request):
        return JSONResponse(BIG)

    return Starlette(routes=[Route("/json", hello), Route("/items/{item_id}", item),
                             Route("/items", create, methods=["POST"]), Route("/big", big)])


def fastapi_app():
    from fastapi import FastAPI
    from pydantic import BaseModel

    class Item(BaseModel):
        name: str
        price: float
        quantity: int
        tags: list[str]
        description: str | None = None

    app = FastAPI()

    @app.get("/json")
    async def hello():
        return {"message": "Hello, World!"}

    @app.get("/items/{item_id}")
    async def item(item_id: int, limit: int = 10):
        return {"id": item_id, "limit": limit}

    @app.post("/items")
    async def create(item: Item):
        return {"name": item.name, "total": item.price * item.quantity}

    @app.get("/big")
    async def big():
        return BIG

    return app


def litestar_app():
    from litestar import Litestar, get, post

    Item = item_struct()

    @get("/json")
    async def hello() -> dict:
        return {"message": "Hello, World!"}

    @get("/items/{item_id:int}")
    async def item(item_id: int, limit: int = 10) -> dict:
        return {"id": item_id, "limit": limit}

    @post("/items", status_code=200)
    async def create(data: Item) -> dict:
        return {"name": data.name, "total": data.price * data.quantity}

    @get("/big")
    async def big() -> dict:
        return BIG

    return Litestar([hello, item, create, big])


def robyn_serve(port: int, workers: int) -> None:
    import json

    from robyn import Robyn

    app = Robyn(__file__)

    @app.get("/json")
    def hello(request):
        return {"message": "Hello, World!"}

    @app.get("/items/:item_id")
    def item(request):
        try:
            item_id = int(request.path_params["item_id"])
            limit = int(request.query_params.get("limit", "10"))
        except ValueError:
            return {"status_code": 422, "description": "invalid", "headers": {}}
        return {"id": item_id, "limit": limit}

    @app.post("/items")
    def create(request):
        data = json.loads(request.body)
        if not (isinstance(data.get("name"), str) and isinstance(data.get("price"), (int, float))
                and isinstance(data.get("quantity"), int) and isinstance(data.get("tags"), list)):
            return {"status_code": 422, "description": "invalid", "headers": {}}
        return {"name": data["name"], "total": data["price"] * data["quantity"]}

    @app.get("/big")
    def big(request):
        return BIG

    app.start(host="127.0.0.1", port=port, _check_port=False) if "_check_port" in app.start.__code__.co_varnames \
        else app.start(host="127.0.0.1", port=port)


def __getattr__(name: str):
    if name == "starlette_asgi":  # for granian, which imports "apps:starlette_asgi"
        return starlette_app()
    raise AttributeError(name)


if __name__ == "__main__":
    import sys

    kind, port, workers = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]) if len(sys.argv) > 3 else 1
    if kind.startswith("spikard"):
        spikard_app(kind.split("-")[1]).run(port=port, workers=workers)
    elif kind == "robyn":
        robyn_serve(port, workers)
    elif kind == "granian":
        from granian import Granian

        Granian("apps:starlette_asgi", address="127.0.0.1", port=port, interface="asgi", workers=workers,
                loop="uvloop", log_enabled=False).serve()
    else:
        import uvicorn

        app = {"starlette": starlette_app, "fastapi": fastapi_app, "litestar": litestar_app}[kind]()
        uvicorn.run(app, host="127.0.0.1", port=port, loop="uvloop", http="httptools", log_level="error",
                    access_log=False)
