"""The one table of RDF formats cqp-graph publishes, with nothing heavy imported (no rdflib).

Lives here: `DUMP_FORMATS` (name, rdflib serialiser, media type, file extension, EU file-type code, short names):
every other list of formats (the dumps of `dist/` and of a release, the DCAT file types, the server's
negotiation, the SPARQL workers' graph results) derives from it, so adding a format is one line here. It imports
only the standard library, so that a SPARQL worker process (`cqp_graph.web.worker`) can read it without loading
rdflib. Not here: writing the dumps (`dumps`), serving them (`cqp_graph.web`).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class DumpFormat:
    """One RDF format cqp-graph publishes the graph in."""

    name: str                 # what people call it (pages, messages)
    rdflib: str               # rdflib's serialiser (and parser) name
    media_type: str           # IANA media type
    extension: str            # file extension, without the dot
    eu_file_type: str         # code in the EU file-type authority table (DCAT-AP dct:format)
    aliases: tuple[str, ...] = ()  # short names a `format` parameter may give

    @property
    def dump_file(self) -> str:
        """The dump's file name in dist/ and in a release (graph.ttl…)."""
        return f"graph.{self.extension}"


#: the one table of dump formats; everything below (and the server's lists) derives from it
DUMP_FORMATS: tuple[DumpFormat, ...] = (
    DumpFormat("Turtle", "turtle", "text/turtle", "ttl", "RDF_TURTLE", ("turtle", "ttl")),
    DumpFormat("N-Triples", "nt", "application/n-triples", "nt", "RDF_N_TRIPLES", ("nt", "ntriples", "n-triples")),
    DumpFormat("JSON-LD", "json-ld", "application/ld+json", "jsonld", "JSON_LD", ("jsonld", "json-ld")),
    DumpFormat("RDF/XML", "xml", "application/rdf+xml", "rdf", "RDF_XML", ("rdfxml", "rdf", "rdf-xml")),
)
#: file name -> (rdflib format, media type), derived from DUMP_FORMATS
DUMPS: dict[str, tuple[str, str]] = {f.dump_file: (f.rdflib, f.media_type) for f in DUMP_FORMATS}
CONTEXT_FILE = "context.jsonld"
CONTEXT_MEDIA_TYPE = next(f.media_type for f in DUMP_FORMATS if f.rdflib == "json-ld")


def dump_format(key: str) -> DumpFormat:
    """The format a media type, an extension, an rdflib name or a short name designates (KeyError otherwise)."""
    key = key.strip().lower()
    for f in DUMP_FORMATS:
        if key in (f.media_type, f.extension, f.rdflib, *f.aliases):
            return f
    raise KeyError(key)


def media_type_of(file_name: str) -> str | None:
    """The media type of a published RDF file by its extension (None when it is not one of DUMP_FORMATS)."""
    suffix = Path(file_name).suffix.lstrip(".").lower()
    return next((f.media_type for f in DUMP_FORMATS if f.extension == suffix), None)
