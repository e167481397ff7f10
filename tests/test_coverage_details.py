"""Every figure of a programme's coverage report, recomputed here from the programme file and the referential CSVs.

The expectations come from `examples/*.yaml` (or a small programme written here) and from `data/agc-alimentaire/`
(competences.csv, aptitudes.csv, blocks.csv, domains.csv, missions.csv, requirements.csv): per block, mission,
domain and kind, the covered count, the uncovered codes in order, the percent and the hours; the summary; each
module's code, title, hours, line in the file, competences and activities (sorted); the programme's title.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
from collections import defaultdict
from fractions import Fraction

import pytest
import yaml

from rdflib.namespace import DCTERMS

from cqp_graph.config import Settings
from cqp_graph.analyses.coverage import _ratio, coverage_of_file, programme_coverage
from cqp_graph.graph.assemble import build_graph, load_input_shapes
from cqp_graph.inputs.files import InputLimits
from cqp_graph.inputs.programme import load_programme
from cqp_graph.query.knowledge import Knowledge

from .support import REFERENTIAL, ROOT, csv_rows, edit_csv

EXAMPLES = ROOT / "examples"
MODULE_LINE = re.compile(r"^\s*-\s*code:\s*(\S+)\s*$")
BASE = Settings.from_env(root=ROOT, data_dir=ROOT / "data", dist_dir=ROOT / "dist").base  # as the CLI reads it
KIND_ORDER = ["C", "SF", "A"]  # knowledge, know-how, aptitudes: the order the referential lists them in


def natural(code: str):
    return [int(p) if p.isdigit() else p for p in re.split(r"(\d+)", code)]


def referential(folder=REFERENTIAL) -> dict:
    competences = [{"code": r["code"], "kind": r["kind"], "domain": r["domain"], "label": r["label"]}
                   for r in csv_rows("competences.csv", folder)]
    competences += [{"code": r["code"], "kind": "A", "domain": None, "label": r["label"]}
                    for r in csv_rows("aptitudes.csv", folder)]
    # report order: by kind, then domain, then the code in natural order (RSF2 before RSF10)
    competences.sort(key=lambda c: (c["kind"], c["domain"] or "", natural(c["code"])))
    blocks = sorted(csv_rows("blocks.csv", folder), key=lambda b: natural(b["code"]))
    block_of_domain = {b["domain"]: b["code"] for b in blocks}
    for c in competences:
        c["block"] = block_of_domain.get(c["domain"])
    needs = defaultdict(list)
    for r in csv_rows("requirements.csv", folder):
        needs[r["mission"]].append(r["competence"])
    for codes in needs.values():  # the requirements query lists a mission's competences by code length, then code
        codes.sort(key=lambda code: (len(code), code))
    return {
        "competences": competences, "blocks": blocks, "needs": needs,
        "domains": sorted(csv_rows("domains.csv", folder), key=lambda d: int(d["order"])),
        "missions": sorted(csv_rows("missions.csv", folder), key=lambda m: natural(m["code"])),
    }


def expected_report(path, folder=REFERENTIAL) -> dict:
    ref = referential(folder)
    programme = yaml.safe_load(path.read_text(encoding="utf-8"))
    lines = {}
    for number, text in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        hit = MODULE_LINE.match(text)
        if hit:
            lines[hit.group(1)] = number
    codes = {c["code"] for c in ref["competences"]}
    hours_of = defaultdict(Fraction)
    trainers = defaultdict(list)
    modules, unallocated = [], Fraction(0)
    for m in programme["modules"]:
        trained = set(m.get("competences") or [])
        activities = list(m.get("activities") or [])
        if m.get("activities_stand_for_mission"):
            for a in activities:
                trained |= set(ref["needs"][a.split("A")[0]])
        trained &= codes
        hours = Fraction(str(m["hours"]))
        for code in trained:
            hours_of[code] += hours / len(trained)
            trainers[code].append(m["code"])
        if not trained:
            unallocated += hours
        modules.append({"code": m["code"], "title": m["title"], "hours": float(hours), "line": lines[m["code"]],
                        "competences": sorted(trained, key=natural), "activities": sorted(activities, key=natural),
                        "trains_nothing": not trained and not activities})
    covered = {c["code"] for c in ref["competences"] if trainers[c["code"]]}

    def figures(key, members):
        done = [c for c in members if c in covered]
        return {"key": key, "total": len(members), "covered": len(done),
                "percent": round(100 * len(done) / len(members), 1) if members else 0.0,
                "uncovered": [c for c in members if c not in covered]}

    def members(test):
        return [c["code"] for c in ref["competences"] if test(c)]

    by_block = [dict(figures(b["code"], members(lambda c, b=b: c["domain"] == b["domain"])),
                     label=b["label"], domain=b["domain"]) for b in ref["blocks"]]
    for b in by_block:
        b["fully_prepared"] = b["total"] > 0 and b["covered"] == b["total"]
    by_domain = [dict(figures(d["code"], members(lambda c, d=d: c["domain"] == d["code"])), label=d["label"])
                 for d in ref["domains"]]
    by_kind = [figures(k, members(lambda c, k=k: c["kind"] == k)) for k in KIND_ORDER]
    activities = {a for m in modules for a in m["activities"]}
    by_mission = [dict(figures(m["code"], ref["needs"][m["code"]]), label=m["label"],
                       activities_trained=sorted(a for a in activities if a.split("A")[0] == m["code"]))
                  for m in ref["missions"]]
    coded = [c["code"] for c in ref["competences"] if c["kind"] != "A"]
    total_hours = sum(Fraction(str(m["hours"])) for m in programme["modules"])
    return {
        "title": programme["title"], "stem": path.stem, "ref": ref, "hours_of": hours_of, "trainers": trainers,
        "summary": {"modules": len(modules), "hours": float(total_hours), "competences": len(ref["competences"]),
                    "covered": len(covered), "coded_competences": len(coded),
                    "coded_covered": len([c for c in coded if c in covered]),
                    "percent": round(100 * len(covered) / len(ref["competences"]), 1),
                    "unallocated_hours": float(unallocated)},
        "uncovered": [c["code"] for c in ref["competences"] if c["code"] not in covered],
        "by_block": by_block, "by_domain": by_domain, "by_kind": by_kind, "by_mission": by_mission,
        "modules": modules,
        "modules_training_nothing": [m["code"] for m in modules if m["trains_nothing"]],
        "blocks_fully_prepared": [b["key"] for b in by_block if b["fully_prepared"]],
    }


def check_report(result: dict, expected: dict):
    assert result["title"] == expected["title"]
    assert result["programme"].startswith(f"{BASE}programme/{expected['stem']}")
    assert result["summary"] == expected["summary"]
    assert result["uncovered"] == expected["uncovered"]
    assert result["modules"] == expected["modules"]
    assert result["modules_training_nothing"] == expected["modules_training_nothing"]
    assert result["blocks_fully_prepared"] == expected["blocks_fully_prepared"]
    hours_of = expected["hours_of"]
    ref = expected["ref"]
    for name in ("by_block", "by_domain", "by_kind", "by_mission"):
        got = result[name]
        assert [g["key"] for g in got] == [e["key"] for e in expected[name]], name
        for g, e in zip(got, expected[name]):
            for key, value in e.items():
                assert g[key] == value, (name, e["key"], key)
            if name != "by_mission":
                members = [c["code"] for c in ref["competences"]
                           if {"by_block": c["block"], "by_domain": c["domain"], "by_kind": c["kind"]}[name] == e["key"]]
                assert g["hours"] == round(float(sum(hours_of[c] for c in members)), 2), (name, e["key"])
    assert [c["code"] for c in result["competences"]] == [c["code"] for c in ref["competences"]]
    for got, c in zip(result["competences"], ref["competences"]):
        assert got["label"] == c["label"] and got["kind"] == c["kind"]
        assert got["domain"] == c["domain"] and got["block"] == c["block"]
        assert got["covered"] is bool(expected["trainers"][c["code"]])
        assert sorted(got["modules"]) == sorted(expected["trainers"][c["code"]])
        assert got["hours"] == round(float(hours_of[c["code"]]), 2)


SMALL = """\
# un petit programme : deux modules directs (dont des aptitudes), un qui n'entraîne rien ; le domaine PO reste vide
title: Petit parcours d'essai
referential: agc-alimentaire
modules:
  - code: PX1
    title: Quelques savoir-faire
    hours: 3
    competences: [RSF10, RSF2, RC1, A10, A2]
    activities: [M3A2, M2A1]
  - code: PX2
    title: Une compétence et une activité qui ne vaut pas pour sa mission
    hours: 5.5
    competences: [OTSF9]
    activities: [M5A1]
  - code: PX3
    title: Rien du référentiel
    hours: 1.5
"""


@pytest.fixture(scope="module")
def knowledge(store, settings):
    return Knowledge.over(store, settings)


@pytest.fixture
def small_programme(tmp_path):
    path = tmp_path / "petit.yaml"
    path.write_text(SMALL, encoding="utf-8")
    return path


@pytest.mark.parametrize("name", ["programme-lacunaire.yaml", "programme-complet.yaml"])
def test_examples_every_group_and_module(name, knowledge, settings):
    path = EXAMPLES / name
    check_report(coverage_of_file(path, settings, knowledge), expected_report(path))


def test_small_programme_every_group_and_module(small_programme, knowledge, settings):
    expected = expected_report(small_programme)
    # sanity of the fixture itself: groups with nothing covered, partly covered, and aptitudes covered
    assert expected["summary"]["coded_covered"] < expected["summary"]["covered"]
    assert any(g["covered"] == 0 for g in expected["by_block"]) and any(g["covered"] == 0 for g in expected["by_domain"])
    result = coverage_of_file(small_programme, settings, knowledge)
    check_report(result, expected)
    px1 = result["modules"][0]
    assert px1["competences"] == ["A2", "A10", "RC1", "RSF2", "RSF10"]
    assert px1["activities"] == ["M2A1", "M3A2"] and px1["line"] == 5
    assert result["modules_training_nothing"] == ["PX3"]


def test_cli_json_matches_independent_report(tmp_path, small_programme):
    for path in (EXAMPLES / "programme-lacunaire.yaml", small_programme):
        out = tmp_path / f"{path.stem}.json"
        done = subprocess.run([sys.executable, "-m", "cqp_graph", "coverage", str(path), "--format", "json",
                               "--output", str(out)], capture_output=True, text=True)
        assert done.returncode == 0, done.stderr
        check_report(json.loads(out.read_text(encoding="utf-8")), expected_report(path))


@pytest.mark.parametrize("keep", [None, "OTSF9"])
def test_block_with_no_or_one_competence(keep, data_copy, small_programme, tmp_path):
    """In an edited referential, domain OT (block B3) keeps no competence, or only OTSF9 (which PX2 trains)."""
    def move(rows):
        for r in rows:
            if r["domain"] == "OT" and r["code"] != keep:
                r["domain"] = "PO"
    edit_csv(data_copy, "competences.csv", move)
    settings = Settings.from_env(root=ROOT, data_dir=data_copy, dist_dir=tmp_path / "dist")
    expected = expected_report(small_programme, data_copy / "agc-alimentaire")
    b3 = next(b for b in expected["by_block"] if b["domain"] == "OT")
    assert b3["total"] == (1 if keep else 0) and b3["fully_prepared"] is bool(keep)
    if not keep:
        assert b3["percent"] == 0.0 and b3["uncovered"] == []
    check_report(coverage_of_file(small_programme, settings, Knowledge.from_graph(build_graph(settings), settings)),
                 expected)


def test_programme_without_title_reports_an_empty_title(small_programme, knowledge, settings):
    # a title is required in the file; a programme graph that lacks one still gets a report, with title ""
    graph_p, programme, _referential = load_programme(small_programme, knowledge,
                                                      load_input_shapes(settings, "programme"), "agc-alimentaire",
                                                      limits=InputLimits.of(settings))
    assert (programme, DCTERMS.title, None) in graph_p
    graph_p.remove((programme, DCTERMS.title, None))
    result = programme_coverage(knowledge, graph_p, programme)
    assert result["title"] == "" and result["programme"] == str(programme)
    assert result["summary"]["modules"] == 3


def test_ratio_of_an_empty_group_is_zero():
    assert _ratio(0, 0) == 0.0 and isinstance(_ratio(0, 0), float)
    assert _ratio(3, 0) == 0.0
    assert _ratio(1, 3) == round(100 / 3, 1) == 33.3
    assert _ratio(2, 3) == 66.7 and _ratio(5, 5) == 100.0 and _ratio(0, 7) == 0.0
