"""The media types the server speaks, and their short names for the `format` parameter."""

from __future__ import annotations

import pyoxigraph as ox

RESULTS = {  # SELECT / ASK
    "application/sparql-results+json": ox.QueryResultsFormat.JSON,
    "application/sparql-results+xml": ox.QueryResultsFormat.XML,
    "text/csv": ox.QueryResultsFormat.CSV,
    "text/tab-separated-values": ox.QueryResultsFormat.TSV,
}
GRAPHS = {  # CONSTRUCT / DESCRIBE and documents
    "text/turtle": ox.RdfFormat.TURTLE,
    "application/n-triples": ox.RdfFormat.N_TRIPLES,
    "application/ld+json": ox.RdfFormat.JSON_LD,
    "application/rdf+xml": ox.RdfFormat.RDF_XML,
}
ALIASES = {
    "json": "application/sparql-results+json", "srj": "application/sparql-results+json",
    "xml": "application/sparql-results+xml", "srx": "application/sparql-results+xml",
    "csv": "text/csv", "tsv": "text/tab-separated-values",
    "turtle": "text/turtle", "ttl": "text/turtle",
    "nt": "application/n-triples", "ntriples": "application/n-triples", "n-triples": "application/n-triples",
    "jsonld": "application/ld+json", "json-ld": "application/ld+json",
    "rdfxml": "application/rdf+xml", "rdf": "application/rdf+xml", "rdf-xml": "application/rdf+xml",
    "html": "text/html",
}
EXTENSIONS = {"ttl": "text/turtle", "nt": "application/n-triples", "jsonld": "application/ld+json",
              "rdf": "application/rdf+xml", "html": "text/html"}
EXTENSION_OF = {v: k for k, v in EXTENSIONS.items()}
ALTERNATES = {"application/json": "application/sparql-results+json", "application/xml": "application/sparql-results+xml",
              "text/xml": "application/sparql-results+xml", "application/x-turtle": "text/turtle",
              "text/plain": "application/n-triples", "application/json+ld": "application/ld+json"}


RESULT_ALIASES = {"json": "application/sparql-results+json", "srj": "application/sparql-results+json",
                  "xml": "application/sparql-results+xml", "srx": "application/sparql-results+xml",
                  "csv": "text/csv", "tsv": "text/tab-separated-values"}
GRAPH_ALIASES = {"json": "application/ld+json", "jsonld": "application/ld+json", "json-ld": "application/ld+json",
                 "xml": "application/rdf+xml", "rdf": "application/rdf+xml", "rdfxml": "application/rdf+xml",
                 "turtle": "text/turtle", "ttl": "text/turtle", "nt": "application/n-triples",
                 "ntriples": "application/n-triples", "n-triples": "application/n-triples"}


def format_for(value: str | None, graph_result: bool) -> str | None:
    """The media type a `format` parameter asks for, given the kind of result (table/boolean or graph)."""
    if not value:
        return None
    value = value.strip().lower()
    table = GRAPH_ALIASES if graph_result else RESULT_ALIASES
    if value in table:
        return table[value]
    offered = GRAPHS if graph_result else RESULTS
    return value if value in offered else None


def from_format_param(value: str | None) -> str | None:
    if not value:
        return None
    value = value.strip().lower()
    if value in ALIASES:
        return ALIASES[value]
    if value in RESULTS or value in GRAPHS or value == "text/html":
        return value
    return None


def charset(media: str) -> str:
    return f"{media}; charset=utf-8" if media.startswith("text/") or media.endswith(("json", "xml")) else media
