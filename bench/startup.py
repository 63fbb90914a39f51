#!/usr/bin/env python3
"""Time from exec to the first answered request.

Usage:
  startup.py [--runs N] [--timeout S] [--path /json] [--render TEMPLATE:OUTPUT] -- CMD ARGS...

Each run picks a free port on 127.0.0.1, substitutes it for every "@PORT@" in CMD ARGS (and in
TEMPLATE, rendered to OUTPUT, e.g. an nginx config), execs the command in its own session,
then loops connect + "GET <path>" until a 200 answer arrives (bounded by --timeout per run).
The elapsed time from just before exec to the end of that answer is one sample. The server's
whole process group is then terminated (SIGTERM, then SIGKILL after 3 s).

Prints one JSON object on stdout: {"runs": [...ms...], "median_ms": .., "min_ms": .., "max_ms": ..,
"failures": [...messages...]}. Exit status 0 if at least one run succeeded.
"""
import json
import os
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time


def free_port():
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def try_get(port, path):
    """One connect + GET; returns True on a complete 200 answer, False if not (yet) possible."""
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=0.5) as s:
            s.sendall(("GET %s HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n" % path).encode())
            buf = b""
            while True:
                chunk = s.recv(4096)
                if not chunk:
                    break
                buf += chunk
                head, sep, body = buf.partition(b"\r\n\r\n")
                if sep:
                    # Stop as soon as Content-Length bytes of body have arrived (no need to wait
                    # for the close).
                    for line in head.split(b"\r\n")[1:]:
                        k, _, v = line.partition(b":")
                        if k.strip().lower() == b"content-length":
                            if len(body) >= int(v.strip()):
                                return head.startswith(b"HTTP/1.1 200") or head.startswith(b"HTTP/1.0 200")
            return buf.startswith(b"HTTP/1.1 200") or buf.startswith(b"HTTP/1.0 200")
    except (OSError, ValueError):
        return False


def stop(proc):
    try:
        os.killpg(proc.pid, signal.SIGTERM)
    except ProcessLookupError:
        pass
    try:
        proc.wait(timeout=3)
    except subprocess.TimeoutExpired:
        try:
            os.killpg(proc.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        proc.wait(timeout=3)
    # Reap stragglers of the group (e.g. an nginx worker whose master was killed).
    try:
        os.killpg(proc.pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass


def one_run(cmd, render, path, timeout):
    port = free_port()
    argv = [a.replace("@PORT@", str(port)) for a in cmd]
    if render:
        tmpl, out = render
        with open(tmpl) as f:
            text = f.read()
        with open(out, "w") as f:
            f.write(text.replace("@PORT@", str(port)))
    errf = tempfile.TemporaryFile()
    t0 = time.perf_counter()
    proc = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                            stderr=errf, start_new_session=True)
    try:
        deadline = t0 + timeout
        while True:
            if try_get(port, path):
                return (time.perf_counter() - t0) * 1000.0, None
            if proc.poll() is not None:
                errf.seek(0)
                err = errf.read().decode(errors="replace").strip()[-500:]
                return None, "exited with status %s before answering: %s" % (proc.returncode, err)
            if time.perf_counter() > deadline:
                return None, "no answer within %.1f s" % timeout
            time.sleep(0.0005)
    finally:
        stop(proc)
        errf.close()


def main():
    args = sys.argv[1:]
    runs, timeout, path, render = 10, 5.0, "/json", None
    while args and args[0] != "--":
        opt = args.pop(0)
        if opt == "--runs":
            runs = int(args.pop(0))
        elif opt == "--timeout":
            timeout = float(args.pop(0))
        elif opt == "--path":
            path = args.pop(0)
        elif opt == "--render":
            tmpl, _, out = args.pop(0).partition(":")
            render = (tmpl, out)
        else:
            sys.exit("startup.py: unknown option %s" % opt)
    if not args or len(args) < 2:
        sys.exit(__doc__)
    cmd = args[1:]
    samples, failures = [], []
    for _ in range(runs):
        ms, err = one_run(cmd, render, path, timeout)
        if ms is None:
            failures.append(err)
        else:
            samples.append(round(ms, 2))
        time.sleep(0.05)
    out = {"runs": samples, "failures": failures}
    if samples:
        out.update(median_ms=round(statistics.median(samples), 2), min_ms=min(samples),
                   max_ms=max(samples))
    print(json.dumps(out))
    return 0 if samples else 1


if __name__ == "__main__":
    sys.exit(main())
