"""Training-programme coverage, checked against an independent computation from the programme file."""

from __future__ import annotations

import subprocess
import sys

import pytest
import yaml

from cqp_graph.analyses.coverage import coverage_of_file
from cqp_graph.inputs.files import InputError
from cqp_graph.query.catalogue import run_named
from cqp_graph.query.knowledge import Knowledge

from .support import ROOT

EXAMPLES = ROOT / "examples"


@pytest.fixture(scope="module")
def knowledge(store, settings):
    return Knowledge.over(store, settings)


def expected_covered(path, store, catalogue, settings) -> set[str]:
    programme = yaml.safe_load(path.read_text(encoding="utf-8"))
    needs = {}
    for r in run_named(store, catalogue.get("requirements"), {}, settings.base).rows:
        needs.setdefault(r["mission"], set()).add(r["competence"])
    covered = set()
    for module in programme["modules"]:
        covered |= set(module.get("competences") or [])
        if module.get("activities_stand_for_mission"):
            for activity in module.get("activities") or []:
                covered |= needs[activity.split("A")[0]]
    return covered


@pytest.mark.parametrize("name", ["programme-complet.yaml", "programme-lacunaire.yaml"])
def test_coverage_matches_an_independent_count(name, knowledge, store, catalogue, settings):
    path = EXAMPLES / name
    result = coverage_of_file(path, settings, knowledge)
    all_codes = {c["code"] for c in run_named(store, catalogue.get("competences"), {}, settings.base).rows}
    covered = expected_covered(path, store, catalogue, settings)
    assert set(result["uncovered"]) == all_codes - covered
    assert result["summary"]["covered"] == len(covered & all_codes)
    programme = yaml.safe_load(path.read_text(encoding="utf-8"))
    assert result["summary"]["hours"] == sum(m["hours"] for m in programme["modules"])
    allocated = sum(x["hours"] for x in result["competences"]) + result["summary"]["unallocated_hours"]
    assert allocated == pytest.approx(result["summary"]["hours"], abs=0.05)


def test_complete_programme_prepares_every_block(knowledge, settings):
    result = coverage_of_file(EXAMPLES / "programme-complet.yaml", settings, knowledge)
    assert result["uncovered"] == []
    assert result["blocks_fully_prepared"] == [b["key"] for b in result["by_block"]]
    assert result["modules_training_nothing"] == []


def test_programme_with_gaps(knowledge, settings):
    result = coverage_of_file(EXAMPLES / "programme-lacunaire.yaml", settings, knowledge)
    assert "RC1" in result["uncovered"] and "RSF10" in result["uncovered"]
    assert result["modules_training_nothing"] == ["MOD05"]
    block_r = next(b for b in result["by_block"] if b["domain"] == "R")
    assert not block_r["fully_prepared"]
    m4 = next(m for m in result["by_mission"] if m["key"] == "M4")
    assert m4["activities_trained"] == ["M4A1", "M4A2", "M4A3"]
    assert m4["covered"] < m4["total"], "activities not declared to stand for their mission cover nothing"
    m1 = next(m for m in result["by_mission"] if m["key"] == "M1")
    assert m1["covered"] == m1["total"], "M1A4 is declared to stand for M1's competences"


def test_csv_programme_equals_yaml_programme(knowledge, settings):
    a = coverage_of_file(EXAMPLES / "programme-lacunaire.yaml", settings, knowledge)
    b = coverage_of_file(EXAMPLES / "programme-lacunaire.csv", settings, knowledge)
    assert a["uncovered"] == b["uncovered"] and a["by_block"] == b["by_block"]


@pytest.mark.parametrize("text,line,message", [
    ("title: t\nmodules:\n  - code: M1\n    title: x\n    hours: 3\n    competences: [RC2, RC99]\n", 3,
     "module M1 : code de compétence inconnu du référentiel (RC99)"),
    ("title: t\nmodules:\n  - code: M1\n    title: x\n    competences: [RC2]\n", 3, "module M1 : champ « hours » manquant"),
    ("title: t\nmodules:\n  - code: M1\n    title: x\n    hours: -4\n", 5, "module M1 : « hours » ne peut pas être négatif"),
    ("title: t\nmodules:\n  - code: M1\n    hours: 4\n", 3, "module M1 : champ « title » manquant"),
    ("title: t\nmodules:\n  - code: M1\n    title: x\n    hours: 2\n  - code: M2\n    title: y\n    hours: 2\n"
     "    activities: [M9A1]\n", 6, "module M2 : code d'activité inconnu du référentiel (M9A1)"),
    ("title: t\nmodules:\n  - code: M1\n    title: x\n    hour: 2\n", 5, "module M1 : clé inconnue « hour »"),
    ("title: t\nmodules: [\n", 3, "syntaxe YAML"),
])
def test_bad_programmes_name_module_and_line(tmp_path, knowledge, settings, text, line, message):
    path = tmp_path / "programme.yaml"
    path.write_text("referential: agc-alimentaire\n" + text, encoding="utf-8")
    with pytest.raises(InputError) as excinfo:
        coverage_of_file(path, settings, knowledge)
    assert f"{path}:{line + 1}: {message}" in str(excinfo.value)


@pytest.mark.parametrize("fmt", ["html", "csv", "json"])
def test_cli_coverage_formats(tmp_path, fmt):
    out = tmp_path / f"c.{fmt}"
    done = subprocess.run([sys.executable, "-m", "cqp_graph", "coverage", str(EXAMPLES / "programme-lacunaire.yaml"),
                           "--format", fmt, "--output", str(out)], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    text = out.read_text(encoding="utf-8")
    assert "RSF10" in text
    if fmt == "html":
        assert "<svg" in text and "Couverture du référentiel par le programme" in text
        assert "src=\"http" not in text and "<link" not in text
