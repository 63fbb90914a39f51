/* spikard._spikard — streams, Server-Sent Events and WebSockets (included by _spikard.c, after
 * the Request, App and TestClient types it builds on).
 *
 * Streams: a RawStream owns the core's spk_stream_t handle from spk_res_stream/spk_res_sse until
 * exactly one end/abort (by Python, by a pull returning END/an error, or by the cancel callback).
 * Whoever ends it first takes the handle (`s` = NULL, under the GIL), so a pump on the asyncio
 * thread and a cancel on the loop thread never both release it. The writes are short (a mutex
 * and a copy; the core never calls pull/cancel under that mutex), so holding the GIL across them
 * cannot deadlock.
 *
 * The core's callbacks hold one reference to the RawStream (`held`), dropped only after the
 * end/abort call has returned: the core guarantees that no pull/cancel is running or follows
 * then (stream.h). Dropping it before (as this file once did) let a cancel that had already been
 * decided on the loop thread — the client gone just as the async pump ended the stream — run on
 * a freed RawStream: a Py_INCREF into pymalloc's free list and a SEGV in a later collection. As
 * end/abort from another thread waits for a running callback, which needs the GIL, they are
 * called with the GIL released.
 *
 * WebSockets: the handler decides the handshake (see "the handshake" below); then the core's
 * callbacks (loop thread) call the Python connection object, which feeds
 * an asyncio queue; sends come back through spk_ws_send_* (thread-safe) without the GIL. A
 * RawWebSocket retains its spk_ws_t so sends after the close answer SPK_ESTATE, never a crash. */
#include <spikard/stream.h>
#include <spikard/testclient_ws.h>
#include <spikard/websocket.h>

typedef struct {
  PyObject_HEAD
  spk_stream_t *s;    /* NULL once released */
  PyObject *producer; /* .pull(stream) -> int (or None: push only), .cancel(stream) */
  int held;           /* the core's callbacks hold a reference */
} StreamObject;

static PyTypeObject StreamType;

/* Take the handle (GIL held): the caller ends or aborts it, then calls st_unhold. */
static spk_stream_t *st_take(StreamObject *o) {
  spk_stream_t *s = o->s;
  o->s = NULL;
  return s;
}

/* The handle is released: the core no longer calls back, its reference goes. */
static void st_unhold(StreamObject *o) {
  if (o->held) {
    o->held = 0;
    Py_DECREF(o);
  }
}

/* End (or abort) from Python code: without the GIL, which a running callback may be waiting
 * for. `o` stays alive through the caller's reference. */
static int st_finish(StreamObject *o, int abort) {
  spk_stream_t *s = st_take(o);
  if (!s) return SPK_ECLOSED;
  int rc;
  Py_BEGIN_ALLOW_THREADS
  rc = abort ? spk_stream_abort(s) : spk_stream_end(s);
  Py_END_ALLOW_THREADS
  st_unhold(o);
  return rc;
}

static int st_pull(spk_stream_t *s, void *ud) {
  PyGILState_STATE g = gil_ensure();
  StreamObject *o = ud;
  Py_INCREF(o);
  int rc = SPK_EIO;
  PyObject *out = PyObject_CallMethod(o->producer, "pull", "O", (PyObject *)o);
  if (!out) {
    PyErr_Print();
  } else {
    rc = (int)PyLong_AsLong(out);
    if (PyErr_Occurred()) {
      PyErr_Print();
      rc = SPK_EIO;
    }
    Py_DECREF(out);
  }
  if (!o->s) {
    rc = SPK_STREAM_PAUSE; /* Python already ended or aborted it (or is doing so) */
  } else if (rc == SPK_STREAM_END || rc < 0) {
    st_take(o); /* the core ends/aborts it for us when we return; no callback follows */
    st_unhold(o); /* `o` lives on through our own reference until the end of this call */
  }
  Py_DECREF(o);
  PyGILState_Release(g);
  return rc;
}

static void st_cancel(spk_stream_t *s, void *ud) {
  PyGILState_STATE g = gil_ensure();
  StreamObject *o = ud;
  Py_INCREF(o);
  PyObject *out = PyObject_CallMethod(o->producer, "cancel", "O", (PyObject *)o);
  if (!out) PyErr_Print();
  Py_XDECREF(out);
  spk_stream_t *h = st_take(o);
  if (h) {
    spk_stream_abort(h); /* from inside the callback: returns at once */
    st_unhold(o);
  }
  Py_DECREF(o);
  PyGILState_Release(g);
}

/* body = ("stream" | "sse", producer, pull: bool, keepalive_ms) */
static int apply_stream(spk_res_t *res, PyObject *spec) {
  if (PyTuple_GET_SIZE(spec) != 4) {
    PyErr_SetString(PyExc_TypeError, "stream body must be (kind, producer, pull, keepalive_ms)");
    return -1;
  }
  const char *kind = PyUnicode_AsUTF8(PyTuple_GET_ITEM(spec, 0));
  if (!kind) return -1;
  int pull = PyObject_IsTrue(PyTuple_GET_ITEM(spec, 2));
  long keepalive = PyLong_AsLong(PyTuple_GET_ITEM(spec, 3));
  if (pull < 0 || (keepalive == -1 && PyErr_Occurred())) return -1;
  StreamObject *o = PyObject_New(StreamObject, &StreamType);
  if (!o) return -1;
  o->s = NULL;
  o->held = 0;
  o->producer = PyTuple_GET_ITEM(spec, 1);
  Py_INCREF(o->producer);
  int rc;
  spk_stream_t *s = NULL;
  if (strcmp(kind, "sse") == 0) {
    spk_sse_options_t so = {pull ? st_pull : NULL, st_cancel, o, 0, (int32_t)keepalive};
    rc = spk_res_sse(res, &so, &s);
  } else {
    spk_stream_options_t so;
    memset(&so, 0, sizeof so);
    so.pull = pull ? st_pull : NULL;
    so.cancel = st_cancel;
    so.user_data = o;
    rc = spk_res_stream(res, &so, &s);
  }
  if (rc != 0) {
    Py_DECREF(o);
    PyErr_Format(PyExc_RuntimeError, "stream: %s", spk_strerror(rc));
    return -1;
  }
  o->s = s;
  o->held = 1; /* the reference we created becomes the callbacks' */
  PyObject *out = PyObject_CallMethod(o->producer, "start", "O", (PyObject *)o);
  if (!out) {
    PyErr_Print(); /* the stream is set up: a failing start aborts it, not the reply */
    Py_INCREF(o); /* st_finish drops the callbacks' reference */
    st_finish(o, 1);
    Py_DECREF(o);
    return 0;
  }
  Py_DECREF(out);
  return 0;
}

static PyObject *st_write(StreamObject *o, PyObject *data) {
  Py_ssize_t len;
  const char *b = text_of(data, &len);
  if (!b) return NULL;
  if (!o->s) return PyLong_FromLong(SPK_ECLOSED);
  return PyLong_FromLong(spk_stream_write(o->s, b, (size_t)len));
}

/* send_event(data, event, id, retry_ms, comment): None for absent fields. */
static PyObject *st_send_event(StreamObject *o, PyObject *args) {
  PyObject *data, *event, *id, *comment;
  long long retry;
  if (!PyArg_ParseTuple(args, "OOOLO", &data, &event, &id, &retry, &comment)) return NULL;
  if (!o->s) return PyLong_FromLong(SPK_ECLOSED);
  int rc = 0;
  if (comment != Py_None) {
    const char *c = PyUnicode_AsUTF8(comment);
    if (!c) return NULL;
    rc = spk_sse_comment(o->s, c);
    if (rc != 0 || (data == Py_None && event == Py_None && id == Py_None && retry <= 0))
      return PyLong_FromLong(rc);
  }
  spk_sse_event_t ev;
  memset(&ev, 0, sizeof ev);
  Py_ssize_t n = 0;
  if (data != Py_None && !(ev.data = text_of(data, &n))) return NULL;
  ev.data_len = (size_t)n;
  if (event != Py_None && !(ev.event = PyUnicode_AsUTF8(event))) return NULL;
  if (id != Py_None && !(ev.id = PyUnicode_AsUTF8(id))) return NULL;
  ev.retry_ms = retry;
  return PyLong_FromLong(spk_sse_send(o->s, &ev));
}

static PyObject *st_end(StreamObject *o, PyObject *unused) {
  return PyLong_FromLong(st_finish(o, 0));
}

static PyObject *st_abort(StreamObject *o, PyObject *unused) {
  return PyLong_FromLong(st_finish(o, 1));
}

static PyObject *st_resume(StreamObject *o, PyObject *unused) {
  return PyLong_FromLong(o->s ? spk_stream_resume(o->s) : SPK_ECLOSED);
}

static PyObject *st_closed(StreamObject *o, void *c) {
  return PyBool_FromLong(!o->s || spk_stream_is_closed(o->s));
}

static PyObject *st_buffered(StreamObject *o, void *c) {
  return PyLong_FromSize_t(o->s ? spk_stream_buffered(o->s) : 0);
}

static void st_dealloc(StreamObject *o) {
  Py_XDECREF(o->producer);
  PyObject_Free(o);
}

static PyMethodDef st_methods[] = {
    {"write", (PyCFunction)st_write, METH_O, NULL},
    {"send_event", (PyCFunction)st_send_event, METH_VARARGS, NULL},
    {"end", (PyCFunction)st_end, METH_NOARGS, NULL},
    {"abort", (PyCFunction)st_abort, METH_NOARGS, NULL},
    {"resume", (PyCFunction)st_resume, METH_NOARGS, NULL},
    {NULL, NULL, 0, NULL}};
static PyGetSetDef st_getset[] = {{"closed", (getter)st_closed, NULL, NULL, NULL},
                                  {"buffered", (getter)st_buffered, NULL, NULL, NULL},
                                  {NULL, NULL, NULL, NULL, NULL}};

static PyTypeObject StreamType = {
    PyVarObject_HEAD_INIT(NULL, 0).tp_name = "spikard._spikard.RawStream",
    .tp_basicsize = sizeof(StreamObject),
    .tp_dealloc = (destructor)st_dealloc,
    .tp_flags = Py_TPFLAGS_DEFAULT,
    .tp_doc = "A streamed response body (the core's spk_stream_t) while it is ours.",
    .tp_methods = st_methods,
    .tp_getset = st_getset,
};

static PyObject *req_last_event_id(ReqObject *r, void *c) {
  if (!req_live(r)) return NULL;
  spk_str_t v;
  if (spk_req_last_event_id(r->req, &v) != SPK_OK) Py_RETURN_NONE;
  return str_from(v);
}

/* ------------------------------------------------------------------ WebSocket */

typedef struct {
  PyObject_HEAD
  spk_ws_t *ws; /* retained: valid until dealloc */
} WsObject;

static PyTypeObject WsType;

static PyObject *ws_send(WsObject *w, PyObject *data, int binary) {
  Py_ssize_t len;
  const char *b = text_of(data, &len);
  if (!b) return NULL;
  spk_ws_t *ws = w->ws;
  int rc;
  Py_BEGIN_ALLOW_THREADS
  rc = binary ? spk_ws_send_binary(ws, b, (size_t)len) : spk_ws_send_text(ws, b, (size_t)len);
  Py_END_ALLOW_THREADS
  return PyLong_FromLong(rc);
}
static PyObject *ws_send_text(WsObject *w, PyObject *d) { return ws_send(w, d, 0); }
static PyObject *ws_send_binary(WsObject *w, PyObject *d) { return ws_send(w, d, 1); }

static PyObject *ws_close(WsObject *w, PyObject *args) {
  int code = 1000;
  const char *reason = "";
  if (!PyArg_ParseTuple(args, "|is", &code, &reason)) return NULL;
  spk_ws_t *ws = w->ws;
  int rc;
  Py_BEGIN_ALLOW_THREADS
  rc = spk_ws_close(ws, code, reason);
  Py_END_ALLOW_THREADS
  return PyLong_FromLong(rc);
}

static PyObject *ws_subprotocol(WsObject *w, void *c) {
  const char *p = spk_ws_subprotocol(w->ws);
  if (!p) Py_RETURN_NONE;
  return PyUnicode_FromString(p);
}

static void ws_dealloc(WsObject *w) {
  if (w->ws) spk_ws_release(w->ws);
  PyObject_Free(w);
}

static PyMethodDef ws_methods[] = {{"send_text", (PyCFunction)ws_send_text, METH_O, NULL},
                                   {"send_bytes", (PyCFunction)ws_send_binary, METH_O, NULL},
                                   {"close", (PyCFunction)ws_close, METH_VARARGS, NULL},
                                   {NULL, NULL, 0, NULL}};
static PyGetSetDef ws_getset[] = {{"subprotocol", (getter)ws_subprotocol, NULL, NULL, NULL},
                                  {NULL, NULL, NULL, NULL, NULL}};

static PyTypeObject WsType = {
    PyVarObject_HEAD_INIT(NULL, 0).tp_name = "spikard._spikard.RawWebSocket",
    .tp_basicsize = sizeof(WsObject),
    .tp_dealloc = (destructor)ws_dealloc,
    .tp_flags = Py_TPFLAGS_DEFAULT,
    .tp_doc = "One WebSocket connection (sends are thread-safe).",
    .tp_methods = ws_methods,
    .tp_getset = ws_getset,
};

/* ---- the handshake: decided by the handler (Starlette's accept / close-before-accept) ----
 *
 * on_handshake calls entry(raw_handshake, request), which makes the Python WebSocket and starts
 * the handler on the asyncio loop, and leaves the upgrade request suspended
 * (SPK_HANDLER_ASYNC). The handler's `await websocket.accept()` answers 101 through
 * spk_ws_handshake_accept, handing the core a reference to the WebSocket as the connection's user
 * data; a close before accept (or returning without one) answers 403. Exactly one of on_open
 * (the WebSocket gets its RawWebSocket) or on_dropped (the connection never switched) follows
 * an accept and gives that reference back. */
typedef struct {
  PyObject_HEAD
  spk_res_t *res; /* the suspended upgrade response until it is answered */
} HsObject;

static PyTypeObject HsType;

/* Answer the upgrade request with a problem (GIL held; ends the response). */
static void hs_answer(HsObject *h, int status, const char *detail) {
  spk_res_t *res = h->res;
  h->res = NULL;
  const char *title = status == 403 ? "Forbidden" : status == 400 ? "Bad Request"
                                                                   : "Internal Server Error";
  const char *slug = status == 403 ? "forbidden" : status == 400 ? "bad-request"
                                                                 : "internal-server-error";
  spk_res_problem(res, status, slug, title, detail);
  Py_BEGIN_ALLOW_THREADS
  spk_res_end(res);
  Py_END_ALLOW_THREADS
}

static int hs_live(HsObject *h) {
  if (h->res) return 1;
  PyErr_SetString(PyExc_RuntimeError, "the WebSocket handshake was already answered");
  return 0;
}

/* accept(subprotocol, headers, conn): 101; `conn` becomes the connection's user data. */
static PyObject *hs_accept(HsObject *h, PyObject *args) {
  const char *sp = NULL;
  PyObject *headers, *conn;
  if (!PyArg_ParseTuple(args, "zOO", &sp, &headers, &conn)) return NULL;
  if (!hs_live(h)) return NULL;
  if (headers != Py_None) {
    PyObject *it = PyObject_GetIter(headers), *pair;
    if (!it) return NULL;
    while ((pair = PyIter_Next(it))) {
      const char *k, *v;
      int ok = PyArg_ParseTuple(pair, "ss", &k, &v);
      if (ok && spk_res_header(h->res, k, v) != SPK_OK) {
        PyErr_Format(PyExc_ValueError, "invalid or reserved header %R", pair);
        ok = 0;
      }
      Py_DECREF(pair);
      if (!ok) {
        Py_DECREF(it);
        return NULL;
      }
    }
    Py_DECREF(it);
    if (PyErr_Occurred()) return NULL;
  }
  int rc = spk_ws_handshake_accept(h->res, sp, conn);
  if (rc == SPK_EINVAL)
    return PyErr_Format(PyExc_ValueError, "subprotocol %s was not offered by the client", sp);
  if (rc != SPK_OK) return PyErr_Format(PyExc_RuntimeError, "accept: %s", spk_strerror(rc));
  Py_INCREF(conn); /* the core's, given back by on_open … on_close, or on_dropped */
  spk_res_t *res = h->res;
  h->res = NULL;
  Py_BEGIN_ALLOW_THREADS
  spk_res_end(res);
  Py_END_ALLOW_THREADS
  Py_RETURN_NONE;
}

/* refuse(status, detail): an HTTP answer instead of the switch. */
static PyObject *hs_refuse(HsObject *h, PyObject *args) {
  int status;
  const char *detail = NULL;
  if (!PyArg_ParseTuple(args, "i|z", &status, &detail)) return NULL;
  if (!hs_live(h)) return NULL;
  hs_answer(h, status, detail);
  Py_RETURN_NONE;
}

static PyObject *hs_pending(HsObject *h, void *c) { return PyBool_FromLong(h->res != NULL); }

static void hs_dealloc(HsObject *h) {
  /* Dropped undecided (the handler task vanished): never leave the client hanging. */
  if (h->res) hs_answer(h, 500, "The WebSocket handler ended without answering the handshake");
  PyObject_Free(h);
}

static PyMethodDef hs_methods[] = {{"accept", (PyCFunction)hs_accept, METH_VARARGS, NULL},
                                   {"refuse", (PyCFunction)hs_refuse, METH_VARARGS, NULL},
                                   {NULL, NULL, 0, NULL}};
static PyGetSetDef hs_getset[] = {{"pending", (getter)hs_pending, NULL, NULL, NULL},
                                  {NULL, NULL, NULL, NULL, NULL}};

static PyTypeObject HsType = {
    PyVarObject_HEAD_INIT(NULL, 0).tp_name = "spikard._spikard.RawHandshake",
    .tp_basicsize = sizeof(HsObject),
    .tp_dealloc = (destructor)hs_dealloc,
    .tp_flags = Py_TPFLAGS_DEFAULT,
    .tp_doc = "A WebSocket upgrade request waiting for the handler's accept or refusal.",
    .tp_methods = hs_methods,
    .tp_getset = hs_getset,
};

static int py_ws_handshake(spk_req_t *req, spk_res_t *res, void *ud) {
  PyGILState_STATE g = gil_ensure();
  HsObject *h = PyObject_New(HsObject, &HsType);
  ReqObject *r = h ? req_new(req, NULL) : NULL;
  PyObject *conn = NULL;
  if (h) h->res = res;
  if (r) {
    conn = PyObject_CallFunctionObjArgs((PyObject *)ud, (PyObject *)h, (PyObject *)r, NULL);
    r->req = NULL; /* the request is lent for this call */
  }
  if (!conn) {
    PyErr_Print();
    if (!h) {
      spk_res_problem(res, 500, "internal-server-error", "Internal Server Error", NULL);
      spk_res_end(res);
    } else if (h->res) {
      hs_answer(h, 500, "The WebSocket handler could not start");
    }
  }
  Py_XDECREF(conn); /* the handler task keeps the WebSocket (and the handshake) alive */
  Py_XDECREF(r);
  Py_XDECREF(h);
  PyGILState_Release(g);
  return SPK_HANDLER_ASYNC; /* answered later — or already, which the core accepts too */
}

/* on_open: the accepted WebSocket (the connection's user data) gets its RawWebSocket. */
static void py_ws_open(spk_ws_t *ws, const spk_req_t *req, void *ud) {
  PyObject *conn = spk_ws_get_user_data(ws);
  if (!conn) return;
  PyGILState_STATE g = gil_ensure();
  WsObject *w = PyObject_New(WsObject, &WsType);
  PyObject *out = NULL;
  if (w) {
    w->ws = ws;
    spk_ws_retain(ws);
    out = PyObject_CallMethod(conn, "opened", "O", (PyObject *)w);
  }
  if (!out) {
    PyErr_Print();
    spk_ws_close(ws, 1011, "handler failed");
  }
  Py_XDECREF(out);
  Py_XDECREF(w);
  PyGILState_Release(g);
}

/* An accepted handshake that never switched: the WebSocket learns it, the reference goes. */
static void py_ws_dropped(void *conn_user_data, void *ud) {
  PyObject *conn = conn_user_data;
  if (!conn) return;
  PyGILState_STATE g = gil_ensure();
  PyObject *out = PyObject_CallMethod(conn, "dropped", NULL);
  if (!out) PyErr_Print();
  Py_XDECREF(out);
  Py_DECREF(conn);
  PyGILState_Release(g);
}

static void py_ws_message(spk_ws_t *ws, spk_ws_kind_t kind, const char *data, size_t len,
                          void *ud) {
  PyObject *conn = spk_ws_get_user_data(ws);
  if (!conn) return;
  PyGILState_STATE g = gil_ensure();
  PyObject *d = kind == SPK_WS_TEXT
                    ? PyUnicode_DecodeUTF8(data, (Py_ssize_t)len, "surrogateescape")
                    : PyBytes_FromStringAndSize(data, (Py_ssize_t)len);
  PyObject *out = d ? PyObject_CallMethod(conn, "message", "O", d) : NULL;
  if (!out) PyErr_Print();
  Py_XDECREF(out);
  Py_XDECREF(d);
  PyGILState_Release(g);
}

static void py_ws_closed(spk_ws_t *ws, int code, const char *reason, size_t len, void *ud) {
  PyObject *conn = spk_ws_get_user_data(ws);
  if (!conn) return;
  spk_ws_set_user_data(ws, NULL);
  PyGILState_STATE g = gil_ensure();
  PyObject *out = PyObject_CallMethod(conn, "closed", "is#", code, reason ? reason : "",
                                      (Py_ssize_t)(reason ? len : 0));
  if (!out) PyErr_Print();
  Py_XDECREF(out);
  Py_DECREF(conn);
  PyGILState_Release(g);
}

static const spk_ws_callbacks_t py_ws_callbacks = {.on_handshake = py_ws_handshake,
                                                    .on_open = py_ws_open,
                                                    .on_message = py_ws_message,
                                                    .on_close = py_ws_closed,
                                                    .on_dropped = py_ws_dropped};

/* websocket(pattern, entry, subprotocols=None, require_subprotocol=False, message_schema=None,
 *           json_messages=False, max_message_bytes=0, idle_timeout_ms=0, ping_interval_ms=0,
 *           permessage_deflate=False, origins=None) */
static PyObject *app_websocket(AppObject *self, PyObject *args, PyObject *kw) {
  static char *kwlist[] = {"pattern",         "entry",           "subprotocols",
                           "require_subprotocol", "message_schema", "json_messages",
                           "max_message_bytes", "idle_timeout_ms", "ping_interval_ms",
                           "permessage_deflate", "origins", NULL};
  const char *pattern, *schema = NULL;
  PyObject *entry, *subs = Py_None, *origins = Py_None;
  int require = 0, json = 0, deflate = 0;
  Py_ssize_t max_msg = 0;
  unsigned int idle = 0, ping = 0;
  if (!PyArg_ParseTupleAndKeywords(args, kw, "sO|OpzpnIIpO", kwlist, &pattern, &entry, &subs,
                                   &require, &schema, &json, &max_msg, &idle, &ping, &deflate,
                                   &origins))
    return NULL;
  if (!PyCallable_Check(entry)) return PyErr_Format(PyExc_TypeError, "entry not callable");
  if (PyList_Append(self->keep, entry) != 0) return NULL;
  spk_ws_options_t o;
  spk_ws_options_default(&o);
  const char **names = NULL, **allowed = NULL;
  if (names_of(subs, self->keep, &names) != 0) return NULL;
  if (names_of(origins, self->keep, &allowed) != 0) {
    PyMem_Free(names);
    return NULL;
  }
  size_t n = 0, na = 0;
  while (names && names[n]) n++;
  while (allowed && allowed[na]) na++;
  o.origins = allowed;
  o.origin_count = na;
  o.subprotocols = names;
  o.subprotocol_count = n;
  o.require_subprotocol = require;
  o.message_schema = schema;
  o.json_messages = json || schema;
  if (max_msg > 0) o.max_message_bytes = (size_t)max_msg;
  if (idle) o.idle_timeout_ms = idle;
  if (ping) o.ping_interval_ms = ping;
  o.permessage_deflate = deflate;
  int rc = spk_app_ws_ex(self->app, pattern, &py_ws_callbacks, &o, entry);
  PyMem_Free(names);
  PyMem_Free(allowed);
  if (rc != 0) return app_error(self, rc);
  Py_RETURN_NONE;
}

/* ------------------------------------------------------------------ test client: WebSocket */

typedef struct {
  PyObject_HEAD
  spk_test_ws_t *ws;
  PyObject *client; /* the RawTestClient: the connection lives on it */
} TwsObject;

static PyTypeObject TwsType;

static void tws_free(TwsObject *t) {
  if (t->ws) {
    spk_test_ws_t *ws = t->ws;
    t->ws = NULL;
    Py_BEGIN_ALLOW_THREADS
    spk_test_ws_free(ws);
    Py_END_ALLOW_THREADS
  }
}

static void tws_dealloc(TwsObject *t) {
  tws_free(t);
  Py_XDECREF(t->client);
  PyObject_Free(t);
}

static int tws_live(TwsObject *t) {
  if (t->ws) return 1;
  PyErr_SetString(PyExc_RuntimeError, "the WebSocket is closed");
  return 0;
}

/* send(opcode, data) */
static PyObject *tws_send(TwsObject *t, PyObject *args) {
  int opcode;
  Py_buffer b;
  if (!PyArg_ParseTuple(args, "iy*", &opcode, &b)) return NULL;
  if (!tws_live(t)) {
    PyBuffer_Release(&b);
    return NULL;
  }
  spk_test_ws_t *ws = t->ws;
  int rc;
  Py_BEGIN_ALLOW_THREADS
  rc = spk_test_ws_send(ws, opcode, b.buf, (size_t)b.len);
  Py_END_ALLOW_THREADS
  PyBuffer_Release(&b);
  return PyLong_FromLong(rc);
}

/* send_frame(fin, rsv1, opcode, data): any frame, for protocol tests. */
static PyObject *tws_send_frame(TwsObject *t, PyObject *args) {
  int fin, rsv1, opcode;
  Py_buffer b;
  if (!PyArg_ParseTuple(args, "iiiy*", &fin, &rsv1, &opcode, &b)) return NULL;
  if (!tws_live(t)) {
    PyBuffer_Release(&b);
    return NULL;
  }
  spk_test_ws_t *ws = t->ws;
  int rc;
  Py_BEGIN_ALLOW_THREADS
  rc = spk_test_ws_send_frame(ws, fin, rsv1, opcode, b.buf, (size_t)b.len);
  Py_END_ALLOW_THREADS
  PyBuffer_Release(&b);
  return PyLong_FromLong(rc);
}

static PyObject *tws_send_close(TwsObject *t, PyObject *args) {
  int code = 1000;
  const char *reason = "";
  if (!PyArg_ParseTuple(args, "|is", &code, &reason)) return NULL;
  if (!tws_live(t)) return NULL;
  spk_test_ws_t *ws = t->ws;
  int rc;
  Py_BEGIN_ALLOW_THREADS
  rc = spk_test_ws_send_close(ws, code, reason);
  Py_END_ALLOW_THREADS
  return PyLong_FromLong(rc);
}

/* recv(timeout_ms) → (opcode, payload bytes, close_code, close_reason); None on timeout;
 * raises ConnectionError once the server closed and nothing is left. */
static PyObject *tws_recv(TwsObject *t, PyObject *arg) {
  unsigned long ms = PyLong_AsUnsignedLong(arg);
  if (PyErr_Occurred()) return NULL;
  if (!tws_live(t)) return NULL;
  spk_test_ws_t *ws = t->ws;
  spk_test_ws_frame_t f;
  memset(&f, 0, sizeof f);
  int rc;
  Py_BEGIN_ALLOW_THREADS
  rc = spk_test_ws_recv(ws, &f, (uint32_t)ms);
  Py_END_ALLOW_THREADS
  if (rc == SPK_ETIMEDOUT) Py_RETURN_NONE;
  if (rc != 0) return PyErr_Format(PyExc_ConnectionError, "websocket: %s", spk_strerror(rc));
  return Py_BuildValue("(iy#is)", f.opcode, f.data ? f.data : "", (Py_ssize_t)f.len,
                       f.close_code, f.close_reason ? f.close_reason : "");
}

static PyObject *tws_close(TwsObject *t, PyObject *unused) {
  tws_free(t);
  Py_RETURN_NONE;
}

static PyObject *tws_server_closed(TwsObject *t, void *c) {
  return PyBool_FromLong(!t->ws || spk_test_ws_server_closed(t->ws));
}

static PyMethodDef tws_methods[] = {{"send", (PyCFunction)tws_send, METH_VARARGS, NULL},
                                    {"send_close", (PyCFunction)tws_send_close, METH_VARARGS, NULL},
                                    {"send_frame", (PyCFunction)tws_send_frame, METH_VARARGS, NULL},
                                    {"recv", (PyCFunction)tws_recv, METH_O, NULL},
                                    {"free", (PyCFunction)tws_close, METH_NOARGS, NULL},
                                    {NULL, NULL, 0, NULL}};
static PyGetSetDef tws_getset[] = {{"server_closed", (getter)tws_server_closed, NULL, NULL, NULL},
                                   {NULL, NULL, NULL, NULL, NULL}};

static PyTypeObject TwsType = {
    PyVarObject_HEAD_INIT(NULL, 0).tp_name = "spikard._spikard.RawTestWebSocket",
    .tp_basicsize = sizeof(TwsObject),
    .tp_dealloc = (destructor)tws_dealloc,
    .tp_flags = Py_TPFLAGS_DEFAULT,
    .tp_doc = "An in-memory WebSocket opened through the test client.",
    .tp_methods = tws_methods,
    .tp_getset = tws_getset,
};
