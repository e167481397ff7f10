"""A live cqp-graph server (uvicorn in a subprocess) for tests that use real HTTP clients.

Lives here: starting and stopping `cqp-graph serve` on a free port over a dump, with the W3C protocol graphs
when ../shared has them. Not here: the in-process client for API logic (the `app_client` fixture in
tests/conftest.py), which is what a test should use unless the protocol, the workers or the browser are the point.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import httpx

from .support import ROOT, SHARED

W3C_DATA = {f"http://kasei.us/2009/09/sparql/data/data{i}.rdf": SHARED / "standards" / "w3c" / f"protocol-data{i}.nt"
            for i in (1, 2, 3)}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@dataclass
class LiveServer:
    url: str
    process: subprocess.Popen
    dist: Path
    timeout: float
    max_rows: int
    log: Path | None = None  # the server's output: a file, so that a chatty server never blocks on a full pipe

    def output(self) -> str:
        return self.log.read_text(encoding="utf-8", errors="replace") if self.log else ""

    def stop(self):
        self.process.terminate()
        try:
            self.process.wait(10)
        except subprocess.TimeoutExpired:
            self.process.kill()


def start_server(dist: Path, *, timeout: float = 3.0, max_rows: int = 1000, cors: str = "http://example.org",
                 extra_args: list[str] = (), cache: bool = True, env: dict | None = None,
                 graph: Path | None = None) -> LiveServer:
    port = free_port()
    args = [sys.executable, "-m", "cqp_graph", "serve", "--port", str(port), "--graph", str(graph or dist / "graph.nt")]
    for iri, path in W3C_DATA.items():
        if path.exists():
            args += ["--graph-data", f"{iri}={path}"]
    if not cache:
        args.append("--no-cache")
    args += list(extra_args)
    env = dict(os.environ, CQP_GRAPH_QUERY_TIMEOUT=str(timeout), CQP_GRAPH_MAX_ROWS=str(max_rows),
               CQP_GRAPH_CORS_ORIGINS=cors, **(env or {}))
    log = Path(tempfile.mkdtemp(prefix="cqp-graph-server-")) / "server.log"
    with open(log, "wb") as sink:  # an unread pipe would fill up and stall the server's event loop
        process = subprocess.Popen(args, cwd=ROOT, env=env, stdout=sink, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    deadline = time.time() + 90
    while time.time() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"the server exited: {log.read_text(encoding='utf-8', errors='replace')}")
        if ready(url):
            return LiveServer(url, process, dist, timeout, max_rows, log)
        time.sleep(0.2)
    process.kill()
    raise RuntimeError(f"the server was not ready within 90 s: {log.read_text(encoding='utf-8', errors='replace')}")


def ready(url: str) -> bool:
    """The server answers and every SPARQL worker is up (a first query never waits for a worker to start,
    which would count against its time limit)."""
    try:
        if httpx.get(url + "/api/missions", timeout=2).status_code != 200:
            return False
        workers = httpx.get(url + "/health", timeout=2).json()["workers"]
        return workers["ready"] == workers["total"] > 0
    except (httpx.HTTPError, ValueError, KeyError, TypeError):
        return False
