wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
wrk.body = '{"name":"Widget deluxe","price":19.99,"quantity":3,"tags":["tools","hardware","sale"],"description":"A sturdy widget for everyday use, with a lifetime warranty and free shipping on orders over fifty."}'
