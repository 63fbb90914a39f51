"""Request smuggling: ambiguous framing is refused with 400 and the connection closed, and
nothing that follows on that connection is ever processed."""
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from bbutil import Reader, Server, check, eq, run_tests  # noqa: E402


def refuse(srv, raw, statuses=(400,)):
    with srv.connect() as s:
        try:
            s.sendall(raw)
        except (BrokenPipeError, ConnectionResetError):
            pass
        r = Reader(s)
        resp = r.read_response()
        check(resp.status in statuses, "status %d not in %r for %r" % (resp.status, statuses, raw))
        eq(resp.header("connection", "").lower(), "close", "Connection header")
        check(r.at_eof(3.0), "connection still open (a smuggled request could follow)")
        return resp


SMUGGLED = b"GET /hello HTTP/1.1\r\nHost: x\r\n\r\n"


def test_cl_and_te():
    with Server() as srv:
        refuse(srv, b"POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n"
                    b"Transfer-Encoding: chunked\r\n\r\n0\r\n\r\n" + SMUGGLED)


def test_te_and_cl():
    with Server() as srv:
        refuse(srv, b"POST /echo HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n"
                    b"Content-Length: 4\r\n\r\n5c\r\n" + SMUGGLED)


def test_duplicate_differing_content_length():
    with Server() as srv:
        refuse(srv, b"POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n"
                    b"Content-Length: 6\r\n\r\nhello!" + SMUGGLED)


def test_content_length_list_differing():
    with Server() as srv:
        refuse(srv, b"POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 5, 6\r\n\r\nhello!")


def test_bad_content_length():
    with Server() as srv:
        for cl in (b"-1", b"+5", b"5x", b"0x5", b" "):
            refuse(srv, b"POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: " + cl +
                   b"\r\n\r\nhello")


def test_space_before_colon():
    with Server() as srv:
        refuse(srv, b"POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length : 5\r\n\r\nhello")


def test_obs_fold():
    with Server() as srv:
        refuse(srv, b"GET /hello HTTP/1.1\r\nHost: x\r\nX-A: 1\r\n  folded\r\n\r\n")


def test_te_not_chunked_last():
    with Server() as srv:
        refuse(srv, b"POST /echo HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked, gzip\r\n\r\n",
               (400, 501))


def test_te_unknown_coding():
    with Server() as srv:
        refuse(srv, b"POST /echo HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: xchunked\r\n\r\n",
               (400, 501))


def test_bad_chunk_size():
    with Server() as srv:
        refuse(srv, b"POST /echo HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n"
                    b"zz\r\nhello\r\n0\r\n\r\n" + SMUGGLED)


def test_chunk_size_overflow():
    with Server() as srv:
        refuse(srv, b"POST /echo HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n"
                    b"ffffffffffffffffff1\r\nhello\r\n0\r\n\r\n", (400, 413))


def test_bare_lf_in_chunk():
    with Server() as srv:
        refuse(srv, b"POST /echo HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n"
                    b"5\nhello\r\n0\r\n\r\n")


def test_missing_host_11():
    with Server() as srv:
        refuse(srv, b"GET /hello HTTP/1.1\r\n\r\n")


def test_duplicate_host():
    with Server() as srv:
        refuse(srv, b"GET /hello HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n")


def test_nul_in_header():
    with Server() as srv:
        refuse(srv, b"GET /hello HTTP/1.1\r\nHost: x\r\nX-A: a\x00b\r\n\r\n")


def test_identical_duplicate_cl_ok():
    """Identical repeated Content-Length values are allowed (RFC 9110 §8.6)."""
    with Server() as srv, srv.connect() as s:
        s.sendall(b"POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n"
                  b"Content-Length: 5\r\n\r\nhello")
        resp = Reader(s).read_response()
        check(resp.status in (200, 400), "status %d" % resp.status)
        if resp.status == 200:
            eq(resp.body, b"hello")


if __name__ == "__main__":
    run_tests(globals())
