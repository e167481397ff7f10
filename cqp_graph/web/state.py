"""What the server holds: the validated graph and its knowledge layer, the SPARQL workers, a response cache.

`ServerState.load` gets the graph through the pipeline only: it builds and validates one with `run_pipeline`
when there is no dump to serve (or the dump was minted under another base), and otherwise opens the dump,
refusing it when the findings recorded beside it (`validation.json`, written by `build`) hold a violation, or
re-validating it (`open_dump`) when nothing was recorded. Nothing unvalidated is served. Every page and route
asks the graph through `state.knowledge` (named queries, descriptions, counts, referentials).

With a store set (`CQP_GRAPH_STORE`), the server opens what `cqp-graph load` published there
(`open_published`): an on-disk store read-only — its SPARQL workers open the same folder read-only instead of
each loading a copy —, or a remote SPARQL endpoint, which `/sparql` forwards to (`RemoteExecutor`).

Lives here: that state, the response cache (`LRU`) and how the served referential of a request is chosen.
Not here: the routes (`api_routes`, `linked_data`, `app`), the SPARQL workers (`executor`), the stages of the
pipeline (`cqp_graph.graph.pipeline`).
"""

from __future__ import annotations

import hashlib
import json
import logging
import shutil
import sys
import tempfile
import threading
from collections import OrderedDict
from dataclasses import dataclass, field
from pathlib import Path

import pyoxigraph as ox
from rdflib import Graph

from cqp_graph.config import Settings
from cqp_graph.graph.import_guard import ImportGuard
from cqp_graph.graph.pipeline import BuiltGraph, located, open_dump, open_published, run_pipeline
from cqp_graph.graph.validate import Finding, ValidationReport
from cqp_graph.namespaces import prefixes
from cqp_graph.query.catalogue import QueryCatalogue, Table
from cqp_graph.query.knowledge import Knowledge, Referential, UnknownReferential
from cqp_graph.source.tables import DataError
from cqp_graph.query.store import FOLDER, MEMORY, store_kind
from cqp_graph.web.executor import Executor, RemoteExecutor, Source, WorkerConfig

log = logging.getLogger("cqp_graph.state")


class LRU:
    """A least-recently-used cache of computed responses (the graph is read-only), bounded in bytes.

    `max_bytes` bounds what the cached values hold in total; a value larger than `max_entry`
    (by default an eighth of the total) is computed and returned but not kept. Thread-safe: pages
    computed in the thread pool store their results here too.
    """

    def __init__(self, max_bytes: int = 64 * 2**20, max_entry: int | None = None, size: int = 4096):
        self.max_bytes = max_bytes
        self.max_entry = max_bytes // 8 if max_entry is None else max_entry
        self.size = size  # most entries, whatever their weight
        self.data: OrderedDict = OrderedDict()
        self.bytes = 0
        self.hits = 0
        self.misses = 0
        self.epoch = 0  # bumped by `clear`: a value computed before is not kept
        self._lock = threading.Lock()

    def clear(self) -> None:
        """Forget every value (the served graph changed); values being computed meanwhile are not kept."""
        with self._lock:
            self.data.clear()
            self.bytes = 0
            self.epoch += 1

    def lookup(self, key):
        with self._lock:
            entry = self.data.get(key)
            if entry is None:
                self.misses += 1
                return None
            self.data.move_to_end(key)
            self.hits += 1
            return entry[0]

    def store(self, key, value, epoch: int | None = None) -> None:
        """Keep `value`, unless it was computed in an `epoch` before the last `clear`."""
        weight = weight_of(value)
        if weight > self.max_entry:
            return
        with self._lock:
            if epoch is not None and epoch != self.epoch:
                return
            old = self.data.pop(key, None)
            if old is not None:
                self.bytes -= old[1]
            self.data[key] = (value, weight)
            self.bytes += weight
            while self.data and (self.bytes > self.max_bytes or len(self.data) > self.size):
                _, (_, dropped) = self.data.popitem(last=False)
                self.bytes -= dropped

    def get(self, key, compute):
        epoch = self.epoch
        value = self.lookup(key)
        if value is not None:
            return value
        value = compute()
        self.store(key, value, epoch)
        return value


def weight_of(value) -> int:
    """Roughly the bytes a cached value holds (bodies dominate; containers are walked)."""
    if isinstance(value, (bytes, bytearray, str)):
        return len(value) + 64
    if hasattr(value, "body") and isinstance(getattr(value, "body"), (bytes, bytearray)):
        return len(value.body) + 256
    if isinstance(value, dict):
        return 64 + sum(weight_of(k) + weight_of(v) for k, v in value.items())
    if isinstance(value, (list, tuple, set, frozenset)):
        return 64 + sum(weight_of(v) for v in value)
    return sys.getsizeof(value)


def _minted_under(graph_file: Path, base: str) -> bool:
    """Whether a dump's resources are minted under `base` (N-Triples: look for one subject under it)."""
    needle = f"<{base}".encode("utf-8")
    with open(graph_file, "rb") as handle:
        return any(line.startswith(needle) for line in handle)


def recorded_findings(validation: Path) -> ValidationReport | None:
    """The findings `build` recorded beside a dump (None when there is no record); DataError (French) when the
    record is unreadable or holds a violation: `build --force` publishes such a graph, the server does not."""
    if not validation.exists():
        return None
    try:
        raw = json.loads(validation.read_text(encoding="utf-8"))
        findings = [Finding(**{k: f.get(k) for k in Finding.__dataclass_fields__}) for f in raw]
    except (ValueError, OSError, TypeError, AttributeError) as exc:
        raise DataError(validation, None, f"illisible ({exc}) ; relancez `cqp-graph build`") from None
    report = ValidationReport(findings)
    if report.violations:
        first = report.violations[0]
        raise DataError(validation, None, f"le graphe publié a {len(report.violations)} violation(s) SHACL "
                        f"(la première : {first.focus} — {first.message}) ; "
                        "il n'est pas servi (corrigez les données puis `cqp-graph build`)")
    return report


def open_served(settings: Settings, graph_file: Path) -> BuiltGraph:
    """A published dump, as the pipeline hands it over: trusted when `build` recorded its findings beside it
    (and none is a violation), re-validated otherwise."""
    report = recorded_findings(graph_file.parent / "validation.json")
    if report is None:
        return open_dump(settings, graph_file)
    graph = Graph()
    try:
        graph.parse(graph_file)
    except Exception as exc:  # rdflib raises several parser error types
        raise DataError(graph_file, getattr(exc, "lineno", None), f"le graphe n'a pas pu être lu ({exc})") from None
    return BuiltGraph(settings, graph, report, Knowledge.from_file(graph_file, settings))


class AmbiguousReferential(UnknownReferential):
    """A route without a referential in its path, on a graph that holds several."""


@dataclass
class ServerState:
    settings: Settings
    built: BuiltGraph
    graph_file: Path
    executor: Executor | RemoteExecutor
    extra_sources: list[Source] = field(default_factory=list)
    cache: LRU = field(default_factory=LRU)
    etag: str = ""
    cache_enabled: bool = True
    switches: int = 0              # times a new version published by `cqp-graph load` was taken up (`switch`)
    last_switch_error: str = ""
    scratch: list[Path] = field(default_factory=list)  # temporary dump folders this process made, newest last

    @classmethod
    def load(cls, settings: Settings, graph_file: Path | None = None, extra_sources: list[Source] = (),
             workers: int | None = None, cache: bool = True) -> "ServerState":
        from cqp_graph.publish.dumps import write_dist

        if store_kind(settings.store) != MEMORY:
            if graph_file is not None or extra_sources:
                raise DataError(Path(settings.store), None, "avec CQP_GRAPH_STORE réglé, le serveur lit le graphe que "
                                "`cqp-graph load` y a publié : publiez-y les fichiers (--file, --graph-data) au lieu "
                                "de --graph, --merge ou --graph-data de `serve`")
            return cls._published(settings, workers, cache)
        explicit = graph_file is not None
        scratch: list[Path] = []
        graph_file = Path(graph_file or settings.dist_dir / "graph.nt")
        if not explicit and (not graph_file.exists() or not _minted_under(graph_file, settings.base)):
            # no dump yet, or one built under another base: build one for this base, through the pipeline
            # (a graph with a violation raises InvalidGraph and is not served)
            built = located(run_pipeline(settings))  # validation.json names each finding's file and line
            target = settings.dist_dir
            if graph_file.exists():  # a dump built under another base: this one goes beside it, in a scratch folder
                target = Path(tempfile.mkdtemp(prefix="cqp-graph-"))
                scratch.append(target)
            write_dist(built.graph, target, settings.base, extra={"validation.json": built.findings_json()})
            graph_file = target / "graph.nt"
        else:
            built = open_served(settings, graph_file)
        store = built.knowledge.store
        guard = ImportGuard(store, settings.base) if extra_sources else None  # imports may not rewrite referentials
        for source in extra_sources:
            store.bulk_load(path=source.path, format=ox.RdfFormat.from_extension(source.path.rsplit(".", 1)[-1]),
                            to_graph=ox.NamedNode(source.graph) if source.graph else ox.DefaultGraph())
            if not source.graph:
                guard.check_store(store, source.path)
        etag = hashlib.sha256(graph_file.read_bytes()).hexdigest()[:16]
        executor = Executor([Source(str(graph_file))] + list(extra_sources), size=workers or settings.workers,
                            timeout=settings.query_timeout, config=_worker_config(settings),
                            client_concurrency=settings.client_concurrency, queue_limit=settings.queue_limit)
        return cls(settings, built, graph_file, executor, list(extra_sources), cache=LRU(settings.cache_bytes),
                   etag=etag, cache_enabled=cache, scratch=scratch)

    @classmethod
    def _published(cls, settings: Settings, workers: int | None, cache: bool) -> "ServerState":
        """The state over the graph `cqp-graph load` published in the configured store."""
        from cqp_graph.publish.dumps import write_dist

        built = open_published(settings)
        scratch: list[Path] = []
        size = workers or settings.workers
        limits = dict(timeout=settings.query_timeout, config=_worker_config(settings),
                      client_concurrency=settings.client_concurrency, queue_limit=settings.queue_limit)
        if store_kind(settings.store) == FOLDER:
            version = Path(built.origin)
            graph_file = version / "graph.nt"  # the version folder holds the dumps too
            executor = Executor([Source(str(version / "oxigraph"), store=True)], size=size, **limits)
        else:
            target = Path(tempfile.mkdtemp(prefix="cqp-graph-"))  # the dumps of /dumps/, written by this process
            scratch.append(target)
            write_dist(built.graph, target, settings.base, extra={"validation.json": built.findings_json()})
            graph_file = target / "graph.nt"
            executor = RemoteExecutor(built.knowledge.store, size=size, **limits)
        etag = hashlib.sha256(f"{settings.store}\n{built.origin}".encode("utf-8")).hexdigest()[:16]
        return cls(settings, built, graph_file, executor, [], cache=LRU(settings.cache_bytes), etag=etag,
                   cache_enabled=cache, scratch=scratch)

    # -- following what `cqp-graph load` publishes ---------------------------------------------------------
    def published(self) -> str | None:
        """What the configured store publishes now (the folder's current version, the remote store's last
        publication), to compare with what is served (`built.origin`); None on the in-memory store."""
        kind = store_kind(self.settings.store)
        if kind == MEMORY:
            return None
        if kind == FOLDER:
            from cqp_graph.query import folder_store

            return str(folder_store.current(Path(self.settings.store)).folder)
        from cqp_graph.query.remote_store import RemoteStore

        return RemoteStore.from_settings(self.settings).publication.load_id

    def newer(self) -> "ServerState | None":
        """What the store publishes now, opened (its graph read, its findings, its store opened read-only), if it
        is not what is served; None otherwise. Reads only: runs in a thread; DataError (French) when the new
        version cannot be opened — the old one is then still served."""
        origin = self.published()
        if origin is None or origin == self.built.origin:
            return None
        return ServerState._published(self.settings, self.executor.size, self.cache_enabled)

    def adopt(self, fresh: "ServerState") -> None:
        """Serve `fresh` (from `newer`): the knowledge layer, the dumps, the ETag and the SPARQL workers move to it
        together and the response cache is emptied; a request in flight finishes on the version it started on.
        Runs in the event loop's thread, where the worker pool lives (its queues are not shared with threads)."""
        before = self.built.origin
        self.built, self.graph_file, self.etag = fresh.built, fresh.graph_file, fresh.etag
        if isinstance(self.executor, Executor):
            self.executor.retarget(fresh.executor.sources)
        else:
            self.executor.retarget(fresh.executor.store)
        self.cache.clear()
        self.switches += 1
        # the dumps of the version before stay for the downloads still on it; older ones this process wrote go
        self.scratch += fresh.scratch
        self._remove_scratch(self.scratch[:-2])
        if store_kind(self.settings.store) == FOLDER:
            from cqp_graph.query import folder_store

            # the version before stays locked for the requests still on it; older ones: a later load may delete them
            folder_store.keep_reading(Path(self.settings.store), {before, self.built.origin})
        log.info("nouvelle version servie : %s (avant : %s)", self.built.origin, before)

    def close(self) -> None:
        """Remove the temporary dump folders this process wrote (at the server's stop)."""
        self._remove_scratch(list(self.scratch))

    def _remove_scratch(self, folders: list[Path]) -> None:
        for folder in folders:
            shutil.rmtree(folder, ignore_errors=True)  # only folders this process made with mkdtemp
            self.scratch.remove(folder)

    async def follow(self, interval: float) -> None:
        """Every `interval` seconds, move to what the store publishes if a load published something new: opened in
        a thread, adopted in the event loop (a failure to read it is logged and retried at the next round; the
        server keeps serving what it had)."""
        import asyncio

        while True:
            await asyncio.sleep(interval)
            try:
                fresh = await asyncio.to_thread(self.newer)
                if fresh is not None:
                    self.adopt(fresh)
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # a store briefly unreachable, a version half-read: try again later
                self.last_switch_error = f"{type(exc).__name__}: {str(exc)[:300]}"
                log.warning("nouvelle version non servie : %s", self.last_switch_error)

    # -- what the server serves ----------------------------------------------------------------------------
    @property
    def knowledge(self) -> Knowledge:
        return self.built.knowledge

    @property
    def graph(self) -> Graph:
        return self.built.graph

    @property
    def store(self) -> ox.Store:
        """The in-process store (the default graph and the extra sources), for reading triples one by one."""
        return self.knowledge.store

    @property
    def catalogue(self) -> QueryCatalogue:
        return self.knowledge.catalogue

    @property
    def base(self) -> str:
        return self.settings.base

    @property
    def prefixes(self) -> dict:
        return prefixes(self.base)

    # -- named queries, per referential --------------------------------------------------------------------
    def named(self, name: str, params: dict | None = None, referential: str | None = None) -> Table:
        """The named query `name` with `params` bound; with `referential`, restricted to that referential when
        the query takes one (a query without a `referential` parameter is not about one referential)."""
        values = {k: v for k, v in (params or {}).items() if v is not None}
        if referential is not None and takes_referential(self.catalogue.get(name)):
            values["referential"] = referential
        return self.knowledge.table(name, values)

    def rows(self, name: str, referential: str | None = None, **params) -> list[dict]:
        return self.named(name, params, referential).rows

    def referentials(self) -> list[Referential]:
        return self.cached(("referentials",), self.knowledge.referentials)

    def referential(self, name: str) -> Referential:
        """The referential called `name`; UnknownReferential (French, with the known names) otherwise."""
        return self.knowledge.referential(name)

    def only_referential(self) -> str | None:
        """The referential a route without one in its path answers for: the only one (None when the graph names
        none); AmbiguousReferential when there are several."""
        known = self.referentials()
        if len(known) <= 1:
            return known[0].name if known else None
        names = [r.name for r in known]
        raise AmbiguousReferential(f"le graphe contient {len(known)} référentiels ({', '.join(names)}) : précisez "
                                   "lequel dans le chemin, /api/referentials/NOM/…", names)

    def referential_of(self, iri: str) -> str | None:
        """The name of the referential a resource belongs to (cqp:inReferential, or the certification itself)."""
        def compute():
            by_iri = {r.iri: r.name for r in self.referentials()}
            if iri in by_iri:
                return by_iri[iri]
            owner = f"{self.base}ontology#inReferential"
            for predicate, value in self.knowledge.describe(iri):
                if predicate == owner and value in by_iri:
                    return by_iri[value]
            return ""
        return self.cached(("referential-of", iri), compute) or None

    # -- caching and links ---------------------------------------------------------------------------------
    def cached(self, key, compute):
        if not self.cache_enabled:
            return compute()
        return self.cache.get(key, compute)

    def local_path(self, iri: str) -> str | None:
        """The server path of an IRI minted under the base (None for other IRIs)."""
        if iri.startswith(self.base):
            return "/" + iri[len(self.base):]
        return None

    def graphs(self) -> list[tuple[str | None, int]]:
        out = [(None, len(self.graph))]
        if store_kind(self.settings.store) != MEMORY:  # the named graphs `load` published, counted once
            def sizes():
                names = sorted(g.value for g in self.store.named_graphs())
                return [(name, self.knowledge.select("SELECT ?g (COUNT(*) AS ?n) WHERE { GRAPH ?g { ?s ?p ?o } } GROUP BY ?g",
                                                     {"g": ox.NamedNode(name)}).rows[0]["n"]) for name in names]
            return out + self.cached(("named-graphs",), sizes)
        for source in self.extra_sources:
            count = sum(1 for _ in self.store.quads_for_pattern(None, None, None, ox.NamedNode(source.graph))) \
                if source.graph else 0
            out.append((source.graph, count))
        return out


def _worker_config(settings: Settings) -> WorkerConfig:
    return WorkerConfig(memory=settings.worker_memory, service_allow=settings.service_allow,
                        max_depth=settings.max_query_depth, max_chain=settings.max_query_chain,
                        start_timeout=settings.worker_start_timeout)


def takes_referential(query) -> bool:
    """Whether a named query declares the optional `referential` parameter."""
    return any(p.name == "referential" for p in query.params)
