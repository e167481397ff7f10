"""The media types the server speaks, and their short names for the `format` parameter.

The RDF formats (documents, CONSTRUCT/DESCRIBE results, resource pages' alternates, the dumps) derive from the one
table of dump formats, `cqp_graph.publish.formats.DUMP_FORMATS`: a format added there is negotiated here too. The
SPARQL results formats (SELECT/ASK) are the protocol's own and are listed here.

Lives here: those tables and the lookups of a `format` parameter. Not here: choosing among them by `Accept`
(`negotiation`), the dump files (`cqp_graph.publish.dumps`).
"""

from __future__ import annotations

import pyoxigraph as ox

from cqp_graph.publish.formats import DUMP_FORMATS, dump_format

RESULTS = {  # SELECT / ASK
    "application/sparql-results+json": ox.QueryResultsFormat.JSON,
    "application/sparql-results+xml": ox.QueryResultsFormat.XML,
    "text/csv": ox.QueryResultsFormat.CSV,
    "text/tab-separated-values": ox.QueryResultsFormat.TSV,
}
#: CONSTRUCT / DESCRIBE and documents: media type -> Oxigraph format, in the order of DUMP_FORMATS
GRAPHS = {f.media_type: ox.RdfFormat.from_media_type(f.media_type) for f in DUMP_FORMATS}
#: media type -> rdflib serialiser name
RDFLIB = {f.media_type: f.rdflib for f in DUMP_FORMATS}
#: media type -> the format's name, as pages show it
FORMAT_NAMES = {f.media_type: f.name for f in DUMP_FORMATS}

RESULT_ALIASES = {"json": "application/sparql-results+json", "srj": "application/sparql-results+json",
                  "xml": "application/sparql-results+xml", "srx": "application/sparql-results+xml",
                  "csv": "text/csv", "tsv": "text/tab-separated-values"}
#: short names of the RDF formats; for a graph result, "json" and "xml" mean JSON-LD and RDF/XML
GRAPH_ALIASES = {**{alias: f.media_type for f in DUMP_FORMATS for alias in (f.extension, *f.aliases)},
                 "json": dump_format("json-ld").media_type, "xml": dump_format("xml").media_type}
#: a `format` parameter where the kind of result is not known: "json" and "xml" are SPARQL results
ALIASES = {**{alias: f.media_type for f in DUMP_FORMATS for alias in (f.extension, *f.aliases)},
           **RESULT_ALIASES, "html": "text/html"}
#: file extensions of a resource's documents (/…/M3.ttl) and of its page (.html)
EXTENSIONS = {**{f.extension: f.media_type for f in DUMP_FORMATS}, "html": "text/html"}
EXTENSION_OF = {v: k for k, v in EXTENSIONS.items()}
ALTERNATES = {"application/json": "application/sparql-results+json", "application/xml": "application/sparql-results+xml",
              "text/xml": "application/sparql-results+xml", "application/x-turtle": "text/turtle",
              "text/plain": "application/n-triples", "application/json+ld": "application/ld+json"}


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
