"""Namespaces and the IRI scheme of the graph.

The ontology is authored under DEFAULT_BASE; a graph built under another base is
rebased term by term (see `rebase`).
"""

from __future__ import annotations

from rdflib import Graph, Literal, Namespace, URIRef
from rdflib.namespace import DCTERMS, OWL, PROV, RDF, RDFS, SKOS, XSD, FOAF

from cqp_graph.config import DEFAULT_BASE

ELM = Namespace("http://data.europa.eu/snb/model/elm/")
DCAT = Namespace("http://www.w3.org/ns/dcat#")
VOID = Namespace("http://rdfs.org/ns/void#")


#: the first path segments the IRI scheme and the server use for themselves: a referential cannot be named so,
#: or its resources would mix with theirs (`{base}rome/…` ROME items, `{base}rncp/…` imported fiches,
#: `{base}release/…`, `{base}ontology#…`) or be shadowed by a route of the server (`/api`, `/static`…)
RESERVED_SEGMENTS = frozenset({
    # minted by cqp-graph outside any referential
    "ontology", "rome", "rncp", "organisation", "release", "software", "dataset", "mappings", "elm", "nqf",
    "programme", "results",
    "register",  # the RNCP / RS register pages (web/register_routes.py)
    "search",  # the search page (web/search_routes.py)
    "compare",  # the comparison of missions (web/compare_routes.py)
    "findings",  # the findings page, Constats (web/findings_routes.py)
    # routes and mounts of the server
    "api", "static", "dumps", "docs", "query", "queries", "sparql", "health", "referentials", "missions",
    "competences", "domains", "blocks", "coverage", "decisions", "analyses", "openapi.json", "redoc", "_swagger",
})


def ontology_ns(base: str = DEFAULT_BASE) -> Namespace:
    return Namespace(base + "ontology#")


CQP = ontology_ns()


def prefixes(base: str = DEFAULT_BASE) -> dict[str, str]:
    """Prefixes bound in every serialisation and offered to every query."""
    return {
        "cqp": str(ontology_ns(base)),
        "rdf": str(RDF),
        "rdfs": str(RDFS),
        "owl": str(OWL),
        "xsd": str(XSD),
        "skos": str(SKOS),
        "dct": str(DCTERMS),
        "prov": str(PROV),
        "foaf": str(FOAF),
        "elm": str(ELM),
        "dcat": str(DCAT),
        "void": str(VOID),
    }


def bind_prefixes(graph: Graph, base: str = DEFAULT_BASE) -> Graph:
    for prefix, ns in prefixes(base).items():
        graph.bind(prefix, ns, override=True, replace=True)
    return graph


def rebase(graph: Graph, new_base: str, old_base: str = DEFAULT_BASE) -> Graph:
    """Return a copy of `graph` whose IRIs under `old_base` are moved under `new_base`."""
    if new_base == old_base:
        return graph

    def move(term):
        if isinstance(term, URIRef) and str(term).startswith(old_base):
            return URIRef(new_base + str(term)[len(old_base):])
        if isinstance(term, Literal) and term.datatype == XSD.anyURI and str(term).startswith(old_base):
            return Literal(new_base + str(term)[len(old_base):], datatype=XSD.anyURI)  # sh:namespace
        return term

    out = Graph()
    for s, p, o in graph:
        out.add((move(s), move(p), move(o)))
    return bind_prefixes(out, new_base)


class Minter:
    """Mints the IRIs of one referential: {base}{slug}/{kind}/{code}."""

    def __init__(self, base: str, slug: str):
        self.base = base
        self.slug = slug
        self.root = f"{base}{slug}/"
        self.ns = ontology_ns(base)

    def __call__(self, kind: str, code: str | None = None) -> URIRef:
        if code is None:
            return URIRef(self.root + kind)
        return URIRef(f"{self.root}{kind}/{code}")
