"""The dataset description: DCAT (what is published, where, under which licence) and VoID statistics.

Used by the server (/dataset, /.well-known/void) and by releases.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from rdflib import BNode, Graph, Literal, URIRef
from rdflib.namespace import DCTERMS, FOAF, OWL, RDF, RDFS, SKOS, XSD

from .namespaces import DCAT, VOID, bind_prefixes, ontology_ns

LICENCE = URIRef("https://www.etalab.gouv.fr/licence-ouverte-open-licence/")


@dataclass(frozen=True)
class Distribution:
    name: str
    media_type: str
    url: str
    size: int | None = None
    checksum: str | None = None


def void_statistics(graph: Graph) -> dict:
    return {
        "triples": len(graph),
        "entities": len({s for s in graph.subjects() if isinstance(s, URIRef)}),
        "classes": len(set(graph.objects(None, RDF.type))),
        "properties": len(set(graph.predicates())),
        "distinct_subjects": len(set(graph.subjects())),
        "distinct_objects": len(set(graph.objects())),
    }


def dataset_description(graph: Graph, base: str, dataset_iri: str, distributions: list[Distribution],
                        sparql_endpoint: str | None = None, version: str | None = None,
                        issued: date | None = None, example_resources: list[str] = ()) -> Graph:
    cqp = ontology_ns(base)
    out = bind_prefixes(Graph(), base)
    ds = URIRef(dataset_iri)
    out.add((ds, RDF.type, DCAT.Dataset))
    out.add((ds, RDF.type, VOID.Dataset))
    titles = sorted({str(t) for t in graph.objects(None, DCTERMS.title)
                     if (None, RDF.type, cqp.Certification) in graph})
    out.add((ds, DCTERMS.title, Literal("Référentiels de CQP en données liées (cqp-graph)", lang="fr")))
    out.add((ds, DCTERMS.title, Literal("CQP referentials as linked data (cqp-graph)", lang="en")))
    description = ("Le graphe de connaissances des référentiels de certificats de qualification professionnelle : "
                   "emploi, missions, activités, compétences, blocs, unités et règles d'évaluation"
                   + (f" — {', '.join(titles)}" if titles else "") + ".")
    out.add((ds, DCTERMS.description, Literal(description, lang="fr")))
    out.add((ds, DCTERMS.license, LICENCE))
    out.add((ds, DCTERMS.language, URIRef("http://publications.europa.eu/resource/authority/language/FRA")))
    publisher = URIRef(base + "publisher")
    out.add((ds, DCTERMS.publisher, publisher))
    out.add((publisher, RDF.type, FOAF.Organization))
    out.add((publisher, FOAF.name, Literal("cqp-graph")))
    for cert in sorted(graph.subjects(RDF.type, cqp.Certification)):
        out.add((ds, DCTERMS.subject, cert))
        for source in graph.objects(cert, URIRef("http://www.w3.org/ns/prov#wasDerivedFrom")):
            out.add((ds, DCTERMS.source, source))
    if version:
        out.add((ds, OWL.versionInfo, Literal(version)))
        out.add((ds, URIRef("http://www.w3.org/ns/dcat#version"), Literal(version)))
    if issued:
        out.add((ds, DCTERMS.issued, Literal(issued.isoformat(), datatype=XSD.date)))
    out.add((ds, VOID.uriSpace, Literal(base)))
    out.add((ds, VOID.vocabulary, URIRef(str(cqp).rstrip("#"))))
    for vocabulary in (SKOS, DCTERMS, URIRef("http://www.w3.org/ns/prov#"), URIRef("http://data.europa.eu/snb/model/elm/")):
        out.add((ds, VOID.vocabulary, URIRef(str(vocabulary))))
    stats = void_statistics(graph)
    for key, prop in (("triples", VOID.triples), ("entities", VOID.entities), ("classes", VOID.classes),
                      ("properties", VOID.properties), ("distinct_subjects", VOID.distinctSubjects),
                      ("distinct_objects", VOID.distinctObjects)):
        out.add((ds, prop, Literal(stats[key], datatype=XSD.integer)))
    for cls in sorted(set(graph.objects(None, RDF.type))):
        if not str(cls).startswith(str(cqp)):
            continue
        partition = BNode()
        out.add((ds, VOID.classPartition, partition))
        out.add((partition, VOID["class"], cls))
        out.add((partition, VOID.entities, Literal(len(set(graph.subjects(RDF.type, cls))), datatype=XSD.integer)))
    for example in example_resources:
        out.add((ds, VOID.exampleResource, URIRef(example)))
    if sparql_endpoint:
        out.add((ds, VOID.sparqlEndpoint, URIRef(sparql_endpoint)))
        service = URIRef(sparql_endpoint + "#service")
        out.add((ds, DCAT.distribution, service))
        out.add((service, RDF.type, DCAT.Distribution))
        out.add((service, DCAT.accessURL, URIRef(sparql_endpoint)))
        out.add((service, DCTERMS.title, Literal("Point d'accès SPARQL", lang="fr")))
    for dist in distributions:
        node = URIRef(dist.url)
        out.add((ds, DCAT.distribution, node))
        out.add((ds, VOID.dataDump, node))
        out.add((node, RDF.type, DCAT.Distribution))
        out.add((node, DCAT.downloadURL, node))
        out.add((node, DCAT.mediaType, URIRef(f"https://www.iana.org/assignments/media-types/{dist.media_type}")))
        out.add((node, DCTERMS.title, Literal(dist.name)))
        out.add((node, DCTERMS.license, LICENCE))
        if dist.size is not None:
            out.add((node, DCAT.byteSize, Literal(dist.size, datatype=XSD.nonNegativeInteger)))
        if dist.checksum:
            checksum = BNode()
            spdx = "http://spdx.org/rdf/terms#"
            out.add((node, URIRef(spdx + "checksum"), checksum))
            out.add((checksum, URIRef(spdx + "algorithm"), URIRef(spdx + "checksumAlgorithm_sha256")))
            out.add((checksum, URIRef(spdx + "checksumValue"), Literal(dist.checksum, datatype=XSD.hexBinary)))
    out.add((ds, RDFS.label, Literal("cqp-graph", lang="en")))
    return out
