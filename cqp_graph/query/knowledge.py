"""The knowledge layer: one object over a SPARQL store and the catalogue of named queries.

Every caller that asks the graph something (the CLI, the REST API, the pages, the reports, the exporters,
the decision engine) goes through a `Knowledge`: it runs a named query with bound parameters, describes a
resource, counts, and says which referentials the graph holds. Rows come back typed once, here (`to_python`:
int, float, bool or str), never reshaped by hand by each caller.

Lives here: that object and its errors. Not here: the store itself (`store`), how queries are parsed
(`catalogue`), how a table is printed (`formats`). It is the one seam where another store plugs in: a
`Knowledge` needs only something with pyoxigraph's `query(sparql, prefixes=, substitutions=)`,
`quads_for_pattern` and `len` — an in-memory store, an on-disk one opened read-only, or a remote SPARQL
endpoint (`store`, `folder_store`, `remote_store`). Code outside `cqp_graph.query` (and the server's state)
does not touch `knowledge.store`: it asks through these methods.

A question about the graph *and* triples that are not in it (a programme under measure) goes through
`including(graph)`: on a store it may write to, the triples go into a named graph of a fresh name for the time
of the question; on a read-only or remote store, into a small in-memory copy of the validated graph (the
referentials, without the large imports), made once and reused.

Several referentials: every named query that lists or counts things of a referential declares the optional
parameter `referential` (the folder name, `cqp:referentialName`); given, the answer is that referential's
alone, and a name the graph does not hold is an `UnknownReferential`; left out, every referential answers,
each row saying which in its `referential` column.

A list a named query joins with `GROUP_CONCAT` (the missions of a competence, the booklets of a step) comes
back in one order on every store: SPARQL leaves the order of the joined values to the engine (an on-disk or
remote store may join them in another order than the in-memory one), so `table` sorts the values of each such
column (natural order: M2 before M10) and joins them again with the query's separator (`sorted_lists`).
"""

from __future__ import annotations

import re
import threading
import uuid
from contextlib import contextmanager
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Callable, Iterator

import pyoxigraph as ox
from rdflib import Graph

from cqp_graph.namespaces import prefixes
from cqp_graph.numbers import natural_key
from cqp_graph.query.catalogue import QueryCatalogue, QueryError, Table, load_catalogue, run_named, run_select
from cqp_graph.query.store import store_from_file, store_from_graph, to_python


#: `GROUP_CONCAT([DISTINCT] expression [; separator="…"]) AS ?name` (quoted strings and one level of parentheses
#: inside); the separator is " " when none is given (SPARQL 1.1, 18.5.1.7)
_CONCAT = re.compile(r'GROUP_CONCAT\s*\(((?:[^()"]|"(?:[^"\\]|\\.)*"|\([^()]*\))*)\)\s*AS\s+\?(\w+)', re.IGNORECASE)
_SEPARATOR = re.compile(r';\s*separator\s*=\s*"((?:[^"\\]|\\.)*)"\s*$', re.IGNORECASE)


@lru_cache(maxsize=256)
def joined_lists(sparql: str) -> dict[str, str]:
    """The columns `sparql` joins with GROUP_CONCAT, each with its separator."""
    out = {}
    for inside, name in _CONCAT.findall(sparql):
        separator = _SEPARATOR.search(inside)
        out[name] = _unescape(separator.group(1)) if separator else " "
    return out


def _unescape(text: str) -> str:
    """A SPARQL string's escapes (\\t, \\n, \\", \\\\ …) read back."""
    return re.sub(r"\\(.)", lambda m: {"t": "\t", "n": "\n", "r": "\r", "b": "\b", "f": "\f"}.get(m.group(1), m.group(1)),
                  text)


def sorted_lists(table: Table, lists: dict[str, str]) -> Table:
    """`table` with the values of each joined column in natural order (the same on every store)."""
    if not lists:
        return table
    for row in table.rows:
        for name, separator in lists.items():
            value = row.get(name)
            if isinstance(value, str) and separator and separator in value:
                row[name] = separator.join(sorted(value.split(separator), key=lambda v: (natural_key(v), v)))
    return table


class UnknownReferential(QueryError):
    """A referential name the graph does not hold, or none given where the graph holds several."""

    def __init__(self, message: str, known: list[str], ambiguous: bool = False):
        super().__init__(message)
        self.known = known
        #: True when no name was given and the graph holds several (the caller must choose), False for a wrong name
        self.ambiguous = ambiguous


@dataclass(frozen=True)
class Referential:
    """One referential of the graph: its folder name, its certification IRI, title and RNCP number."""

    name: str
    iri: str
    title: str
    rncp: str | None = None

    def as_dict(self) -> dict:
        return {"name": self.name, "iri": self.iri, "title": self.title, "rncp": self.rncp}


#: the optional parameter of the named queries that restricts their answer to one referential
REFERENTIAL_PARAM = "referential"

_REFERENTIALS = """
SELECT ?name (STR(?cert) AS ?iri) (SAMPLE(?t) AS ?title) (SAMPLE(?r) AS ?rncp) WHERE {
  ?cert a cqp:Certification ; cqp:referentialName ?name ; dct:title ?t .
  FILTER (LANG(?t) = "fr" || LANG(?t) = "")
  OPTIONAL { ?cert cqp:rncpNumber ?r }
} GROUP BY ?name ?cert ORDER BY ?name
"""


class Knowledge:
    """The graph as the rest of cqp-graph sees it: named queries, descriptions, counts, referentials."""

    def __init__(self, store: ox.Store, catalogue: QueryCatalogue, base: str,
                 catalogues: dict[str, QueryCatalogue] | None = None, *,
                 snapshot: Callable[[], bytes] | None = None):
        self.store = store
        #: for a store that cannot take a scratch graph (read-only, remote): the validated graph as N-Triples
        self.snapshot = snapshot
        self._scratch: ox.Store | None = None
        self._scratch_lock = threading.Lock()
        self.catalogue = catalogue
        self.base = base
        #: other catalogues by name (e.g. "programme": the queries over an uploaded programme)
        self.catalogues = dict(catalogues or {})
        self._referentials: list[Referential] | None = None
        #: the allowed values of the named queries' parameters, by (query, column, referential): asked once
        #: (`catalogue.known_values`); a knowledge layer's default graph does not change once it serves
        self.known_values: dict[tuple, list[str]] = {}

    # -- construction ---------------------------------------------------------------------------------------
    @classmethod
    def over(cls, store: ox.Store, settings, snapshot: Callable[[], bytes] | None = None) -> "Knowledge":
        """A knowledge layer over `store` with the settings' query catalogues (`snapshot`: see `including`)."""
        folder = Path(settings.queries_dir)
        extra = {p.name: load_catalogue(p) for p in sorted(folder.iterdir()) if p.is_dir() and any(p.glob("*.rq"))}
        return cls(store, load_catalogue(folder), settings.base, extra, snapshot=snapshot)

    @staticmethod
    def catalogue_of(settings) -> QueryCatalogue:
        """The named queries of the settings' folder, without a graph (to list them or check parameters first)."""
        return load_catalogue(Path(settings.queries_dir))

    @classmethod
    def from_graph(cls, graph: Graph, settings) -> "Knowledge":
        return cls.over(store_from_graph(graph), settings)

    @classmethod
    def from_file(cls, path: Path, settings) -> "Knowledge":
        return cls.over(store_from_file(path), settings)

    # -- named queries ----------------------------------------------------------------------------------------
    def table(self, name: str, params: dict | None = None, catalogue: str | None = None) -> Table:
        """Run the named query `name` (from `catalogue`, default the main one) with `params` bound, never pasted.

        A `referential` value is checked first: a name the graph does not hold is an UnknownReferential
        (listing the known ones), not an empty answer. Left out, the query answers for every referential."""
        queries = self.catalogue if catalogue is None else self.catalogues[catalogue]
        query = queries.get(name)
        values = dict(params or {})
        if values.get(REFERENTIAL_PARAM) not in (None, "") and query.has_param(REFERENTIAL_PARAM):
            self.referential(str(values[REFERENTIAL_PARAM]))
        return sorted_lists(run_named(self.store, query, values, self.base), joined_lists(query.sparql))

    def takes_referential(self, name: str, catalogue: str | None = None) -> bool:
        """Whether the named query can be restricted to one referential (it declares the `referential` parameter)."""
        queries = self.catalogue if catalogue is None else self.catalogues[catalogue]
        return queries.get(name).has_param(REFERENTIAL_PARAM)

    def rows(self, name: str, catalogue: str | None = None, **params) -> list[dict]:
        """The rows of a named query, each a dict of plain Python values (None for unbound)."""
        return self.table(name, {k: v for k, v in params.items() if v is not None}, catalogue).rows

    def one(self, name: str, catalogue: str | None = None, **params) -> dict:
        """The single row of a named query; QueryError when there is none or more than one."""
        rows = self.rows(name, catalogue, **params)
        if len(rows) != 1:
            raise QueryError(f"la requête « {name} » ({params}) donne {len(rows)} lignes, une seule était attendue")
        return rows[0]

    def select(self, sparql: str, bindings: dict[str, object] | None = None) -> Table:
        """A SELECT written in code (not in the catalogue); values are bound as RDF terms, never pasted."""
        subs = {ox.Variable(k): (v if isinstance(v, (ox.NamedNode, ox.Literal)) else ox.Literal(str(v)))
                for k, v in (bindings or {}).items()}
        return run_select(self.store, sparql, self.base, subs)

    # -- resources --------------------------------------------------------------------------------------------
    def describe(self, iri: str) -> list[tuple[str, object]]:
        """Every (predicate IRI, value) of a resource, values typed as the rows are."""
        return [(q.predicate.value, to_python(q.object))
                for q in self.store.quads_for_pattern(ox.NamedNode(iri), None, None, ox.DefaultGraph())]

    def exists(self, iri: str) -> bool:
        return next(iter(self.store.quads_for_pattern(ox.NamedNode(iri), None, None, ox.DefaultGraph())), None) is not None

    def count(self, rdf_type: str | None = None) -> int:
        """The number of triples, or of resources of `rdf_type` (a full IRI or a `prefix:name`)."""
        if rdf_type is None:
            return int(next(iter(self.store.query("SELECT (COUNT(*) AS ?n) WHERE { ?s ?p ?o }")))["n"].value)
        iri = rdf_type
        prefix, _, local = rdf_type.partition(":")
        known = prefixes(self.base)
        if prefix in known and not rdf_type.startswith(("http:", "https:", "urn:")):
            iri = known[prefix] + local
        result = self.store.query("SELECT ?type (COUNT(DISTINCT ?s) AS ?n) WHERE { ?s a ?type } GROUP BY ?type",
                                  substitutions={ox.Variable("type"): ox.NamedNode(iri)})
        return sum(int(solution["n"].value) for solution in result)

    # -- referentials -----------------------------------------------------------------------------------------
    def referentials(self) -> list[Referential]:
        """The referentials the graph holds, by name."""
        if self._referentials is None:
            self._referentials = [Referential(r["name"], r["iri"], r["title"], r.get("rncp"))
                                  for r in run_select(self.store, _REFERENTIALS, self.base).rows]
        return list(self._referentials)

    def referential(self, name: str | None = None) -> Referential:
        """The referential called `name`; with no name, the only one (UnknownReferential when there are several)."""
        known = self.referentials()
        names = [r.name for r in known]
        if name is None:
            if len(known) == 1:
                return known[0]
            raise UnknownReferential(
                f"le graphe contient {len(known)} référentiels ({', '.join(names) or 'aucun'}) : "
                "précisez lequel (--referential NOM, ou /api/referentials/NOM/…)", names, ambiguous=True)
        for r in known:
            if r.name == name:
                return r
        raise UnknownReferential(f"aucun référentiel nommé « {name} » (connus : {', '.join(names) or 'aucun'})", names)

    # -- the graph and a few more triples ---------------------------------------------------------------------
    @contextmanager
    def including(self, graph: Graph, scratch: str = "urn:cqp-graph:scratch:") -> Iterator["Knowledge"]:
        """A knowledge layer that sees the default graph and `graph`'s triples, for the time of the `with`.

        The triples go into a named graph called `scratch` + a fresh UUID, merged into the default graph of
        every query asked through the layer yielded (pyoxigraph's dataset, as a SPARQL `FROM`), and removed
        afterwards whatever happens: two questions at once each see their own triples only. On a read-only or
        remote store that named graph lives in an in-memory copy of the validated graph (`snapshot`)."""
        target = self._writable()
        name = ox.NamedNode(f"{scratch}{uuid.uuid4()}")
        try:
            target.load(graph.serialize(format="nt", encoding="utf-8"), format=ox.RdfFormat.N_TRIPLES, to_graph=name)
            yield Knowledge(_DefaultAnd(target, name), self.catalogue, self.base, self.catalogues)
        finally:
            target.remove_graph(name)

    def _writable(self) -> ox.Store:
        if self.snapshot is None:
            return self.store
        with self._scratch_lock:
            if self._scratch is None:
                copy = ox.Store()
                copy.bulk_load(self.snapshot(), format=ox.RdfFormat.N_TRIPLES)
                self._scratch = copy
            return self._scratch


class _DefaultAnd:
    """A store seen with one extra named graph merged into its default graph (pyoxigraph's dataset choice,
    the same as a SPARQL `FROM`): what a question `including` triples sees, and nothing of another's."""

    def __init__(self, store: ox.Store, graph: ox.NamedNode):
        self._store = store
        self._graph = graph

    def query(self, sparql, **options):
        return self._store.query(sparql, default_graph=[ox.DefaultGraph(), self._graph], **options)

    def quads_for_pattern(self, subject, predicate, obj, graph=None):
        return self._store.quads_for_pattern(subject, predicate, obj, graph)
