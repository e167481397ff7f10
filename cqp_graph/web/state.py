"""What the server holds: the built graph, an in-process store for fixed queries, caches."""

from __future__ import annotations

import hashlib
import tempfile
from collections import OrderedDict
from dataclasses import dataclass, field
from pathlib import Path

import pyoxigraph as ox
from rdflib import Graph

from ..config import Settings
from ..namespaces import prefixes
from ..queries import QueryCatalogue, Table, load_catalogue, run_named
from .executor import Executor, Source


class LRU:
    """A small least-recently-used cache of computed responses (the graph is read-only)."""

    def __init__(self, size: int = 2048):
        self.size = size
        self.data: OrderedDict = OrderedDict()
        self.hits = 0
        self.misses = 0

    def lookup(self, key):
        value = self.data.get(key)
        if value is not None:
            self.data.move_to_end(key)
            self.hits += 1
        else:
            self.misses += 1
        return value

    def store(self, key, value) -> None:
        self.data[key] = value
        if len(self.data) > self.size:
            self.data.popitem(last=False)

    def get(self, key, compute):
        try:
            value = self.data[key]
            self.data.move_to_end(key)
            self.hits += 1
            return value
        except KeyError:
            pass
        self.misses += 1
        value = compute()
        self.data[key] = value
        if len(self.data) > self.size:
            self.data.popitem(last=False)
        return value


def _minted_under(graph_file: Path, base: str) -> bool:
    """Whether a dump's resources are minted under `base` (N-Triples: look for one subject under it)."""
    needle = f"<{base}".encode("utf-8")
    with open(graph_file, "rb") as handle:
        return any(line.startswith(needle) for line in handle)


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
             workers: int = 2, cache: bool = True) -> "ServerState":
        from ..build import write_dist
        from ..graph import build_graph

        explicit = graph_file is not None
        graph_file = Path(graph_file or settings.dist_dir / "graph.nt")
        if not explicit and (not graph_file.exists() or not _minted_under(graph_file, settings.base)):
            # no dump yet, or one built under another base: build one for this base
            graph = build_graph(settings)
            target = settings.dist_dir if not graph_file.exists() else Path(tempfile.mkdtemp(prefix="cqp-graph-"))
            write_dist(graph, target, settings.base)
            graph_file = target / "graph.nt"
        else:
            graph = Graph().parse(graph_file)
        store = ox.Store()
        store.bulk_load(path=str(graph_file), format=ox.RdfFormat.from_extension(graph_file.suffix.lstrip(".")))
        for source in extra_sources:
            store.bulk_load(path=source.path, format=ox.RdfFormat.from_extension(source.path.rsplit(".", 1)[-1]),
                            to_graph=ox.NamedNode(source.graph) if source.graph else ox.DefaultGraph())
        etag = hashlib.sha256(graph_file.read_bytes()).hexdigest()[:16]
        executor = Executor([Source(str(graph_file))] + list(extra_sources), size=workers,
                            timeout=settings.query_timeout)
        return cls(settings, graph, graph_file, store, load_catalogue(settings.queries_dir), executor,
                   list(extra_sources), etag=etag, cache_enabled=cache)

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
