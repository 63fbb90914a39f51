/* spikard._spikard — the thin C layer between Python and libspikard.
 *
 * It only translates: an App wraps spk_app_t, a Request wraps one (spk_req_t, spk_res_t) pair
 * for as long as the core lends it, a TestClient drives the in-memory pipeline and a Server the
 * libuv workers. Parsing, routing, validation and middleware run in the core without the GIL;
 * the GIL is taken only around calls into Python (handlers, hooks) and released around every
 * call that may block or wait for another thread (test client sends, server stop/wait/free,
 * spk_res_end). Everything behavioural (which parameter comes from where, what a reply is)
 * lives in the Python layer, which hands this module compiled callables and JSON schemas. */
#define PY_SSIZE_T_CLEAN
#include <Python.h>

#include <limits.h>
#include <pthread.h>

#include <spikard/app.h>
#include <spikard/background.h>
#include <spikard/di.h>
#include <spikard/hooks.h>
#include <spikard/middleware.h>
#include <spikard/request.h>
#include <spikard/response.h>
#include <spikard/server.h>
#include <spikard/testclient.h>

#include <string.h>

/* ------------------------------------------------------------------ the GIL on core threads */

/* PyGILState_Ensure on a thread without a Python thread state (the core's loop, pool and test
 * client threads) creates one, and the matching Release destroys it: per request a new thread
 * state and a new frame stack, i.e. an mmap, page faults, an munmap and its TLB shootdown —
 * about a seventh of the server's CPU on a small POST. Instead a core thread keeps the thread
 * state it got first (one Ensure never released; the GIL itself is released) until the thread
 * exits, when the key's destructor deletes it. */
static pthread_key_t core_ts_key;

static void core_ts_drop(void *p) {
  /* During or after finalization the interpreter owns (or has freed) every thread state. */
  if (!Py_IsInitialized() || _Py_IsFinalizing()) return;
  PyEval_RestoreThread((PyThreadState *)p);
  PyThreadState_Clear((PyThreadState *)p);
  PyThreadState_DeleteCurrent();
}

static PyGILState_STATE gil_ensure(void) {
  if (!PyGILState_GetThisThreadState()) {
    PyGILState_Ensure(); /* the kept one: count 1, never released */
    if (pthread_setspecific(core_ts_key, PyThreadState_Get()) == 0) PyEval_SaveThread();
    else return PyGILState_UNLOCKED; /* not kept: the Release below deletes it as usual */
  }
  return PyGILState_Ensure();
}

/* ------------------------------------------------------------------ helpers */

static PyObject *str_from(spk_str_t s) {
  return PyUnicode_DecodeUTF8(s.ptr ? s.ptr : "", (Py_ssize_t)s.len, "surrogateescape");
}

static PyObject *bytes_from(spk_str_t s) {
  return PyBytes_FromStringAndSize(s.ptr ? s.ptr : "", (Py_ssize_t)s.len);
}

/* UTF-8 of a str, or the bytes of a bytes object; NULL with an exception otherwise. */
static const char *text_of(PyObject *o, Py_ssize_t *len) {
  if (PyUnicode_Check(o)) return PyUnicode_AsUTF8AndSize(o, len);
  if (PyBytes_Check(o)) {
    *len = PyBytes_GET_SIZE(o);
    return PyBytes_AS_STRING(o);
  }
  PyErr_SetString(PyExc_TypeError, "expected str or bytes");
  return NULL;
}

/* ------------------------------------------------------------------ Request */

typedef struct {
  PyObject_HEAD
  spk_req_t *req; /* NULL once the response has ended: every accessor then raises */
  spk_res_t *res;
  int owned;      /* the handler went async: this object must end the response */
} ReqObject;

static PyTypeObject ReqType;

static ReqObject *req_new(spk_req_t *req, spk_res_t *res) {
  ReqObject *r = PyObject_New(ReqObject, &ReqType);
  if (!r) return NULL;
  r->req = req;
  r->res = res;
  r->owned = 0;
  return r;
}

static int req_live(ReqObject *r) {
  if (r->req) return 1;
  PyErr_SetString(PyExc_RuntimeError, "the request is finished; it can no longer be used");
  return 0;
}

/* The response side: absent for the requests handed to dependency factories. */
static int res_live(ReqObject *r) {
  if (!req_live(r)) return 0;
  if (r->res) return 1;
  PyErr_SetString(PyExc_RuntimeError, "no response here (dependency factory)");
  return 0;
}

/* A file body: (path,) — read (or sent from the file) by the core; content_type NULL guesses
 * from the extension. A missing file answers 404, anything else unreadable 500. */
static int apply_file(spk_res_t *res, PyObject *spec, PyObject *ctype) {
  PyObject *path = PyOS_FSPath(PyTuple_GET_ITEM(spec, 0));
  if (!path) return -1;
  PyObject *enc = NULL;
  if (!PyUnicode_FSConverter(path, &enc)) {
    Py_DECREF(path);
    return -1;
  }
  Py_DECREF(path);
  const char *ct = ctype == Py_None ? NULL : PyUnicode_AsUTF8(ctype);
  int rc = (ctype != Py_None && !ct) ? -1 : spk_res_file(res, PyBytes_AS_STRING(enc), ct);
  Py_DECREF(enc);
  if (rc == -1 && PyErr_Occurred()) return -1;
  if (rc == SPK_ENOENT)
    return spk_res_problem(res, 404, "not-found", "Not Found", "File not found") == 0 ? 0 : -1;
  if (rc != 0) {
    PyErr_Format(PyExc_OSError, "cannot send file: %s", spk_strerror(rc));
    return -1;
  }
  return 0;
}

static int apply_stream(spk_res_t *res, PyObject *spec); /* _realtime.inc.c */
static PyObject *req_last_event_id(ReqObject *r, void *c);

/* Reply = (status, headers or None, body, content_type or None); body: bytes/str, None,
 * (path,) for a file, or (kind, producer, pull, keepalive_ms) for a stream. */
static int apply_reply(spk_res_t *res, PyObject *reply) {
  if (!PyTuple_Check(reply) || PyTuple_GET_SIZE(reply) != 4) {
    PyErr_SetString(PyExc_TypeError, "reply must be (status, headers, body, content_type)");
    return -1;
  }
  long status = PyLong_AsLong(PyTuple_GET_ITEM(reply, 0));
  if (status == -1 && PyErr_Occurred()) return -1;
  if (spk_res_status(res, (int)status) != 0) {
    PyErr_Format(PyExc_ValueError, "invalid status code %ld", status);
    return -1;
  }
  PyObject *ctype = PyTuple_GET_ITEM(reply, 3);
  PyObject *body = PyTuple_GET_ITEM(reply, 2);
  int is_file = PyTuple_Check(body) && PyTuple_GET_SIZE(body) == 1;
  int is_stream = PyTuple_Check(body) && PyTuple_GET_SIZE(body) > 1;
  if (ctype != Py_None && !is_file) {
    const char *ct = PyUnicode_AsUTF8(ctype);
    if (!ct) return -1;
    if (spk_res_set_header(res, "Content-Type", ct) != 0) {
      PyErr_SetString(PyExc_ValueError, "invalid content type");
      return -1;
    }
  }
  PyObject *headers = PyTuple_GET_ITEM(reply, 1);
  if (headers != Py_None) {
    PyObject *seq = PySequence_Fast(headers, "headers must be a sequence of (name, value)");
    if (!seq) return -1;
    Py_ssize_t n = PySequence_Fast_GET_SIZE(seq);
    for (Py_ssize_t i = 0; i < n; i++) {
      PyObject *pair = PySequence_Fast_GET_ITEM(seq, i);
      if (!PyTuple_Check(pair) || PyTuple_GET_SIZE(pair) != 2) {
        Py_DECREF(seq);
        PyErr_SetString(PyExc_TypeError, "a header must be a (name, value) tuple");
        return -1;
      }
      Py_ssize_t nl, vl;
      const char *name = text_of(PyTuple_GET_ITEM(pair, 0), &nl);
      const char *value = name ? text_of(PyTuple_GET_ITEM(pair, 1), &vl) : NULL;
      if (!value) {
        Py_DECREF(seq);
        return -1;
      }
      if (spk_res_header_n(res, name, (size_t)nl, value, (size_t)vl) != 0) {
        Py_DECREF(seq);
        PyErr_Format(PyExc_ValueError, "invalid or reserved response header %R",
                     PyTuple_GET_ITEM(pair, 0));
        return -1;
      }
    }
    Py_DECREF(seq);
  }
  if (is_file) return apply_file(res, body, ctype);
  if (is_stream) return apply_stream(res, body);
  if (body != Py_None) {
    Py_ssize_t bl;
    const char *b = text_of(body, &bl);
    if (!b) return -1;
    if (spk_res_body(res, b, (size_t)bl) != 0) {
      PyErr_NoMemory();
      return -1;
    }
  }
  return 0;
}

/* The last resort when Python code failed where the Python layer could not catch it. */
static void reply_internal_error(spk_res_t *res) {
  PyErr_Print();
  spk_res_problem(res, 500, "internal-server-error", "Internal Server Error",
                  "An unexpected error occurred");
}

static PyObject *req_method(ReqObject *r, void *c) {
  return req_live(r) ? str_from(spk_req_method_str(r->req)) : NULL;
}
static PyObject *req_path(ReqObject *r, void *c) {
  return req_live(r) ? str_from(spk_req_path(r->req)) : NULL;
}
static PyObject *req_raw_path(ReqObject *r, void *c) {
  return req_live(r) ? str_from(spk_req_raw_path(r->req)) : NULL;
}
static PyObject *req_query_string(ReqObject *r, void *c) {
  return req_live(r) ? str_from(spk_req_query_string(r->req)) : NULL;
}
static PyObject *req_body(ReqObject *r, void *c) {
  return req_live(r) ? bytes_from(spk_req_body(r->req)) : NULL;
}
static PyObject *req_validated(ReqObject *r, void *c) {
  return req_live(r) ? bytes_from(spk_req_validated(r->req)) : NULL;
}
static PyObject *req_remote_addr(ReqObject *r, void *c) {
  return req_live(r) ? str_from(spk_req_remote_addr(r->req)) : NULL;
}
static PyObject *req_request_id(ReqObject *r, void *c) {
  return req_live(r) ? str_from(spk_req_id(r->req)) : NULL;
}
static PyObject *req_jwt_claims(ReqObject *r, void *c) {
  return req_live(r) ? bytes_from(spk_req_jwt_claims(r->req)) : NULL;
}
static PyObject *req_live_get(ReqObject *r, void *c) { return PyBool_FromLong(r->req != NULL); }

static PyObject *req_status_get(ReqObject *r, void *c) {
  return res_live(r) ? PyLong_FromLong(spk_res_get_status(r->res)) : NULL;
}

static PyObject *pairs(size_t n, int (*at)(void *, size_t, spk_str_t *, spk_str_t *),
                       void *obj) {
  PyObject *list = PyList_New(0);
  if (!list) return NULL;
  for (size_t i = 0; i < n; i++) {
    spk_str_t k, v;
    if (at(obj, i, &k, &v) != 0) continue;
    PyObject *t = Py_BuildValue("(NN)", str_from(k), str_from(v));
    if (!t || PyList_Append(list, t) != 0) {
      Py_XDECREF(t);
      Py_DECREF(list);
      return NULL;
    }
    Py_DECREF(t);
  }
  return list;
}

static int hdr_at(void *o, size_t i, spk_str_t *k, spk_str_t *v) {
  return spk_req_header_at(o, i, k, v);
}
static int qry_at(void *o, size_t i, spk_str_t *k, spk_str_t *v) {
  return spk_req_query_at(o, i, k, v);
}
static int cookie_at(void *o, size_t i, spk_str_t *k, spk_str_t *v) {
  return spk_req_cookie_at(o, i, k, v);
}
static int param_at(void *o, size_t i, spk_str_t *k, spk_str_t *v) {
  return spk_req_param_at(o, i, k, v);
}

static PyObject *req_headers(ReqObject *r, PyObject *unused) {
  return req_live(r) ? pairs(spk_req_header_count(r->req), hdr_at, r->req) : NULL;
}
static PyObject *req_query_items(ReqObject *r, PyObject *unused) {
  return req_live(r) ? pairs(spk_req_query_count(r->req), qry_at, r->req) : NULL;
}
static PyObject *req_cookies(ReqObject *r, PyObject *unused) {
  return req_live(r) ? pairs(spk_req_cookie_count(r->req), cookie_at, r->req) : NULL;
}
static PyObject *req_params(ReqObject *r, PyObject *unused) {
  return req_live(r) ? pairs(spk_req_param_count(r->req), param_at, r->req) : NULL;
}

static PyObject *req_header(ReqObject *r, PyObject *name) {
  if (!req_live(r)) return NULL;
  const char *n = PyUnicode_AsUTF8(name);
  if (!n) return NULL;
  spk_str_t v;
  if (spk_req_header(r->req, n, &v) != 0) Py_RETURN_NONE;
  return str_from(v);
}

static PyObject *req_set_status(ReqObject *r, PyObject *arg) {
  if (!res_live(r)) return NULL;
  long s = PyLong_AsLong(arg);
  if (s == -1 && PyErr_Occurred()) return NULL;
  if (spk_res_status(r->res, (int)s) != 0) return PyErr_Format(PyExc_ValueError, "bad status");
  Py_RETURN_NONE;
}

static PyObject *req_set_header(ReqObject *r, PyObject *args) {
  const char *n, *v;
  if (!PyArg_ParseTuple(args, "ss", &n, &v) || !res_live(r)) return NULL;
  if (spk_res_set_header(r->res, n, v) != 0)
    return PyErr_Format(PyExc_ValueError, "invalid or reserved response header '%s'", n);
  Py_RETURN_NONE;
}

static PyObject *req_response_header(ReqObject *r, PyObject *name) {
  if (!res_live(r)) return NULL;
  const char *n = PyUnicode_AsUTF8(name);
  if (!n) return NULL;
  spk_str_t v;
  if (spk_res_get_header(r->res, n, &v) != 0) Py_RETURN_NONE;
  return str_from(v);
}

static PyObject *req_set_body(ReqObject *r, PyObject *body) {
  if (!res_live(r)) return NULL;
  Py_ssize_t len;
  const char *b = text_of(body, &len);
  if (!b) return NULL;
  if (spk_res_body(r->res, b, (size_t)len) != 0) return PyErr_NoMemory();
  Py_RETURN_NONE;
}

/* Finish an async response: fill it from `reply` (or a 500 when that fails) and end it. A
 * reply of False (an uncaught exception, already logged) or a negative int (SPK_EQUEUEFULL…)
 * ends it as a handler failure, exactly as a sync handler returning that: the core's 500 (or
 * 503) and the on_error hooks. */
static void req_finish(ReqObject *r, PyObject *reply) {
  spk_res_t *res = r->res;
  int failure = 0;
  if (reply == Py_False) {
    failure = SPK_EIO;
  } else if (reply && PyLong_CheckExact(reply)) {
    long code = PyLong_AsLong(reply);
    if (PyErr_Occurred()) PyErr_Clear();
    failure = code < 0 && code > INT_MIN ? (int)code : SPK_EIO;
  } else if (!reply || apply_reply(res, reply) != 0) {
    reply_internal_error(res);
  }
  r->req = NULL;
  r->res = NULL;
  r->owned = 0;
  Py_BEGIN_ALLOW_THREADS
  if (failure)
    spk_res_fail(res, failure);
  else
    spk_res_end(res);
  Py_END_ALLOW_THREADS
}

/* After an async request-phase hook: go on with the pipeline. */
static PyObject *req_resume(ReqObject *r, PyObject *unused) {
  if (!req_live(r)) return NULL;
  if (!r->owned) return PyErr_Format(PyExc_RuntimeError, "resume() is only for suspended hooks");
  spk_req_t *req = r->req;
  r->req = NULL;
  r->res = NULL;
  r->owned = 0;
  int rc;
  Py_BEGIN_ALLOW_THREADS
  rc = spk_req_continue(req);
  Py_END_ALLOW_THREADS
  if (rc != 0) return PyErr_Format(PyExc_RuntimeError, "resume: %s", spk_strerror(rc));
  Py_RETURN_NONE;
}

static PyObject *req_send(ReqObject *r, PyObject *reply) {
  if (!res_live(r)) return NULL;
  if (!r->owned) {
    PyErr_SetString(PyExc_RuntimeError, "send() is only for requests whose handler went async");
    return NULL;
  }
  req_finish(r, reply);
  Py_RETURN_NONE;
}

static void req_dealloc(ReqObject *r) {
  /* An async request dropped without an answer would leave its connection hanging. */
  if (r->owned && r->req) {
    PyObject *type, *value, *tb;
    PyErr_Fetch(&type, &value, &tb); /* a dealloc must not clobber an exception in flight */
    PyErr_SetString(PyExc_RuntimeError, "async request dropped without a response");
    req_finish(r, NULL);
    PyErr_Restore(type, value, tb);
  }
  PyObject_Free(r);
}

/* A resolved dependency of this request (the object the factory resolved with). */
static PyObject *req_dep(ReqObject *r, PyObject *name) {
  if (!req_live(r)) return NULL;
  const char *n = PyUnicode_AsUTF8(name);
  if (!n) return NULL;
  void *v;
  if (spk_req_dep(r->req, n, &v) != 0 || !v) {
    PyErr_SetObject(PyExc_KeyError, name);
    return NULL;
  }
  Py_INCREF((PyObject *)v);
  return (PyObject *)v;
}

/* ---- background tasks: a Python callable run on the app's pool after the response ---- */

static PyObject *QueueFullError;

static int py_bg_run(spk_bg_task_t *task, void *data) {
  PyGILState_STATE g = gil_ensure();
  PyObject *out = PyObject_CallNoArgs((PyObject *)data);
  int rc = 0;
  if (!out) {
    PyObject *type, *value, *tb;
    PyErr_Fetch(&type, &value, &tb);
    PyObject *s = value ? PyObject_Str(value) : NULL;
    const char *msg = s ? PyUnicode_AsUTF8(s) : NULL;
    spk_bg_task_error(task, msg ? msg : "Python exception");
    PyErr_Clear();
    Py_XDECREF(s);
    Py_XDECREF(type);
    Py_XDECREF(value);
    Py_XDECREF(tb);
    rc = -1;
  }
  Py_XDECREF(out);
  PyGILState_Release(g);
  return rc;
}

static void py_bg_free(void *data) {
  PyGILState_STATE g = gil_ensure();
  Py_DECREF((PyObject *)data);
  PyGILState_Release(g);
}

static PyObject *spawn_result(int rc, PyObject *fn) {
  if (rc == 0) Py_RETURN_NONE;
  Py_DECREF(fn); /* refused: the pool took nothing */
  if (rc == SPK_EQUEUEFULL) {
    PyErr_SetString(QueueFullError, "the background task queue is full");
    return NULL;
  }
  return PyErr_Format(PyExc_RuntimeError, "background task: %s", spk_strerror(rc));
}

/* spawn(fn): fn() runs on the app's pool after this request's response has been sent. */
static PyObject *req_spawn(ReqObject *r, PyObject *fn) {
  if (!req_live(r)) return NULL;
  Py_INCREF(fn); /* the pool's reference, released by py_bg_free */
  return spawn_result(spk_bg_spawn(r->req, py_bg_run, fn, py_bg_free), fn);
}

static PyGetSetDef req_getset[] = {
    {"method", (getter)req_method, NULL, NULL, NULL},
    {"path", (getter)req_path, NULL, NULL, NULL},
    {"raw_path", (getter)req_raw_path, NULL, NULL, NULL},
    {"query_string", (getter)req_query_string, NULL, NULL, NULL},
    {"body", (getter)req_body, NULL, NULL, NULL},
    {"validated", (getter)req_validated, NULL, NULL, NULL},
    {"remote_addr", (getter)req_remote_addr, NULL, NULL, NULL},
    {"request_id", (getter)req_request_id, NULL, NULL, NULL},
    {"jwt_claims", (getter)req_jwt_claims, NULL, NULL, NULL},
    {"status", (getter)req_status_get, NULL, NULL, NULL},
    {"live", (getter)req_live_get, NULL, NULL, NULL},
    {"last_event_id", (getter)req_last_event_id, NULL, NULL, NULL},
    {NULL, NULL, NULL, NULL, NULL}};

static PyMethodDef req_methods[] = {
    {"headers", (PyCFunction)req_headers, METH_NOARGS, NULL},
    {"header", (PyCFunction)req_header, METH_O, NULL},
    {"query_items", (PyCFunction)req_query_items, METH_NOARGS, NULL},
    {"cookies", (PyCFunction)req_cookies, METH_NOARGS, NULL},
    {"params", (PyCFunction)req_params, METH_NOARGS, NULL},
    {"set_status", (PyCFunction)req_set_status, METH_O, NULL},
    {"set_header", (PyCFunction)req_set_header, METH_VARARGS, NULL},
    {"response_header", (PyCFunction)req_response_header, METH_O, NULL},
    {"set_body", (PyCFunction)req_set_body, METH_O, NULL},
    {"send", (PyCFunction)req_send, METH_O, NULL},
    {"resume", (PyCFunction)req_resume, METH_NOARGS, NULL},
    {"dep", (PyCFunction)req_dep, METH_O, NULL},
    {"spawn", (PyCFunction)req_spawn, METH_O, NULL},
    {NULL, NULL, 0, NULL}};

static PyTypeObject ReqType = {
    PyVarObject_HEAD_INIT(NULL, 0).tp_name = "spikard._spikard.RawRequest",
    .tp_basicsize = sizeof(ReqObject),
    .tp_dealloc = (destructor)req_dealloc,
    .tp_flags = Py_TPFLAGS_DEFAULT,
    .tp_doc = "One request/response pair lent by the core (valid until the response ends).",
    .tp_getset = req_getset,
    .tp_methods = req_methods,
};

/* ------------------------------------------------------------------ trampolines */

/* The route callable returns a reply tuple (done), None (it kept the request: async) or False
 * (the handler failed). */
static int py_handler(spk_req_t *req, spk_res_t *res, void *user_data) {
  PyGILState_STATE g = gil_ensure();
  int rc = SPK_HANDLER_DONE;
  ReqObject *r = req_new(req, res);
  if (!r) {
    reply_internal_error(res);
    PyGILState_Release(g);
    return SPK_HANDLER_DONE;
  }
  r->owned = 1; /* until the callable returns, a drop must answer */
  PyObject *out = PyObject_CallOneArg((PyObject *)user_data, (PyObject *)r);
  if (!out) {
    reply_internal_error(res);
  } else if (out == Py_None) {
    rc = SPK_HANDLER_ASYNC; /* the Python side holds `r` and will call r.send(reply) */
  } else if (out == Py_False) {
    rc = SPK_EIO; /* the handler failed (already logged): the core's 500 and on_error hooks */
  } else if (PyLong_CheckExact(out)) {
    rc = (int)PyLong_AsLong(out); /* a failure code (SPK_EQUEUEFULL → the core's 503) */
    if (rc >= 0 || PyErr_Occurred()) {
      PyErr_Clear();
      rc = SPK_EIO;
    }
  } else if (apply_reply(res, out) != 0) {
    reply_internal_error(res);
  }
  Py_XDECREF(out);
  if (rc != SPK_HANDLER_ASYNC) {
    r->req = NULL;
    r->res = NULL;
    r->owned = 0;
  }
  Py_DECREF(r);
  PyGILState_Release(g);
  return rc;
}

/* Request-phase hooks: None → continue, a reply tuple → respond with it, Ellipsis → the hook
 * went async and keeps the request (it calls r.resume() or r.send(reply) later, from any
 * thread). Response-phase hooks modify the response through the request object; their return
 * value is ignored. */
static int py_hook(spk_req_t *req, spk_res_t *res, void *user_data) {
  PyGILState_STATE g = gil_ensure();
  int rc = SPK_HOOK_CONTINUE;
  ReqObject *r = req_new(req, res);
  if (r) r->owned = 1; /* until the hook returns, a drop must answer */
  PyObject *out = r ? PyObject_CallOneArg((PyObject *)user_data, (PyObject *)r) : NULL;
  if (!out) {
    PyErr_Print();
    rc = SPK_EINVAL;
  } else if (out == Py_Ellipsis) {
    rc = SPK_HOOK_ASYNC;
  } else if (out != Py_None && out != Py_False) {
    if (apply_reply(res, out) == 0) {
      rc = SPK_HOOK_RESPOND;
    } else {
      PyErr_Print();
      rc = SPK_EINVAL;
    }
  }
  Py_XDECREF(out);
  if (r) {
    if (rc != SPK_HOOK_ASYNC) {
      r->req = NULL;
      r->res = NULL;
      r->owned = 0;
    }
    Py_DECREF(r);
  }
  PyGILState_Release(g);
  return rc;
}

/* ------------------------------------------------------------------ dependencies */

/* One resolution in progress (spk_dep_t), handed to the Python factory entry, which resolves or
 * fails it now or later (from the asyncio thread). Resolving hands the core a new reference to
 * the value; py_dep_drop releases it. The request lent with it stays usable until then. */
typedef struct {
  PyObject_HEAD
  spk_dep_t *dep;
  ReqObject *req;
  int state; /* 0 pending, 1 resolved, 2 failed */
} DepObject;

static PyTypeObject DepType;

static void dep_settle(DepObject *d, int state) {
  d->state = state;
  d->dep = NULL;
  if (d->req) {
    d->req->req = NULL; /* the pipeline goes on: the request is no longer ours */
    Py_CLEAR(d->req);
  }
}

static PyObject *dep_resolve(DepObject *d, PyObject *value) {
  if (!d->dep) return PyErr_Format(PyExc_RuntimeError, "dependency already settled");
  spk_dep_t *dep = d->dep;
  Py_INCREF(value);
  dep_settle(d, 1);
  int rc;
  Py_BEGIN_ALLOW_THREADS
  rc = spk_dep_resolve(dep, value);
  Py_END_ALLOW_THREADS
  if (rc != 0) {
    Py_DECREF(value);
    return PyErr_Format(PyExc_RuntimeError, "resolve: %s", spk_strerror(rc));
  }
  Py_RETURN_NONE;
}

static PyObject *dep_fail(DepObject *d, PyObject *reason) {
  if (!d->dep) return PyErr_Format(PyExc_RuntimeError, "dependency already settled");
  const char *why = PyUnicode_AsUTF8(reason);
  if (!why) return NULL;
  spk_dep_t *dep = d->dep;
  PyObject *keep = reason; /* `why` points into it */
  Py_INCREF(keep);
  dep_settle(d, 2);
  Py_BEGIN_ALLOW_THREADS
  spk_dep_fail(dep, why);
  Py_END_ALLOW_THREADS
  Py_DECREF(keep);
  Py_RETURN_NONE;
}

static void dep_dealloc(DepObject *d) {
  if (d->dep) { /* dropped unsettled: the request would wait forever */
    PyObject *type, *value, *tb;
    PyErr_Fetch(&type, &value, &tb);
    spk_dep_t *dep = d->dep;
    dep_settle(d, 2);
    spk_dep_fail(dep, "dependency factory dropped its resolution");
    PyErr_Restore(type, value, tb);
  }
  Py_XDECREF(d->req);
  PyObject_Free(d);
}

static PyObject *dep_name(DepObject *d, void *c) {
  return d->dep ? PyUnicode_FromString(spk_dep_name(d->dep)) : PyUnicode_FromString("");
}

static PyMethodDef dep_methods[] = {{"resolve", (PyCFunction)dep_resolve, METH_O, NULL},
                                    {"fail", (PyCFunction)dep_fail, METH_O, NULL},
                                    {NULL, NULL, 0, NULL}};
static PyGetSetDef dep_getset[] = {{"name", (getter)dep_name, NULL, NULL, NULL},
                                   {NULL, NULL, NULL, NULL, NULL}};

static PyTypeObject DepType = {
    PyVarObject_HEAD_INIT(NULL, 0).tp_name = "spikard._spikard.RawDependency",
    .tp_basicsize = sizeof(DepObject),
    .tp_dealloc = (destructor)dep_dealloc,
    .tp_flags = Py_TPFLAGS_DEFAULT,
    .tp_doc = "A dependency resolution in progress.",
    .tp_methods = dep_methods,
    .tp_getset = dep_getset,
};

/* The factory entry is called as entry(request, resolution). It resolves synchronously (done),
 * or later from any thread (async); an exception fails the resolution (503). */
static int py_dep_factory(spk_req_t *req, spk_dep_t *dep, void *user_data) {
  PyGILState_STATE g = gil_ensure();
  ReqObject *r = req_new(req, NULL);
  DepObject *d = r ? PyObject_New(DepObject, &DepType) : NULL;
  int rc = SPK_DEP_ASYNC;
  if (!d) {
    Py_XDECREF(r);
    PyErr_Clear();
    spk_dep_fail(dep, "out of memory");
  } else {
    d->dep = dep;
    d->req = r; /* owns the reference */
    d->state = 0;
    PyObject *out = PyObject_CallFunctionObjArgs((PyObject *)user_data, (PyObject *)r,
                                                 (PyObject *)d, NULL);
    if (!out) {
      PyErr_Print();
      if (d->dep) {
        spk_dep_t *x = d->dep;
        dep_settle(d, 2);
        spk_dep_fail(x, "dependency factory raised");
      }
    }
    Py_XDECREF(out);
    if (d->state == 1) rc = SPK_DEP_DONE;
    Py_DECREF(d);
  }
  PyGILState_Release(g);
  return rc;
}

/* Cleanup after the response (request/transient values) or with the app (singletons, plain
 * values): drop_data, when set, is a Python callable given the value first. */
static void py_dep_drop(void *value, void *drop_data) {
  PyGILState_STATE g = gil_ensure();
  if (drop_data) {
    PyObject *out = PyObject_CallOneArg((PyObject *)drop_data, (PyObject *)value);
    if (!out) PyErr_Print();
    Py_XDECREF(out);
  }
  Py_XDECREF((PyObject *)value);
  PyGILState_Release(g);
}

/* NULL-terminated UTF-8 names of a sequence of str (borrowed from the str objects, which
 * `keep` holds). *out NULL for None. */
static int names_of(PyObject *seq_in, PyObject *keep, const char ***out) {
  *out = NULL;
  if (seq_in == Py_None) return 0;
  PyObject *seq = PySequence_Fast(seq_in, "expected a sequence of names");
  if (!seq) return -1;
  Py_ssize_t n = PySequence_Fast_GET_SIZE(seq);
  const char **names = PyMem_Calloc((size_t)n + 1, sizeof(char *));
  if (!names) {
    Py_DECREF(seq);
    PyErr_NoMemory();
    return -1;
  }
  for (Py_ssize_t i = 0; i < n; i++) {
    names[i] = PyUnicode_AsUTF8(PySequence_Fast_GET_ITEM(seq, i));
    if (!names[i]) {
      PyMem_Free(names);
      Py_DECREF(seq);
      return -1;
    }
  }
  if (PyList_Append(keep, seq) != 0) {
    PyMem_Free(names);
    Py_DECREF(seq);
    return -1;
  }
  Py_DECREF(seq);
  *out = names;
  return 0;
}

/* ------------------------------------------------------------------ App */

typedef struct {
  PyObject_HEAD
  spk_app_t *app;
  PyObject *keep; /* callables the core points at: alive as long as the app */
} AppObject;

static int dep_def_from(AppObject *self, PyObject *t, spk_dep_def_t *d, const char ***names);

static int app_init(AppObject *self, PyObject *args, PyObject *kw) {
  if (self->app) return 0;
  self->app = spk_app_new();
  self->keep = PyList_New(0);
  if (!self->app || !self->keep) {
    PyErr_NoMemory();
    return -1;
  }
  return 0;
}

static void app_dealloc(AppObject *self) {
  if (self->app) {
    spk_app_t *app = self->app;
    /* The drain waits for background tasks, which need the GIL to finish. */
    Py_BEGIN_ALLOW_THREADS
    spk_app_free(app);
    Py_END_ALLOW_THREADS
  }
  Py_XDECREF(self->keep);
  Py_TYPE(self)->tp_free((PyObject *)self);
}

static PyObject *app_error(AppObject *self, int rc) {
  const char *why = spk_app_last_error(self->app);
  PyErr_Format(PyExc_ValueError, "%s%s%s", spk_strerror(rc), why && *why ? ": " : "",
               why ? why : "");
  return NULL;
}

#include "_realtime.inc.c"

static PyObject *app_route(AppObject *self, PyObject *args, PyObject *kw) {
  static char *kwlist[] = {"method",         "pattern",    "handler",         "parameters",
                           "body_schema",    "response_schema", "middleware",  "max_body_bytes",
                           "dependencies",   "overrides",       NULL};
  const char *method, *pattern, *params = NULL, *body = NULL, *resp = NULL, *mw = NULL;
  PyObject *handler, *deps = Py_None, *over = Py_None;
  Py_ssize_t max_body = 0;
  if (!PyArg_ParseTupleAndKeywords(args, kw, "ssO|zzzznOO", kwlist, &method, &pattern, &handler,
                                   &params, &body, &resp, &mw, &max_body, &deps, &over))
    return NULL;
  if (!PyCallable_Check(handler)) return PyErr_Format(PyExc_TypeError, "handler not callable");
  if (PyList_Append(self->keep, handler) != 0) return NULL;
  spk_route_options_t o;
  memset(&o, 0, sizeof o);
  o.parameters = params;
  o.body_schema = body;
  o.response_schema = resp;
  o.middleware = mw;
  o.max_body_bytes = max_body > 0 ? (size_t)max_body : 0;
  const char **names = NULL;
  if (names_of(deps, self->keep, &names) != 0) return NULL;
  o.dependencies = names;
  /* Route-level providers: copied by the core at registration. */
  Py_ssize_t nover = over == Py_None ? 0 : PySequence_Size(over);
  spk_dep_def_t *defs = nover > 0 ? PyMem_Calloc((size_t)nover, sizeof *defs) : NULL;
  const char ***dnames = nover > 0 ? PyMem_Calloc((size_t)nover, sizeof *dnames) : NULL;
  int rc = 0;
  if (nover < 0 || (nover > 0 && (!defs || !dnames))) {
    if (!PyErr_Occurred()) PyErr_NoMemory();
    rc = -1;
  }
  for (Py_ssize_t i = 0; rc == 0 && i < nover; i++) {
    PyObject *t = PySequence_GetItem(over, i);
    if (!t || dep_def_from(self, t, &defs[i], &dnames[i]) != 0) rc = -1;
    Py_XDECREF(t);
  }
  if (rc == 0) {
    o.overrides = defs;
    o.override_count = (size_t)(nover > 0 ? nover : 0);
    int any = params || body || resp || mw || max_body > 0 || names || nover > 0;
    rc = any ? spk_app_route_ex(self->app, method, pattern, py_handler, handler, &o)
             : spk_app_route(self->app, method, pattern, py_handler, handler);
  }
  for (Py_ssize_t i = 0; dnames && i < nover; i++) PyMem_Free(dnames[i]);
  PyMem_Free(dnames);
  PyMem_Free(defs);
  PyMem_Free(names);
  if (rc == -1 && PyErr_Occurred()) return NULL;
  if (rc != 0) return app_error(self, rc);
  Py_RETURN_NONE;
}

/* A provider from (name, factory, value, depends_on, scope, drop): factory None → the plain
 * `value` (the core gets a reference, released with the app). Strings stay owned by `keep`;
 * *names (depends_on) must be PyMem_Free'd. */
static int dep_def_from(AppObject *self, PyObject *t, spk_dep_def_t *d, const char ***names) {
  const char *name;
  PyObject *factory, *value, *deps, *drop;
  int scope;
  *names = NULL;
  if (!PyArg_ParseTuple(t, "sOOOiO", &name, &factory, &value, &deps, &scope, &drop)) return -1;
  if (PyList_Append(self->keep, t) != 0) return -1; /* keeps `name` alive */
  memset(d, 0, sizeof *d);
  d->name = name;
  d->scope = (spk_dep_scope_t)scope;
  d->drop = py_dep_drop;
  if (factory != Py_None) {
    d->factory = py_dep_factory;
    d->user_data = factory; /* alive through `t` */
  } else {
    Py_INCREF(value); /* the core's reference, released by py_dep_drop */
    d->value = value;
  }
  if (drop != Py_None) d->drop_data = drop;
  if (names_of(deps, self->keep, names) != 0) {
    if (factory == Py_None) Py_DECREF(value);
    return -1;
  }
  d->depends_on = *names;
  return 0;
}

/* provide((name, factory, value, depends_on, scope, drop)) */
static PyObject *app_provide(AppObject *self, PyObject *t) {
  spk_dep_def_t d;
  const char **names;
  if (dep_def_from(self, t, &d, &names) != 0) return NULL;
  int rc = spk_app_provide(self->app, &d);
  PyMem_Free(names);
  if (rc != 0) {
    if (!d.factory) Py_DECREF((PyObject *)d.value);
    return app_error(self, rc);
  }
  Py_RETURN_NONE;
}

static PyObject *app_add_hook(AppObject *self, PyObject *args) {
  int phase;
  PyObject *fn, *deps = Py_None;
  if (!PyArg_ParseTuple(args, "iO|O", &phase, &fn, &deps)) return NULL;
  if (PyList_Append(self->keep, fn) != 0) return NULL;
  const char **names = NULL;
  if (names_of(deps, self->keep, &names) != 0) return NULL;
  int rc = spk_app_add_hook_ex(self->app, (spk_hook_phase_t)phase, py_hook, fn, names);
  PyMem_Free(names);
  if (rc != 0) return app_error(self, rc);
  Py_RETURN_NONE;
}

static PyObject *app_configure(AppObject *self, PyObject *arg) {
  const char *json = PyUnicode_AsUTF8(arg);
  if (!json) return NULL;
  int rc = spk_app_configure(self->app, json);
  if (rc != 0) return app_error(self, rc);
  Py_RETURN_NONE;
}

static PyObject *app_set_limits(AppObject *self, PyObject *args, PyObject *kw) {
  static char *kwlist[] = {"max_request_line", "max_header_count", "max_header_bytes",
                           "max_body_bytes", NULL};
  spk_limits_t l = *spk_app_limits(self->app);
  Py_ssize_t a = (Py_ssize_t)l.max_request_line, b = (Py_ssize_t)l.max_header_count,
             c = (Py_ssize_t)l.max_header_bytes, d = (Py_ssize_t)l.max_body_bytes;
  if (!PyArg_ParseTupleAndKeywords(args, kw, "|nnnn", kwlist, &a, &b, &c, &d)) return NULL;
  l.max_request_line = (size_t)a;
  l.max_header_count = (size_t)b;
  l.max_header_bytes = (size_t)c;
  l.max_body_bytes = (size_t)d;
  int rc = spk_app_set_limits(self->app, &l);
  if (rc != 0) return app_error(self, rc);
  Py_RETURN_NONE;
}

static PyObject *app_spawn(AppObject *self, PyObject *fn) {
  Py_INCREF(fn);
  return spawn_result(spk_app_bg_spawn(self->app, py_bg_run, fn, py_bg_free), fn);
}

static PyObject *app_bg_wait(AppObject *self, PyObject *arg) {
  unsigned long ms = PyLong_AsUnsignedLong(arg);
  if (PyErr_Occurred()) return NULL;
  int rc;
  spk_app_t *app = self->app;
  Py_BEGIN_ALLOW_THREADS
  rc = spk_app_bg_wait(app, (uint32_t)ms);
  Py_END_ALLOW_THREADS
  return PyBool_FromLong(rc == 0);
}

static PyObject *app_freeze(AppObject *self, PyObject *unused) {
  int rc = spk_app_freeze(self->app);
  if (rc != 0) return app_error(self, rc);
  Py_RETURN_NONE;
}

static PyObject *app_frozen(AppObject *self, void *c) {
  return PyBool_FromLong(spk_app_is_frozen(self->app));
}

static PyMethodDef app_methods[] = {
    {"route", (PyCFunction)(void (*)(void))app_route, METH_VARARGS | METH_KEYWORDS, NULL},
    {"add_hook", (PyCFunction)app_add_hook, METH_VARARGS, NULL},
    {"provide", (PyCFunction)app_provide, METH_O, NULL},
    {"websocket", (PyCFunction)(void (*)(void))app_websocket, METH_VARARGS | METH_KEYWORDS, NULL},
    {"configure", (PyCFunction)app_configure, METH_O, NULL},
    {"set_limits", (PyCFunction)(void (*)(void))app_set_limits, METH_VARARGS | METH_KEYWORDS,
     NULL},
    {"freeze", (PyCFunction)app_freeze, METH_NOARGS, NULL},
    {"spawn", (PyCFunction)app_spawn, METH_O, NULL},
    {"bg_wait", (PyCFunction)app_bg_wait, METH_O, NULL},
    {NULL, NULL, 0, NULL}};

static PyGetSetDef app_getset[] = {{"frozen", (getter)app_frozen, NULL, NULL, NULL},
                                   {NULL, NULL, NULL, NULL, NULL}};

static PyTypeObject AppType = {
    PyVarObject_HEAD_INIT(NULL, 0).tp_name = "spikard._spikard.RawApp",
    .tp_basicsize = sizeof(AppObject),
    .tp_dealloc = (destructor)app_dealloc,
    .tp_flags = Py_TPFLAGS_DEFAULT | Py_TPFLAGS_BASETYPE,
    .tp_doc = "The core's app: routes, hooks and configuration.",
    .tp_methods = app_methods,
    .tp_getset = app_getset,
    .tp_init = (initproc)app_init,
    .tp_new = PyType_GenericNew,
};

/* ------------------------------------------------------------------ TestClient */

typedef struct {
  PyObject_HEAD
  spk_test_client_t *tc;
  AppObject *app;
} TcObject;

static int tc_init(TcObject *self, PyObject *args, PyObject *kw) {
  AppObject *app;
  if (self->tc) return 0;
  if (!PyArg_ParseTuple(args, "O!", &AppType, &app)) return -1;
  int rc = spk_app_freeze(app->app);
  if (rc != 0) {
    app_error(app, rc);
    return -1;
  }
  self->tc = spk_test_client_new(app->app);
  if (!self->tc) {
    PyErr_NoMemory();
    return -1;
  }
  Py_INCREF(app);
  self->app = app;
  return 0;
}

static void tc_dealloc(TcObject *self) {
  if (self->tc) {
    spk_test_client_t *tc = self->tc;
    Py_BEGIN_ALLOW_THREADS
    spk_test_client_free(tc);
    Py_END_ALLOW_THREADS
  }
  Py_XDECREF(self->app);
  Py_TYPE(self)->tp_free((PyObject *)self);
}

static PyObject *response_tuple(spk_test_response_t *out) {
  PyObject *hs = PyList_New((Py_ssize_t)out->header_count);
  if (!hs) return NULL;
  for (size_t i = 0; i < out->header_count; i++) {
    PyObject *t = Py_BuildValue("(ss)", out->headers[i].name, out->headers[i].value);
    if (!t) {
      Py_DECREF(hs);
      return NULL;
    }
    PyList_SET_ITEM(hs, (Py_ssize_t)i, t);
  }
  PyObject *chunks = PyList_New((Py_ssize_t)out->chunk_count);
  if (!chunks) {
    Py_DECREF(hs);
    return NULL;
  }
  for (size_t i = 0; i < out->chunk_count; i++)
    PyList_SET_ITEM(chunks, (Py_ssize_t)i, PyLong_FromSize_t(out->chunk_sizes[i]));
  return Py_BuildValue("(iNy#Ni)", out->status, hs, out->body, (Py_ssize_t)out->body_len, chunks,
                       out->incomplete);
}

/* [(name, value)] → test headers (pointing into *seq; free hs with PyMem_Free, DECREF seq). */
static int test_headers(PyObject *headers, PyObject **seq, spk_test_header_t **hs,
                        Py_ssize_t *n) {
  if (headers == Py_None) return 0;
  *seq = PySequence_Fast(headers, "headers must be a sequence of (name, value)");
  if (!*seq) return -1;
  *n = PySequence_Fast_GET_SIZE(*seq);
  *hs = PyMem_Calloc((size_t)*n + 1, sizeof **hs);
  if (!*hs) {
    PyErr_NoMemory();
    return -1;
  }
  for (Py_ssize_t i = 0; i < *n; i++) {
    PyObject *pair = PySequence_Fast_GET_ITEM(*seq, i);
    if (!PyTuple_Check(pair) || PyTuple_GET_SIZE(pair) != 2) {
      PyErr_SetString(PyExc_TypeError, "a header must be a (name, value) tuple");
      return -1;
    }
    (*hs)[i].name = PyUnicode_AsUTF8(PyTuple_GET_ITEM(pair, 0));
    (*hs)[i].value = (*hs)[i].name ? PyUnicode_AsUTF8(PyTuple_GET_ITEM(pair, 1)) : NULL;
    if (!(*hs)[i].value) return -1;
  }
  return 0;
}

/* request(method, target, headers=[(name, value)], body=b"", chunked=False)
 *   → (status, [(name, value)], body bytes) */
static PyObject *tc_request(TcObject *self, PyObject *args, PyObject *kw) {
  static char *kwlist[] = {"method", "target", "headers", "body", "chunked", NULL};
  const char *method, *target;
  PyObject *headers = Py_None;
  Py_buffer body = {0};
  int chunked = 0;
  if (!PyArg_ParseTupleAndKeywords(args, kw, "ss|Oy*p", kwlist, &method, &target, &headers,
                                   &body, &chunked))
    return NULL;
  PyObject *seq = NULL;
  spk_test_header_t *hs = NULL;
  Py_ssize_t n = 0;
  PyObject *result = NULL;
  if (test_headers(headers, &seq, &hs, &n) != 0) goto done;
  spk_test_request_t rq = {method, target, hs, (size_t)n, body.buf, (size_t)body.len, chunked};
  spk_test_response_t out;
  memset(&out, 0, sizeof out);
  int rc;
  spk_test_client_t *tc = self->tc;
  /* Handlers need the GIL, possibly on the asyncio thread: never hold it while waiting. */
  Py_BEGIN_ALLOW_THREADS
  rc = spk_test_client_send(tc, &rq, &out);
  Py_END_ALLOW_THREADS
  if (rc != 0) {
    PyErr_Format(PyExc_RuntimeError, "test client: %s", spk_strerror(rc));
    goto done;
  }
  result = response_tuple(&out);
  spk_test_response_free(&out);
done:
  PyMem_Free(hs);
  Py_XDECREF(seq);
  if (body.obj) PyBuffer_Release(&body);
  return result;
}

static PyObject *tc_request_raw(TcObject *self, PyObject *arg) {
  Py_buffer raw;
  if (!PyArg_Parse(arg, "y*", &raw)) return NULL;
  spk_test_response_t out;
  memset(&out, 0, sizeof out);
  int rc;
  spk_test_client_t *tc = self->tc;
  Py_BEGIN_ALLOW_THREADS
  rc = spk_test_client_send_raw(tc, raw.buf, (size_t)raw.len, &out);
  Py_END_ALLOW_THREADS
  PyBuffer_Release(&raw);
  if (rc != 0) return PyErr_Format(PyExc_RuntimeError, "test client: %s", spk_strerror(rc));
  PyObject *result = response_tuple(&out);
  spk_test_response_free(&out);
  return result;
}

static PyObject *tc_drain(TcObject *self, PyObject *arg) {
  unsigned long ms = PyLong_AsUnsignedLong(arg);
  if (PyErr_Occurred()) return NULL;
  int rc;
  spk_test_client_t *tc = self->tc;
  Py_BEGIN_ALLOW_THREADS
  rc = spk_test_client_drain(tc, (uint32_t)ms);
  Py_END_ALLOW_THREADS
  return PyBool_FromLong(rc == 0);
}

static PyObject *ws_pair(TcObject *self, spk_test_response_t *out, spk_test_ws_t *ws);

/* websocket(target, headers) → (status, headers, body, chunks, incomplete, RawTestWebSocket or
 * None): the upgrade through the pipeline; a socket only on a 101. */
static PyObject *tc_websocket(TcObject *self, PyObject *args) {
  const char *target;
  PyObject *headers = Py_None, *seq = NULL, *result = NULL;
  if (!PyArg_ParseTuple(args, "s|O", &target, &headers)) return NULL;
  spk_test_header_t *hs = NULL;
  Py_ssize_t n = 0;
  if (test_headers(headers, &seq, &hs, &n) != 0) goto done;
  spk_test_request_t rq = {"GET", target, hs, (size_t)n, NULL, 0, 0};
  spk_test_response_t out;
  memset(&out, 0, sizeof out);
  spk_test_ws_t *ws = NULL;
  spk_test_client_t *tc = self->tc;
  int rc;
  Py_BEGIN_ALLOW_THREADS
  rc = spk_test_ws_connect(tc, &rq, &ws, &out);
  Py_END_ALLOW_THREADS
  if (rc != 0) {
    PyErr_Format(PyExc_RuntimeError, "test client: %s", spk_strerror(rc));
    goto done;
  }
  result = ws_pair(self, &out, ws);
done:
  PyMem_Free(hs);
  Py_XDECREF(seq);
  return result;
}

/* websocket_raw(bytes): the same with the upgrade request as raw HTTP/1.1 bytes. */
static PyObject *tc_websocket_raw(TcObject *self, PyObject *arg) {
  Py_buffer raw;
  if (!PyArg_Parse(arg, "y*", &raw)) return NULL;
  spk_test_response_t out;
  memset(&out, 0, sizeof out);
  spk_test_ws_t *ws = NULL;
  spk_test_client_t *tc = self->tc;
  int rc;
  Py_BEGIN_ALLOW_THREADS
  rc = spk_test_ws_connect_raw(tc, raw.buf, (size_t)raw.len, &ws, &out);
  Py_END_ALLOW_THREADS
  PyBuffer_Release(&raw);
  if (rc != 0) return PyErr_Format(PyExc_RuntimeError, "test client: %s", spk_strerror(rc));
  return ws_pair(self, &out, ws);
}

/* (response tuple, RawTestWebSocket or None); frees `out`, owns `ws`. */
static PyObject *ws_pair(TcObject *self, spk_test_response_t *out, spk_test_ws_t *ws) {
  PyObject *result = NULL;
  PyObject *resp = response_tuple(out);
  spk_test_response_free(out);
  TwsObject *t = NULL;
  if (ws) {
    t = PyObject_New(TwsObject, &TwsType);
    if (!t) {
      spk_test_ws_free(ws);
    } else {
      t->ws = ws;
      t->client = (PyObject *)self;
      Py_INCREF(self);
    }
  }
  if (resp && (t || !ws))
    result = Py_BuildValue("(NO)", resp, t ? (PyObject *)t : Py_None);
  else
    Py_XDECREF(resp);
  Py_XDECREF(t);
  return result;
}

static PyMethodDef tc_methods[] = {
    {"websocket", (PyCFunction)tc_websocket, METH_VARARGS, NULL},
    {"websocket_raw", (PyCFunction)tc_websocket_raw, METH_O, NULL},
    {"request", (PyCFunction)(void (*)(void))tc_request, METH_VARARGS | METH_KEYWORDS, NULL},
    {"request_raw", (PyCFunction)tc_request_raw, METH_O, NULL},
    {"drain", (PyCFunction)tc_drain, METH_O, NULL},
    {NULL, NULL, 0, NULL}};

static PyTypeObject TcType = {
    PyVarObject_HEAD_INIT(NULL, 0).tp_name = "spikard._spikard.RawTestClient",
    .tp_basicsize = sizeof(TcObject),
    .tp_dealloc = (destructor)tc_dealloc,
    .tp_flags = Py_TPFLAGS_DEFAULT,
    .tp_doc = "The core's in-memory test client.",
    .tp_methods = tc_methods,
    .tp_init = (initproc)tc_init,
    .tp_new = PyType_GenericNew,
};

/* ------------------------------------------------------------------ Server */

typedef struct {
  PyObject_HEAD
  spk_server_t *srv;
  AppObject *app;
} SrvObject;

static int srv_init(SrvObject *self, PyObject *args, PyObject *kw) {
  static char *kwlist[] = {"app",     "host", "port", "workers", "shutdown_timeout_ms", "backlog",
                           "join_port_group", NULL};
  AppObject *app;
  spk_server_config_t cfg;
  spk_server_config_default(&cfg);
  const char *host = "127.0.0.1";
  int port = 8000, workers = 0, backlog = cfg.backlog, join = 0;
  unsigned int shutdown_ms = cfg.shutdown_timeout_ms;
  if (self->srv) return 0;
  if (!PyArg_ParseTupleAndKeywords(args, kw, "O!|siiIip", kwlist, &AppType, &app, &host, &port,
                                   &workers, &shutdown_ms, &backlog, &join))
    return -1;
  cfg.host = host;
  cfg.port = port;
  cfg.workers = workers;
  cfg.backlog = backlog;
  cfg.shutdown_timeout_ms = shutdown_ms;
  cfg.handle_signals = 0; /* Python owns SIGINT: Ctrl-C arrives as KeyboardInterrupt */
  cfg.join_port_group = join;
  spk_server_t *srv = NULL;
  int rc = spk_server_new(&srv, app->app, &cfg);
  if (rc != 0) {
    const char *why = spk_app_last_error(app->app);
    PyErr_Format(PyExc_OSError, "cannot serve on %s:%d: %s%s%s", host, port, spk_strerror(rc),
                 why && *why ? ": " : "", why ? why : "");
    return -1;
  }
  self->srv = srv;
  Py_INCREF(app);
  self->app = app;
  return 0;
}

static PyObject *srv_port(SrvObject *self, void *c) {
  return PyLong_FromLong(self->srv ? spk_server_port(self->srv) : 0);
}

static PyObject *srv_start(SrvObject *self, PyObject *unused) {
  if (!self->srv) return PyErr_Format(PyExc_RuntimeError, "server closed");
  int rc = spk_server_start(self->srv);
  if (rc != 0) return PyErr_Format(PyExc_RuntimeError, "start: %s", spk_strerror(rc));
  Py_RETURN_NONE;
}

static PyObject *srv_stop(SrvObject *self, PyObject *unused) {
  if (self->srv) spk_server_stop(self->srv);
  Py_RETURN_NONE;
}

static PyObject *srv_wait(SrvObject *self, PyObject *unused) {
  if (!self->srv) Py_RETURN_NONE;
  spk_server_t *srv = self->srv;
  Py_BEGIN_ALLOW_THREADS
  spk_server_wait(srv);
  Py_END_ALLOW_THREADS
  Py_RETURN_NONE;
}

static void srv_free(SrvObject *self) {
  spk_server_t *srv = self->srv;
  self->srv = NULL;
  if (!srv) return;
  Py_BEGIN_ALLOW_THREADS
  spk_server_free(srv);
  Py_END_ALLOW_THREADS
}

static PyObject *srv_close(SrvObject *self, PyObject *unused) {
  srv_free(self);
  Py_RETURN_NONE;
}

static void srv_dealloc(SrvObject *self) {
  srv_free(self);
  Py_XDECREF(self->app);
  Py_TYPE(self)->tp_free((PyObject *)self);
}

static PyMethodDef srv_methods[] = {{"start", (PyCFunction)srv_start, METH_NOARGS, NULL},
                                    {"stop", (PyCFunction)srv_stop, METH_NOARGS, NULL},
                                    {"wait", (PyCFunction)srv_wait, METH_NOARGS, NULL},
                                    {"close", (PyCFunction)srv_close, METH_NOARGS, NULL},
                                    {NULL, NULL, 0, NULL}};

static PyGetSetDef srv_getset[] = {{"port", (getter)srv_port, NULL, NULL, NULL},
                                   {NULL, NULL, NULL, NULL, NULL}};

static PyTypeObject SrvType = {
    PyVarObject_HEAD_INIT(NULL, 0).tp_name = "spikard._spikard.RawServer",
    .tp_basicsize = sizeof(SrvObject),
    .tp_dealloc = (destructor)srv_dealloc,
    .tp_flags = Py_TPFLAGS_DEFAULT,
    .tp_doc = "The core's libuv server.",
    .tp_methods = srv_methods,
    .tp_getset = srv_getset,
    .tp_init = (initproc)srv_init,
    .tp_new = PyType_GenericNew,
};

/* ------------------------------------------------------------------ module */

static PyObject *mod_version(PyObject *m, PyObject *unused) {
  return PyUnicode_FromString(spk_version());
}

static PyMethodDef mod_methods[] = {{"core_version", mod_version, METH_NOARGS, NULL},
                                    {NULL, NULL, 0, NULL}};

static struct PyModuleDef moddef = {PyModuleDef_HEAD_INIT, "_spikard",
                                    "Spikard core binding (internal).", -1, mod_methods,
                                    NULL, NULL, NULL, NULL};

PyMODINIT_FUNC PyInit__spikard(void);
PyMODINIT_FUNC PyInit__spikard(void) {
  PyTypeObject *types[] = {&ReqType,    &AppType, &TcType,  &SrvType, &DepType,
                           &StreamType, &WsType,  &TwsType, &HsType};
  const char *names[] = {"RawRequest", "RawApp",       "RawTestClient",    "RawServer",
                         "RawDependency", "RawStream", "RawWebSocket", "RawTestWebSocket",
                         "RawHandshake"};
  const size_t ntypes = sizeof(types) / sizeof(types[0]);
  for (size_t i = 0; i < ntypes; i++)
    if (PyType_Ready(types[i]) < 0) return NULL;
  if (pthread_key_create(&core_ts_key, core_ts_drop) != 0) return PyErr_NoMemory();
  PyObject *m = PyModule_Create(&moddef);
  if (!m) return NULL;
  for (size_t i = 0; i < ntypes; i++) {
    Py_INCREF(types[i]);
    if (PyModule_AddObject(m, names[i], (PyObject *)types[i]) < 0) {
      Py_DECREF(types[i]);
      Py_DECREF(m);
      return NULL;
    }
  }
  static const char *phases[] = {"HOOK_ON_REQUEST", "HOOK_PRE_VALIDATION", "HOOK_PRE_HANDLER",
                                 "HOOK_ON_RESPONSE", "HOOK_ON_ERROR"};
  for (int i = 0; i < 5; i++) PyModule_AddIntConstant(m, phases[i], i);
  QueueFullError = PyErr_NewException("spikard._spikard.QueueFull", PyExc_RuntimeError, NULL);
  if (!QueueFullError || PyModule_AddObject(m, "QueueFull", QueueFullError) < 0) {
    Py_XDECREF(QueueFullError);
    Py_DECREF(m);
    return NULL;
  }
  Py_INCREF(QueueFullError); /* the module's reference and ours */
  PyModule_AddIntConstant(m, "EQUEUEFULL", SPK_EQUEUEFULL);
  PyModule_AddIntConstant(m, "DEP_REQUEST", SPK_DEP_REQUEST);
  PyModule_AddIntConstant(m, "DEP_SINGLETON", SPK_DEP_SINGLETON);
  PyModule_AddIntConstant(m, "DEP_TRANSIENT", SPK_DEP_TRANSIENT);
  PyModule_AddIntConstant(m, "STREAM_MORE", SPK_STREAM_MORE);
  PyModule_AddIntConstant(m, "STREAM_PAUSE", SPK_STREAM_PAUSE);
  PyModule_AddIntConstant(m, "STREAM_END", SPK_STREAM_END);
  PyModule_AddIntConstant(m, "EAGAIN", SPK_EAGAIN);
  PyModule_AddIntConstant(m, "ECLOSED", SPK_ECLOSED);
  PyModule_AddIntConstant(m, "ESTATE", SPK_ESTATE);
  PyModule_AddIntConstant(m, "EIO", SPK_EIO);
  return m;
}
