"""Run arbitrary SPARQL in worker processes, so that a time limit really stops the work.

An Oxigraph query cannot be interrupted from Python, so each query runs in one of a few
worker processes that hold their own in-memory copy of the store. When a query passes its
time limit the worker is killed (the work stops with it) and a fresh one is started; the
other workers, and the rest of the server, go on answering meanwhile.
"""

from __future__ import annotations

import asyncio
import multiprocessing as mp
import os
from dataclasses import dataclass, field

import pyoxigraph as ox

from . import sparql_results
from .formats import GRAPHS, RESULTS, format_for
from .negotiation import choose


@dataclass(frozen=True)
class Source:
    """An RDF file to load into every worker, into the default graph or a named graph."""

    path: str
    graph: str | None = None


@dataclass
class QueryRequest:
    query: str
    accept: str | None
    default_graphs: list[str] = field(default_factory=list)
    named_graphs: list[str] = field(default_factory=list)
    max_rows: int = 10000
    base_iri: str | None = None
    prefixes: dict | None = None
    format: str | None = None  # the `format` parameter: json, xml, csv, tsv, turtle, nt, jsonld or a media type


@dataclass
class Reply:
    status: int
    media_type: str
    body: bytes
    headers: dict = field(default_factory=dict)


class QueryTimeout(Exception):
    pass


class ExecutorUnavailable(Exception):
    pass


# -- inside a worker ---------------------------------------------------------------------

def _load(sources: list[Source]) -> ox.Store:
    store = ox.Store()
    for source in sources:
        fmt = ox.RdfFormat.from_extension(source.path.rsplit(".", 1)[-1])
        to_graph = ox.NamedNode(source.graph) if source.graph else ox.DefaultGraph()
        store.bulk_load(path=source.path, format=fmt, to_graph=to_graph)
    return store


def execute(store: ox.Store, request: QueryRequest) -> Reply:
    """Run one query against `store` and serialise it as the client asked (also used in-process)."""
    kwargs = {}
    if request.default_graphs or request.named_graphs:
        kwargs["default_graph"] = [ox.NamedNode(g) for g in request.default_graphs]
        kwargs["named_graphs"] = [ox.NamedNode(g) for g in request.named_graphs]
    try:
        result = store.query(request.query, base_iri=request.base_iri, prefixes=request.prefixes, **kwargs)
    except SyntaxError as exc:
        return Reply(400, "text/plain", f"SPARQL syntax error: {exc}".encode("utf-8"))
    except ValueError as exc:
        return Reply(400, "text/plain", f"Invalid query: {exc}".encode("utf-8"))
    headers = {}
    accept = format_for(request.format, isinstance(result, ox.QueryTriples)) or request.accept
    if isinstance(result, ox.QueryBoolean):
        media = choose(accept, [m for m in RESULTS if m != "text/tab-separated-values"] +
                       ["text/tab-separated-values"])
        if media is None:
            return Reply(406, "text/plain", b"No acceptable format for an ASK result (JSON, XML, CSV, TSV).")
        return Reply(200, media, sparql_results.ask(bool(result), media))
    if isinstance(result, ox.QuerySolutions):
        media = choose(accept, list(RESULTS))
        if media is None:
            return Reply(406, "text/plain", b"No acceptable format for SELECT results (JSON, XML, CSV, TSV).")
        variables = [v.value for v in result.variables]
        rows = []
        for solution in result:
            if len(rows) == request.max_rows:
                headers["X-CQP-Truncated"] = "true"
                break
            rows.append([solution[v] for v in variables])
        headers["X-CQP-Row-Limit"] = str(request.max_rows)
        return Reply(200, media, sparql_results.select(variables, rows, media), headers)
    media = choose(accept, list(GRAPHS))
    if media is None:
        return Reply(406, "text/plain", b"No acceptable RDF format (Turtle, N-Triples, JSON-LD, RDF/XML).")
    triples = []
    for triple in result:
        if len(triples) == request.max_rows:
            headers["X-CQP-Truncated"] = "true"
            break
        triples.append(triple)
    body = ox.serialize(triples, format=GRAPHS[media], prefixes=request.prefixes or {})
    return Reply(200, media, body, headers)


def _worker_main(conn, sources: list[Source]) -> None:
    store = _load(sources)
    conn.send("ready")
    while True:
        try:
            request = conn.recv()
        except EOFError:
            return
        if request is None:
            return
        try:
            reply = execute(store, request)
        except Exception as exc:  # an engine failure must not kill the worker silently
            reply = Reply(500, "text/plain", f"Query failed: {type(exc).__name__}: {exc}".encode("utf-8"))
        conn.send(reply)


# -- in the server -----------------------------------------------------------------------

async def _readable(conn, timeout: float) -> bool:
    """Wait, without a thread, until `conn` has data (True) or `timeout` passes (False)."""
    if conn.poll(0):
        return True
    loop = asyncio.get_running_loop()
    ready = loop.create_future()
    fd = conn.fileno()
    loop.add_reader(fd, lambda: ready.done() or ready.set_result(True))
    try:
        return await asyncio.wait_for(ready, timeout)
    except asyncio.TimeoutError:
        return False
    finally:
        loop.remove_reader(fd)
        os.set_blocking(fd, True)  # the event loop made it non-blocking; recv() reads whole messages


class _Worker:
    def __init__(self, ctx, sources):
        self.conn, child = ctx.Pipe()
        self.process = ctx.Process(target=_worker_main, args=(child, sources), daemon=True)
        self.process.start()
        child.close()

    def wait_ready(self, timeout: float = 60.0) -> None:
        try:
            ready = self.conn.poll(timeout) and self.conn.recv() == "ready"
        except (EOFError, OSError):
            ready = False
        if not ready:
            self.kill()
            raise ExecutorUnavailable(f"a SPARQL worker did not start (exit code {self.process.exitcode})")

    def kill(self) -> None:
        if self.process.is_alive():
            self.process.kill()
        self.process.join(5)
        self.conn.close()


class Executor:
    """A small pool of SPARQL worker processes with a per-query time limit."""

    def __init__(self, sources: list[Source], size: int = 2, timeout: float = 10.0):
        self.sources = list(sources)
        self.size = max(1, size)
        self.timeout = timeout
        self._ctx = mp.get_context("spawn")
        self._idle: asyncio.Queue | None = None
        self._workers: set[_Worker] = set()
        self.restarts = 0

    async def start(self) -> None:
        loop = asyncio.get_running_loop()
        self._idle = asyncio.Queue()
        workers = [_Worker(self._ctx, self.sources) for _ in range(self.size)]
        for worker in workers:
            await loop.run_in_executor(None, worker.wait_ready)
            self._workers.add(worker)
            self._idle.put_nowait(worker)

    async def stop(self) -> None:
        for worker in list(self._workers):
            try:
                worker.conn.send(None)
            except Exception:
                pass
            worker.kill()
        self._workers.clear()

    async def _replace(self, worker: _Worker) -> None:
        worker.kill()
        self._workers.discard(worker)
        self.restarts += 1
        loop = asyncio.get_running_loop()
        fresh = _Worker(self._ctx, self.sources)
        await loop.run_in_executor(None, fresh.wait_ready)
        self._workers.add(fresh)
        self._idle.put_nowait(fresh)

    async def run(self, request: QueryRequest, timeout: float | None = None) -> Reply:
        if self._idle is None:
            raise ExecutorUnavailable("the SPARQL workers are not started")
        limit = self.timeout if timeout is None else timeout
        loop = asyncio.get_running_loop()
        deadline = loop.time() + limit
        try:
            worker = await asyncio.wait_for(self._idle.get(), timeout=limit)
        except asyncio.TimeoutError:
            raise QueryTimeout(f"no SPARQL worker was free within {limit:g} s") from None
        try:
            worker.conn.send(request)
            if not await _readable(worker.conn, max(0.0, deadline - loop.time())):
                asyncio.ensure_future(self._replace(worker))
                raise QueryTimeout(f"the query ran past its {limit:g} s limit and was stopped")
            reply = worker.conn.recv()
        except (EOFError, OSError, BrokenPipeError):
            asyncio.ensure_future(self._replace(worker))
            raise ExecutorUnavailable("the SPARQL worker stopped; it is being restarted") from None
        except asyncio.CancelledError:  # the client went away mid-query: the worker's state is unknown
            asyncio.ensure_future(self._replace(worker))
            raise
        self._idle.put_nowait(worker)
        return reply
