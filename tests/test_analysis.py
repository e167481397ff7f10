"""Analyses agree with the named queries they are computed from."""

from __future__ import annotations

import json
import subprocess
import sys
from collections import defaultdict

import pytest

from cqp_graph.analyses.network import ReferentialFacts, bipartite_graph, run_all
from cqp_graph.query.catalogue import run_named
from cqp_graph.query.knowledge import Knowledge

from .support import csv_rows

REQUIREMENTS = csv_rows("requirements.csv")
CODED = csv_rows("competences.csv")


@pytest.fixture(scope="module")
def facts(store, settings):
    return ReferentialFacts.load(Knowledge.over(store, settings))


@pytest.fixture(scope="module")
def results(facts):
    return run_all(facts)


def test_bipartite_graph_mirrors_requirements(facts):
    graph = bipartite_graph(facts)
    assert graph.number_of_edges() == len(facts.requirements) == len(REQUIREMENTS)
    assert {(r["mission"], r["competence"]) for r in REQUIREMENTS} == set(
        (m, c) for m, c in ((a, b) if a.startswith("M") else (b, a) for a, b in graph.edges()))
    assert sum(1 for _, d in graph.nodes(data=True) if d["type"] == "competence") == len(CODED)


def test_transversality_degree_is_the_number_of_missions(results, store, catalogue, settings):
    needed = defaultdict(set)
    for row in run_named(store, catalogue.get("requirements"), {}, settings.base).rows:
        needed[row["competence"]].add(row["mission"])
    for row in results["transversality"]:
        assert row["degree"] == len(needed[row["code"]])
        assert row["degree_centrality"] == pytest.approx(len(needed[row["code"]]) / 5, abs=1e-4)
    assert results["transversality"][0]["code"] == "OTC1"


def test_jaccard_similarity(results, store, catalogue, settings):
    sets = {m: {r["code"] for r in run_named(store, catalogue.get("competences-for-mission"), {"mission": m},
                                             settings.base).rows} for m in ("M1", "M2", "M3", "M4", "M5")}
    for row in results["similarity"]:
        a, b = sets[row["mission_a"]], sets[row["mission_b"]]
        assert row["jaccard"] == pytest.approx(len(a & b) / len(a | b), abs=1e-4)


def test_gaps(results):
    gaps = results["gaps"]
    assert gaps["competences_needed_by_no_mission"] == ["RC1"]
    assert {"mission": "M1", "domain": "R"} in gaps["domains_absent_from_mission"]
    assert gaps["blocks_without_evaluation_rule"] == []
    assert len(gaps["units_without_block"]) == 10


def test_clusters_partition_the_needed_competences(results):
    communities = results["clusters"]["communities"]
    members = [c for community in communities for c in community["competences"]]
    assert len(members) == len(set(members)) == len({r["competence"] for r in REQUIREMENTS})  # each needed one, once
    profiles = results["clusters"]["mission_profiles"]
    assert sum(len(p["competences"]) for p in profiles) == len(CODED)


def test_analyze_command_writes_json_and_picture(tmp_path):
    out = subprocess.run([sys.executable, "-m", "cqp_graph", "analyze", "--output", str(tmp_path)],
                         capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    data = json.loads((tmp_path / "analyses.json").read_text(encoding="utf-8"))
    assert set(data) == {"summary", "transversality", "similarity", "gaps", "clusters"}
    svg = (tmp_path / "network.svg").read_text(encoding="utf-8")
    assert svg.startswith("<?xml") and "RC1" in svg and "M5" in svg
    assert "OTC1" in out.stdout
