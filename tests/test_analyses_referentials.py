"""Decisions, coverage, the report and the network facts with several referentials in one graph.

One graph holds three referentials: the shipped one with a threshold changed (`agc-alimentaire`, vae-block
at 80 %), an untouched copy of it under another name (`agc-copie`: the same codes, the old threshold), and the
small referential written for the tests (`cqp-demo-logistique`: other codes, missions, domains and rules, some
codes shared with the first). Every expectation is read here from that referential's own CSV files.
"""

from __future__ import annotations

import shutil
import threading
from decimal import Decimal

import pytest
import yaml

from cqp_graph.analyses.coverage import SCRATCH_GRAPH_PREFIX, coverage_of_data, coverage_of_file
from cqp_graph.analyses.decisions import RuleBook, decide_data, decide_file, decision_text
from cqp_graph.analyses.network import ReferentialFacts, bipartite_graph, run_all
from cqp_graph.analyses.report import referential_report
from cqp_graph.graph.pipeline import run_pipeline
from cqp_graph.inputs.files import InputError
from cqp_graph.query.knowledge import UnknownReferential

from .support import FIRST, REFERENTIAL, SECOND, csv_rows, edit_csv, set_cell, settings_for, two_referentials

COPY = "agc-copie"
NAMES = (FIRST, COPY, SECOND)
CHANGED_THRESHOLD = "80"


@pytest.fixture(scope="module")
def data(tmp_path_factory):
    folder = two_referentials(tmp_path_factory.mktemp("referentials"))
    shutil.copytree(REFERENTIAL, folder / COPY)
    edit_csv(folder, "rules.csv", set_cell("code", "vae-block", "min_percent", CHANGED_THRESHOLD))  # FIRST only
    return folder


@pytest.fixture(scope="module")
def built(data, tmp_path_factory):
    return run_pipeline(settings_for(data, tmp_path_factory.mktemp("out")))


@pytest.fixture(scope="module")
def knowledge(built):
    return built.knowledge


@pytest.fixture(scope="module")
def settings(built):
    return built.settings


def rows(data, name: str, table: str) -> list[dict]:
    return csv_rows(table, data / name)


def all_codes(data, name: str) -> list[str]:
    return [r["code"] for table in ("competences.csv", "aptitudes.csv") for r in rows(data, name, table)]


def threshold(data, name: str, rule: str) -> Decimal:
    return Decimal(next(r["min_percent"] for r in rows(data, name, "rules.csv") if r["code"] == rule))


def vae_results(data, name: str, score) -> dict:
    return {"candidate": "Test", "route": "vae",
            "blocks": {b["code"]: {"score": score} for b in rows(data, name, "blocks.csv")}}


# -- the fixture itself --------------------------------------------------------------------------------------

def test_the_three_referentials_differ_where_the_tests_need_it(data, knowledge):
    assert [r.name for r in knowledge.referentials()] == sorted(NAMES)
    assert threshold(data, FIRST, "vae-block") == Decimal(CHANGED_THRESHOLD) != threshold(data, COPY, "vae-block")
    assert threshold(data, SECOND, "vae-block") != threshold(data, COPY, "vae-block")
    assert all_codes(data, FIRST) == all_codes(data, COPY)
    assert set(all_codes(data, FIRST)) != set(all_codes(data, SECOND))
    assert {r["code"] for r in rows(data, FIRST, "blocks.csv")} & {r["code"] for r in rows(data, SECOND, "blocks.csv")}


# -- decisions -----------------------------------------------------------------------------------------------

@pytest.mark.parametrize("name", NAMES)
def test_each_referential_decides_with_its_own_thresholds(data, knowledge, name):
    book = RuleBook.load(knowledge, "vae", name)
    expected = {r["code"]: Decimal(r["min_percent"]) for r in rows(data, name, "rules.csv") if r["route"] == "vae"}
    assert {r["rule"]: Decimal(str(r["min_percent"])) for r in book.rules} == expected
    assert [b["code"] for b in book.blocks] == [b["code"] for b in rows(data, name, "blocks.csv")]
    assert book.referential.name == name


@pytest.mark.parametrize("name", NAMES)
def test_a_score_at_the_threshold_passes_and_just_under_fails_in_each_referential(data, settings, knowledge, name):
    t = threshold(data, name, "vae-block")
    at = decide_data(vae_results(data, name, t), settings, knowledge, name)
    under = decide_data(vae_results(data, name, t - Decimal("0.01")), settings, knowledge, name)
    assert at["decision"] == "awarded" and under["decision"] == "not awarded"
    assert at["referential"] == name
    assert [b["code"] for b in at["blocks"]] == [b["code"] for b in rows(data, name, "blocks.csv")]
    assert {c["threshold"] for b in at["blocks"] for c in b["checks"]} == {float(t)}


def test_the_same_results_decide_differently_in_the_copy_whose_threshold_changed(data, settings, knowledge):
    low, high = sorted((threshold(data, FIRST, "vae-block"), threshold(data, COPY, "vae-block")))
    between = (low + high) / 2
    results = vae_results(data, COPY, between)  # same block codes in both copies
    assert decide_data(results, settings, knowledge, COPY)["decision"] == "awarded"
    changed = decide_data(results, settings, knowledge, FIRST)
    assert changed["decision"] == "not awarded"
    assert f"< {CHANGED_THRESHOLD}\u202f%" in changed["reasons"][0]


def test_a_route_of_one_referential_is_unknown_in_another(data, knowledge):
    only_second = ({r["code"] for r in rows(data, SECOND, "routes.csv")}
                   - {r["code"] for r in rows(data, FIRST, "routes.csv")})
    route = sorted(only_second)[0]
    assert RuleBook.load(knowledge, route, SECOND).route["code"] == route
    with pytest.raises(ValueError, match=route):
        RuleBook.load(knowledge, route, FIRST)


def test_results_file_naming_its_referential_needs_no_parameter(data, settings, knowledge, tmp_path):
    results = vae_results(data, SECOND, 100)
    path = tmp_path / "resultats.yaml"
    path.write_text(yaml.safe_dump({**results, "referential": SECOND}, allow_unicode=True), encoding="utf-8")
    decision = decide_file(path, settings, knowledge)
    assert decision["referential"] == SECOND and decision["decision"] == "awarded"
    assert "Décision : CQP DÉLIVRÉ" in decision_text(decision)
    with pytest.raises(InputError) as excinfo:  # the file and the caller disagree
        decide_file(path, settings, knowledge, FIRST)
    assert SECOND in str(excinfo.value) and FIRST in str(excinfo.value) and f"{path}:" in str(excinfo.value)


def test_results_with_a_code_of_another_referential_are_refused(data, settings, knowledge, tmp_path):
    foreign = sorted({r["code"] for r in rows(data, FIRST, "blocks.csv")}
                     - {r["code"] for r in rows(data, SECOND, "blocks.csv")})[0]
    text = f"route: vae\nblocks:\n  {foreign}: {{score: 90}}\n"
    with pytest.raises(InputError) as excinfo:
        decide_data(text, settings, knowledge, SECOND, source="r.yaml")
    assert f"r.yaml:3: bloc {foreign} : bloc inconnu du référentiel" in str(excinfo.value)
    assert decide_data(text, settings, knowledge, FIRST)["blocks"][0]["code"] == sorted(
        r["code"] for r in rows(data, FIRST, "blocks.csv"))[0]


def test_results_as_text_and_as_a_dict_decide_alike(data, settings, knowledge):
    results = vae_results(data, SECOND, 70)
    from_text = decide_data(yaml.safe_dump(results), settings, knowledge, SECOND)
    assert from_text == decide_data(results, settings, knowledge, SECOND)


# -- coverage ------------------------------------------------------------------------------------------------

def programme_of(codes: list[str], referential: str | None = None) -> dict:
    doc = {"title": "Tout", "modules": [{"code": "MOD1", "title": "Tout le référentiel", "hours": 10,
                                         "competences": codes}]}
    if referential:
        doc["referential"] = referential
    return doc


@pytest.mark.parametrize("name", NAMES)
def test_coverage_counts_the_competences_of_that_referential_only(data, settings, knowledge, name):
    codes = all_codes(data, name)
    result = coverage_of_data(yaml.safe_dump(programme_of(codes)), settings, knowledge, name)
    assert result["referential"] == name
    assert sorted(c["code"] for c in result["competences"]) == sorted(codes)
    assert result["summary"]["competences"] == result["summary"]["covered"] == len(codes)
    assert result["summary"]["coded_competences"] == len(rows(data, name, "competences.csv"))
    assert result["uncovered"] == []
    assert [b["key"] for b in result["by_block"]] == [b["code"] for b in rows(data, name, "blocks.csv")]
    assert [m["key"] for m in result["by_mission"]] == [m["code"] for m in rows(data, name, "missions.csv")]
    needs = {}
    for r in rows(data, name, "requirements.csv"):
        needs.setdefault(r["mission"], set()).add(r["competence"])
    assert {m["key"]: m["total"] for m in result["by_mission"]} == {m: len(c) for m, c in needs.items()}
    assert {c["hours"] for c in result["competences"]} == {round(10 / len(codes), 2)}  # one module, split equally


def test_coverage_of_half_a_referential_leaves_the_other_half_uncovered(data, settings, knowledge, tmp_path):
    codes = all_codes(data, SECOND)
    trained, left = codes[::2], codes[1::2]
    path = tmp_path / "moitie.yaml"
    path.write_text(yaml.safe_dump(programme_of(trained, SECOND), allow_unicode=True), encoding="utf-8")
    result = coverage_of_file(path, settings, knowledge)  # the file names its referential
    assert sorted(result["uncovered"]) == sorted(left)
    assert result["summary"]["covered"] == len(trained)


def test_modules_training_a_competence_are_listed_in_the_programme_order(data, settings, knowledge):
    code = all_codes(data, SECOND)[0]
    doc = {"title": "Ordre", "modules": [{"code": c, "title": c, "hours": 1, "competences": [code]}
                                         for c in ("MOD9", "MOD10", "MOD1")]}
    for fmt, text in (("yaml", yaml.safe_dump(doc)),
                      ("csv", "code,title,hours,competences\n" + "".join(f"{c},{c},1,{code}\n" for c in
                                                                         ("MOD9", "MOD10", "MOD1")))):
        result = coverage_of_data(text, settings, knowledge, SECOND, fmt=fmt)
        assert next(c for c in result["competences"] if c["code"] == code)["modules"] == ["MOD9", "MOD10", "MOD1"]


def test_a_code_of_another_referential_is_unknown_to_a_programme(data, settings, knowledge):
    foreign = sorted(set(all_codes(data, FIRST)) - set(all_codes(data, SECOND)))[0]
    with pytest.raises(InputError) as excinfo:
        coverage_of_data(yaml.safe_dump(programme_of([foreign])), settings, knowledge, SECOND, source="p.yaml")
    assert f"code de compétence inconnu du référentiel ({foreign})" in str(excinfo.value)


def test_a_programme_naming_an_unknown_referential_is_an_input_error(settings, knowledge):
    with pytest.raises(InputError) as excinfo:
        coverage_of_data(yaml.safe_dump(programme_of(["X1"], "inexistant")), settings, knowledge)
    text = str(excinfo.value)
    assert "« inexistant » inconnu" in text and all(name in text for name in NAMES)


def test_two_coverages_at_once_each_see_their_own_programme(data, settings, knowledge):
    """The same programme name (hence the same programme IRI) with other modules, on two threads at once."""
    texts = {name: yaml.safe_dump(programme_of(all_codes(data, name)[:3 + i]))
             for i, name in enumerate((FIRST, SECOND))}
    alone = {name: coverage_of_data(text, settings, knowledge, name) for name, text in texts.items()}
    triples = len(knowledge.store)
    results, errors = {}, []
    start = threading.Barrier(4)

    def run(key, name):
        start.wait()
        try:
            for _ in range(3):
                results.setdefault(key, []).append(coverage_of_data(texts[name], settings, knowledge, name))
        except Exception as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    threads = [threading.Thread(target=run, args=((name, i), name)) for i in range(2) for name in texts]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    for (name, _), got in results.items():
        assert all(r == alone[name] for r in got)
        assert got[0]["summary"]["covered"] == len(all_codes(data, name)[:3 + (name == SECOND)])
    assert len(knowledge.store) == triples
    assert not [g for g in knowledge.store.named_graphs() if str(g.value).startswith(SCRATCH_GRAPH_PREFIX)]


def test_coverage_copies_no_graph(data, settings, knowledge, monkeypatch):
    import cqp_graph.query.knowledge as knowledge_module
    import cqp_graph.query.store as store_module

    def refuse(*_args, **_kwargs):
        raise AssertionError("the referential graph was copied into a new store")

    monkeypatch.setattr(store_module, "store_from_graph", refuse)
    monkeypatch.setattr(knowledge_module, "store_from_graph", refuse)
    before = len(knowledge.store)
    result = coverage_of_data(yaml.safe_dump(programme_of(all_codes(data, SECOND))), settings, knowledge, SECOND)
    assert result["uncovered"] == [] and len(knowledge.store) == before


def test_a_failing_coverage_leaves_no_programme_behind(settings, knowledge, monkeypatch):
    import cqp_graph.analyses.coverage as coverage_module

    def broken(*_args, **_kwargs):
        raise RuntimeError("en panne")

    monkeypatch.setattr(coverage_module, "_figures", broken)
    before = len(knowledge.store)
    with pytest.raises(RuntimeError):
        coverage_of_data(yaml.safe_dump(programme_of(["FLC1"])), settings, knowledge, SECOND)
    assert len(knowledge.store) == before
    assert not [g for g in knowledge.store.named_graphs() if str(g.value).startswith(SCRATCH_GRAPH_PREFIX)]


# -- the report and the network facts ------------------------------------------------------------------------

@pytest.mark.parametrize("name", (FIRST, SECOND))
def test_report_figures_are_those_of_the_referential_asked_for(data, built, name):
    report = referential_report(built, name)
    certification = {r["property"]: r["value"] for r in rows(data, name, "certification.csv")}
    summary = report["summary"]
    assert report["referential"] == name and report["title"] == certification["title"]
    assert str(summary["rncp"]) == certification["rncp_number"]
    assert summary["missions"] == len(rows(data, name, "missions.csv"))
    assert summary["activities"] == len(rows(data, name, "activities.csv"))
    assert summary["competences"] == len(rows(data, name, "competences.csv"))
    assert summary["aptitudes"] == len(rows(data, name, "aptitudes.csv"))
    assert summary["blocks"] == len(rows(data, name, "blocks.csv"))
    assert summary["units"] == len(rows(data, name, "units.csv"))
    assert summary["rules"] == len(rows(data, name, "rules.csv"))
    needed = {(r["mission"], r["competence"]) for r in rows(data, name, "requirements.csv")}
    matrix = report["matrix"]
    assert matrix["missions"] == [m["code"] for m in rows(data, name, "missions.csv")]
    assert sorted(matrix["competences"]) == sorted(r["code"] for r in rows(data, name, "competences.csv"))
    assert {(m, c) for m, line in zip(matrix["missions"], matrix["cells"])
            for c, cell in zip(matrix["competences"], line) if cell} == needed
    kinds = {}
    for r in rows(data, name, "competences.csv"):
        kinds[r["kind"]] = kinds.get(r["kind"], 0) + 1
    per_kind = {k["kind"]: k["total"] for k in report["per_kind"]}
    assert {k: v for k, v in per_kind.items() if k in kinds} == kinds
    assert sum(per_kind.values()) == len(all_codes(data, name))
    assert [b["block"] for b in report["per_block"]] == [b["code"] for b in rows(data, name, "blocks.csv")]


def test_report_findings_are_those_of_the_referential(built):
    """A finding counts in a referential's report when its focus is minted under that referential's root IRI,
    or under none (the shared ontology); the pipeline's findings are not computed again."""
    roots = {name: f"{built.settings.base}{name}/" for name in NAMES}

    def ours(finding, name):
        return finding.focus.startswith(roots[name]) or not any(finding.focus.startswith(r) for r in roots.values())

    for name in (FIRST, SECOND):
        report = referential_report(built, name)
        for severity, count in report["finding_counts"].items():
            assert count == sum(1 for f in built.report.findings if f.severity == severity and ours(f, name))
        shown = sum(len(group) for group in report["findings"].values())
        assert shown == sum(1 for f in built.report.findings if f.severity != "Violation" and ours(f, name))
    assert any(f.focus.startswith(roots[SECOND]) for f in built.report.findings)  # the check is not empty


@pytest.mark.parametrize("name", (COPY, SECOND))
def test_network_facts_of_one_referential(data, knowledge, name):
    facts = ReferentialFacts.load(knowledge, name)
    graph = bipartite_graph(facts)
    assert {(r["mission"], r["competence"]) for r in rows(data, name, "requirements.csv")} == {
        (m, c) if m in {x["code"] for x in facts.missions} else (c, m) for m, c in graph.edges()}
    summary = run_all(facts)["summary"]
    assert summary["missions"] == len(rows(data, name, "missions.csv"))
    assert summary["coded_competences"] == len(rows(data, name, "competences.csv"))


# -- no referential named, several in the graph --------------------------------------------------------------

def test_no_name_with_several_referentials_is_unknown_referential(data, built, settings, knowledge, tmp_path):
    results = tmp_path / "r.yaml"
    results.write_text(yaml.safe_dump(vae_results(data, SECOND, 90)), encoding="utf-8")
    programme = tmp_path / "p.yaml"
    programme.write_text(yaml.safe_dump(programme_of(all_codes(data, SECOND))), encoding="utf-8")
    calls = [lambda: decide_file(results, settings, knowledge),
             lambda: coverage_of_file(programme, settings, knowledge),
             lambda: referential_report(built), lambda: ReferentialFacts.load(knowledge),
             lambda: RuleBook.load(knowledge, "vae")]
    for call in calls:
        with pytest.raises(UnknownReferential) as excinfo:
            call()
        assert all(name in str(excinfo.value) for name in NAMES), str(excinfo.value)
        assert "référentiels" in str(excinfo.value)
    with pytest.raises(UnknownReferential, match="inexistant"):
        decide_file(results, settings, knowledge, "inexistant")
