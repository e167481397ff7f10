"""DCAT-AP 3.0.0: the release's dataset.ttl and the server's /dataset and /.well-known/void conform to the
official SHACL shapes (pyshacl, the shapes alone, no inference: every class a shape wants is asserted in the
description itself); licence and rights come from the data (publication.csv)."""

from __future__ import annotations

import csv
import hashlib

import httpx
import pytest
from pyshacl import validate
from rdflib import Graph, Literal, Namespace, URIRef
from rdflib.namespace import DCTERMS, RDF, RDFS

from cqp_graph.publish.release import ReleaseError, make_release

from .support import REFERENTIAL, SHARED, settings_for
from .support import edit_csv, set_cell

SHAPES_FILE = SHARED / "standards" / "dcat-ap" / "dcat-ap-3.0.0-SHACL.ttl"
DCAT = Namespace("http://www.w3.org/ns/dcat#")
SPDX = Namespace("http://spdx.org/rdf/terms#")
SH = Namespace("http://www.w3.org/ns/shacl#")
CC_BY = "http://publications.europa.eu/resource/authority/licence/CC_BY_4_0"


@pytest.fixture(scope="module")
def dcat_ap():
    if not SHAPES_FILE.exists():
        pytest.skip(f"{SHAPES_FILE} not found: ../shared is absent, DCAT-AP shapes unavailable")
    return Graph().parse(SHAPES_FILE)


def findings(description: Graph, shapes: Graph) -> list[tuple[str, str, str, str]]:
    """Every SHACL result (severity, focus, path, message) of `description` under DCAT-AP, no inference."""
    _conforms, report, _text = validate(description, shacl_graph=shapes, inference="none", allow_warnings=False)
    return sorted((str(report.value(r, SH.resultSeverity)), str(report.value(r, SH.focusNode)),
                   str(report.value(r, SH.resultPath)), str(report.value(r, SH.resultMessage)))
                  for r in report.subjects(RDF.type, SH.ValidationResult))


def publication(code: str) -> dict:
    with (REFERENTIAL / "publication.csv").open(encoding="utf-8", newline="") as handle:
        return next(r for r in csv.DictReader(handle) if r["code"] == code)


@pytest.fixture(scope="module")
def release(tmp_path_factory):
    """Two releases (the second has a previous version), ELM skipped as eqf-level is unknown."""
    tmp = tmp_path_factory.mktemp("dcat")
    settings = settings_for(REFERENTIAL.parent, tmp)
    make_release(settings, "1.0.0", tmp / "releases", allow_missing=True)
    target = make_release(settings, "1.1.0", tmp / "releases", allow_missing=True)
    return settings, target


def test_release_dataset_conforms_to_dcat_ap(release, dcat_ap):
    settings, target = release
    description = Graph().parse(target / "dataset.ttl")
    assert findings(description, dcat_ap) == []
    first = Graph().parse(target.parent / "1.0.0" / "dataset.ttl")
    assert findings(first, dcat_ap) == []
    iri = URIRef(settings.base + "release/1.1.0")
    assert (iri, DCTERMS.isVersionOf, URIRef(settings.base + "dataset")) in description
    assert (iri, DCAT.previousVersion, URIRef(settings.base + "release/1.0.0")) in description


def test_the_shapes_do_catch_an_untyped_value(release, dcat_ap):
    """The zero above is not vacuous: drop the class of the media types and DCAT-AP reports each."""
    _settings, target = release
    description = Graph().parse(target / "dataset.ttl")
    media = set(description.objects(None, DCAT.mediaType))
    for m in media:
        description.remove((m, RDF.type, DCTERMS.MediaType))
    found = [f for f in findings(description, dcat_ap) if f[2] == str(DCAT.mediaType)]
    assert len(found) == len(set(description.subjects(DCAT.mediaType, None))) > 0


def test_every_release_file_is_a_distribution_with_its_checksum(release):
    settings, target = release
    description = Graph().parse(target / "dataset.ttl")
    iri = URIRef(settings.base + "release/1.1.0")
    distributions = set(description.objects(iri, DCAT.distribution))
    published = {p.name for p in target.iterdir()} - {"dataset.ttl", "prov.ttl", "CHANGES.md", "release.json",
                                                       "SHA256SUMS"}
    assert {"rome.sssom.tsv", "graph.ttl", "rncp.xml"} <= published
    by_name = {}
    for node in distributions:
        download = description.value(node, DCAT.downloadURL)
        assert description.value(node, DCAT.accessURL) == download
        by_name[str(download).rsplit("/", 1)[1]] = node
    assert set(by_name) == published
    for name, node in by_name.items():
        media = str(description.value(node, DCAT.mediaType))
        assert media.startswith("http://www.iana.org/assignments/media-types/"), media
        checksum = description.value(node, SPDX.checksum)
        assert description.value(checksum, SPDX.algorithm) == SPDX.checksumAlgorithm_sha256
        assert str(description.value(checksum, SPDX.checksumValue)) == \
            hashlib.sha256((target / name).read_bytes()).hexdigest()
        assert description.value(node, DCAT.byteSize).toPython() == (target / name).stat().st_size
    assert str(description.value(by_name["rome.sssom.tsv"], DCAT.mediaType)).endswith("/text/tab-separated-values")
    dumps = {str(o).rsplit("/", 1)[1] for o in description.objects(iri, URIRef("http://rdfs.org/ns/void#dataDump"))}
    assert dumps == {"graph.ttl", "graph.nt", "graph.jsonld", "graph.rdf"}


def test_licence_rights_and_language_come_from_the_data(release):
    settings, target = release
    description = Graph().parse(target / "dataset.ttl")
    iri = URIRef(settings.base + "release/1.1.0")
    licence = publication("data-licence")
    assert licence["basis"] == "declared-choice" and licence["value"]
    assert list(description.objects(iri, DCTERMS.license)) == [URIRef(licence["value"])]
    rights = description.value(iri, DCTERMS.rights)
    assert (rights, RDF.type, DCTERMS.RightsStatement) in description
    assert description.value(rights, RDFS.label) == Literal(publication("rights")["value"], lang="fr")
    assert "CPNE des branches du secteur alimentaire" in publication("rights")["value"]
    assert list(description.objects(iri, DCTERMS.language)) == [
        URIRef("http://publications.europa.eu/resource/authority/language/" + publication("language")["value"])]
    for node in description.objects(iri, DCAT.distribution):
        if description.value(node, DCAT.downloadURL) is not None:
            assert description.value(node, DCTERMS.license) == URIRef(licence["value"])


def test_changing_the_licence_in_the_data_changes_the_release(data_copy, tmp_path, dcat_ap):
    edit_csv(data_copy, "publication.csv", set_cell("code", "data-licence", "value", CC_BY))
    target = make_release(settings_for(data_copy, tmp_path), "2.0.0", tmp_path / "releases", allow_missing=True)
    description = Graph().parse(target / "dataset.ttl")
    assert set(description.objects(None, DCTERMS.license)) == {URIRef(CC_BY)}
    assert f"# license: {CC_BY}\n" in (target / "rome.sssom.tsv").read_text(encoding="utf-8")
    assert findings(description, dcat_ap) == []


def test_unknown_licence_is_not_asserted(data_copy, tmp_path, dcat_ap):
    edit_csv(data_copy, "publication.csv", set_cell("code", "data-licence", "value", ""))
    edit_csv(data_copy, "publication.csv", set_cell("code", "data-licence", "basis", "unknown"))
    target = make_release(settings_for(data_copy, tmp_path), "2.0.0", tmp_path / "releases", allow_missing=True)
    description = Graph().parse(target / "dataset.ttl")
    assert list(description.objects(None, DCTERMS.license)) == []
    assert "# license: https://w3id.org/sssom/license/unspecified\n" in \
        (target / "rome.sssom.tsv").read_text(encoding="utf-8")
    assert findings(description, dcat_ap) == []


def test_a_licence_that_is_not_an_iri_is_refused(data_copy, tmp_path):
    edit_csv(data_copy, "publication.csv", set_cell("code", "data-licence", "value", "Licence Ouverte"))
    with pytest.raises(ReleaseError, match="violation"):
        make_release(settings_for(data_copy, tmp_path), "2.0.0", tmp_path / "releases", allow_missing=True)
    assert not (tmp_path / "releases" / "2.0.0").exists()


@pytest.mark.parametrize("path", ["/dataset", "/.well-known/void"])
@pytest.mark.parametrize("accept,fmt", [("text/turtle", "turtle"), ("application/ld+json", "json-ld")])
def test_served_description_conforms_to_dcat_ap(live_server, dcat_ap, path, accept, fmt):
    response = httpx.get(live_server.url + path, headers={"Accept": accept})
    assert response.status_code == 200
    description = Graph().parse(data=response.text, format=fmt)
    assert findings(description, dcat_ap) == []
    dataset = URIRef(live_server.url + "/dataset")
    service = description.value(predicate=DCAT.servesDataset, object=dataset)
    assert description.value(service, DCAT.endpointURL) == URIRef(live_server.url + "/sparql")
    downloads = {str(o) for o in description.objects(None, DCAT.downloadURL)}
    assert live_server.url + "/mappings/rome.sssom.tsv" in downloads
    for url in downloads:
        assert httpx.get(url).status_code == 200, url


def test_dataset_page_shows_the_declared_terms(live_server):
    page = httpx.get(live_server.url + "/dataset", headers={"Accept": "text/html"})
    assert page.status_code == 200
    assert publication("data-licence")["value"] in page.text
    assert "CPNE des branches du secteur alimentaire" in page.text
    assert "rome.sssom.tsv" in page.text
