"""The reviewed ROME 4.0 mappings as an SSSOM mapping set (TSV with its YAML metadata block).

Lives here: the mapping rows (`mapping_rows`) and the mapping set's text (`sssom_tsv`), of every referential
of the graph together. Not here: writing the file (a release, the `align-rome --sssom` command, the server),
the suggestions before review (`rome`).

Written from the built graph (the `cqp:Mapping` resources that `rome-mappings.csv` becomes), so the
file and the graph always hold the same mappings. Identifiers are CURIEs whose prefixes expand to
the graph's own IRIs (README, "The RNCP, Europass and ROME"):

    {slug}:   {base}{slug}/        the referential's items, e.g. agc-alimentaire:competence/A1, agc-alimentaire:job
    rome:     {base}rome/          ROME 4.0 items: rome:job/D1409 (job sheet), rome:item/494086 (OGR code)
    skos:, semapv:                 predicates and justifications

The licence is the `data-licence` publication setting of the referentials (SSSOM's
`https://w3id.org/sssom/license/unspecified` when none is declared).
"""

from __future__ import annotations

import csv
import io

import yaml
from rdflib import Graph, URIRef
from rdflib.namespace import DCTERMS, RDF, SKOS

from cqp_graph.publish.dataset import publication_terms
from cqp_graph.namespaces import ontology_ns

SSSOM_FILE = "rome.sssom.tsv"
SSSOM_MEDIA_TYPE = "text/tab-separated-values"
SSSOM_STANDARD = "https://w3id.org/sssom/"
SEMAPV = "https://w3id.org/semapv/vocab/"
UNSPECIFIED_LICENCE = "https://w3id.org/sssom/license/unspecified"
COLUMNS = ("subject_id", "subject_label", "predicate_id", "object_id", "object_label", "object_category",
           "mapping_justification", "confidence", "author_label", "mapping_date", "object_source",
           "object_source_version", "comment")


class SSSOMError(ValueError):
    pass


class NoMappings(SSSOMError):
    pass


def mapping_set_id(base: str) -> str:
    """The mapping set's stable IRI (the server serves the file there when `base` is its own address)."""
    return f"{base}mappings/{SSSOM_FILE}"


def _curie(iri: URIRef, prefixes: dict[str, str]) -> str:
    text = str(iri)
    for prefix, namespace in sorted(prefixes.items(), key=lambda item: -len(item[1])):
        if text.startswith(namespace) and len(text) > len(namespace):
            return f"{prefix}:{text[len(namespace):]}"
    raise SSSOMError(f"{text} : aucun préfixe du curie_map ne couvre cet identifiant")


def mapping_rows(graph: Graph, base: str) -> tuple[dict[str, str], list[dict[str, str]]]:
    """(curie_map, rows) of the reviewed mappings held by `graph`, sorted by subject, predicate and object."""
    cqp = ontology_ns(base)
    prefixes = {"rome": f"{base}rome/", "skos": str(SKOS), "semapv": SEMAPV}
    rows = []
    for mapping in graph.subjects(RDF.type, cqp.Mapping):
        subject = graph.value(mapping, cqp.mappingSubject)
        target = graph.value(mapping, cqp.mappingObject)
        slug = str(subject)[len(base):].split("/", 1)[0]
        prefixes.setdefault(slug, f"{base}{slug}/")
        scheme = graph.value(target, SKOS.inScheme)
        row = {
            "subject_id": subject, "subject_label": graph.value(subject, SKOS.prefLabel),
            "predicate_id": graph.value(mapping, cqp.mappingPredicate), "object_id": target,
            "object_label": graph.value(target, SKOS.prefLabel), "object_category": graph.value(target, cqp.romeKind),
            "mapping_justification": graph.value(mapping, cqp.mappingJustification),
            "confidence": graph.value(mapping, cqp.confidence), "author_label": graph.value(mapping, DCTERMS.creator),
            "mapping_date": graph.value(mapping, DCTERMS.date), "object_source": scheme,
            "object_source_version": graph.value(scheme, DCTERMS.source) if scheme is not None else None,
            "comment": graph.value(mapping, cqp.note),
        }
        rows.append(row)
    out = []
    for row in rows:
        out.append({key: ("" if value is None else _curie(value, prefixes) if isinstance(value, URIRef)
                          else str(value)) for key, value in row.items()})
    out.sort(key=lambda r: (r["subject_id"], r["predicate_id"], r["object_id"]))
    return dict(sorted(prefixes.items())), out


def sssom_tsv(graph: Graph, base: str, version: str | None = None) -> str:
    """The SSSOM TSV of the reviewed mappings in `graph`.

    `version` is the release version; without one (the server), the set's version is the date of its
    latest reviewed mapping. A mapping date shared by every mapping is written once in the metadata block.
    """
    prefixes, rows = mapping_rows(graph, base)
    if not rows:
        raise NoMappings("le graphe ne contient aucune correspondance revue (rome-mappings.csv)")
    terms = publication_terms(graph, base)
    licences = terms["licences"]
    if len(licences) > 1:
        raise SSSOMError("les référentiels déclarent des licences différentes (data-licence) : "
                         + ", ".join(sorted(licences)))
    dates = sorted({r["mapping_date"] for r in rows})
    titles = sorted(terms["titles"])
    metadata = {
        "curie_map": prefixes,
        "mapping_set_id": mapping_set_id(base),
        "mapping_set_version": version or dates[-1],
        "mapping_set_title": "Correspondances revues avec le ROME 4.0" + (f" — {', '.join(titles)}" if titles else ""),
        "mapping_set_description": (
            "Correspondances entre l'emploi ou les compétences du référentiel et les fiches, compétences et savoirs "
            "du ROME 4.0 (France Travail), revues une à une. " + " ".join(text for _node, text in terms["rights"])
        ).strip(),
        "license": next(iter(licences), UNSPECIFIED_LICENCE),
        "creator_label": sorted({r["author_label"] for r in rows}),
    }
    columns = list(COLUMNS)
    if len(dates) == 1:  # condensed: one date for the whole set
        metadata["mapping_date"] = dates[0]
        columns.remove("mapping_date")
    header = "".join(f"# {line}\n" for line in yaml.safe_dump(
        metadata, allow_unicode=True, sort_keys=False, width=10_000).splitlines())
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=columns, delimiter="\t", lineterminator="\n", extrasaction="ignore")
    writer.writeheader()
    writer.writerows(rows)
    return header + buffer.getvalue()
