#!/usr/bin/env python3
"""Turn the raw data of one bench/run.sh run into a markdown report.

Usage: summarize.py WORKDIR   (markdown on stdout; writes WORKDIR/problems = number of problems)

WORKDIR holds:
  meta.tsv      key<TAB>value lines (machine, settings, memory figures)
  runs.tsv      round, server (ours|nginx), wrk output file, wrk exit status, server CPU ticks
                during the run, wall ms, wrk CPU ticks, health (ok|dead|unresponsive), note
  startup_*.json  output of startup.py
  stderr_*.txt  tail of a server's stderr / error log, if it wrote anything
"""
import json
import os
import re
import statistics
import sys

NAMES = {"ours": "spikard-example", "nginx": "nginx"}
UNIT_MS = {"us": 0.001, "ms": 1.0, "s": 1000.0, "m": 60000.0, "h": 3600000.0}


def read_meta(path):
    meta = {}
    with open(path) as f:
        for line in f:
            k, _, v = line.rstrip("\n").partition("\t")
            meta[k] = v
    return meta


def parse_wrk(text):
    """Pick the figures out of wrk --latency output. Missing figures are None."""
    r = {"rps": None, "p50_ms": None, "p99_ms": None, "requests": None, "socket_errors": None,
         "non2xx": 0, "error_lines": []}
    m = re.search(r"^Requests/sec:\s+([\d.]+)", text, re.M)
    if m:
        r["rps"] = float(m.group(1))
    m = re.search(r"^\s*(\d+) requests in ([\d.]+)(\w+)", text, re.M)
    if m:
        r["requests"] = int(m.group(1))
    for pct, key in (("50", "p50_ms"), ("99", "p99_ms")):
        m = re.search(r"^\s+%s(?:\.000)?%%\s+([\d.]+)(us|ms|s|m|h)\b" % pct, text, re.M)
        if m:
            r[key] = float(m.group(1)) * UNIT_MS[m.group(2)]
    m = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", text)
    if m:
        r["socket_errors"] = dict(zip(("connect", "read", "write", "timeout"), map(int, m.groups())))
        r["error_lines"].append(m.group(0))
    m = re.search(r"Non-2xx or 3xx responses: (\d+)", text)
    if m:
        r["non2xx"] = int(m.group(1))
        r["error_lines"].append(m.group(0))
    return r


BUSY_FLAG = 0.15  # other processes above this share of the machine during a run: noisy run


def read_runs(workdir, clk_tck, nproc):
    runs = []
    path = os.path.join(workdir, "runs.tsv")
    if not os.path.exists(path):
        return runs
    with open(path) as f:
        for line in f:
            parts = line.rstrip("\n").split("\t")
            if len(parts) < 8:
                continue
            rnd, server, out, rc, ticks, wall_ms, client_ticks, health = parts[:8]
            note = parts[8] if len(parts) > 8 else ""
            machine = parts[9] if len(parts) > 9 else ""
            try:
                with open(out, errors="replace") as wf:
                    text = wf.read()
            except OSError:
                text = ""
            w = parse_wrk(text)
            cpu_s = int(ticks) / clk_tck if ticks.lstrip("-").isdigit() else None
            client_s = int(client_ticks) / clk_tck if client_ticks.lstrip("-").isdigit() else None
            wall_s = int(wall_ms) / 1000.0
            run = dict(round=int(rnd), server=server, wrk_rc=rc, cpu_s=cpu_s, wall_s=wall_s,
                       client_cpu_s=client_s, health=health, note=note, wrk_text=text, **w)
            run["cpu_util"] = cpu_s / wall_s if (cpu_s is not None and wall_s > 0) else None
            run["client_util"] = client_s / wall_s if (client_s is not None and wall_s > 0) else None
            run["rpcs"] = (w["requests"] / cpu_s) if (w["requests"] and cpu_s) else None
            # CPU taken by other processes, as a share of the whole machine during the run.
            run["other"] = None
            if machine.isdigit() and cpu_s is not None and client_s is not None and wall_s > 0:
                other_s = int(machine) / clk_tck - cpu_s - client_s
                run["other"] = max(0.0, other_s) / (wall_s * nproc)
            run["problems"] = problems_of(run)
            runs.append(run)
    return runs


def problems_of(run):
    p = []
    if run["health"] == "dead":
        p.append("server died")
    elif run["health"] == "unresponsive":
        p.append("server unresponsive after run")
    if run["wrk_rc"] != "0":
        p.append("wrk exit %s" % run["wrk_rc"])
    if run["rps"] is None:
        p.append("no wrk result")
    se = run["socket_errors"]
    if se and any(se.values()):
        p.append("socket errors: " + ", ".join("%s %d" % kv for kv in se.items() if kv[1]))
    if run["non2xx"]:
        p.append("non-2xx/3xx: %d" % run["non2xx"])
    if run["note"] and run["health"] == "ok" and run["wrk_rc"] == "0":
        p.append(run["note"])
    return p


def med(values):
    v = [x for x in values if x is not None]
    return statistics.median(v) if v else None


def fmt_int(x):
    return "–" if x is None else "{:,.0f}".format(x)


def fmt_ms(x):
    if x is None:
        return "–"
    return "%.0f µs" % (x * 1000) if x < 1 else "%.2f ms" % x


def fmt_s(x):
    return "–" if x is None else "%.2f" % x


def fmt_pct(x):
    return "–" if x is None else "%.0f%%" % (x * 100)


def fmt_ratio(a, b):
    if a is None or not b:
        return "–"
    return "%.2f×" % (a / b)


def fmt_kb(kb):
    if kb in (None, "", "0"):
        return "–"
    return "%.1f MiB" % (int(kb) / 1024.0)


def read_startup(workdir, key):
    path = os.path.join(workdir, "startup_%s.json" % key)
    try:
        with open(path) as f:
            return json.loads(f.read() or "null")
    except (OSError, ValueError):
        return None


def fmt_startup(s):
    if not s:
        return "–"
    if "median_ms" not in s:
        return "failed"
    txt = "%.1f ms (%.1f–%.1f)" % (s["median_ms"], s["min_ms"], s["max_ms"])
    if s.get("failures"):
        txt += ", %d failed" % len(s["failures"])
    return txt


def main():
    workdir = sys.argv[1]
    meta = read_meta(os.path.join(workdir, "meta.tsv"))
    clk = int(meta.get("clk_tck", "100"))
    runs = read_runs(workdir, clk, int(meta.get("nproc", "1") or 1))
    out = []
    w = out.append

    rounds = meta.get("rounds", "?")
    w("# Spikard vs nginx: GET /json")
    w("")
    if meta.get("quick") == "1":
        w("**Quick mode (smoke test) — not a representative measurement.**")
        w("")
    w("- Date: %s" % meta.get("date", "?"))
    w("- Machine: %s CPU(s), %s; %s" % (meta.get("nproc", "?"), meta.get("cpu", "?"),
                                        meta.get("kernel", "?")))
    w("- Commit: %s" % meta.get("commit", "?"))
    w("- Servers: `%s --workers 1` (%s%s, libuv %s) vs nginx %s (1 worker, access_log off)"
      % (meta.get("example_bin", "spikard-example"), meta.get("build", "?"),
         ", " + meta["compiler"] if meta.get("compiler") else "", meta.get("libuv", "?"),
         meta.get("nginx_version", "?")))
    w("- Load: wrk %s, %s thread(s), %s connections, %s per run, keep-alive, loopback; "
      "%s alternating round(s) per server%s"
      % (meta.get("wrk_version", "?"), meta.get("threads", "?"), meta.get("connections", "?"),
         meta.get("duration", "?"), rounds,
         "; wrk pinned to CPU 0, servers to CPU 1" if meta.get("pin") == "1" else ""))
    if meta.get("idle_busy"):
        w("- Machine CPU use in the 1 s before the load runs (servers idle): %s%%%s" % (
            meta["idle_busy"], "" if int(meta["idle_busy"]) < 10 else
            " ⚠ — other work was sharing the CPUs; figures are noisy"))
    if meta.get("busy"):
        w("- ⚠ Other busy processes when the load runs started (lifetime CPU%%): %s" % meta["busy"].strip())
    w("")

    # ---- summary ----
    summ = {}
    for name in ("ours", "nginx"):
        rs = [r for r in runs if r["server"] == name]
        summ[name] = dict(
            n=len(rs), rps=med(r["rps"] for r in rs), p99=med(r["p99_ms"] for r in rs),
            p50=med(r["p50_ms"] for r in rs), cpu_s=med(r["cpu_s"] for r in rs),
            util=med(r["cpu_util"] for r in rs), rpcs=med(r["rpcs"] for r in rs),
            client=med(r["client_util"] for r in rs),
            bad=sum(1 for r in rs if r["problems"]))
    w("## Throughput and efficiency (median of %s round(s))" % rounds)
    w("")
    w("| Server | Req/s | p50 | p99 | Server CPU-s | Server CPU use | Req per server CPU-s | wrk CPU use |")
    w("|---|---:|---:|---:|---:|---:|---:|---:|")
    for name in ("ours", "nginx"):
        s = summ[name]
        flag = " ⚠" if s["bad"] else ""
        w("| %s%s | %s | %s | %s | %s | %s | %s | %s |" % (
            NAMES[name], flag, fmt_int(s["rps"]), fmt_ms(s["p50"]), fmt_ms(s["p99"]),
            fmt_s(s["cpu_s"]), fmt_pct(s["util"]), fmt_int(s["rpcs"]), fmt_pct(s["client"])))
    o, n = summ["ours"], summ["nginx"]
    w("| **ours / nginx** | **%s** | %s | %s | %s | | **%s** | |" % (
        fmt_ratio(o["rps"], n["rps"]), fmt_ratio(o["p50"], n["p50"]), fmt_ratio(o["p99"], n["p99"]),
        fmt_ratio(o["cpu_s"], n["cpu_s"]), fmt_ratio(o["rpcs"], n["rpcs"])))
    w("")
    flagged = [NAMES[k] for k in ("ours", "nginx") if summ[k]["bad"]]
    if flagged:
        w("⚠ %s: %s — medians include the flagged runs; see *Problems* below." % (
            ", ".join(flagged), "; ".join("%d of %d run(s) flagged" % (summ[k]["bad"], summ[k]["n"])
                                          for k in ("ours", "nginx") if summ[k]["bad"])))
        w("")
    busy_runs = [r for r in runs if r["other"] is not None and r["other"] > BUSY_FLAG]
    if busy_runs:
        w("⚠ %d of %d run(s) ran while other processes took more than %d%% of the machine "
          "(*Other load* below); throughput and latency are not comparable for those, requests "
          "per server CPU-second is less affected. Rerun on a quiet machine." % (
              len(busy_runs), len(runs), BUSY_FLAG * 100))
        w("")
    w("- Throughput ratio (ours/nginx): **%s**; efficiency ratio (requests per server CPU-second, "
      "ours/nginx): **%s**. Above 1× means spikard does better; for latency, below 1× is better."
      % (fmt_ratio(o["rps"], n["rps"]), fmt_ratio(o["rpcs"], n["rpcs"])))
    w("- Server CPU = utime+stime from /proc/PID/stat over all the server's threads and processes "
      "(nginx: master+worker) during the run; \"CPU use\" = CPU-s / wall-s (1 core = 100%). "
      "wrk CPU use near 100% means the single-threaded client, not the server, set the pace.")
    w("")

    # ---- per run ----
    w("## Per run")
    w("")
    w("| Round | Server | Req/s | p99 | Requests | Server CPU-s | Req per CPU-s | wrk CPU use | Other load | Errors |")
    w("|---:|---|---:|---:|---:|---:|---:|---:|---:|---|")
    for r in sorted(runs, key=lambda r: (r["round"], r["server"] != "ours")):
        other = fmt_pct(r["other"])
        if r["other"] is not None and r["other"] > BUSY_FLAG:
            other += " ⚠"
        w("| %d | %s | %s | %s | %s | %s | %s | %s | %s | %s |" % (
            r["round"], NAMES.get(r["server"], r["server"]), fmt_int(r["rps"]), fmt_ms(r["p99_ms"]),
            fmt_int(r["requests"]), fmt_s(r["cpu_s"]), fmt_int(r["rpcs"]),
            fmt_pct(r["client_util"]), other,
            "**" + "; ".join(r["problems"]) + "**" if r["problems"] else "none"))
    w("")
    w("*Other load*: CPU used by other processes during the run (machine-wide user+system time "
      "from /proc/stat minus the server's and wrk's), as a share of all %s CPUs; ⚠ above %d%% — "
      "such runs are disturbed by other work on the machine and their req/s are not comparable."
      % (meta.get("nproc", "?"), BUSY_FLAG * 100))
    w("")

    # ---- memory and startup ----
    w("## Memory and startup")
    w("")
    w("| | spikard-example | nginx |")
    w("|---|---:|---:|")
    w("| Idle RSS, 1 worker (start + 1 s idle, no request) | %s | %s (%s processes) |" % (
        fmt_kb(meta.get("rss_ours_w1")), fmt_kb(meta.get("rss_nginx")), meta.get("procs_nginx", "?")))
    w("| Idle RSS, default workers (one per core: %s; %s threads in all) | %s | |" % (
        meta.get("nproc", "?"), meta.get("threads_ours_default", "?"),
        fmt_kb(meta.get("rss_ours_default"))))
    w("| RSS after the load runs (peak) | %s (%s) | %s (%s) |" % (
        fmt_kb(meta.get("rss_after_ours")), fmt_kb(meta.get("hwm_ours")),
        fmt_kb(meta.get("rss_after_nginx")), fmt_kb(meta.get("hwm_nginx"))))
    su = {k: read_startup(workdir, k) for k in ("ours_w1", "ours_default", "nginx")}
    nruns = meta.get("startup_runs", "?")
    w("| Exec → first answered GET /json, median of %s (min–max), 1 worker | %s | %s |" % (
        nruns, fmt_startup(su["ours_w1"]), fmt_startup(su["nginx"])))
    w("| Same, default workers | %s | |" % fmt_startup(su["ours_default"]))
    w("")
    w("RSS for nginx is the sum over master and worker (shared pages counted twice).")
    w("")

    # ---- problems ----
    problems = []
    for r in runs:
        if not r["problems"]:
            continue
        desc = "Round %d, %s: %s." % (r["round"], NAMES.get(r["server"], r["server"]),
                                      "; ".join(r["problems"]))
        if r["note"]:
            desc += " " + r["note"]
        if r["error_lines"] or r["rps"] is None or r["wrk_rc"] != "0":
            desc += "\n\n  ```\n" + "\n".join("  " + l for l in r["wrk_text"].strip().splitlines()[-25:]) + "\n  ```"
        problems.append(desc)
    epath = os.path.join(workdir, "events.tsv")
    if os.path.exists(epath):
        with open(epath, errors="replace") as f:
            for line in f:
                name, _, text = line.rstrip("\n").partition("\t")
                problems.append("%s %s" % (NAMES.get(name, name), text))
    for key, s in su.items():
        if s and s.get("failures"):
            problems.append("Startup measurement (%s): %d run(s) failed: %s" % (
                key, len(s["failures"]), "; ".join(sorted(set(s["failures"])))[:600]))
    w("## Problems")
    w("")
    if problems:
        for p in problems:
            w("- " + p)
    else:
        w("None: no socket errors, no non-2xx responses, every server stayed up and answered "
          "correctly after every run.")
    for name in ("ours", "nginx"):
        path = os.path.join(workdir, "stderr_%s.txt" % name)
        if os.path.exists(path) and os.path.getsize(path):
            with open(path, errors="replace") as f:
                text = f.read().strip()
            w("")
            w("%s wrote to stderr / its error log during the load runs (tail):" % NAMES[name])
            w("")
            w("```")
            w(text)
            w("```")
    w("")

    with open(os.path.join(workdir, "problems"), "w") as f:
        f.write("%d\n" % len(problems))
    print("\n".join(out))


if __name__ == "__main__":
    main()
