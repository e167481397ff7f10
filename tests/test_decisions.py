"""Certification decisions: every threshold at, just under and just over its boundary, on every route.

Thresholds are read from the graph (the evaluation-rules query), never written here.
"""

from __future__ import annotations

import json
import subprocess
import sys
from decimal import Decimal

import pytest
import yaml

from cqp_graph.decisions import Decider, RuleBook, decide_file
from cqp_graph.graph import build_graph
from cqp_graph.inputs import InputError
from cqp_graph.queries import run_named

from .conftest import ROOT, settings_for
from .test_shapes import edit_csv, set_cell

HIGH = 95
EPSILON = Decimal("0.01")


def rules(store, catalogue, settings, route):
    return run_named(store, catalogue.get("evaluation-rules"), {"route": route}, settings.base).rows


def baseline(route: str, blocks: list[str], evaluators: list[str]) -> dict:
    """A candidate who passes everything comfortably."""
    return {"candidate": "Test", "route": route,
            "blocks": {b: {"score": HIGH, "evaluators": {e: HIGH for e in evaluators}} for b in blocks},
            "know_how": {}, "units": {}}


def cases(store, catalogue, settings):
    out = []
    for route in ("formation", "blocs", "vae"):
        for rule in rules(store, catalogue, settings, route):
            t = Decimal(str(rule["min_percent"]))
            for label, value in (("at", t), ("under", t - EPSILON), ("over", t + EPSILON)):
                out.append((route, rule, label, value))
    return out


@pytest.fixture(scope="module")
def referential_facts(store, catalogue, settings):
    blocks = [b["code"] for b in run_named(store, catalogue.get("blocks"), {}, settings.base).rows]
    evaluators = [e["code"] for e in run_named(store, catalogue.get("evaluators"), {}, settings.base).rows]
    competences = run_named(store, catalogue.get("competences"), {}, settings.base).rows
    know_how = {}
    for c in competences:
        if c["kind"] == "SF":
            know_how.setdefault(c["domain"], c["code"])
    block_domain = {b["code"]: b["domain"] for b in run_named(store, catalogue.get("blocks"), {}, settings.base).rows}
    units = [u["code"] for u in run_named(store, catalogue.get("units"), {}, settings.base).rows]
    return blocks, evaluators, know_how, block_domain, units


def test_there_are_rules_on_every_route(store, catalogue, settings):
    for route in ("formation", "blocs", "vae"):
        assert rules(store, catalogue, settings, route)


def test_every_threshold_at_its_boundary(store, catalogue, settings, referential_facts):
    blocks, evaluators, know_how, block_domain, units = referential_facts
    checked = 0
    for route, rule, label, value in cases(store, catalogue, settings):
        data = baseline(route, blocks, evaluators)
        first = blocks[0]
        if rule["scope"] == "block":
            data["blocks"][first]["score"] = value
        elif rule["scope"] == "block-evaluator":
            data["blocks"][first]["evaluators"][rule["evaluator"]] = value
        elif rule["scope"] == "know-how":
            data["know_how"] = {rule["evaluator"]: {know_how[block_domain[first]]: value}}
        elif rule["scope"] == "unit":
            data["units"] = {units[0]: value}
        decision = Decider(RuleBook.load(store, settings, route), data).decide()
        should_pass = value >= Decimal(str(rule["min_percent"]))
        assert should_pass == (label != "under")
        if rule["gates"] == "unit":
            unit = decision["units"][0]
            assert (unit["decision"] == "acquired") == should_pass, (route, rule["rule"], label)
            assert decision["decision"] == "awarded", "a unit does not decide the CQP"
        else:
            if rule["gates"] == "block":
                block = next(b for b in decision["blocks"] if b["code"] == first)
                assert (block["decision"] == "acquired") == should_pass, (route, rule["rule"], label)
                if not should_pass:
                    assert any(rule["rule"] in f for f in block["failed"])
            assert (decision["decision"] == "awarded") == should_pass, (route, rule["rule"], label)
            if not should_pass:
                assert any(rule["rule"] in r for r in decision["reasons"])
        checked += 1
    assert checked == 3 * sum(len(rules(store, catalogue, settings, r)) for r in ("formation", "blocs", "vae"))


def test_reason_states_the_figures_compared(store, settings, referential_facts):
    blocks, evaluators, *_ = referential_facts
    data = baseline("formation", blocks, evaluators)
    data["blocks"][blocks[0]]["score"] = 68
    decision = Decider(RuleBook.load(store, settings, "formation"), data).decide()
    assert decision["decision"] == "not awarded"
    assert f"bloc {blocks[0]} : 68 % < 70 %" in decision["reasons"][0]


def test_missing_evaluation_fails_with_a_reason(store, settings, referential_facts):
    blocks, evaluators, *_ = referential_facts
    data = baseline("blocs", blocks, evaluators)
    del data["blocks"][blocks[1]]["evaluators"]["tutor"]
    decision = Decider(RuleBook.load(store, settings, "blocs"), data).decide()
    assert decision["decision"] == "not awarded"
    assert all(b["decision"] == "acquired" for b in decision["blocks"]), "the block itself is still acquired"
    assert any("aucun résultat" in r and "blocs-cqp-tutor" in r for r in decision["reasons"])


def test_declared_aggregation_is_applied_and_said(store, settings, referential_facts):
    blocks, evaluators, *_ = referential_facts
    data = baseline("formation", blocks, evaluators)
    data["blocks"][blocks[0]] = {"evaluators": {"trainer": 90, "tutor": 60, "professional": 60}}  # mean 70
    decision = Decider(RuleBook.load(store, settings, "formation"), data).decide()
    block = decision["blocks"][0]
    assert block["score"] == 70 and block["decision"] == "acquired"
    assert "moyenne" in block["score_source"]
    assert decision["settings_applied"][0]["code"] == "block-score-aggregation"
    assert decision["settings_applied"][0]["applied_to"] == [blocks[0]]


def _write(tmp_path, data, name="resultats.yaml"):
    path = tmp_path / name
    path.write_text(yaml.safe_dump(data, allow_unicode=True, sort_keys=False), encoding="utf-8")
    return path


def test_changing_a_threshold_in_data_changes_the_decision(data_copy, tmp_path):
    results = _write(tmp_path, {"candidate": "X", "route": "vae", "blocks": {"B1": {"score": 75}, "B2": {"score": 75},
                                                                         "B3": {"score": 75}}})
    before = decide_file(results, settings_for(data_copy, tmp_path), build_graph(settings_for(data_copy, tmp_path)))
    assert before["decision"] == "awarded"
    edit_csv(data_copy, "rules.csv", set_cell("code", "vae-block", "min_percent", "80"))
    settings = settings_for(data_copy, tmp_path)
    after = decide_file(results, settings, build_graph(settings))
    assert after["decision"] == "not awarded"
    assert "75 % < 80 %" in after["reasons"][0]


def test_changing_the_aggregation_setting_changes_the_decision(data_copy, tmp_path):
    results = _write(tmp_path, {"route": "formation", "blocks": {
        b: {"evaluators": {"trainer": 95, "tutor": 65, "professional": 80}} for b in ("B1", "B2", "B3")}})
    assert decide_file(results, settings_for(data_copy, tmp_path),
                       build_graph(settings_for(data_copy, tmp_path)))["decision"] == "awarded"
    edit_csv(data_copy, "settings.csv", set_cell("code", "block-score-aggregation", "value", "min"))
    settings = settings_for(data_copy, tmp_path)
    after = decide_file(results, settings, build_graph(settings))
    assert after["decision"] == "not awarded"
    assert "minimum" in after["blocks"][0]["score_source"]


@pytest.mark.parametrize("data,line,message", [
    ({"route": "formation", "blocks": {"B1": {"score": 120}}}, 4, "entre 0 et 100"),
    ({"route": "formation", "blocks": {"B9": {"score": 80}}}, 4, "bloc inconnu"),
    ({"route": "formation", "blocks": {"B1": {"evaluators": {"parent": 80}}}}, 5, "type d'évaluateur inconnu"),
    ({"route": "formation", "blocks": {"B1": {"score": "beaucoup"}}}, 4, "un nombre"),
    ({"route": "formation", "know_how": {"tutor": {"RC2": 50}}}, 4, "n'est pas un savoir-faire"),
    ({"route": "itinéraire", "blocks": {"B1": {"score": 80}}}, 1, "voie inconnue"),
    ({"route": "vae", "blocs": {}}, 2, "clé inconnue 'blocs'"),
])
def test_bad_results_are_clear_errors(tmp_path, graph, settings, data, line, message):
    path = _write(tmp_path, data)
    with pytest.raises(InputError) as excinfo:
        decide_file(path, settings, graph)
    text = str(excinfo.value)
    assert f"{path}:{line}:" in text and message in text, text


@pytest.mark.parametrize("example,expected", [
    ("candidat-formation.yaml", "not awarded"), ("candidat-blocs.yaml", "awarded"), ("candidat-vae.json", "awarded")])
def test_cli_decide_on_the_examples(example, expected):
    out = subprocess.run([sys.executable, "-m", "cqp_graph.cli", "decide", str(ROOT / "examples" / example),
                          "--format", "json"], capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    assert json.loads(out.stdout)["decision"] == expected
    text = subprocess.run([sys.executable, "-m", "cqp_graph.cli", "decide", str(ROOT / "examples" / example)],
                          capture_output=True, text=True).stdout
    assert "Décision" in text and "[" in text
