"""curl as a real client: connection reuse, chunked upload, Expect: 100-continue, HTTP/1.0."""
import os
import shutil
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from bbutil import Server, SkipTest, check, eq, run_tests  # noqa: E402


def curl(*args, stdin=None, timeout=20):
    if not shutil.which("curl"):
        raise SkipTest("curl not installed")
    p = subprocess.run(["curl", "-sS", "--max-time", "10"] + list(args), input=stdin,
                       capture_output=True, timeout=timeout)
    return p.returncode, p.stdout, p.stderr.decode(errors="replace")


def test_keepalive_reuse_two_urls():
    with Server() as srv:
        base = "http://127.0.0.1:%d" % srv.port
        rc, out, err = curl("-v", base + "/hello", base + "/json")
        eq(rc, 0, err)
        eq(out, b'hello{"message":"Hello, World!"}')
        check("Re-using existing connection" in err or "Reusing existing connection" in err,
              "curl did not reuse the connection:\n" + err)
        eq(err.count("Connected to"), 1, "connections opened")


def test_chunked_upload_stdin():
    body = b"line\n" * 5000
    with Server() as srv:
        rc, out, err = curl("-v", "-H", "Transfer-Encoding: chunked", "-H",
                            "Content-Type: text/plain", "--data-binary", "@-",
                            "http://127.0.0.1:%d/echo" % srv.port, stdin=body)
        eq(rc, 0, err)
        check("Transfer-Encoding: chunked" in err, "curl did not send chunked")
        check(out == body, "echo differs (%d bytes)" % len(out))


def test_expect_100_continue():
    body = b"e" * 5000
    with Server() as srv:
        rc, out, err = curl("-v", "-H", "Expect: 100-continue", "--expect100-timeout", "5",
                            "--data-binary", "@-", "http://127.0.0.1:%d/echo" % srv.port,
                            stdin=body)
        eq(rc, 0, err)
        check("HTTP/1.1 100 Continue" in err, "no interim response:\n" + err)
        check(out == body, "echo differs")


def test_http10():
    with Server() as srv:
        rc, out, err = curl("-v", "--http1.0", "http://127.0.0.1:%d/users/12" % srv.port)
        eq(rc, 0, err)
        eq(out, b"12")
        check("HTTP/1.0 200" in err or "HTTP/1.1 200" in err, err)


def test_404_and_405():
    with Server() as srv:
        rc, out, err = curl("-o", "/dev/null", "-w", "%{http_code}",
                            "http://127.0.0.1:%d/nope" % srv.port)
        eq(out, b"404")
        rc, out, err = curl("-o", "/dev/null", "-w", "%{http_code}", "-X", "DELETE",
                            "http://127.0.0.1:%d/hello" % srv.port)
        eq(out, b"405")


def test_many_requests_one_connection():
    with Server() as srv:
        urls = ["http://127.0.0.1:%d/users/%d" % (srv.port, i) for i in range(50)]
        rc, out, err = curl("-v", *urls)
        eq(rc, 0, err)
        eq(out, b"".join(str(i).encode() for i in range(50)))
        eq(err.count("Connected to"), 1, "connections opened")


if __name__ == "__main__":
    run_tests(globals())
