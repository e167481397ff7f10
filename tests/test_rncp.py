"""RNCP / RS import (streaming) and export, with the real extracts of ../shared/rncp."""

from __future__ import annotations

import json
import subprocess
import textwrap
import sys
import xml.etree.ElementTree as ET

import pytest
from rdflib import Graph, Literal, URIRef
from rdflib.namespace import RDF

from cqp_graph.graph.assemble import load_input_shapes
from cqp_graph.namespaces import CQP
from cqp_graph.exchange.rncp_export import export_rncp
from cqp_graph.exchange.rncp_import import import_rncp, split_competences
from cqp_graph.graph.validate import validate_graph
from cqp_graph.query.knowledge import Knowledge

from .support import SHARED, csv_rows, need_shared

RNCP = SHARED / "rncp" / "export_fiches_RNCP_fixture.xml"
RS = SHARED / "rncp" / "export_fiches_RS_fixture.xml"
BASE = "https://w3id.org/cqp-graph/"


def need(path):
    need_shared(path)


def xml_facts(path):
    root = ET.parse(path).getroot()
    fiches = {f.findtext("NUMERO_FICHE"): f for f in root.findall("FICHE")}
    blocks = {b.findtext("CODE"): b for f in fiches.values() for b in f.findall("BLOCS_COMPETENCES/BLOC_COMPETENCES")}
    return fiches, blocks


@pytest.mark.parametrize("path", [RNCP, RS], ids=["RNCP", "RS"])
def test_every_fiche_block_and_code_arrives(path, tmp_path, settings):
    need(path)
    report = import_rncp(path, tmp_path / "out.ttl", BASE, shapes=load_input_shapes(settings, "rncp", "rncp"))
    assert report.problems == []
    fiches, blocks = xml_facts(path)
    graph = Graph().parse(tmp_path / "out.ttl")
    numbers = {str(o) for o in graph.objects(None, CQP.recordNumber)}
    assert numbers == set(fiches)
    codes = {str(o) for s, o in graph.subject_objects(CQP.code) if (None, CQP.hasBlock, s) in graph}
    assert codes == set(blocks)
    for number, fiche in fiches.items():
        record = URIRef(f"{BASE}rncp/{number}")
        assert {str(o) for o in graph.objects(record, CQP.romeCode)} == \
            {r.findtext("CODE") for r in fiche.findall("CODES_ROME/ROME")}
        assert {str(o) for o in graph.objects(record, CQP.nsfCode)} == \
            {r.findtext("CODE") for r in fiche.findall("CODES_NSF/NSF")}
        assert {str(o) for o in graph.objects(record, CQP.formacode)} == \
            {r.findtext("CODE") for r in fiche.findall("FORMACODES/FORMACODE")}
        sirets = {c.findtext("SIRET_CERTIFICATEUR") for c in fiche.findall("CERTIFICATEURS/CERTIFICATEUR")} - {None}
        found = {str(o) for c in graph.objects(record, CQP.certifier) for o in graph.objects(c, CQP.siret)}
        assert found == sirets
        assert len(list(graph.objects(record, CQP.hasAccessRoute))) == len([e for e in fiche if e.tag.startswith("SI_JURY")])
        # what the fiche attests, kept as the export writes it (RS fiches have no blocks: it is their competence text)
        capacities = (fiche.findtext("CAPACITES_ATTESTEES") or "").strip()
        kept = list(graph.objects(record, CQP.attestedCapacities))
        assert [(str(o), o.language) for o in kept] == ([(capacities, "fr")] if capacities else [])
    for code, block in blocks.items():
        node = URIRef(f"{BASE}rncp/block/{code}")
        assert str(graph.value(node, CQP.competenceListText)) == block.findtext("LISTE_COMPETENCES")
        assert str(graph.value(node, CQP.assessmentText)) == block.findtext("MODALITES_EVALUATION")
    assert validate_graph(graph, load_input_shapes(settings, "rncp", "rncp")).conforms


def test_links_between_certifications_and_correspondences(tmp_path):
    need(RNCP)
    import_rncp(RNCP, tmp_path / "out.ttl", BASE)
    graph = Graph().parse(tmp_path / "out.ttl")
    old = URIRef(f"{BASE}rncp/RNCP34762")
    assert (old, URIRef("http://purl.org/dc/terms/isReplacedBy"), URIRef(f"{BASE}rncp/RNCP39568")) in graph
    assert (old, URIRef("http://purl.org/dc/terms/replaces"), URIRef(f"{BASE}rncp/RNCP24998")) in graph
    correspondences = list(graph.subjects(RDF.type, CQP.BlockCorrespondence))
    fiches, _ = xml_facts(RNCP)
    assert len(correspondences) == sum(len(f.findall("CORRESPONDANCES/CORRESPONDANCE")) for f in fiches.values())


def test_competence_lists_split_only_where_unambiguous():
    assert split_competences("A1C1. Evaluer x        A1C2.Apprécier y")[:2] == \
        ("codes", ["A1C1. Evaluer x", "A1C2.Apprécier y"])
    assert split_competences("En mobilisant :    A5.C1. Réaliser    A5.C2. Faire") == \
        ("codes", ["A5.C1. Réaliser", "A5.C2. Faire"], "En mobilisant :")
    assert split_competences("- Analyser  - Proposer une   solution  - Comparer")[:2] == \
        ("bullets", ["Analyser", "Proposer une solution", "Comparer"])
    assert split_competences("Installer et configurer  Maquetter des interfaces") == ("none", [], None)
    assert split_competences("1.1 Recueillir    1.1.1 Auditer") == ("none", [], None)


def test_malformed_fiches_are_reported_and_the_rest_goes_on(tmp_path):
    need(RNCP)
    text = RNCP.read_text(encoding="utf-8")
    text = text.replace("<NUMERO_FICHE>RNCP35809</NUMERO_FICHE>", "<NUMERO_FICHE>???</NUMERO_FICHE>", 1)
    text = text.replace("<DATE_FIN_ENREGISTREMENT>31/08/2024</DATE_FIN_ENREGISTREMENT>",
                        "<DATE_FIN_ENREGISTREMENT>31/02/2024</DATE_FIN_ENREGISTREMENT>", 1)
    broken = tmp_path / "broken.xml"
    broken.write_text(text, encoding="utf-8")
    report = import_rncp(broken, tmp_path / "out.ttl", BASE)
    fiches, _ = xml_facts(RNCP)
    assert report.fiches == len(fiches) - 1 and report.skipped == 1
    messages = [str(p) for p in report.problems]
    assert any("fiche #2" in m and "NUMERO_FICHE « ??? »" in m for m in messages)
    assert any("RNCP34762" in m and "31/02/2024" in m for m in messages)
    graph = Graph().parse(tmp_path / "out.ttl")
    assert (URIRef(f"{BASE}rncp/RNCP34762"), CQP.recordNumber, Literal("RNCP34762")) in graph


def test_truncated_file_keeps_what_came_before(tmp_path):
    need(RNCP)
    text = RNCP.read_text(encoding="utf-8")
    cut = text.index("<NUMERO_FICHE>RNCP37488</NUMERO_FICHE>")
    truncated = tmp_path / "truncated.xml"
    truncated.write_text(text[:cut], encoding="utf-8")
    report = import_rncp(truncated, tmp_path / "out.ttl", BASE)
    assert report.fiches == text[:cut].count("<FICHE>") - 1, "every complete fiche before the cut"
    assert any("erreur de syntaxe XML ligne" in str(p) for p in report.problems)


def test_streaming_memory_stays_bounded(tmp_path):
    """Twenty times the fixture's fiches: peak memory grows far less than the file.

    Measured in a fresh interpreter: in the test process, objects other tests keep alive make Python's full
    garbage collections rare, which is the suite's state, not the importer's."""
    need(RNCP)
    text = RNCP.read_text(encoding="utf-8")
    head, body = text.split("<FICHE>", 1)
    body, tail = body.rsplit("</FICHE>", 1)
    fiches = "<FICHE>" + body + "</FICHE>"
    for copies in (1, 2, 20):
        (tmp_path / f"big{copies}.xml").write_text(head + fiches * copies + tail, encoding="utf-8")
    script = textwrap.dedent(f"""
        import sys, tracemalloc
        from pathlib import Path
        from cqp_graph.exchange.rncp_import import import_rncp
        folder = Path(sys.argv[1])
        def peak(copies):
            tracemalloc.start()
            import_rncp(folder / f"big{{copies}}.xml", folder / "big.ttl", {BASE!r})
            _, top = tracemalloc.get_traced_memory()
            tracemalloc.stop()
            return top
        peak(1)  # warm-up: first-use caches (parsers, namespaces, shapes) are not what this test measures
        print(peak(2), peak(20))
    """)
    done = subprocess.run([sys.executable, "-c", script, str(tmp_path)], capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr[-2000:]
    small, large = (int(x) for x in done.stdout.split())
    assert large < small * 3, f"peak {small} bytes for 2 copies, {large} for 20: memory grows with the file"


def test_cli_import_with_progress_and_report(tmp_path):
    need(RS)
    done = subprocess.run([sys.executable, "-m", "cqp_graph", "import-rncp", str(RS), "--output",
                           str(tmp_path / "rs.ttl"), "--report", str(tmp_path / "report.json")],
                          capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    fiches, _ = xml_facts(RS)
    assert json.loads((tmp_path / "report.json").read_text())["rs"] == len(fiches)


def test_export_has_the_exports_element_names_and_order(store, settings):
    need(RNCP)
    ours = ET.fromstring(export_rncp(Knowledge.over(store, settings), settings))
    assert ours.tag == "FICHES" and ours.findtext("VERSION_FLUX") == "4.1"
    fiche = ours.find("FICHE")
    reference_order = []
    for real in ET.parse(RNCP).getroot().findall("FICHE"):
        for child in real:
            if child.tag not in reference_order:
                reference_order.append(child.tag)
    tags = [child.tag for child in fiche]
    assert set(tags) <= set(reference_order)
    assert tags == sorted(tags, key=reference_order.index), "elements in the export's order"
    assert fiche.findtext("NUMERO_FICHE") == "RNCP28795"
    assert [b.findtext("CODE") for b in fiche.findall("BLOCS_COMPETENCES/BLOC_COMPETENCES")] == \
        [f"RNCP28795BC{int(r['code'][1:]):02d}" for r in csv_rows("blocks.csv")]
    assert {r.findtext("CODE") for r in fiche.findall("CODES_ROME/ROME")} == {"D1409", "D1432"}
    assert fiche.find("NOMENCLATURE_EUROPE") is None, "no level is invented"
    block = fiche.find("BLOCS_COMPETENCES/BLOC_COMPETENCES")
    assert "70\u202f%" in block.findtext("MODALITES_EVALUATION")


def test_export_import_round_trip(store, settings, tmp_path, catalogue):
    from cqp_graph.query.catalogue import run_named

    (tmp_path / "fiche.xml").write_bytes(export_rncp(Knowledge.over(store, settings), settings))
    report = import_rncp(tmp_path / "fiche.xml", tmp_path / "back.ttl", BASE)
    assert report.problems == [] and report.blocks == len(csv_rows("blocks.csv"))
    graph = Graph().parse(tmp_path / "back.ttl")
    for block in run_named(store, catalogue.get("blocks"), {}, settings.base).rows:
        code = f"RNCP28795BC{int(block['code'][1:]):02d}"
        node = URIRef(f"{BASE}rncp/block/{code}")
        assert str(graph.value(node, URIRef("http://www.w3.org/2004/02/skos/core#prefLabel"))) == block["label"]
        assert str(graph.value(node, CQP.itemisation)) == "bullets"
        items = {str(t).split(" ", 1)[0] for i in graph.objects(node, CQP.hasItem) for t in graph.objects(i, CQP.itemText)}
        expected = {r["code"] for r in run_named(store, catalogue.get("block-contents"), {"block": block["code"]},
                                                 settings.base).rows if r["item_type"] == "competence"}
        assert items == expected


def test_imported_fiches_join_the_served_graph(tmp_path, dist_dir):
    import httpx

    from .server import start_server

    need(RNCP)
    import_rncp(RNCP, tmp_path / "rncp.ttl", BASE)
    server = start_server(dist_dir, extra_args=["--merge", str(tmp_path / "rncp.ttl")])
    try:
        page = httpx.get(server.url + "/rncp/RNCP34762", headers={"Accept": "text/html"}, follow_redirects=True)
        assert page.status_code == 200 and "Programme Grande Ecole" in page.text
        query = "PREFIX cqp: <https://w3id.org/cqp-graph/ontology#> SELECT (COUNT(?b) AS ?n) { ?r cqp:hasBlock ?b }"
        count = httpx.get(server.url + "/sparql", params={"query": query},
                          headers={"Accept": "application/sparql-results+json"}).json()
        _, blocks = xml_facts(RNCP)
        assert int(count["results"]["bindings"][0]["n"]["value"]) == len(blocks) + len(csv_rows("blocks.csv"))
    finally:
        server.stop()


# -- a generated export, broken on purpose -------------------------------------------------------------------

def test_malformed_fiches_of_a_generated_export_are_reported_each_with_its_position(tmp_path, settings):
    """Fiches of a generated export broken in five ways, at positions chosen from the XML: each is reported with
    its position and number, the skipped one alone is lost, every other fiche and block arrives."""
    from cqp_graph.exchange.rncp_generate import generate_rncp

    source = tmp_path / "generated.xml"
    generate_rncp(source, 50, seed=21)
    text = source.read_text(encoding="utf-8")
    head, *chunks = text.split("  <FICHE>\n")
    fiches = ET.parse(source).getroot().findall("FICHE")
    assert len(chunks) == len(fiches) == 50
    numbers = [f.findtext("NUMERO_FICHE") for f in fiches]
    rncp = [i for i, f in enumerate(fiches) if f.find("NOMENCLATURE_EUROPE/NIVEAU") is not None and i > 5]
    # (0-based index, what is broken)
    no_number, bad_level, bad_date, bad_block, no_title = 3, rncp[0], 12, rncp[3], 30

    def edit(index, old, new):
        assert old in chunks[index], (index, old)
        chunks[index] = chunks[index].replace(old, new, 1)

    edit(no_number, f"<NUMERO_FICHE>{numbers[no_number]}</", "<NUMERO_FICHE>???</")
    level = fiches[bad_level].findtext("NOMENCLATURE_EUROPE/NIVEAU")
    edit(bad_level, f"<NIVEAU>{level}</NIVEAU>", "<NIVEAU>NIV9</NIVEAU>")
    end = fiches[bad_date].findtext("DATE_FIN_ENREGISTREMENT")
    edit(bad_date, f"<DATE_FIN_ENREGISTREMENT>{end}<", "<DATE_FIN_ENREGISTREMENT>31/02/2024<")
    lost_block = fiches[bad_block].findtext("BLOCS_COMPETENCES/BLOC_COMPETENCES/CODE")
    edit(bad_block, f"<CODE>{lost_block}</CODE>", "<CODE>BLOC1</CODE>")
    title = fiches[no_title].findtext("INTITULE")
    edit(no_title, f"<INTITULE>{title.replace('&', '&amp;')}</INTITULE>", "")
    broken = tmp_path / "broken.xml"
    broken.write_text(head + "".join("  <FICHE>\n" + c for c in chunks), encoding="utf-8")

    report = import_rncp(broken, tmp_path / "out.nt", BASE, shapes=load_input_shapes(settings, "rncp", "rncp"))
    messages = [str(p) for p in report.problems]

    def one(index, number, *words):
        start = f"fiche #{index + 1} ({number}): "
        hits = [m for m in messages if m.startswith(start) and all(w in m for w in words)]
        assert len(hits) == 1, (start, words, messages)
        return hits[0]

    one(no_number, "???", "NUMERO_FICHE « ??? »", "écartée")
    one(bad_level, numbers[bad_level], "NOMENCLATURE_EUROPE/NIVEAU « NIV9 »")
    one(bad_level, numbers[bad_level], "SHACL", "NIV1 à NIV8")
    one(bad_date, numbers[bad_date], "DATE_FIN_ENREGISTREMENT « 31/02/2024 »")
    one(bad_block, numbers[bad_block], "bloc #1", "BLOC1", "écarté")
    one(no_title, numbers[no_title], "INTITULE manquant")
    one(no_title, numbers[no_title], "SHACL", "intitulé")
    assert len(messages) == 7, messages
    # the rest is kept: every other fiche, every other block, the good fields of the broken fiches
    assert (report.fiches, report.skipped) == (49, 1)
    graph = Graph().parse(tmp_path / "out.nt", format="nt")
    assert {str(o) for o in graph.objects(None, CQP.recordNumber)} == set(numbers) - {numbers[no_number]}
    blocks = {b.findtext("CODE") for i, f in enumerate(fiches) if i != no_number
              for b in f.findall("BLOCS_COMPETENCES/BLOC_COMPETENCES")}
    assert {str(o) for o in graph.objects(None, CQP.code)} == blocks - {lost_block}
    record = URIRef(f"{BASE}rncp/{numbers[bad_date]}")
    assert (record, CQP.registrationEnd, None) not in graph and (record, CQP.recordNumber, None) in graph
