"""The original Spikard's Python quick starts, as written there: they must run unchanged
(packages/python/tests/test_seeds.py serves them through TestClient)."""
from msgspec import Struct

from spikard import Query, ServerConfig, Spikard, get


class User(Struct):
    id: int
    name: str


app = Spikard(config=ServerConfig(host="127.0.0.1", port=8000))


@app.get("/users/{id:int}")
async def get_user(id: int) -> User:
    return User(id=id, name="Alice")


class Payment(Struct):
    id: str
    amount: float


@app.post("/payments")
async def create_payment(payment: Payment) -> Payment:
    return payment


@get("/hello")
def hello(name: str = Query(...)):
    return {"message": f"Hello, {name}!"}


if __name__ == "__main__":
    app.run()
