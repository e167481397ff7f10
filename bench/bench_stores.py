"""Memory and startup of the server on each local store, with 1, 2 and 4 SPARQL workers.

    python bench/bench_stores.py [--merge IMPORT.nt] [--workers 1,2,4] [--queries 20]

For the in-memory store (`serve --graph dist/graph.nt --merge IMPORT`) and the on-disk store (`cqp-graph load
--dump … --file IMPORT` once, then `CQP_GRAPH_STORE=folder serve`), with each number of workers: the time from
starting `serve` to every worker ready, then the total RSS (and PSS, which shares the pages processes have in
common fairly) of the server and all its worker processes, after startup and after a few SPARQL queries.
"one store" is the RSS of a bare Python process holding one in-memory pyoxigraph store loaded with the same
triples: the ratio says how many copies of the graph the server holds. An RNCP import to merge makes the
graph big enough to see (e.g. `cqp-graph generate-rncp --fiches 2000 -o x.xml && cqp-graph import-rncp x.xml
-o x.nt`); without one the shipped referential alone is measured.

Lives here: that measurement and its table. Not here: the stores (`cqp_graph.query.folder_store`, `cqp_graph.publish.store_load`), the server.
"""

from __future__ import annotations

import argparse
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parent.parent
PY = sys.executable


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def tree(pid: int) -> list[int]:
    """`pid` and every descendant (from /proc)."""
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                ppid = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
            except (OSError, IndexError, ValueError):
                continue
            children.setdefault(ppid, []).append(int(entry.name))
    out, todo = [], [pid]
    while todo:
        current = todo.pop()
        out.append(current)
        todo += children.get(current, [])
    return out


def memory_of(pids: list[int]) -> tuple[int, int]:
    """(total RSS, total PSS) in bytes."""
    rss = pss = 0
    for pid in pids:
        try:
            for line in Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines():
                if line.startswith("Rss:"):
                    rss += int(line.split()[1]) * 1024
                elif line.startswith("Pss:"):
                    pss += int(line.split()[1]) * 1024
        except OSError:
            pass
    return rss, pss


def one_store(files: list[Path]) -> int:
    """RSS of a bare process holding one in-memory store of `files` (minus the same process without it)."""
    code = ("import sys, pyoxigraph as ox, re\n"
            "def rss():\n"
            "    return int(re.search(r'VmRSS:\\s+(\\d+)', open('/proc/self/status').read()).group(1)) * 1024\n"
            "before = rss(); s = ox.Store()\n"
            "for p in sys.argv[1:]: s.bulk_load(path=p, format=ox.RdfFormat.from_extension(p.rsplit('.', 1)[1]))\n"
            "print(before, rss(), len(s))\n")
    before, after, _ = map(int, subprocess.check_output([PY, "-c", code, *map(str, files)], text=True).split())
    return after - before, after


def serve(args: list[str], env: dict, workers: int, queries: int) -> dict:
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    started = time.perf_counter()
    log = tempfile.NamedTemporaryFile(prefix="bench-stores-serve-", suffix=".log", delete=False)
    process = subprocess.Popen([PY, "-m", "cqp_graph", "serve", "--port", str(port), "--workers", str(workers),
                                *args], cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)
    try:
        while True:
            try:
                if httpx.get(url + "/health", timeout=2).json()["workers"]["ready"] == workers:
                    break
            except (httpx.HTTPError, ValueError, KeyError):
                pass
            if process.poll() is not None or time.perf_counter() - started > 600:
                tail = Path(log.name).read_text(errors="replace").strip().splitlines()[-3:]
                return {"failed": f"did not start in {time.perf_counter() - started:.0f} s: {' / '.join(tail)}"}
            time.sleep(0.1)
        ready = time.perf_counter() - started
        at_start = memory_of(tree(process.pid))
        for _ in range(queries):
            httpx.get(url + "/sparql", params={"query": "SELECT (COUNT(*) AS ?n) WHERE { ?s ?p ?o }"}, timeout=60)
            httpx.get(url + "/api/missions/M3/competences", timeout=60)
        after = memory_of(tree(process.pid))
        return {"startup": ready, "rss": at_start[0], "pss": at_start[1], "rss_after": after[0], "pss_after": after[1],
                "processes": len(tree(process.pid))}
    finally:
        process.terminate()
        process.wait(30)
        log.close()
        os.unlink(log.name)


def mib(n: int) -> str:
    return f"{n / 2**20:,.0f}".replace(",", " ")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--merge", type=Path, action="append", default=[], help="RDF file merged into the graph")
    parser.add_argument("--workers", default="1,2,4")
    parser.add_argument("--stores", default="on-disk,memory")
    parser.add_argument("--queries", type=int, default=20)
    options = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="bench-stores-"))
    try:
        run(options, work)
    finally:
        shutil.rmtree(work, ignore_errors=True)  # this run's own folder


def run(options, work: Path) -> None:
    dist = work / "dist"
    subprocess.run([PY, "-m", "cqp_graph", "build", "-o", str(dist)], cwd=ROOT, check=True, stdout=subprocess.DEVNULL)
    graph = dist / "graph.nt"
    store = work / "store"
    env = dict(os.environ, CQP_GRAPH_DIST=str(dist))
    started = time.perf_counter()
    subprocess.run([PY, "-m", "cqp_graph", "load", "--dump", str(graph), *sum((["--file", str(m)] for m in options.merge), [])],
                   cwd=ROOT, env=dict(env, CQP_GRAPH_STORE=str(store)), check=True, stdout=subprocess.DEVNULL)
    load_time = time.perf_counter() - started
    graph_bytes, single = one_store([graph, *options.merge])
    print(f"graph: {graph.name} + {', '.join(m.name for m in options.merge) or 'no import'}; "
          f"`cqp-graph load` {load_time:.1f} s (validation included); "
          f"one in-memory store: {mib(graph_bytes)} MiB of graph, {mib(single)} MiB RSS for the whole process")
    print()
    print("| store | workers | processes | startup (s) | total RSS (MiB) | × one store | total PSS (MiB) "
          f"| RSS after {options.queries}×2 requests (MiB) | × one store |")
    print("| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |")
    for kind in options.stores.split(","):
        for workers in (int(w) for w in options.workers.split(",")):
            if kind == "memory":
                args = ["--graph", str(graph), *sum((["--merge", str(m)] for m in options.merge), [])]
                run_env = dict(env, CQP_GRAPH_STORE="memory")
            else:
                args, run_env = [], dict(env, CQP_GRAPH_STORE=str(store))
            r = serve(args, run_env, workers, options.queries)
            if "failed" in r:
                print(f"| {kind} | {workers} | – | – | – | – | – | – | – |  ({r['failed'][:300]})", flush=True)
                continue
            print(f"| {kind} | {workers} | {r['processes']} | {r['startup']:.1f} | {mib(r['rss'])} | "
                  f"{r['rss'] / single:.2f} | {mib(r['pss'])} | {mib(r['rss_after'])} | {r['rss_after'] / single:.2f} |",
                  flush=True)


if __name__ == "__main__":
    main()
