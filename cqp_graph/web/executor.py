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

A worker is a lean process (`cqp_graph.web.worker`: the interpreter, pyoxigraph and its store; no rdflib, no web
application), so that with the on-disk store the server's memory grows by little per worker.

Lives here: the worker pool, its admission and its limits, and the remote executor. Not here: what runs inside a
worker (`worker`: the query checks, execution, serialisation), the protocol (`sparql`), the in-process knowledge
layer the REST routes and pages use (`state.knowledge`).
"""

from __future__ import annotations

import asyncio
import collections
import concurrent.futures
import logging
import os
import signal
import socket
import subprocess
import sys
from multiprocessing.connection import Connection

import pyoxigraph as ox

from cqp_graph.query.remote_store import RemoteStore, StoreError, StoreRefused, StoreTimeout, parse_answer
from cqp_graph.web.worker import (MEMORY_EXIT, QueryRequest, Reply, Source, WorkerConfig,  # noqa: F401 (re-exported)
                                  _bad, execute, refusal, serialise)  # noqa: F401

log = logging.getLogger("cqp_graph.executor")

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


_PACKAGE_ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


class _Worker:
    """One worker process: `python -c` running `cqp_graph.web.worker.main` (see that module for why not
    multiprocessing's spawn), talking over a socket pair with multiprocessing's message framing."""

    def __init__(self, sources, config: WorkerConfig, generation: int = 0):
        self.generation = generation  # the pool's sources it serves (`Executor.retarget`)
        ours, theirs = socket.socketpair()
        # the worker imports the very cqp_graph this process runs (a checkout, an installed wheel)
        env = dict(os.environ, PYTHONPATH=os.pathsep.join(
            p for p in (_PACKAGE_ROOT, os.environ.get("PYTHONPATH", "")) if p))
        try:
            self.process = subprocess.Popen(
                [sys.executable, "-c", "import sys; from cqp_graph.web.worker import main; main(int(sys.argv[1]))",
                 str(theirs.fileno())],
                pass_fds=(theirs.fileno(),), stdin=subprocess.DEVNULL, close_fds=True, env=env)
        finally:
            theirs.close()
        self.conn = Connection(ours.detach())
        self.pid = self.process.pid
        self.isolated = False
        self.busy = False
        try:
            self.conn.send((list(sources), config))
        except OSError:
            pass  # it died at once: wait_ready says so with its exit code

    def wait_ready(self, timeout: float = 600.0) -> None:
        try:
            message = self.conn.recv() if self.conn.poll(timeout) else None
        except (EOFError, OSError):
            message = None
        if not (isinstance(message, tuple) and message[0] == "ready"):
            died = not self.alive()
            self.kill()
            why = f"code de sortie {self.process.returncode}" if died else \
                f"pas prêt en {timeout:g} s, CQP_GRAPH_WORKER_START_TIMEOUT"
            raise ExecutorUnavailable(f"un processus SPARQL n'a pas démarré ({why})")
        self.isolated = message[2]

    def alive(self) -> bool:
        return self.process.poll() is None

    def join(self, timeout: float) -> int | None:
        """Wait at most `timeout` seconds for the process to end; its exit code (-N: killed by signal N) or None."""
        try:
            return self.process.wait(timeout)
        except subprocess.TimeoutExpired:
            return None

    def kill(self) -> None:
        if self.alive():
            self.process.kill()
        self.join(5)
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
        self._idle: collections.deque[_Worker] | None = None
        self._waiters: collections.deque[tuple[asyncio.Future, str]] = collections.deque()
        self._workers: set[_Worker] = set()
        self._clients: dict[str, int] = {}
        self._refill: asyncio.Event | None = None
        self._supervisor: asyncio.Task | None = None
        self.restarts = 0          # workers replaced after they died or were stopped
        self.generation = 0        # bumped by `retarget`: workers of an older one are replaced
        self.retired = 0           # workers replaced because their sources were retargeted
        self.failed_starts = 0     # attempts to start a worker that failed
        self.last_failure = ""
        self.refused = {"client": 0, "queue": 0}

    # -- pool ---------------------------------------------------------------------------

    async def _spawn(self) -> bool:
        loop = asyncio.get_running_loop()
        worker = _Worker(self.sources, self.config, self.generation)
        try:
            await loop.run_in_executor(None, worker.wait_ready, self.config.start_timeout)
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

    def retarget(self, sources: list[Source]) -> None:
        """Serve `sources` from now on (a new version `cqp-graph load` published): idle workers are replaced at
        once, busy ones as soon as their query ends; a query never mixes two versions."""
        self.sources = list(sources)
        self.generation += 1
        if self._idle is not None:
            for worker in list(self._idle):
                self._lost(worker, retired=True)

    def _lost(self, worker: _Worker, retired: bool = False) -> None:
        """A worker is gone or must go: kill it, forget it, and have the supervisor start another."""
        if worker in self._workers:
            self._workers.discard(worker)
            if retired:
                self.retired += 1
            else:
                self.restarts += 1
        try:
            self._idle.remove(worker)
        except ValueError:
            pass
        if worker.alive():
            worker.process.kill()
        try:
            worker.conn.close()
        except OSError:
            pass
        try:  # reap it without blocking the event loop
            asyncio.get_running_loop().run_in_executor(None, worker.join, 5)
        except RuntimeError:
            worker.join(5)
        if self._refill is not None:
            self._refill.set()

    def _fresh(self, client: str) -> bool:
        """Whether `client` has no other query in flight (its count includes the query asking)."""
        return self._clients.get(client, 0) <= 1

    def _release(self, worker: _Worker) -> None:
        """Hand a free worker to the first waiting client that has nothing else in flight; a client
        that already holds a worker gets this one only if another worker stays free (the reserve)."""
        worker.busy = False
        if worker.generation != self.generation:  # it serves what was published before `retarget`
            self._lost(worker, retired=True)
            return
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
            "retired": self.retired,
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
            code = await loop.run_in_executor(None, worker.join, 2)
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

    def retarget(self, store: RemoteStore) -> None:
        """Forward queries to `store` (the publication `cqp-graph load` made last) from now on; a query in flight
        keeps the store it started on."""
        self.store = store

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
            "restarts": 0, "retired": 0, "failed_starts": 0, "last_failure": None, "queued": self._waiting,
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
