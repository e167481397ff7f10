"""Run arbitrary SPARQL in worker processes, so that time and memory limits really stop the work.

An Oxigraph query cannot be interrupted from Python, so each query runs in one of a few
worker processes that hold their own in-memory copy of the store — or, with an on-disk store
(`CQP_GRAPH_STORE` a folder), open that folder read-only: then the graph is on disk once, the
workers share the operating system's page cache, and a worker starts without loading anything.
A worker is bounded:

* in time: past the query's limit the worker is killed (the work stops with it);
* in memory: its address space may grow by at most `WorkerConfig.memory` bytes past the loaded
  graph (RLIMIT_AS); a query that needs more makes the allocation fail and the worker exit;
* in reach: `SERVICE` is refused on the parsed query unless its endpoint is allow-listed, and
  when nothing is allow-listed the worker also runs in its own empty network namespace (Linux),
  so that no query can open a connection at all;
* in output: results stop at a number of rows and of bytes (`X-CQP-Truncated: true`).

A supervisor task keeps the pool full: whenever a worker dies, whatever the cause, a fresh one
is started, with an exponential back-off while starting fails (a graph file briefly missing).
Admission is fair: one client (remote address) may have only a few queries in flight, never
all the workers, and the number of queries waiting for a worker is bounded.

With a remote store (`CQP_GRAPH_STORE` a SPARQL endpoint URL), `RemoteExecutor` takes the pool's place: the
same checks of the query text, the same admission, then the query is forwarded to the configured endpoint
only (no redirect followed), within the query's time limit, and its answer read as far as the byte limit and
cut to the row limit here, as a worker would.

Lives here: the worker pool, its admission and its limits, and the remote executor. Not here: the protocol
(`sparql`), the in-process knowledge layer the REST routes and pages use (`state.knowledge`).
"""

from __future__ import annotations

import asyncio
import collections
import concurrent.futures
import ctypes
import logging
import multiprocessing as mp
import os
import re
import resource
import signal
import sys
from dataclasses import dataclass, field

import pyoxigraph as ox

from cqp_graph.query.remote_store import (GraphResult, RemoteStore, SelectResult, StoreError, StoreRefused,
                                          StoreTimeout, parse_answer)
from cqp_graph.web import sparql_results
from cqp_graph.web.formats import GRAPHS, RESULTS, format_for
from cqp_graph.web.negotiation import choose

log = logging.getLogger("cqp_graph.executor")

MEMORY_EXIT = 86  # exit status of a worker that ran out of its memory allowance in Python code


@dataclass(frozen=True)
class Source:
    """An RDF file to load into every worker, into the default graph or a named graph; or (`store=True`) the
    folder of an on-disk Oxigraph store every worker opens read-only instead of loading anything."""

    path: str
    graph: str | None = None
    store: bool = False


@dataclass(frozen=True)
class WorkerConfig:
    """What bounds a worker process (see the module docstring)."""

    memory: int = 512 * 2**20          # bytes of address space past the loaded graph; 0: unbounded
    service_allow: tuple[str, ...] = ()  # SERVICE endpoint IRIs a query may call
    max_depth: int = 128                # deepest nesting of { } ( ) [ ] in a query
    max_chain: int = 500                # longest chain the engine's parser nests (see `_chain`)


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
    max_bytes: int = 16 * 2**20  # results stop before this many bytes of terms


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


class WorkerOutOfMemory(ExecutorUnavailable):
    pass


class TooManyQueries(Exception):
    """The client already has its share of queries in flight (429)."""


class Overloaded(Exception):
    """Too many queries are waiting for a worker (503)."""


# -- inside a worker ---------------------------------------------------------------------

def _load(sources: list[Source]) -> ox.Store:
    on_disk = [s for s in sources if s.store]
    if on_disk:
        return ox.Store.read_only(on_disk[0].path)
    store = ox.Store()
    for source in sources:
        fmt = ox.RdfFormat.from_extension(source.path.rsplit(".", 1)[-1])
        to_graph = ox.NamedNode(source.graph) if source.graph else ox.DefaultGraph()
        store.bulk_load(path=source.path, format=fmt, to_graph=to_graph)
    return store


def _isolate_network() -> bool:
    """Move this (single-threaded) process into a new user and network namespace: no route anywhere.

    Returns False where the kernel refuses (then the parsed-query check is the only guard).
    """
    if not sys.platform.startswith("linux"):
        return False
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        uid, gid = os.getuid(), os.getgid()
        if libc.unshare(0x10000000 | 0x40000000) != 0:  # CLONE_NEWUSER | CLONE_NEWNET
            return False
        # keep the same identity inside, so that files stay readable as before
        for name, text in (("setgroups", "deny"), ("uid_map", f"{uid} {uid} 1"), ("gid_map", f"{gid} {gid} 1")):
            with open(f"/proc/self/{name}", "w") as handle:
                handle.write(text)
        return True
    except OSError:
        return False


def _limit_memory(extra: int) -> None:
    """Cap the address space at what the process uses now plus `extra` bytes."""
    if extra <= 0:
        return
    with open("/proc/self/status") as handle:
        size = next(int(line.split()[1]) * 1024 for line in handle if line.startswith("VmSize:"))
    resource.setrlimit(resource.RLIMIT_AS, (size + extra, size + extra))


def _bad(message: str, status: int = 400) -> Reply:
    return Reply(status, "text/plain", message.encode("utf-8"))


def _nesting(query: str, limit: int) -> bool:
    """Whether brackets nest deeper than `limit` outside strings and comments (the engine's parser
    recurses on each level and would overflow its stack long before the body size limit)."""
    depth = 0
    quote = None
    i, n = 0, len(query)
    while i < n:
        c = query[i]
        if quote:
            if c == "\\":
                i += 2
                continue
            if query.startswith(quote, i):
                i += len(quote)
                quote = None
                continue
        elif c in "\"'":
            quote = c * 3 if query.startswith(c * 3, i) else c
            i += len(quote)
            continue
        elif c == "#":
            end = query.find("\n", i)
            i = n if end < 0 else end
            continue
        elif c in "{([":
            depth += 1
            if depth > limit:
                return True
        elif c in "})]":
            depth -= 1
        i += 1
    return False


_NUMBER = re.compile(r"(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?")
_NAME = re.compile(r"[?$A-Za-z_:\u00b7\u00c0-\U000effff][\w\-.:%\\\u00b7\u00c0-\U000effff]*")
_IRI = re.compile(r"<[^<>\"{}|^`\\\x00-\x20]*>")
_OPERATORS = ("&&", "||", "!=", "<=", ">=", "!", "+", "-", "*", "/", "|", "^", "=", "<", ">")
_GROUP_KEYWORDS = {"UNION", "OPTIONAL", "MINUS", "FILTER", "BIND", "GRAPH", "SERVICE", "VALUES"}


def _chain(query: str, limit: int) -> bool:
    """Whether the query nests deeper than `limit` in the engine's parser, counted without parsing.

    Oxigraph's parser and evaluator recurse once per unary or binary operator of a chain
    (`!!!…`, `1+1+…`, `a && b && …`), per property-path step (`/`, `|`, `^`), and per element of
    a group pattern (`.`, `;`, `,`, UNION, OPTIONAL, FILTER, BIND…, juxtaposed groups): a 10 KB
    query of such a chain overflows the worker's stack (SIGSEGV). This counts those steps along
    each bracket level, each bracket adding one to the count of the level it opens from; an
    argument list or a VALUES block adds nothing per item (they do not nest).
    """
    stack = [["", 0]]  # [bracket, steps counted so far along this level (including the levels above)]
    i, n = 0, len(query)
    after_literal = False
    while i < n:
        c = query[i]
        if c.isspace():
            i += 1
            continue
        if c == "#":
            end = query.find("\n", i)
            i = n if end < 0 else end
            continue
        if c in "\"'":
            quote = c * 3 if query.startswith(c * 3, i) else c
            j = i + len(quote)
            while j < n and not query.startswith(quote, j):
                j += 2 if query[j] == "\\" else 1
            i = j + len(quote)
            after_literal = True
            continue
        if after_literal and query.startswith("^^", i):
            i += 2
            continue
        if after_literal and c == "@":
            match = _NAME.match(query, i + 1)
            i = match.end() if match else i + 1
            continue
        after_literal = False
        level = stack[-1]
        if c in "{([":
            if c == "{" and level[0] == "{":
                level[1] += 1  # groups side by side are joined, one more element of this level
            stack.append([c, level[1] + 1])
            i += 1
        elif c in "})]":
            if len(stack) > 1:
                stack.pop()
            i += 1
            continue
        elif c == "<" and (match := _IRI.match(query, i)):
            i = match.end()
            continue
        elif match := _NUMBER.match(query, i):
            i = match.end()
            continue
        elif match := _NAME.match(query, i):
            i = match.end()
            if level[0] == "{" and match.group().upper() in _GROUP_KEYWORDS:
                level[1] += 1
            continue
        elif c in ".;,":
            if level[0] != "(":  # a separator of triples or of group elements, not of arguments
                level[1] += 1
            i += 1
        else:
            op = next((o for o in _OPERATORS if query.startswith(o, i)), None)
            if op is not None:
                level[1] += 1
            i += len(op) if op else 1
        if stack[-1][1] > limit:
            return True
    return False


def _unescape(query: str) -> str:
    """SPARQL's \\uXXXX and \\UXXXXXXXX escapes apply to the whole query text before parsing."""
    if "\\u" not in query and "\\U" not in query:
        return query
    import re

    def repl(match):
        try:
            return chr(int(match.group(1) or match.group(2), 16))
        except (ValueError, OverflowError):
            return match.group(0)
    return re.sub(r"\\u([0-9A-Fa-f]{4})|\\U([0-9A-Fa-f]{8})", repl, query)


def check_services(request: QueryRequest, config: WorkerConfig, isolated: bool) -> Reply | None:
    """Refuse a query whose parsed algebra holds a SERVICE to an endpoint that is not allow-listed."""
    text = _unescape(request.query)
    if "service" not in text.lower():  # no SERVICE keyword can be in the query: nothing to parse
        return None
    from rdflib.plugins.sparql.algebra import translateQuery, traverse
    from rdflib.plugins.sparql.parser import parseQuery

    try:
        algebra = translateQuery(parseQuery(text), base=request.base_iri, initNs=request.prefixes or {})
    except Exception as exc:  # a parse error, or syntax this parser lacks
        if isolated:
            return None  # the engine decides; this worker cannot reach any network anyway
        return _bad("Requête refusée : elle mentionne SERVICE et n'a pas pu être analysée pour vérifier "
                    f"le service appelé ({type(exc).__name__}: {str(exc)[:300]}).")
    endpoints = []

    def visit(node):
        if getattr(node, "name", None) == "ServiceGraphPattern":
            endpoints.append(node.get("term"))
    traverse(algebra.algebra, visitPre=visit)
    for endpoint in endpoints:
        from rdflib import URIRef

        if not isinstance(endpoint, URIRef):
            return _bad(f"Requête refusée : SERVICE avec un point d'accès variable ({endpoint.n3()}) n'est pas "
                        "permis ; ce serveur n'interroge pas d'autres services.")
        if str(endpoint) not in config.service_allow:
            return _bad(f"Requête refusée : SERVICE <{endpoint}> n'est pas permis ; ce serveur n'interroge que les "
                        "services listés par son exploitant (CQP_GRAPH_SERVICE_ALLOW).")
    return None


_UNSUPPORTED = re.compile(r"The custom function (\S+) is not supported|is not supported")


def _engine_error(exc: Exception) -> Reply:
    """An engine failure caused by the query itself (an unknown function) is the client's: 400."""
    match = _UNSUPPORTED.search(str(exc))
    if match and match.group(1):
        return _bad(f"Requête refusée : la fonction {match.group(1)} n'existe pas dans ce moteur SPARQL "
                    "(seules les fonctions de SPARQL 1.1 y sont disponibles).")
    if match:
        return _bad(f"Requête refusée : ce moteur SPARQL ne prend pas en charge ce qu'elle demande ({str(exc)[:300]}).")
    return _bad(f"La requête a échoué : {type(exc).__name__}: {str(exc)[:500]}", 500)


def _size(term) -> int:
    return len(str(term)) + 16


def refusal(request: QueryRequest, config: WorkerConfig, isolated: bool = False) -> Reply | None:
    """The 400 a query gets before any engine sees it (NUL, nesting, chains, SERVICE), or None."""
    if "\x00" in request.query:
        return _bad("Requête refusée : le texte contient un caractère NUL.")
    text = _unescape(request.query)  # \uXXXX escapes could hide brackets or operators
    if _nesting(text, config.max_depth):
        return _bad(f"Requête refusée : accolades, parenthèses ou crochets imbriqués sur plus de {config.max_depth} "
                    "niveaux (CQP_GRAPH_MAX_QUERY_DEPTH).")
    if _chain(text, config.max_chain):
        return _bad(f"Requête refusée : chaîne d'opérateurs, d'étapes de chemin ou d'éléments de groupe de plus de "
                    f"{config.max_chain} maillons (CQP_GRAPH_MAX_QUERY_CHAIN) ; l'analyseur SPARQL ne peut pas "
                    "l'imbriquer sans risque. Scindez la requête ou utilisez VALUES / IN.")
    return check_services(request, config, isolated)


def execute(store: ox.Store, request: QueryRequest, config: WorkerConfig | None = None,
            isolated: bool = False) -> Reply:
    """Run one query against `store` and serialise it as the client asked (also used in-process)."""
    config = config or WorkerConfig()
    refused = refusal(request, config, isolated)
    if refused is not None:
        return refused
    kwargs = {}
    if request.default_graphs or request.named_graphs:
        try:
            kwargs["default_graph"] = [ox.NamedNode(g) for g in request.default_graphs]
            kwargs["named_graphs"] = [ox.NamedNode(g) for g in request.named_graphs]
        except ValueError as exc:
            return _bad(f"Paramètre default-graph-uri ou named-graph-uri refusé : ce n'est pas une IRI absolue ({exc}).")
    try:
        result = store.query(request.query, base_iri=request.base_iri, prefixes=request.prefixes, **kwargs)
    except SyntaxError as exc:
        return Reply(400, "text/plain", f"Erreur de syntaxe SPARQL : {exc}".encode("utf-8"))
    except ValueError as exc:
        return Reply(400, "text/plain", f"Requête invalide : {exc}".encode("utf-8"))
    except RuntimeError as exc:
        return _engine_error(exc)
    return serialise(result, request)


def serialise(result, request: QueryRequest, headers: dict | None = None) -> Reply:
    """A query's result (pyoxigraph's, or a remote store's parsed by pyoxigraph) in the format the client asked,
    cut at the request's rows and bytes."""
    headers = dict(headers or {})
    graph_result = isinstance(result, (ox.QueryTriples, GraphResult))
    accept = format_for(request.format, graph_result) or request.accept
    if isinstance(result, ox.QueryBoolean):
        media = choose(accept, [m for m in RESULTS if m != "text/tab-separated-values"] +
                       ["text/tab-separated-values"])
        if media is None:
            return Reply(406, "text/plain", "Aucun format acceptable pour un résultat ASK (JSON, XML, CSV, TSV)."
                         .encode("utf-8"))
        return Reply(200, media, sparql_results.ask(bool(result), media))
    if isinstance(result, (ox.QuerySolutions, SelectResult)):
        media = choose(accept, list(RESULTS))
        if media is None:
            return Reply(406, "text/plain", "Aucun format acceptable pour des résultats SELECT (JSON, XML, CSV, "
                         "TSV).".encode("utf-8"))
        variables = [v.value for v in result.variables]
        rows, size = [], 0
        for solution in result:
            row = [solution[v] for v in variables]
            size += sum(_size(t) for t in row if t is not None)
            if len(rows) == request.max_rows or size > request.max_bytes:
                headers["X-CQP-Truncated"] = "true"
                break
            rows.append(row)
        headers["X-CQP-Row-Limit"] = str(request.max_rows)
        headers["X-CQP-Byte-Limit"] = str(request.max_bytes)
        return Reply(200, media, sparql_results.select(variables, rows, media), headers)
    media = choose(accept, list(GRAPHS))
    if media is None:
        return Reply(406, "text/plain", "Aucun format RDF acceptable (Turtle, N-Triples, JSON-LD, RDF/XML)."
                     .encode("utf-8"))
    triples, size = [], 0
    for triple in result:
        size += _size(triple)
        if len(triples) == request.max_rows or size > request.max_bytes:
            headers["X-CQP-Truncated"] = "true"
            break
        triples.append(triple)
    body = ox.serialize(triples, format=GRAPHS[media], prefixes=request.prefixes or {})
    return Reply(200, media, body, headers)


def _worker_main(conn, sources: list[Source], config: WorkerConfig) -> None:
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the server stops its workers itself
    try:  # runaway queries must not take the CPU from the server's own event loop (pages, REST)
        os.nice(10)
    except OSError:
        pass
    isolated = False if config.service_allow else _isolate_network()
    store = _load(sources)
    sys.setrecursionlimit(20000)  # the SERVICE check's parser recurses per nesting level (bounded above)
    _limit_memory(config.memory)
    conn.send(("ready", os.getpid(), isolated))
    while True:
        try:
            request = conn.recv()
        except EOFError:
            return
        if request is None:
            return
        try:
            reply = execute(store, request, config, isolated)
            conn.send(reply)
        except MemoryError:
            os._exit(MEMORY_EXIT)
        except Exception as exc:  # an engine failure must not kill the worker silently
            # the message may carry what a remote SERVICE answered: never pass it on
            if isinstance(exc, OSError):  # what the engine reports of I/O, SERVICE calls included
                conn.send(_bad("La requête a échoué : un service qu'elle appelle n'a pas répondu comme attendu "
                               "(sa réponse n'est pas transmise).", 502))
            elif isinstance(exc, RuntimeError) and _UNSUPPORTED.search(str(exc)):
                conn.send(_engine_error(exc))
            else:
                conn.send(_bad(f"La requête a échoué : {type(exc).__name__}: {str(exc)[:500]}", 500))


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
    def __init__(self, ctx, sources, config: WorkerConfig):
        self.conn, child = ctx.Pipe()
        self.process = ctx.Process(target=_worker_main, args=(child, sources, config), daemon=True)
        self.process.start()
        child.close()
        self.pid = self.process.pid
        self.isolated = False
        self.busy = False

    def wait_ready(self, timeout: float = 60.0) -> None:
        try:
            message = self.conn.recv() if self.conn.poll(timeout) else None
        except (EOFError, OSError):
            message = None
        if not (isinstance(message, tuple) and message[0] == "ready"):
            self.kill()
            raise ExecutorUnavailable(f"un processus SPARQL n'a pas démarré (code de sortie {self.process.exitcode})")
        self.isolated = message[2]

    def alive(self) -> bool:
        return self.process.is_alive()

    def kill(self) -> None:
        if self.process.is_alive():
            self.process.kill()
        self.process.join(5)
        self.conn.close()


class Executor:
    """A self-refilling pool of SPARQL worker processes with per-query time and memory limits."""

    def __init__(self, sources: list[Source], size: int = 2, timeout: float = 10.0, *,
                 config: WorkerConfig | None = None, client_concurrency: int = 2, queue_limit: int = 16,
                 max_backoff: float = 30.0):
        self.sources = list(sources)
        self.size = max(1, size)
        self.timeout = timeout
        self.config = config or WorkerConfig()
        # a client never holds every worker: one stays free for the others (with one worker: one query)
        self.client_limit = max(1, min(client_concurrency, self.size - 1))
        self.queue_limit = max(0, queue_limit)
        self.max_backoff = max_backoff
        self._ctx = mp.get_context("spawn")
        self._idle: collections.deque[_Worker] | None = None
        self._waiters: collections.deque[tuple[asyncio.Future, str]] = collections.deque()
        self._workers: set[_Worker] = set()
        self._clients: dict[str, int] = {}
        self._refill: asyncio.Event | None = None
        self._supervisor: asyncio.Task | None = None
        self.restarts = 0          # workers replaced after they died or were stopped
        self.failed_starts = 0     # attempts to start a worker that failed
        self.last_failure = ""
        self.refused = {"client": 0, "queue": 0}

    # -- pool ---------------------------------------------------------------------------

    async def _spawn(self) -> bool:
        loop = asyncio.get_running_loop()
        worker = _Worker(self._ctx, self.sources, self.config)
        try:
            await loop.run_in_executor(None, worker.wait_ready)
        except ExecutorUnavailable as exc:
            self.failed_starts += 1
            self.last_failure = str(exc)
            log.warning("SPARQL worker start failed: %s", exc)
            return False
        self._workers.add(worker)
        self._release(worker)
        return True

    async def start(self) -> None:
        self._idle = collections.deque()
        self._refill = asyncio.Event()
        started = await asyncio.gather(*(self._spawn() for _ in range(self.size)))
        if not any(started):
            raise ExecutorUnavailable(f"aucun processus SPARQL n'a pu démarrer : {self.last_failure}")
        self._supervisor = asyncio.ensure_future(self._supervise())

    async def _supervise(self) -> None:
        delay = 0.25
        while True:
            try:
                for worker in [w for w in self._workers if not w.busy and not w.alive()]:
                    self._lost(worker)
                if len(self._workers) < self.size:
                    if await self._spawn():
                        delay = 0.25
                    else:
                        await asyncio.sleep(delay)
                        delay = min(delay * 2, self.max_backoff)
                    continue
                self._refill.clear()
                try:
                    await asyncio.wait_for(self._refill.wait(), 1.0)
                except asyncio.TimeoutError:
                    pass
            except asyncio.CancelledError:
                raise
            except Exception:  # the supervisor must outlive anything
                log.exception("SPARQL pool supervisor")
                await asyncio.sleep(1.0)

    async def stop(self) -> None:
        if self._supervisor is not None:
            self._supervisor.cancel()
            try:
                await self._supervisor
            except (asyncio.CancelledError, Exception):
                pass
        for worker in list(self._workers):
            try:
                worker.conn.send(None)
            except Exception:
                pass
            worker.kill()
        self._workers.clear()

    def _lost(self, worker: _Worker) -> None:
        """A worker is gone or must go: kill it, forget it, and have the supervisor start another."""
        if worker in self._workers:
            self._workers.discard(worker)
            self.restarts += 1
        try:
            self._idle.remove(worker)
        except ValueError:
            pass
        if worker.process.is_alive():
            worker.process.kill()
        try:
            worker.conn.close()
        except OSError:
            pass
        try:  # reap it without blocking the event loop
            asyncio.get_running_loop().run_in_executor(None, worker.process.join, 5)
        except RuntimeError:
            worker.process.join(5)
        if self._refill is not None:
            self._refill.set()

    def _fresh(self, client: str) -> bool:
        """Whether `client` has no other query in flight (its count includes the query asking)."""
        return self._clients.get(client, 0) <= 1

    def _release(self, worker: _Worker) -> None:
        """Hand a free worker to the first waiting client that has nothing else in flight; a client
        that already holds a worker gets this one only if another worker stays free (the reserve)."""
        worker.busy = False
        self._idle.append(worker)
        for dead in [w for w in self._idle if not w.alive()]:
            self._lost(dead)
        while self._waiters and self._idle:
            pending = [(w, c) for w, c in self._waiters if not w.done()]
            self._waiters = collections.deque(pending)
            chosen = next(((w, c) for w, c in pending if self._fresh(c)), None)
            if chosen is None and len(self._idle) >= 2 and pending:
                chosen = pending[0]
            if chosen is None:
                return
            self._waiters.remove(chosen)
            given = self._idle.popleft()
            given.busy = True
            chosen[0].set_result(given)

    async def _acquire(self, timeout: float, client: str = "") -> _Worker:
        fresh = self._fresh(client)
        while self._idle and (fresh or len(self._idle) >= 2):
            worker = self._idle.popleft()
            if worker.alive():
                worker.busy = True
                return worker
            self._lost(worker)
        waiter = asyncio.get_running_loop().create_future()
        entry = (waiter, client)
        self._waiters.append(entry)
        try:
            worker = await asyncio.wait_for(asyncio.shield(waiter), timeout)
        except (asyncio.TimeoutError, asyncio.CancelledError):
            if waiter.done() and not waiter.cancelled():
                self._release(waiter.result())  # handed over just as we gave up: pass it on
            else:
                waiter.cancel()
            try:
                self._waiters.remove(entry)
            except ValueError:
                pass
            raise
        return worker

    # -- queries ------------------------------------------------------------------------

    def health(self) -> dict:
        ready = sum(1 for w in self._workers if w.alive())
        return {
            "status": "ok" if ready == self.size else ("degraded" if ready else "unavailable"),
            "workers": {"ready": ready, "busy": sum(1 for w in self._workers if w.busy), "total": self.size,
                        "pids": sorted(w.pid for w in self._workers),
                        "network_isolated": all(w.isolated for w in self._workers) if self._workers else None},
            "restarts": self.restarts,
            "failed_starts": self.failed_starts,
            "last_failure": self.last_failure or None,
            "queued": len(self._waiters),
            "limits": {"client_concurrency": self.client_limit, "queue": self.queue_limit,
                       "query_timeout_s": self.timeout, "worker_memory_bytes": self.config.memory},
            "refused": dict(self.refused),
        }

    async def run(self, request: QueryRequest, timeout: float | None = None, client: str = "") -> Reply:
        if self._idle is None:
            raise ExecutorUnavailable("les processus SPARQL ne sont pas démarrés")
        if not self._workers:
            raise ExecutorUnavailable("aucun processus SPARQL n'est prêt ; le serveur en redémarre")
        if self._clients.get(client, 0) >= self.client_limit:
            self.refused["client"] += 1
            raise TooManyQueries(f"{self.client_limit} requête(s) SPARQL de ce client déjà en cours "
                                 "(CQP_GRAPH_CLIENT_CONCURRENCY)")
        if not self._idle and len(self._waiters) >= self.queue_limit:
            self.refused["queue"] += 1
            raise Overloaded(f"{len(self._waiters)} requêtes SPARQL attendent déjà un processus libre "
                             "(CQP_GRAPH_QUEUE_LIMIT)")
        self._clients[client] = self._clients.get(client, 0) + 1
        try:
            return await self._run(request, self.timeout if timeout is None else timeout, client)
        finally:
            left = self._clients[client] - 1
            if left:
                self._clients[client] = left
            else:
                del self._clients[client]

    async def _run(self, request: QueryRequest, limit: float, client: str = "") -> Reply:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + limit
        try:
            worker = await self._acquire(limit, client)
        except asyncio.TimeoutError:
            raise QueryTimeout(f"aucun processus SPARQL ne s'est libéré en {limit:g} s") from None
        try:
            worker.conn.send(request)
            if not await _readable(worker.conn, max(0.0, deadline - loop.time())):
                self._lost(worker)
                raise QueryTimeout(f"la requête a dépassé sa limite de {limit:g} s (CQP_GRAPH_QUERY_TIMEOUT) et a été "
                                   "arrêtée")
            reply = worker.conn.recv()
        except (EOFError, OSError):
            await loop.run_in_executor(None, worker.process.join, 2)
            code = worker.process.exitcode
            self._lost(worker)
            if code in (MEMORY_EXIT, -signal.SIGABRT):
                raise WorkerOutOfMemory("la requête a dépassé la mémoire permise à un processus SPARQL "
                                        f"(CQP_GRAPH_WORKER_MEMORY) ; il est remplacé (code {code})") from None
            raise ExecutorUnavailable(f"le processus SPARQL s'est arrêté (code de sortie {code}) ; il est "
                                      "remplacé") from None
        except asyncio.CancelledError:  # the client went away mid-query: the worker's state is unknown
            self._lost(worker)
            raise
        self._release(worker)
        return reply


# -- a remote store ------------------------------------------------------------------------

def execute_remote(store: RemoteStore, request: QueryRequest, config: WorkerConfig, timeout: float,
                   limit: float | None = None) -> Reply:
    """Check a query as a worker would, forward it to the configured store within `timeout` (what is left of the
    query's time `limit`), and serialise its answer cut at the request's rows and bytes (the store's answer is
    read up to twice the byte limit)."""
    refused = refusal(request, config, isolated=False)
    if refused is not None:
        return refused
    try:
        default = [ox.NamedNode(g) for g in request.default_graphs] if request.default_graphs else None
        named = [ox.NamedNode(g) for g in request.named_graphs] if request.named_graphs else None
    except ValueError as exc:
        return _bad(f"Paramètre default-graph-uri ou named-graph-uri refusé : ce n'est pas une IRI absolue ({exc}).")
    if named and default is None:
        default = [ox.DefaultGraph()]
    try:
        answer = store.answer(request.query, base_iri=request.base_iri, prefixes=request.prefixes,
                              default_graph=default, named_graphs=named, timeout=timeout,
                              max_bytes=2 * request.max_bytes + (1 << 16), truncate=True)
        result = parse_answer(answer, request.max_rows + 1, truncate=True)
    except StoreTimeout:
        raise QueryTimeout(f"la requête a dépassé sa limite de {limit or timeout:g} s (CQP_GRAPH_QUERY_TIMEOUT) ; le "
                           "magasin SPARQL n'a pas répondu à temps") from None
    except StoreRefused as exc:
        return _bad(f"Requête refusée par le magasin SPARQL : {str(exc).split(' : ', 1)[-1][:500]}")
    except StoreError:
        return _bad("La requête a échoué : le magasin SPARQL configuré n'a pas répondu comme attendu.", 502)
    return serialise(result, request, {"X-CQP-Truncated": "true"} if result.truncated else None)


class RemoteExecutor:
    """`/sparql` over a remote store: the workers' checks and admission, the query forwarded to that store only."""

    def __init__(self, store: RemoteStore, size: int = 2, timeout: float = 10.0, *,
                 config: WorkerConfig | None = None, client_concurrency: int = 2, queue_limit: int = 16):
        self.store = store
        self.size = max(1, size)
        self.timeout = timeout
        self.config = config or WorkerConfig()
        self.client_limit = max(1, min(client_concurrency, self.size - 1))
        self.queue_limit = max(0, queue_limit)
        self._clients: dict[str, int] = {}
        self._slots: asyncio.Semaphore | None = None
        self._pool: concurrent.futures.ThreadPoolExecutor | None = None
        self._running = 0
        self._waiting = 0
        self.refused = {"client": 0, "queue": 0}

    async def start(self) -> None:
        self._slots = asyncio.Semaphore(self.size)
        # threads of its own, as many as queries may run: a store that hangs cannot take the event loop's
        # default pool from the rest of the server (each thread is freed at CQP_GRAPH_QUERY_TIMEOUT anyway)
        self._pool = concurrent.futures.ThreadPoolExecutor(self.size, thread_name_prefix="cqp-remote-sparql")

    async def stop(self) -> None:
        self._slots = None
        pool, self._pool = self._pool, None
        if pool is not None:
            pool.shutdown(wait=False, cancel_futures=True)

    def health(self) -> dict:
        ready = self.size if self._slots is not None else 0
        return {
            "status": "ok" if ready else "unavailable",
            "workers": {"ready": ready, "busy": self._running, "total": self.size, "pids": [],
                        "network_isolated": None},
            "store": "remote",
            "restarts": 0, "failed_starts": 0, "last_failure": None, "queued": self._waiting,
            "limits": {"client_concurrency": self.client_limit, "queue": self.queue_limit,
                       "query_timeout_s": self.timeout, "worker_memory_bytes": self.config.memory},
            "refused": dict(self.refused),
        }

    async def run(self, request: QueryRequest, timeout: float | None = None, client: str = "") -> Reply:
        if self._slots is None:
            raise ExecutorUnavailable("le point d'accès SPARQL n'est pas démarré")
        if self._clients.get(client, 0) >= self.client_limit:
            self.refused["client"] += 1
            raise TooManyQueries(f"{self.client_limit} requête(s) SPARQL de ce client déjà en cours "
                                 "(CQP_GRAPH_CLIENT_CONCURRENCY)")
        if self._running >= self.size and self._waiting >= self.queue_limit:
            self.refused["queue"] += 1
            raise Overloaded(f"{self._waiting} requêtes SPARQL attendent déjà (CQP_GRAPH_QUEUE_LIMIT)")
        limit = self.timeout if timeout is None else timeout
        loop = asyncio.get_running_loop()
        deadline = loop.time() + limit
        self._clients[client] = self._clients.get(client, 0) + 1
        try:
            self._waiting += 1
            try:
                await asyncio.wait_for(self._slots.acquire(), limit)
            except asyncio.TimeoutError:
                raise QueryTimeout(f"aucune place ne s'est libérée en {limit:g} s") from None
            finally:
                self._waiting -= 1
            self._running += 1
            try:
                remaining = max(0.001, deadline - loop.time())
                return await asyncio.wait_for(
                    loop.run_in_executor(self._pool, execute_remote, self.store, request, self.config, remaining,
                                         limit),
                    remaining + 1.0)
            except asyncio.TimeoutError:
                raise QueryTimeout(f"la requête a dépassé sa limite de {limit:g} s (CQP_GRAPH_QUERY_TIMEOUT)") from None
            finally:
                self._running -= 1
                self._slots.release()
        finally:
            left = self._clients[client] - 1
            if left:
                self._clients[client] = left
            else:
                del self._clients[client]
