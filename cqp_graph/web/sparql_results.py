"""SPARQL query results (SELECT rows, ASK booleans) written in the four W3C formats.

The rows are collected first (so that a row cap can stop a query early), then written
here: JSON, XML, CSV and TSV as the SPARQL 1.1 results specifications define them.

Lives here: those writers. Not here: graphs (CONSTRUCT/DESCRIBE results are serialised by Oxigraph, `sparql`).
"""

from __future__ import annotations

import csv
import io
import json

import pyoxigraph as ox

_XML_TEXT = str.maketrans({"&": "&amp;", "<": "&lt;", ">": "&gt;"})
_XML_ATTRIBUTE = str.maketrans({"&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "\n": "&#10;", "\r": "&#13;",
                                "\t": "&#9;"})


def escape(text: str) -> str:
    """XML character data (what `xml.sax.saxutils.escape` does; that module would import urllib into every
    SPARQL worker)."""
    return text.translate(_XML_TEXT)


def quoteattr(text: str) -> str:
    """An XML attribute value, in double quotes."""
    return '"' + text.translate(_XML_ATTRIBUTE) + '"'

XSD_STRING = "http://www.w3.org/2001/XMLSchema#string"
RDF_LANGSTRING = "http://www.w3.org/1999/02/22-rdf-syntax-ns#langString"


def _json_term(term) -> dict:
    if isinstance(term, ox.NamedNode):
        return {"type": "uri", "value": term.value}
    if isinstance(term, ox.BlankNode):
        return {"type": "bnode", "value": term.value}
    if isinstance(term, ox.Literal):
        out = {"type": "literal", "value": term.value}
        if term.language:
            out["xml:lang"] = term.language
        elif term.datatype and term.datatype.value not in (XSD_STRING, RDF_LANGSTRING):
            out["datatype"] = term.datatype.value
        return out
    if isinstance(term, ox.Triple):
        return {"type": "triple", "value": {"subject": _json_term(term.subject),
                                            "predicate": _json_term(term.predicate),
                                            "object": _json_term(term.object)}}
    raise TypeError(f"not an RDF term: {term!r}")


def _xml_term(term) -> str:
    if isinstance(term, ox.NamedNode):
        return f"<uri>{escape(term.value)}</uri>"
    if isinstance(term, ox.BlankNode):
        return f"<bnode>{escape(term.value)}</bnode>"
    if isinstance(term, ox.Literal):
        if term.language:
            return f"<literal xml:lang={quoteattr(term.language)}>{escape(term.value)}</literal>"
        if term.datatype and term.datatype.value not in (XSD_STRING, RDF_LANGSTRING):
            return f"<literal datatype={quoteattr(term.datatype.value)}>{escape(term.value)}</literal>"
        return f"<literal>{escape(term.value)}</literal>"
    if isinstance(term, ox.Triple):
        return (f"<triple><subject>{_xml_term(term.subject)}</subject><predicate>{_xml_term(term.predicate)}"
                f"</predicate><object>{_xml_term(term.object)}</object></triple>")
    raise TypeError(f"not an RDF term: {term!r}")


def select(variables: list[str], rows: list[list], media: str) -> bytes:
    if media == "application/sparql-results+json":
        bindings = [{v: _json_term(t) for v, t in zip(variables, row) if t is not None} for row in rows]
        return json.dumps({"head": {"vars": variables}, "results": {"bindings": bindings}},
                          ensure_ascii=False).encode("utf-8")
    if media == "application/sparql-results+xml":
        out = ['<?xml version="1.0"?>\n<sparql xmlns="http://www.w3.org/2005/sparql-results#">\n<head>']
        out += [f"<variable name={quoteattr(v)}/>" for v in variables]
        out.append("</head>\n<results>")
        for row in rows:
            out.append("<result>" + "".join(f"<binding name={quoteattr(v)}>{_xml_term(t)}</binding>"
                                            for v, t in zip(variables, row) if t is not None) + "</result>")
        out.append("</results>\n</sparql>\n")
        return "\n".join(out).encode("utf-8")
    if media == "text/csv":
        buffer = io.StringIO()
        writer = csv.writer(buffer, lineterminator="\r\n")
        writer.writerow(variables)
        for row in rows:
            writer.writerow(["" if t is None else (t.value if not isinstance(t, ox.BlankNode) else f"_:{t.value}")
                             for t in row])
        return buffer.getvalue().encode("utf-8")
    if media == "text/tab-separated-values":
        lines = ["\t".join(f"?{v}" for v in variables)]
        lines += ["\t".join("" if t is None else str(t) for t in row) for row in rows]
        return ("\n".join(lines) + "\n").encode("utf-8")
    raise ValueError(f"no SELECT results format {media}")


def ask(value: bool, media: str) -> bytes:
    if media == "application/sparql-results+json":
        return json.dumps({"head": {}, "boolean": bool(value)}).encode("utf-8")
    if media == "application/sparql-results+xml":
        return (f'<?xml version="1.0"?>\n<sparql xmlns="http://www.w3.org/2005/sparql-results#">\n<head/>\n'
                f"<boolean>{'true' if value else 'false'}</boolean>\n</sparql>\n").encode("utf-8")
    if media == "text/csv":
        return b"_askResult\r\n" + (b"true" if value else b"false") + b"\r\n"
    if media == "text/tab-separated-values":
        return b"?_askResult\n" + (b"true" if value else b"false") + b"\n"
    raise ValueError(f"no ASK results format {media}")
