"""The SPARQL engine: an in-memory Oxigraph store loaded with the graph."""

from __future__ import annotations

from pathlib import Path

import pyoxigraph as ox
from rdflib import Graph


def store_from_graph(graph: Graph) -> ox.Store:
    store = ox.Store()
    data = graph.serialize(format="nt", encoding="utf-8")
    store.bulk_load(data, format=ox.RdfFormat.N_TRIPLES)
    return store


def store_from_file(path: Path) -> ox.Store:
    store = ox.Store()
    store.bulk_load(path=str(path), format=ox.RdfFormat.from_extension(Path(path).suffix.lstrip(".")))
    return store


def to_python(term):
    """A plain Python value for an RDF term: int, float, bool or str (IRIs as strings)."""
    if term is None:
        return None
    if isinstance(term, ox.Literal):
        dt = term.datatype.value if term.datatype else ""
        value = term.value
        if dt.endswith(("#integer", "#int", "#long", "#nonNegativeInteger", "#positiveInteger")):
            return int(value)
        if dt.endswith(("#decimal", "#double", "#float")):
            number = float(value)
            return int(number) if number.is_integer() and dt.endswith("#decimal") else number
        if dt.endswith("#boolean"):
            return value in ("true", "1")
        return value
    return term.value
