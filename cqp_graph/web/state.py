"""What the server holds: the built graph, an in-process store for fixed queries, caches."""

from __future__ import annotations

import hashlib
import sys
import tempfile
import threading
from collections import OrderedDict
from dataclasses import dataclass, field
from pathlib import Path

import pyoxigraph as ox
from rdflib import Graph

from cqp_graph.config import Settings
from cqp_graph.namespaces import prefixes
from cqp_graph.query.catalogue import QueryCatalogue, Table, load_catalogue, run_named
from cqp_graph.web.executor import Executor, Source, WorkerConfig


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
        self._lock = threading.Lock()

    def lookup(self, key):
        with self._lock:
            entry = self.data.get(key)
            if entry is None:
                self.misses += 1
                return None
            self.data.move_to_end(key)
            self.hits += 1
            return entry[0]

    def store(self, key, value) -> None:
        weight = weight_of(value)
        if weight > self.max_entry:
            return
        with self._lock:
            old = self.data.pop(key, None)
            if old is not None:
                self.bytes -= old[1]
            self.data[key] = (value, weight)
            self.bytes += weight
            while self.data and (self.bytes > self.max_bytes or len(self.data) > self.size):
                _, (_, dropped) = self.data.popitem(last=False)
                self.bytes -= dropped

    def get(self, key, compute):
        value = self.lookup(key)
        if value is not None:
            return value
        value = compute()
        self.store(key, value)
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


def _validated(graph: Graph, settings: Settings) -> bytes:
    """The SHACL findings of `graph` as `build` writes them; DataError when one is a violation."""
    import json

    from cqp_graph.graph.assemble import load_shapes
    from cqp_graph.source.tables import DataError
    from cqp_graph.graph.validate import validate_graph

    report = validate_graph(graph, load_shapes(settings))
    if report.violations:
        first = report.violations[0]
        raise DataError(settings.data_dir, None, f"le graphe construit a {len(report.violations)} violation(s) "
                        f"SHACL (la première : {first.focus} — {first.message}) : il n'est pas servi ; "
                        "voir `cqp-graph validate`")
    return json.dumps([f.as_dict() for f in report.findings], ensure_ascii=False, indent=1).encode("utf-8")


def _refuse_recorded_violations(validation: Path) -> None:
    """A dump written by `build --force` records its violations next to it: such a graph is not served."""
    import json

    from cqp_graph.source.tables import DataError

    if not validation.exists():
        return
    try:
        findings = json.loads(validation.read_text(encoding="utf-8"))
    except (ValueError, OSError) as exc:
        raise DataError(validation, None, f"illisible ({exc}) ; relancez `cqp-graph build`") from None
    violations = [f for f in findings if isinstance(f, dict) and f.get("severity") == "Violation"]
    if violations:
        raise DataError(validation, None, f"le graphe publié a {len(violations)} violation(s) SHACL "
                        f"(la première : {violations[0].get('focus')} — {violations[0].get('message')}) ; "
                        "il n'est pas servi (corrigez les données puis `cqp-graph build`)")


@dataclass
class ServerState:
    settings: Settings
    graph: Graph
    graph_file: Path
    store: ox.Store
    catalogue: QueryCatalogue
    executor: Executor
    extra_sources: list[Source] = field(default_factory=list)
    cache: LRU = field(default_factory=LRU)
    etag: str = ""
    cache_enabled: bool = True

    @classmethod
    def load(cls, settings: Settings, graph_file: Path | None = None, extra_sources: list[Source] = (),
             workers: int | None = None, cache: bool = True) -> "ServerState":
        from cqp_graph.publish.dumps import write_dist
        from cqp_graph.graph.assemble import build_graph

        explicit = graph_file is not None
        graph_file = Path(graph_file or settings.dist_dir / "graph.nt")
        if not explicit and (not graph_file.exists() or not _minted_under(graph_file, settings.base)):
            # no dump yet, or one built under another base: build one for this base
            graph = build_graph(settings)
            findings = _validated(graph, settings)  # as `build` does: a graph with a violation is not served
            target = settings.dist_dir if not graph_file.exists() else Path(tempfile.mkdtemp(prefix="cqp-graph-"))
            write_dist(graph, target, settings.base, extra={"validation.json": findings})
            graph_file = target / "graph.nt"
        else:
            if not explicit:
                _refuse_recorded_violations(graph_file.parent / "validation.json")
            graph = Graph().parse(graph_file)
        store = ox.Store()
        store.bulk_load(path=str(graph_file), format=ox.RdfFormat.from_extension(graph_file.suffix.lstrip(".")))
        for source in extra_sources:
            store.bulk_load(path=source.path, format=ox.RdfFormat.from_extension(source.path.rsplit(".", 1)[-1]),
                            to_graph=ox.NamedNode(source.graph) if source.graph else ox.DefaultGraph())
        etag = hashlib.sha256(graph_file.read_bytes()).hexdigest()[:16]
        executor = Executor([Source(str(graph_file))] + list(extra_sources), size=workers or settings.workers,
                            timeout=settings.query_timeout,
                            config=WorkerConfig(memory=settings.worker_memory, service_allow=settings.service_allow,
                                                max_depth=settings.max_query_depth,
                                                max_chain=settings.max_query_chain),
                            client_concurrency=settings.client_concurrency, queue_limit=settings.queue_limit)
        return cls(settings, graph, graph_file, store, load_catalogue(settings.queries_dir), executor,
                   list(extra_sources), cache=LRU(settings.cache_bytes), etag=etag, cache_enabled=cache)

    @property
    def base(self) -> str:
        return self.settings.base

    @property
    def prefixes(self) -> dict:
        return prefixes(self.base)

    def named(self, name: str, params: dict | None = None) -> Table:
        query = self.catalogue.get(name)
        return run_named(self.store, query, params or {}, self.base)

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
        for source in self.extra_sources:
            count = sum(1 for _ in self.store.quads_for_pattern(None, None, None, ox.NamedNode(source.graph))) \
                if source.graph else 0
            out.append((source.graph, count))
        return out
