"""Shared helpers for the black-box tests (python3 stdlib only).

Each test module defines functions named test_*; run_tests(globals()) runs them in order, prints
one line per test and a one-line summary, and exits nonzero on any failure. Every server is
started on an ephemeral port and killed in a finally block; every socket has a timeout.
"""
import os
import select
import signal
import socket
import subprocess
import sys
import time
import traceback

DEFAULT_TIMEOUT = 5.0


def server_binary():
    path = os.environ.get("SPK_TEST_SERVER")
    if not path:
        here = os.path.dirname(os.path.abspath(__file__))
        for cand in ("build-io", "build", "build-io-asan"):
            p = os.path.join(here, "..", "..", cand, "tests", "spk-test-server")
            if os.path.exists(p):
                return p
        raise RuntimeError("SPK_TEST_SERVER is not set")
    return path


class Server:
    """spk-test-server in a subprocess; use as a context manager."""

    def __init__(self, *args, workers=None, binary=None, preexec_fn=None):
        self.args = [str(a) for a in args]
        if workers is not None:
            self.args += ["--workers", str(workers)]
        self.binary = binary or server_binary()
        self.proc = None
        self.port = None
        self.stderr_path = None
        self.preexec_fn = preexec_fn

    def start(self, timeout=10.0):
        import tempfile
        fd, self.stderr_path = tempfile.mkstemp(prefix="spk-bb-", suffix=".err")
        errf = os.fdopen(fd, "w")
        self.proc = subprocess.Popen([self.binary] + self.args, stdout=subprocess.PIPE,
                                     stderr=errf, stdin=subprocess.DEVNULL,
                                     preexec_fn=self.preexec_fn)
        errf.close()
        deadline = time.monotonic() + timeout
        line = b""
        while time.monotonic() < deadline:
            r, _, _ = select.select([self.proc.stdout], [], [], 0.1)
            if r:
                ch = os.read(self.proc.stdout.fileno(), 1)
                if not ch:
                    break
                if ch == b"\n":
                    break
                line += ch
            elif self.proc.poll() is not None:
                break
        text = line.decode(errors="replace").strip()
        if not text.startswith("PORT "):
            self.kill()
            raise RuntimeError("server did not report its port (got %r); stderr: %s"
                               % (text, self.stderr_text()))
        self.port = int(text.split()[1])
        return self

    def stderr_text(self):
        try:
            with open(self.stderr_path, errors="replace") as f:
                return f.read()[-4000:]
        except Exception:
            return ""

    def signal(self, sig=signal.SIGTERM):
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(sig)

    def wait(self, timeout):
        try:
            return self.proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            return None

    def kill(self):
        """SIGTERM (graceful), then SIGKILL after 5s. Returns the exit status."""
        if self.proc is None:
            return None
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=5)
                self.killed = True
        if self.proc.stdout:
            self.proc.stdout.close()
        return self.proc.returncode

    def cleanup(self):
        """Stop the server and fail when it did not exit cleanly (status 0 after SIGTERM, no
        sanitizer report: LeakSanitizer runs at exit in the sanitizer build)."""
        rc = self.kill()
        err = self.stderr_text()
        if self.stderr_path:
            try:
                os.unlink(self.stderr_path)
            except OSError:
                pass
            self.stderr_path = None
        if rc is None:
            return
        markers = ("ERROR: AddressSanitizer", "ERROR: LeakSanitizer", "runtime error:",
                   "WARNING: ThreadSanitizer")
        if any(m in err for m in markers):
            raise AssertionError("sanitizer report from the server:\n" + err)
        if getattr(self, "killed", False):
            raise AssertionError("server ignored SIGTERM for 5s; stderr:\n" + err)
        if rc != 0:
            raise AssertionError("server exited with %r; stderr:\n%s" % (rc, err))

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.cleanup()
        return False

    def connect(self, timeout=DEFAULT_TIMEOUT):
        return connect(self.port, timeout)


def connect(port, timeout=DEFAULT_TIMEOUT, host="127.0.0.1"):
    s = socket.create_connection((host, port), timeout=timeout)
    s.settimeout(timeout)
    return s


class Response:
    def __init__(self, status, reason, version, headers, body):
        self.status = status
        self.reason = reason
        self.version = version
        self.headers = headers  # list of (lowercase name, value)
        self.body = body

    def header(self, name, default=None):
        name = name.lower()
        for k, v in self.headers:
            if k == name:
                return v
        return default

    def header_all(self, name):
        name = name.lower()
        return [v for k, v in self.headers if k == name]

    def __repr__(self):
        return "<Response %d %r %r>" % (self.status, self.headers, self.body[:200])


class Closed(Exception):
    pass


class Reader:
    """Reads HTTP/1.x responses from a socket, keeping leftovers for pipelining."""

    def __init__(self, sock):
        self.sock = sock
        self.buf = b""
        self.eof = False

    def _fill(self):
        if self.eof:
            raise Closed("connection closed")
        data = self.sock.recv(65536)
        if not data:
            self.eof = True
            raise Closed("connection closed")
        self.buf += data

    def _line(self):
        while b"\r\n" not in self.buf:
            if len(self.buf) > 1 << 20:
                raise ValueError("line too long")
            self._fill()
        line, self.buf = self.buf.split(b"\r\n", 1)
        return line

    def _exact(self, n):
        while len(self.buf) < n:
            self._fill()
        data, self.buf = self.buf[:n], self.buf[n:]
        return data

    def read_head(self):
        status_line = self._line()
        parts = status_line.decode("latin-1").split(" ", 2)
        if len(parts) < 2 or not parts[0].startswith("HTTP/1."):
            raise ValueError("bad status line %r" % status_line)
        headers = []
        while True:
            line = self._line()
            if not line:
                break
            k, _, v = line.decode("latin-1").partition(":")
            headers.append((k.strip().lower(), v.strip()))
        return parts[0], int(parts[1]), parts[2] if len(parts) > 2 else "", headers

    def read_response(self, method="GET", allow_interim=False):
        """Read one final response (interim 1xx responses are skipped unless allow_interim)."""
        while True:
            version, status, reason, headers = self.read_head()
            if 100 <= status < 200 and status != 101 and not allow_interim:
                continue
            resp = Response(status, reason, version, headers, b"")
            if method == "HEAD" or 100 <= status < 200 or status in (204, 304):
                return resp
            te = resp.header("transfer-encoding")
            cl = resp.header("content-length")
            if te and "chunked" in te.lower():
                body = b""
                while True:
                    size = int(self._line().split(b";")[0], 16)
                    if size == 0:
                        while self._line():
                            pass
                        break
                    body += self._exact(size)
                    self._exact(2)
                resp.body = body
            elif cl is not None:
                resp.body = self._exact(int(cl))
            else:
                # close-delimited
                try:
                    while True:
                        self._fill()
                except Closed:
                    pass
                resp.body, self.buf = self.buf, b""
            return resp

    def at_eof(self, timeout=2.0):
        """True when the peer closes (EOF or reset) within timeout with no further bytes."""
        if self.buf:
            return False
        old = self.sock.gettimeout()
        self.sock.settimeout(timeout)
        try:
            data = self.sock.recv(65536)
            if data:
                self.buf += data
                return False
            self.eof = True
            return True
        except ConnectionResetError:
            self.eof = True
            return True
        except socket.timeout:
            return False
        finally:
            self.sock.settimeout(old)


def request_bytes(method, target, headers=None, body=b"", version="HTTP/1.1", host=True):
    lines = ["%s %s %s" % (method, target, version)]
    hdrs = list(headers or [])
    if host and not any(k.lower() == "host" for k, _ in hdrs):
        lines.append("Host: localhost")
    for k, v in hdrs:
        lines.append("%s: %s" % (k, v))
    if body and not any(k.lower() in ("content-length", "transfer-encoding") for k, _ in hdrs):
        lines.append("Content-Length: %d" % len(body))
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + body


def roundtrip(port, raw, method="GET", timeout=DEFAULT_TIMEOUT):
    """Send raw bytes on a new connection, read one response."""
    with connect(port, timeout) as s:
        s.sendall(raw)
        return Reader(s).read_response(method)


def check(cond, msg="check failed"):
    if not cond:
        raise AssertionError(msg)


def eq(a, b, msg=""):
    if a != b:
        raise AssertionError("%s: %r != %r" % (msg or "mismatch", a, b))


def run_tests(namespace, only=None):
    name = os.path.splitext(os.path.basename(sys.argv[0]))[0]
    tests = [(k, v) for k, v in namespace.items() if k.startswith("test_") and callable(v)]
    if len(sys.argv) > 1:
        tests = [(k, v) for k, v in tests if k in sys.argv[1:]]
    failed = []
    skipped = []
    t0 = time.monotonic()
    for tname, fn in tests:
        start = time.monotonic()
        try:
            fn()
        except SkipTest as e:
            skipped.append(tname)
            print("SKIP %s: %s" % (tname, e), flush=True)
            continue
        except Exception:
            failed.append(tname)
            print("FAIL %s (%.2fs)" % (tname, time.monotonic() - start), flush=True)
            traceback.print_exc()
            continue
        print("ok   %s (%.2fs)" % (tname, time.monotonic() - start), flush=True)
    total = time.monotonic() - t0
    print("%s: %d passed, %d failed, %d skipped in %.1fs%s" % (
        name, len(tests) - len(failed) - len(skipped), len(failed), len(skipped), total,
        (" (" + ", ".join(failed) + ")") if failed else ""), flush=True)
    sys.exit(1 if failed else 0)


class SkipTest(Exception):
    pass
