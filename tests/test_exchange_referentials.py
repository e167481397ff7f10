"""Exports and releases with several referentials: each export is its own referential's, read from its own
CSV files; without a name among several, a French refusal naming them; exporters return bytes and write no
file; a release holds every referential's exports under names that carry the referential."""

from __future__ import annotations

import csv
import hashlib
import json
import shutil
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
from rdflib import Graph, Literal, URIRef
from rdflib.namespace import DCTERMS, RDF, SKOS

from cqp_graph.exchange.elm import ELM, MissingSetting, elm_graph, export_elm
from cqp_graph.exchange.rncp_export import export_rncp
from cqp_graph.graph.pipeline import run_pipeline
from cqp_graph.publish.release import ReleaseError, make_release
from cqp_graph.query.knowledge import UnknownReferential

from .support import REFERENTIAL, SECOND, SHARED, edit_csv, need_shared, set_cell, settings_for, two_referentials

FIRST = REFERENTIAL.name
VARIANT = "agc-variante"
VARIANT_TITLE = "Assistant de Gestion Client — variante d'essai"
VARIANT_RNCP = "99917"
VARIANT_BLOCK_LABEL = "Bloc relation client (variante d'essai)"
ADMS_IDENTIFIER = URIRef("http://www.w3.org/ns/adms#identifier")
ROME = SHARED / "rome"


def fill_levels(data: Path) -> None:
    """Test values for the ELM levels the shipped referential leaves unknown (not claims about the CQP)."""
    edit_csv(data, "publication.csv", set_cell("code", "eqf-level", "value", "4"))
    edit_csv(data, "publication.csv", set_cell("code", "nqf-level", "value", "4"))


def two_copies(root: Path, variant_levels: bool = True) -> Path:
    """data/ with the shipped referential and a copy of it under another name, title, RNCP number, first block
    label and job alignments (its job is aligned with D1409 only)."""
    data = root / "data"
    shutil.copytree(REFERENTIAL, data / FIRST)
    if variant_levels:
        fill_levels(data)
    edit_csv(data, "certification.csv", set_cell("property", "title", "value", VARIANT_TITLE))
    edit_csv(data, "certification.csv", set_cell("property", "rncp_number", "value", VARIANT_RNCP))
    edit_csv(data, "blocks.csv", set_cell("code", "B1", "label", VARIANT_BLOCK_LABEL))
    edit_csv(data, "rome-mappings.csv",
             lambda rows: [r for r in rows if not (r["subject_id"] == "JOB" and r["object_id"] == "D1432")])
    (data / FIRST).rename(data / VARIANT)
    shutil.copytree(REFERENTIAL, data / FIRST)
    fill_levels(data)
    return data


def rows(data: Path, referential: str, name: str) -> list[dict]:
    with (data / referential / name).open(encoding="utf-8", newline="") as handle:
        return list(csv.DictReader(handle))


def certification(data: Path, referential: str) -> dict[str, str]:
    return {r["property"]: r["value"] for r in rows(data, referential, "certification.csv")}


def snapshot(folder: Path) -> dict[str, str]:
    return {str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(folder.rglob("*")) if p.is_file()}


@pytest.fixture(scope="module")
def two(tmp_path_factory):
    root = tmp_path_factory.mktemp("two-referentials")
    data = two_copies(root)
    settings = settings_for(data, root)
    return data, settings, run_pipeline(settings).knowledge


def test_the_two_referentials_differ_where_the_test_says(two):
    data, _settings, knowledge = two
    assert certification(data, FIRST)["title"] != certification(data, VARIANT)["title"] == VARIANT_TITLE
    assert certification(data, FIRST)["rncp_number"] != certification(data, VARIANT)["rncp_number"] == VARIANT_RNCP
    assert [r.name for r in knowledge.referentials()] == sorted([FIRST, VARIANT])


def check_rncp(data: Path, referential: str, document: bytes) -> None:
    """The RNCP export `document` is `referential`'s, as its own CSV files say."""
    facts = certification(data, referential)
    number = facts["rncp_number"]
    fiches = ET.fromstring(document).findall("FICHE")
    assert len(fiches) == 1, "one fiche: this referential's, not every referential's"
    fiche = fiches[0]
    assert fiche.findtext("NUMERO_FICHE") == f"RNCP{number}"
    assert fiche.findtext("INTITULE") == facts["title"]
    blocks = rows(data, referential, "blocks.csv")
    written = fiche.findall("BLOCS_COMPETENCES/BLOC_COMPETENCES")
    assert [b.findtext("CODE") for b in written] == [f"RNCP{number}BC{int(b['code'][1:]):02d}" for b in blocks]
    assert [b.findtext("LIBELLE") for b in written] == [b["label"] for b in blocks]
    competences = rows(data, referential, "competences.csv")
    for block, element in zip(blocks, written):
        listed = {item.split(" ", 1)[0] for item in element.findtext("LISTE_COMPETENCES").lstrip("- ").split("  - ")}
        assert listed == {c["code"] for c in competences if c["domain"] == block["domain"]}
    mappings = data / referential / "rome-mappings.csv"
    mapped = {r["object_id"] for r in rows(data, referential, mappings.name)
              if r["subject_id"] == "JOB" and r["object_type"] == "job"} if mappings.exists() else set()
    assert {r.findtext("CODE") for r in fiche.findall("CODES_ROME/ROME")} == mapped


def check_elm(data: Path, referential: str, base: str, graph: Graph) -> None:
    """The ELM export `graph` is `referential`'s qualification, as its own CSV files say."""
    facts = certification(data, referential)
    blocks = rows(data, referential, "blocks.csv")
    qualifications = set(graph.subjects(RDF.type, ELM.Qualification))
    whole = [q for q in qualifications if (q, ELM.hasPart, None) in graph]
    assert len(whole) == 1 and len(qualifications) == 1 + len(blocks)
    whole = whole[0]
    assert str(whole) == f"{base}elm/rncp{facts['rncp_number']}"
    assert graph.value(whole, DCTERMS.title) == Literal(facts["title"], lang="fr")
    assert {str(graph.value(i, SKOS.notation)) for i in graph.objects(whole, ADMS_IDENTIFIER)} == \
        {f"RNCP{facts['rncp_number']}"}
    assert {str(graph.value(p, DCTERMS.title)) for p in graph.objects(whole, ELM.hasPart)} == \
        {b["label"] for b in blocks}
    outcomes = {str(graph.value(i, SKOS.notation)) for o in graph.objects(whole, ELM.learningOutcome)
                for i in graph.objects(o, ADMS_IDENTIFIER)}
    assert outcomes == {c["code"] for c in rows(data, referential, "competences.csv")} | \
        {a["code"] for a in rows(data, referential, "aptitudes.csv")}


@pytest.mark.parametrize("referential", [FIRST, VARIANT])
def test_each_rncp_fiche_is_its_own_referentials(two, referential):
    data, settings, knowledge = two
    check_rncp(data, referential, export_rncp(knowledge, settings, referential))


@pytest.mark.parametrize("referential", [FIRST, VARIANT])
def test_each_elm_qualification_is_its_own_referentials(two, referential):
    data, settings, knowledge = two
    for fmt in ("turtle", "json-ld"):
        graph = Graph().parse(data=export_elm(knowledge, settings, referential, fmt=fmt), format=fmt)
        check_elm(data, referential, settings.base, graph)


def test_the_second_test_referential_exports_beside_the_first(tmp_path):
    """The small referential written for the tests (other codes, missions, domains, blocks) and the shipped one."""
    data = two_referentials(tmp_path)
    fill_levels(data)
    settings = settings_for(data, tmp_path)
    knowledge = run_pipeline(settings).knowledge
    for referential in (FIRST, SECOND):
        check_rncp(data, referential, export_rncp(knowledge, settings, referential))
        check_elm(data, referential, settings.base,
                  Graph().parse(data=export_elm(knowledge, settings, referential), format="turtle"))
    if ROME.exists():  # the second one's job is aligned with no job sheet: nothing narrows the ROME search
        from cqp_graph.exchange.rome import candidate_sheets

        assert candidate_sheets(knowledge, ROME, SECOND) is None
        assert candidate_sheets(knowledge, ROME, FIRST)


def test_among_several_a_referential_must_be_named(two):
    _data, settings, knowledge = two
    for export in (lambda name: export_rncp(knowledge, settings, name),
                   lambda name: export_elm(knowledge, settings, name),
                   lambda name: elm_graph(knowledge, settings, name)):
        with pytest.raises(UnknownReferential) as refused:
            export(None)
        message = str(refused.value)
        assert FIRST in message and VARIANT in message and "précisez" in message
        with pytest.raises(UnknownReferential) as unknown:
            export("aucun-tel-referentiel")
        assert "aucun-tel-referentiel" in str(unknown.value) and FIRST in str(unknown.value)


def test_exporters_write_no_file(two, tmp_path, monkeypatch):
    data, settings, knowledge = two
    monkeypatch.chdir(tmp_path)
    watched = {"data": data, "output": Path(settings.dist_dir).parent, "cwd": tmp_path}
    before = {name: snapshot(folder) for name, folder in watched.items()}
    for referential in (FIRST, VARIANT):
        assert isinstance(export_rncp(knowledge, settings, referential), bytes)
        for fmt in ("turtle", "json-ld"):
            assert isinstance(export_elm(knowledge, settings, referential, fmt=fmt), bytes)
    assert {name: snapshot(folder) for name, folder in watched.items()} == before
    assert not Path(settings.dist_dir).exists() or not any(Path(settings.dist_dir).iterdir())


def test_a_release_holds_each_referentials_exports(two, tmp_path):
    data, settings, _knowledge = two
    target = make_release(settings, "1.0.0", tmp_path / "releases")
    names = {p.name for p in target.iterdir()}
    for referential in (FIRST, VARIANT):
        assert {f"rncp-{referential}.xml", f"elm-{referential}.ttl", f"elm-{referential}.jsonld"} <= names
    assert not {"rncp.xml", "elm.ttl", "elm.jsonld"} & names, "no file of one referential under a shared name"
    manifest = json.loads((target / "release.json").read_text(encoding="utf-8"))
    for referential in (FIRST, VARIANT):
        facts = certification(data, referential)
        fiche = ET.parse(target / f"rncp-{referential}.xml").getroot().find("FICHE")
        assert fiche.findtext("NUMERO_FICHE") == f"RNCP{facts['rncp_number']}"
        assert fiche.findtext("INTITULE") == facts["title"]
        elm = Graph().parse(target / f"elm-{referential}.ttl", format="turtle")
        assert Literal(facts["title"], lang="fr") in set(elm.objects(None, DCTERMS.title))
        entry = manifest["referentials"][referential]
        assert entry["title"] == facts["title"] and entry["rncp"] == facts["rncp_number"]
        assert entry["files"] == sorted([f"elm-{referential}.jsonld", f"elm-{referential}.ttl",
                                         f"rncp-{referential}.xml"])
    sums = dict(reversed(line.split("  ")) for line in (target / "SHA256SUMS").read_text().splitlines())
    for name in names - {"SHA256SUMS"}:
        assert sums[name] == hashlib.sha256((target / name).read_bytes()).hexdigest(), name
    dataset = Graph().parse(target / "dataset.ttl")
    release = settings.base + "release/1.0.0"
    variant_fiche = URIRef(f"{release}#rncp-{VARIANT}.xml")
    assert VARIANT_TITLE in str(dataset.value(variant_fiche, DCTERMS.description))
    downloads = {str(o) for o in dataset.objects(None, URIRef("http://www.w3.org/ns/dcat#downloadURL"))}
    assert {f"{release}/rncp-{FIRST}.xml", f"{release}/rncp-{VARIANT}.xml"} <= downloads


def test_a_referential_missing_an_elm_value_is_named_and_skipped_alone(tmp_path):
    data = two_copies(tmp_path, variant_levels=False)
    settings = settings_for(data, tmp_path)
    with pytest.raises(ReleaseError) as refused:
        make_release(settings, "1.0.0", tmp_path / "releases")
    assert "eqf-level" in str(refused.value) and f"data/{VARIANT}/publication.csv" in str(refused.value)
    assert not (tmp_path / "releases" / "1.0.0").exists()
    with pytest.raises(MissingSetting):
        export_elm(run_pipeline(settings).knowledge, settings, VARIANT)
    target = make_release(settings, "1.0.0", tmp_path / "releases", allow_missing=True)
    names = {p.name for p in target.iterdir()}
    assert {f"elm-{FIRST}.ttl", f"rncp-{FIRST}.xml", f"rncp-{VARIANT}.xml"} <= names
    assert not {f"elm-{VARIANT}.ttl", f"elm-{VARIANT}.jsonld"} & names
    manifest = json.loads((target / "release.json").read_text(encoding="utf-8"))
    assert set(manifest["skipped"]) == {f"elm-{VARIANT}"} and "eqf-level" in manifest["skipped"][f"elm-{VARIANT}"]
    assert manifest["referentials"][VARIANT]["skipped"] == {f"elm-{VARIANT}": manifest["skipped"][f"elm-{VARIANT}"]}


def test_rome_job_sheets_are_each_referentials(two):
    from cqp_graph.exchange.rome import candidate_sheets

    need_shared(ROME)
    data, _settings, knowledge = two
    with next(ROME.glob("unix_referentiel_code_rome_v*_utf8.csv")).open(encoding="utf-8") as handle:
        parents = {r["code_rome"]: r["code_rome_parent"] for r in csv.DictReader(handle)}
    for referential in (FIRST, VARIANT):
        aligned = {r["object_id"] for r in rows(data, referential, "rome-mappings.csv")
                   if r["subject_id"] == "JOB" and r["object_type"] == "job"}
        assert set(candidate_sheets(knowledge, ROME, referential)) == aligned | {parents[c] for c in aligned}
    assert set(candidate_sheets(knowledge, ROME, FIRST)) != set(candidate_sheets(knowledge, ROME, VARIANT))
    with pytest.raises(UnknownReferential):
        candidate_sheets(knowledge, ROME)
