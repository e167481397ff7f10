"""ROME 4.0 alignment: reproducible suggestions, reviewed mappings as triples, gaps reported."""

from __future__ import annotations

import csv
import subprocess
import sys

from rdflib import URIRef
from rdflib.namespace import SKOS

from cqp_graph.query.catalogue import run_named
from cqp_graph.exchange.rome import candidate_sheets, load_rome, suggest, tokens
from cqp_graph.query.knowledge import Knowledge

from .support import ROOT, SHARED, need_shared

ROME = SHARED / "rome"


def test_tokens_fold_accents_and_stems():
    assert tokens("Écoute active des réclamations") == tokens("ecoute ACTIVE de la reclamation")


def test_suggestions_are_reproducible_and_sensible(tmp_path):
    need_shared(ROME)
    args = [sys.executable, "-m", "cqp_graph", "align-rome", "--rome", str(ROME)]
    first = subprocess.run(args + ["--output", str(tmp_path / "a.csv")], capture_output=True, text=True)
    second = subprocess.run(args + ["--output", str(tmp_path / "b.csv")], capture_output=True, text=True)
    assert first.returncode == 0 and second.returncode == 0, first.stderr
    assert (tmp_path / "a.csv").read_bytes() == (tmp_path / "b.csv").read_bytes()
    rows = list(csv.DictReader((tmp_path / "a.csv").open(encoding="utf-8")))
    best = {r["subject_id"]: r for r in reversed(rows)}
    assert best["A1"]["object_label"] == "Ecoute active"
    assert best["A4"]["object_label"] == "Sens du service client"


def test_candidate_job_sheets_come_from_the_data_and_rome(store, settings):
    """The job's reviewed job sheets (rome-mappings.csv) and each one's parent sheet in ROME's own file."""
    need_shared(ROME)
    mappings = csv.DictReader((ROOT / "data" / "agc-alimentaire" / "rome-mappings.csv").open(encoding="utf-8"))
    aligned = {r["object_id"] for r in mappings if r["subject_id"] == "JOB" and r["object_type"] == "job"}
    with next(ROME.glob("unix_referentiel_code_rome_v*_utf8.csv")).open(encoding="utf-8") as handle:
        parents = {r["code_rome"]: r["code_rome_parent"] for r in csv.DictReader(handle)}
    expected = aligned | {parents[code] for code in aligned}
    assert len(expected) > len(aligned)  # a parent sheet the data does not name is searched too
    assert set(candidate_sheets(Knowledge.over(store, settings), ROME)) == expected


def test_candidate_job_sheets_are_loaded(store, settings):
    need_shared(ROME)
    items = load_rome(ROME, candidate_sheets(Knowledge.over(store, settings), ROME))
    jobs = {i.code: i.label for i in items if i.kind == "job"}
    assert jobs["D1409"] == "Assistant / Assistante administration des ventes"
    assert jobs["D1432"] == "Assistant / Assistante service clients"
    assert suggest([{"code": "X", "label": "Gérer des réclamations et litiges"}], items, top=1)[0]["object_id"] == "300345"


def test_reviewed_mappings_become_triples(graph, settings, store, catalogue):
    table = list(csv.DictReader((ROOT / "data" / "agc-alimentaire" / "rome-mappings.csv").open(encoding="utf-8")))
    rows = run_named(store, catalogue.get("rome-alignments"), {}, settings.base).rows
    assert len(rows) == len(table)
    job = URIRef(settings.base + "agc-alimentaire/job")
    assert (job, SKOS.closeMatch, URIRef(settings.base + "rome/job/D1409")) in graph
    for mapping in table:
        row = next(r for r in rows if r["subject"] == mapping["subject_id"] and r["rome_code"] == mapping["object_id"])
        assert row["predicate"] == mapping["predicate_id"] and row["rome_label"] == mapping["object_label"]


def test_mapping_labels_are_romes_own(settings):
    need_shared(ROME)
    labels = {i.code: i.label for i in load_rome(ROME, None)}
    for mapping in csv.DictReader((ROOT / "data" / "agc-alimentaire" / "rome-mappings.csv").open(encoding="utf-8")):
        assert labels[mapping["object_id"]] == mapping["object_label"]


def test_competences_without_rome_counterpart_are_listed(store, catalogue, settings):
    missing = {r["code"] for r in run_named(store, catalogue.get("competences-without-rome"), {}, settings.base).rows}
    mapped = {r["subject"] for r in run_named(store, catalogue.get("rome-alignments"), {}, settings.base).rows}
    everything = {r["code"] for r in run_named(store, catalogue.get("competences"), {}, settings.base).rows}
    assert missing == everything - mapped and "RC1" in missing
