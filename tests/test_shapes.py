"""Each shape catches a deliberately broken copy of the data; the real data passes."""

from __future__ import annotations

from pathlib import Path

import pytest
from pyshacl import validate as pyshacl_validate
from rdflib import Graph, Literal, URIRef
from rdflib.namespace import SKOS

from cqp_graph.publish.dumps import write_dist
from cqp_graph.graph.assemble import build_graph, load_shapes
from cqp_graph.namespaces import CQP
from cqp_graph.graph.validate import validate_graph

from .support import settings_for
from .support import ROOT, csv_rows, edit_csv, set_cell  # noqa: F401  (older modules import them from here)

BASE = "https://w3id.org/cqp-graph/agc-alimentaire/"


def findings(data_dir: Path, tmp_path: Path, tamper=None):
    settings = settings_for(data_dir, tmp_path)
    graph = build_graph(settings)
    if tamper:
        tamper(graph)
    return validate_graph(graph, load_shapes(settings))


def test_the_real_graph_has_no_violation(graph, shapes):
    report = validate_graph(graph, shapes)
    assert report.conforms, [f.message for f in report.violations]


def test_dist_conforms_with_plain_pyshacl(graph, settings, tmp_path):
    """What a publisher would run: pyshacl on the dump, with the structure shapes and with all shapes."""
    write_dist(graph, tmp_path / "dist", settings.base)
    data = Graph().parse(tmp_path / "dist" / "graph.ttl")
    structure = Graph().parse(ROOT / "shapes" / "structure.ttl")
    conforms, _, text = pyshacl_validate(data, shacl_graph=structure, advanced=True)
    assert conforms, text
    everything = Graph().parse(ROOT / "shapes" / "structure.ttl").parse(ROOT / "shapes" / "quality" / "quality.ttl")
    conforms, _, text = pyshacl_validate(data, shacl_graph=everything, advanced=True, allow_warnings=True)
    assert conforms, text
    conforms, _, _ = pyshacl_validate(data, shacl_graph=everything, advanced=True)
    assert not conforms, "without allow_warnings the quality findings (RC1, RC3...) make it non-conforming"


CSV_BREAKS = [
    ("activity in an unknown mission", "activities.csv", set_cell("code", "M1A1", "mission", "M9"), "ActivityShape"),
    ("activity code not matching its mission", "activities.csv", set_cell("code", "M1A1", "mission", "M2"),
     "ActivityCodeMatchesMissionShape"),
    ("mission code pattern", "missions.csv", set_cell("code", "M5", "code", "Mission5"), "MissionShape"),
    ("competence code vs its domain", "competences.csv", set_cell("code", "RC2", "domain", "PO"),
     "CompetenceCodeMatchesKindShape"),
    ("unknown competence kind", "competences.csv", set_cell("code", "RC2", "kind", "Z"), "CompetenceShape"),
    ("threshold above 100", "rules.csv", set_cell("code", "vae-block", "min_percent", "120"), "ThresholdRuleShape"),
    ("negative threshold", "rules.csv", set_cell("code", "blocs-unit", "min_percent", "-5"), "ThresholdRuleShape"),
    ("block certifying an unknown domain", "blocks.csv", set_cell("code", "B2", "domain", "XX"), "BlockShape"),
    ("requirement of an unknown competence", "requirements.csv",
     set_cell("code_as_written", "POC1", "competence", "POC99"), "NoDanglingReferenceShape"),
    ("evaluator missing where the scope needs one", "rules.csv",
     set_cell("code", "formation-block-tutor", "evaluator", ""), "RuleEvaluatorRequiredShape"),
    ("setting value not allowed", "settings.csv", set_cell("code", "block-score-aggregation", "value", "median"),
     "SettingValueAllowedShape"),
    ("role asserted though unreadable", "functional-relations.csv", set_cell("code", "FR5", "role", "client"),
     "RoleOnlyWhereCertainShape"),
    ("unreadable role without the gap hiding it", "functional-relations.csv",
     set_cell("code", "FR2", "unreadable_in", ""), "UnreadableRoleHasItsGapShape"),
    ("unreadable role in an unknown gap", "functional-relations.csv",
     set_cell("code", "FR2", "unreadable_in", "G9"), "FunctionalRelationShape"),
    ("unit in an unknown block", "units.csv", set_cell("code", "UC1", "block", "B9"), "UnitShape"),
    ("rule of an unknown evaluator", "rules.csv", set_cell("code", "formation-block-tutor", "evaluator", "parent"),
     "ThresholdRuleShape"),
]


@pytest.mark.parametrize("what,file,change,shape", CSV_BREAKS, ids=[b[0] for b in CSV_BREAKS])
def test_each_structural_shape_catches_its_break(data_copy, tmp_path, what, file, change, shape):
    edit_csv(data_copy, file, change)
    report = findings(data_copy, tmp_path)
    hits = [f for f in report.violations if f.shape.endswith("#" + shape)]
    assert hits, f"{shape} did not catch: {what}; got {[(f.shape, f.message) for f in report.violations]}"


def _m(code):
    return URIRef(BASE + "mission/" + code)


GRAPH_BREAKS = [
    ("activity in two missions", lambda g: g.add((_m("M2"), CQP.hasActivity, URIRef(BASE + "activity/M1A1"))),
     "ActivityShape"),
    ("competence with two kinds", lambda g: g.add((URIRef(BASE + "competence/RC2"), CQP.kind, CQP.knowHow)),
     "CompetenceShape"),
    ("competence with two domains", lambda g: g.add((URIRef(BASE + "competence/RC2"), CQP.domain,
                                                     URIRef(BASE + "domain/PO"))), "CompetenceShape"),
    ("label not in French", lambda g: (g.remove((_m("M1"), SKOS.prefLabel, None)),
                                       g.add((_m("M1"), SKOS.prefLabel, Literal("Collect information", lang="en")))),
     "FrenchLabelShape"),
    ("block certifying no domain", lambda g: g.remove((URIRef(BASE + "block/B1"), CQP.certifiesDomain, None)),
     "BlockShape"),
    ("know-how without a domain", lambda g: g.remove((URIRef(BASE + "competence/RSF1"), CQP.domain, None)),
     "CompetenceDomainRequiredShape"),
    ("dangling certification unit", lambda g: g.add((URIRef(BASE + "certification"), CQP.hasUnit,
                                                     URIRef(BASE + "unit/UC99"))), "NoDanglingReferenceShape"),
]


@pytest.mark.parametrize("what,tamper,shape", GRAPH_BREAKS, ids=[b[0] for b in GRAPH_BREAKS])
def test_graph_level_breaks(tmp_path, what, tamper, shape):
    report = findings(ROOT / "data", tmp_path, tamper)
    hits = [f for f in report.violations if f.shape.endswith("#" + shape)]
    assert hits, f"{shape} did not catch: {what}"


def _warnings(report, shape):
    return [f for f in report.findings if f.shape.endswith("#" + shape) and f.severity in ("Warning", "Info")]


def test_unused_competence_is_a_warning_not_a_violation(data_copy, tmp_path):
    edit_csv(data_copy, "requirements.csv", lambda rows: [r for r in rows if r["competence"] != "POC1"])
    report = findings(data_copy, tmp_path)
    assert report.conforms
    assert {f.focus.rsplit("/", 1)[-1] for f in _warnings(report, "UnusedCompetenceShape")} == {"RC1", "POC1"}


def test_numbering_gap_is_reported(data_copy, tmp_path):
    edit_csv(data_copy, "competences.csv", lambda rows: [r for r in rows if r["code"] != "OTC4"])
    edit_csv(data_copy, "requirements.csv", lambda rows: [r for r in rows if r["competence"] != "OTC4"])
    messages = {f.message for f in _warnings(findings(data_copy, tmp_path), "CodeGapShape")}
    assert "Numérotation interrompue : OTC4 manque avant OTC5." in messages
    assert "Numérotation interrompue : RC3 manque avant RC4." in messages


def test_new_wording_is_reported_as_a_variant(data_copy, tmp_path):
    edit_csv(data_copy, "requirements.csv", set_cell("code_as_written", "POC1", "label_as_written",
                                                     "Décrire les familles de produits"))
    hits = _warnings(findings(data_copy, tmp_path), "WordingVariantShape")
    assert any("POC1" in f.message and "Décrire les familles de produits" in f.message for f in hits)


def test_unit_given_a_block_is_no_longer_reported(data_copy, tmp_path):
    edit_csv(data_copy, "units.csv", set_cell("code", "UC2", "block", "B1"))
    hits = _warnings(findings(data_copy, tmp_path), "UnitWithoutBlockShape")
    without_block = {r["code"] for r in csv_rows("units.csv") if not r["block"]} - {"UC2"}
    assert {f.focus.rsplit("/", 1)[-1] for f in hits} == without_block


def test_block_without_rule_is_reported(data_copy, tmp_path):
    edit_csv(data_copy, "rules.csv", lambda rows: [r for r in rows if r["scope"] != "block"])
    hits = _warnings(findings(data_copy, tmp_path), "BlockWithoutRuleShape")
    assert {f.focus.rsplit("/", 1)[-1] for f in hits} == {r["code"] for r in csv_rows("blocks.csv")}


def test_quality_findings_of_the_real_data(graph, shapes):
    report = validate_graph(graph, shapes)
    unused = _warnings(report, "UnusedCompetenceShape")
    assert [f.message for f in unused] == ["RC1 n'est exigée par aucune mission."]
    units = {r["code"] for r in csv_rows("units.csv") if not r["block"]}
    assert {f.focus.rsplit("/", 1)[-1] for f in _warnings(report, "UnitWithoutBlockShape")} == units and units
    misspelt = [r for r in csv_rows("requirements.csv") if r["code_as_written"] != r["competence"]]
    assert len(_warnings(report, "CodeVariantShape")) == len(misspelt) > 0
    minted = {r["code"] for name in ("aptitudes.csv", "blocks.csv", "units.csv") for r in csv_rows(name)
              if r["minted"] == "true"}
    assert {f.focus.rsplit("/", 1)[-1] for f in _warnings(report, "MintedCodeShape")} == minted


def test_validate_command_reports_and_exits_non_zero_on_a_violation(data_copy, tmp_path):
    import subprocess
    import sys

    ok = subprocess.run([sys.executable, "-m", "cqp_graph", "validate", "--data", str(data_copy)],
                        capture_output=True, text=True)
    assert ok.returncode == 0, ok.stderr
    assert "Avertissement" in ok.stdout and "RC1" in ok.stdout  # severities in French for people
    assert "Warning" not in ok.stdout
    edit_csv(data_copy, "rules.csv", set_cell("code", "vae-block", "min_percent", "170"))
    bad = subprocess.run([sys.executable, "-m", "cqp_graph", "validate", "--data", str(data_copy), "--format", "json"],
                         capture_output=True, text=True)
    assert bad.returncode == 1
    import json

    findings = json.loads(bad.stdout)
    assert any(f["severity"] == "Violation" and f["focus"].endswith("rule/vae-block") and f["path"] == "cqp:minimumPercent"
               for f in findings)
