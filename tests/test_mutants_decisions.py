"""Tests written for the mutants of the decision engine that the other decision tests let survive.

Expectations come from the graph (the rules, blocks, evaluators and settings the named queries return) and from
what the module's docstrings state:
- a block's score is computed from its evaluators' scores only as the referential declares
  (`block-score-aggregation`); a referential that declares no method, or one the engine does not know, gets no
  computed score, and the block's reason says why, naming each evaluator's score;
- an evaluator the referential does not name is written by its code;
- an unknown route is refused naming the referential's routes, « aucune » when it has none;
- the decision text's first line names the candidate, the route and the referential the decision is for;
- a condition on the whole CQP that fails is marked « ✗ » under « Conditions du CQP complet : »;
- the rule book holds the referential's units (the workbench's form lists them);
- results sent already parsed are named in errors as the caller says (« results.yaml » unless told);
- a block without any result fails its rule « aucun résultat »; one whose score could not be computed says why.
"""

from __future__ import annotations

import dataclasses
from decimal import Decimal

import pytest

from cqp_graph.analyses.decisions import AGGREGATIONS, Decider, RuleBook, UnknownRoute, decision_text
from cqp_graph.query.knowledge import Knowledge

SCORES = (Decimal("40"), Decimal("62"), Decimal("90"))


@pytest.fixture(scope="module")
def knowledge(store, settings):
    return Knowledge.over(store, settings)


@pytest.fixture(scope="module")
def book(knowledge) -> RuleBook:
    return RuleBook.load(knowledge, "formation")


def evaluators_only(book: RuleBook) -> dict:
    """Results giving, for every block, one score per evaluator of the referential and no block score."""
    codes = list(book.evaluators)
    return {"route": book.route["code"],
            "blocks": {b["code"]: {"evaluators": {e: SCORES[i % len(SCORES)] for i, e in enumerate(codes)}}
                       for b in book.blocks}}


def with_aggregation(book: RuleBook, value: str | None) -> RuleBook:
    settings = {k: v for k, v in book.settings.items() if k != "block-score-aggregation"}
    if value is not None:
        settings["block-score-aggregation"] = {**book.settings["block-score-aggregation"], "value": value}
    return dataclasses.replace(book, settings=settings)


#: the methods the settings' documentation names (data/agc-alimentaire/settings.csv), computed here
METHODS = {"mean": ("moyenne", lambda values: sum(values) / len(values)), "min": ("minimum", min)}


def test_the_referential_declares_how_evaluators_combine(book):
    """The graph's declared method is the one applied, and no other is assumed."""
    assert set(AGGREGATIONS) == set(METHODS)
    assert book.aggregation() == (book.settings["block-score-aggregation"]["value"],
                                  book.settings["block-score-aggregation"]["label"])
    data = evaluators_only(book)
    for method, (name, combine) in METHODS.items():
        decision = Decider(with_aggregation(book, method), data).decide()
        given = list(data["blocks"][book.blocks[0]["code"]]["evaluators"].values())
        assert len(set(given)) > 1  # so that the methods give different scores
        for block in decision["blocks"]:
            assert block["score"] == float(combine(given))
            assert block["score_source"].startswith(f"calculé : {name} des évaluateurs (")
            assert block["score_source"].endswith(f"choix déclaré block-score-aggregation={method}")
        assert [s["applied_to"] for s in decision["settings_applied"]] == [[b["code"] for b in book.blocks]]


@pytest.mark.parametrize("value,why", [
    (None, "mais le référentiel ne déclare pas comment combiner les résultats des évaluateurs "
           "(choix block-score-aggregation)"),
    ("median", "mais le choix déclaré block-score-aggregation=median n'est pas une méthode connue (mean, min)"),
])
def test_without_a_declared_known_method_no_block_score_is_computed_and_the_reason_says_why(book, value, why):
    data = evaluators_only(book)
    decision = Decider(with_aggregation(book, value), data).decide()
    assert decision["decision"] == "not awarded" and decision["settings_applied"] == []
    for block in decision["blocks"]:
        assert block["score"] is None and block["decision"] == "not acquired"
        named = ", ".join(f"{book.evaluators[e].lower()} {str(v)}\u202f%"
                          for e, v in data["blocks"][block["code"]]["evaluators"].items())
        assert block["score_source"] == f"non calculé : résultats des évaluateurs ({named}), {why}"
        check = next(c for c in block["checks"] if c["scope"] == "block")
        reason = why.removeprefix("mais ")
        assert check["text"].startswith(f"bloc {block['code']} : résultat non calculé, car {reason}, la règle exige ")
        assert any(r.startswith(f"bloc {block['code']} non acquis : {check['text']}") for r in decision["reasons"])
    assert book_reason(with_aggregation(book, value)) == why.removeprefix("mais ")
    assert f"({decision['blocks'][0]['score_source']})" in decision_text(decision)


def book_reason(book: RuleBook) -> str:
    method, why = book.aggregation()
    assert method is None
    return why


def test_an_evaluator_the_referential_does_not_name_is_written_by_its_code(book):
    unnamed = dataclasses.replace(book, evaluators={})
    decision = Decider(unnamed, evaluators_only(book)).decide()
    first = decision["blocks"][0]
    codes = list(book.evaluators)
    assert all(f"{code} " in first["score_source"] for code in codes)
    texts = [c["text"] for c in first["checks"] if c["scope"] == "block-evaluator"]
    assert texts and all(t.startswith(f"bloc {first['code']}, {c['evaluator']} : ")
                         for t, c in zip(texts, [c for c in first["checks"] if c["scope"] == "block-evaluator"]))
    know_how = [c["text"] for b in decision["blocks"] for c in b["checks"] if c["scope"] == "know-how"]
    assert know_how and all(f"noté par le {c['evaluator']}, " in t for t, c in zip(
        know_how, [c for b in decision["blocks"] for c in b["checks"] if c["scope"] == "know-how"]))
    named = Decider(book, evaluators_only(book)).decide()["blocks"][0]
    assert all(f"{book.evaluators[code].lower()} " in named["score_source"] for code in codes)


def test_an_unknown_route_of_a_referential_without_routes_says_there_is_none(book):
    error = UnknownRoute("vae", [], "sans-voies")
    assert str(error) == "voie « vae » inconnue du référentiel sans-voies (voies : aucune)"
    assert (error.route, error.known, error.referential) == ("vae", [], "sans-voies")
    long = UnknownRoute("x" * 200, [book.route["code"]], "r")
    assert f"« {'x' * 80} »" in str(long) and "x" * 81 not in str(long)


@pytest.mark.parametrize("candidate", ["Camille", None])
def test_the_first_line_names_the_candidate_the_route_and_the_referential(knowledge, book, candidate):
    data = {**evaluators_only(book), "candidate": candidate}
    decision = Decider(book, data).decide()
    assert decision["referential"] == knowledge.referential(None).name
    lines = decision_text(decision).splitlines()
    assert lines[0] == f"{candidate or 'candidat'} — {book.route['label']} (référentiel {decision['referential']})"


def test_a_failed_condition_of_the_whole_cqp_is_marked_as_failed(knowledge):
    """On a route whose rules gate the whole CQP, a condition the candidate misses is written « ✗ » under its
    heading, the ones met « ✓ »."""
    routes = [r for r in knowledge.rows("routes")
              if any(rule["gates"] == "certification" for rule in RuleBook.load(knowledge, r["code"]).rules)]
    assert routes, "no route of the referential has a rule on the whole CQP"
    for route in routes:
        book = RuleBook.load(knowledge, route["code"])
        rule = next(r for r in book.rules if r["gates"] == "certification" and r["scope"] == "block-evaluator")
        data = evaluators_only(book)
        for block in data["blocks"].values():
            block["score"] = 100
            block["evaluators"] = {e: 100 for e in book.evaluators}
        first = book.blocks[0]["code"]
        data["blocks"][first]["evaluators"][rule["evaluator"]] = Decimal(str(rule["min_percent"])) - 1
        decision = Decider(book, data).decide()
        failed = [c for c in decision["certification_checks"] if not c["passed"]]
        assert [(c["rule"], c["subject"]) for c in failed] == [(rule["rule"], first)]
        lines = decision_text(decision).splitlines()
        section = lines[lines.index("Conditions du CQP complet :") + 1:]
        section = section[:section.index("")] if "" in section else section
        assert section == [f"  {'✓' if c['passed'] else '✗'} {c['text']}" for c in decision["certification_checks"]]
        assert f"  ✗ {failed[0]['text']}" in section and any(line.startswith("  ✓ ") for line in section)
        assert decision["decision"] == "not awarded" and failed[0]["text"] in decision["reasons"]


def test_an_unknown_route_is_refused_naming_the_referential_and_its_routes(knowledge):
    name = knowledge.referential(None).name
    routes = [r["code"] for r in knowledge.rows("routes")]
    with pytest.raises(UnknownRoute) as excinfo:
        RuleBook.load(knowledge, "itinéraire")
    assert (excinfo.value.route, excinfo.value.known, excinfo.value.referential) == ("itinéraire", routes, name)
    assert str(excinfo.value) == f"voie « itinéraire » inconnue du référentiel {name} (voies : {', '.join(routes)})"


def test_the_rule_book_holds_the_units_of_the_referential(knowledge, book):
    assert book.units == knowledge.rows("units") and book.units


def test_results_already_parsed_are_named_in_errors_as_the_caller_says(knowledge, settings):
    from cqp_graph.analyses.decisions import decide_data
    from cqp_graph.inputs.files import InputError

    bad = {"route": "formation", "blocks": {"B9": {"score": 80}}}
    for kwargs, name in (({}, "results.yaml"), ({"source": "jury.json"}, "jury.json")):
        for data in (bad, f"route: formation\nblocks:\n  B9:\n    score: 80\n"):
            with pytest.raises(InputError) as excinfo:
                decide_data(data, settings, knowledge, **kwargs)
            assert str(excinfo.value).startswith(f"{name}:"), str(excinfo.value)
    for wrong in (None, 5):  # None is not a way to name a file: decide_file reads files
        with pytest.raises(TypeError, match=f"the results' text or a dict, not {type(wrong).__name__}$"):
            decide_data(wrong, settings, knowledge)


def test_a_block_without_results_fails_its_rule_for_want_of_any(book):
    data = evaluators_only(book)
    missing = book.blocks[-1]["code"]
    del data["blocks"][missing]
    rule = next(r for r in book.rules if r["scope"] == "block")
    block = next(b for b in Decider(book, data).decide()["blocks"] if b["code"] == missing)
    check = next(c for c in block["checks"] if c["scope"] == "block")
    assert check["text"].startswith(f"bloc {missing} : aucun résultat, la règle exige au moins "
                                    f"{rule['min_percent']:g}\u202f% [{rule['rule']}, ")
