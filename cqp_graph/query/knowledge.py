"""The knowledge layer: one object over a SPARQL store and the catalogue of named queries.

Every caller that asks the graph something (the CLI, the REST API, the pages, the reports, the exporters,
the decision engine) goes through a `Knowledge`: it runs a named query with bound parameters, describes a
resource, counts, and says which referentials the graph holds. Rows come back typed once, here (`to_python`:
int, float, bool or str), never reshaped by hand by each caller.

Lives here: that object and its errors. Not here: the store itself (`store`), how queries are parsed
(`catalogue`), how a table is printed (`formats`). It is the one seam where another store plugs in: a
`Knowledge` needs only something with pyoxigraph's `query(sparql, prefixes=, substitutions=)`,
`quads_for_pattern` and `len`.

Several referentials: every named query that lists or counts things of a referential declares the optional
parameter `referential` (the folder name, `cqp:referentialName`); given, the answer is that referential's
alone, and a name the graph does not hold is an `UnknownReferential`; left out, every referential answers,
each row saying which in its `referential` column.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pyoxigraph as ox
from rdflib import Graph

from cqp_graph.namespaces import prefixes
from cqp_graph.query.catalogue import QueryCatalogue, QueryError, Table, load_catalogue, run_named, run_select
from cqp_graph.query.store import store_from_file, store_from_graph, to_python


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
                 catalogues: dict[str, QueryCatalogue] | None = None):
        self.store = store
        self.catalogue = catalogue
        self.base = base
        #: other catalogues by name (e.g. "programme": the queries over an uploaded programme)
        self.catalogues = dict(catalogues or {})
        self._referentials: list[Referential] | None = None

    # -- construction ---------------------------------------------------------------------------------------
    @classmethod
    def over(cls, store: ox.Store, settings) -> "Knowledge":
        """A knowledge layer over `store` with the settings' query catalogues."""
        folder = Path(settings.queries_dir)
        extra = {p.name: load_catalogue(p) for p in sorted(folder.iterdir()) if p.is_dir() and any(p.glob("*.rq"))}
        return cls(store, load_catalogue(folder), settings.base, extra)

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
        return run_named(self.store, query, values, self.base)

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
