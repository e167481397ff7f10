"""The dataset description: DCAT-AP 3.0 (what is published, where, under which terms) and VoID statistics.

Lives here: `dataset_description` (used by the server's /dataset and /.well-known/void and by releases),
`publication_terms` (what the referentials' publication settings say about republishing them), the VoID
figures. Not here: the files described (`dumps`, `release`), the formats table (`dumps.DUMP_FORMATS`).

The description conforms to the official DCAT-AP 3.0.0 SHACL shapes on its own, without inference: every
resource a shape wants of a class is typed here (licence, rights, language, publisher, media types,
checksums, URLs). The licence and the rights statement are not constants: they are the `data-licence` and
`rights` publication settings of each referential (`data/<referential>/publication.csv`), with their basis.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from rdflib import BNode, Graph, Literal, Namespace, URIRef
from rdflib.namespace import DCTERMS, FOAF, OWL, PROV, RDF, RDFS, SKOS, XSD

from cqp_graph.namespaces import DCAT, VOID, bind_prefixes, ontology_ns
from cqp_graph.publish.dumps import DUMP_FORMATS

SPDX = Namespace("http://spdx.org/rdf/terms#")
IANA = "http://www.iana.org/assignments/media-types/"
EU_LANGUAGE = "http://publications.europa.eu/resource/authority/language/"
EU_FILE_TYPE = "http://publications.europa.eu/resource/authority/file-type/"
#: media type -> code of the EU file-type authority table: the dump formats', and the exports' (RNCP XML, SSSOM TSV)
FILE_TYPES = {**{f.media_type: f.eu_file_type for f in DUMP_FORMATS},
              "application/xml": "XML", "text/tab-separated-values": "TSV"}
SPARQL_PROTOCOL = URIRef("https://www.w3.org/TR/sparql11-protocol/")


@dataclass(frozen=True)
class Distribution:
    name: str
    media_type: str
    url: str
    size: int | None = None
    checksum: str | None = None
    rdf_dump: bool = False  # a dump of the graph itself (void:dataDump), not an export or a context
    conforms_to: str | None = None  # the standard the file follows (e.g. SSSOM)
    description: str | None = None  # what the file holds, in French (e.g. which referential an export is of)


def void_statistics(graph: Graph) -> dict:
    return {
        "triples": len(graph),
        "entities": len({s for s in graph.subjects() if isinstance(s, URIRef)}),
        "classes": len(set(graph.objects(None, RDF.type))),
        "properties": len(set(graph.predicates())),
        "distinct_subjects": len(set(graph.subjects())),
        "distinct_objects": len(set(graph.objects())),
    }


def publication_terms(graph: Graph, base: str) -> dict:
    """What the referentials' publication settings say about republishing them.

    `licences`: the declared `data-licence` IRIs; `rights`: (setting IRI, statement) of each `rights`
    setting; `languages`: EU language codes (`language`); `titles`: the certifications' French titles;
    `settings`: every such setting as {code: [(value, basis, label)]}, for pages.
    """
    cqp = ontology_ns(base)
    out = {"licences": set(), "rights": [], "languages": set(), "titles": set(), "settings": {}}
    for cert in sorted(graph.subjects(RDF.type, cqp.Certification)):
        out["titles"] |= {str(t) for t in graph.objects(cert, DCTERMS.title) if getattr(t, "language", None) == "fr"}
        for node in sorted(graph.objects(cert, cqp.hasSetting)):
            key, value = graph.value(node, cqp.settingKey), graph.value(node, cqp.settingValue)
            if key is None:
                continue
            key = str(key)
            out["settings"].setdefault(key, []).append(
                (str(value) if value is not None else None, str(graph.value(node, cqp.basis) or ""),
                 str(graph.value(node, SKOS.prefLabel) or "")))
            if value is None or not str(value).strip():
                continue  # unknown: nothing is asserted
            if key == "data-licence":
                out["licences"].add(str(value).strip())
            elif key == "rights":
                out["rights"].append((node, str(value).strip()))
            elif key == "language":
                out["languages"].add(str(value).strip())
    return out


def _typed(out: Graph, node, *classes) -> None:
    for cls in classes:
        out.add((node, RDF.type, cls))


def dataset_description(graph: Graph, base: str, dataset_iri: str, distributions: list[Distribution],
                        sparql_endpoint: str | None = None, version: str | None = None,
                        issued: date | None = None, example_resources: list[str] = ()) -> Graph:
    cqp = ontology_ns(base)
    out = bind_prefixes(Graph(), base)
    out.bind("spdx", SPDX)
    ds = URIRef(dataset_iri)
    _typed(out, ds, DCAT.Dataset, VOID.Dataset)
    terms = publication_terms(graph, base)
    titles = sorted(terms["titles"])
    out.add((ds, DCTERMS.title, Literal("Référentiels de CQP en données liées (cqp-graph)", lang="fr")))
    out.add((ds, DCTERMS.title, Literal("CQP referentials as linked data (cqp-graph)", lang="en")))
    description = ("Le graphe de connaissances des référentiels de certificats de qualification professionnelle : "
                   "emploi, missions, activités, compétences, blocs, unités et règles d'évaluation"
                   + (f" — {', '.join(titles)}" if titles else "") + ".")
    out.add((ds, DCTERMS.description, Literal(description, lang="fr")))

    # Licence and rights: from the data. One licence for every distribution only when the referentials agree.
    licence = None
    for value in sorted(terms["licences"]):
        node = URIRef(value)
        out.add((ds, DCTERMS.license, node))
        _typed(out, node, DCTERMS.LicenseDocument)
    if len(terms["licences"]) == 1:
        licence = URIRef(next(iter(terms["licences"])))
    rights = None
    for node, text in terms["rights"]:
        out.add((ds, DCTERMS.rights, node))
        _typed(out, node, DCTERMS.RightsStatement)
        out.add((node, RDFS.label, Literal(text, lang="fr")))
    if len(terms["rights"]) == 1:
        rights = terms["rights"][0][0]
    for code in sorted(terms["languages"]):
        language = URIRef(EU_LANGUAGE + code)
        out.add((ds, DCTERMS.language, language))
        _typed(out, language, DCTERMS.LinguisticSystem)

    publisher = URIRef(base + "publisher")
    out.add((ds, DCTERMS.publisher, publisher))
    _typed(out, publisher, FOAF.Agent, FOAF.Organization)
    out.add((publisher, FOAF.name, Literal("cqp-graph")))
    for cert in sorted(graph.subjects(RDF.type, cqp.Certification)):
        out.add((ds, DCTERMS.subject, cert))
        for source in graph.objects(cert, PROV.wasDerivedFrom):  # the referential's document (not a dcat:Dataset)
            out.add((ds, PROV.wasDerivedFrom, source))
    if version:
        out.add((ds, OWL.versionInfo, Literal(version)))
        out.add((ds, DCAT.version, Literal(version)))
    if issued:
        out.add((ds, DCTERMS.issued, Literal(issued.isoformat(), datatype=XSD.date)))

    out.add((ds, VOID.uriSpace, Literal(base)))
    out.add((ds, VOID.vocabulary, URIRef(str(cqp).rstrip("#"))))
    for vocabulary in (SKOS, DCTERMS, PROV, URIRef("http://data.europa.eu/snb/model/elm/")):
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

    def terms_of_use(node):
        if licence is not None:
            out.add((node, DCTERMS.license, licence))
        if rights is not None:
            out.add((node, DCTERMS.rights, rights))

    if sparql_endpoint:
        endpoint = URIRef(sparql_endpoint)
        out.add((ds, VOID.sparqlEndpoint, endpoint))
        service, access = URIRef(sparql_endpoint + "#service"), URIRef(sparql_endpoint + "#distribution")
        _typed(out, endpoint, RDFS.Resource)
        _typed(out, service, DCAT.DataService)
        out.add((service, DCTERMS.title, Literal("Point d'accès SPARQL", lang="fr")))
        out.add((service, DCAT.endpointURL, endpoint))
        out.add((service, DCAT.servesDataset, ds))
        out.add((service, DCTERMS.conformsTo, SPARQL_PROTOCOL))
        _typed(out, SPARQL_PROTOCOL, DCTERMS.Standard)
        out.add((ds, DCAT.distribution, access))
        _typed(out, access, DCAT.Distribution)
        out.add((access, DCTERMS.title, Literal("Point d'accès SPARQL", lang="fr")))
        out.add((access, DCAT.accessURL, endpoint))
        out.add((access, DCAT.accessService, service))
        terms_of_use(access)
    for dist in distributions:
        url = URIRef(dist.url)
        node = URIRef(f"{dataset_iri}#{dist.name}")  # the distribution; `url` is the file
        out.add((ds, DCAT.distribution, node))
        if dist.rdf_dump:
            out.add((ds, VOID.dataDump, url))
        _typed(out, node, DCAT.Distribution)
        _typed(out, url, RDFS.Resource)
        out.add((node, DCAT.accessURL, url))
        out.add((node, DCAT.downloadURL, url))
        media = URIRef(IANA + dist.media_type)
        out.add((node, DCAT.mediaType, media))
        _typed(out, media, DCTERMS.MediaType)
        if dist.media_type in FILE_TYPES:
            file_type = URIRef(EU_FILE_TYPE + FILE_TYPES[dist.media_type])
            out.add((node, DCTERMS.format, file_type))
            _typed(out, file_type, DCTERMS.MediaTypeOrExtent)
        out.add((node, DCTERMS.title, Literal(dist.name)))
        if dist.description:
            out.add((node, DCTERMS.description, Literal(dist.description, lang="fr")))
        if dist.conforms_to:
            out.add((node, DCTERMS.conformsTo, URIRef(dist.conforms_to)))
            _typed(out, URIRef(dist.conforms_to), DCTERMS.Standard)
        terms_of_use(node)
        if dist.size is not None:
            out.add((node, DCAT.byteSize, Literal(dist.size, datatype=XSD.nonNegativeInteger)))
        if dist.checksum:
            checksum = BNode()
            out.add((node, SPDX.checksum, checksum))
            _typed(out, checksum, SPDX.Checksum)
            out.add((checksum, SPDX.algorithm, SPDX.checksumAlgorithm_sha256))
            _typed(out, SPDX.checksumAlgorithm_sha256, SPDX.ChecksumAlgorithm)
            out.add((checksum, SPDX.checksumValue, Literal(dist.checksum, datatype=XSD.hexBinary)))
    out.add((ds, RDFS.label, Literal("cqp-graph", lang="en")))
    return out
