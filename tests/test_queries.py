"""Named queries: catalogue, parameters bound (never pasted), formats, errors."""

from __future__ import annotations

import csv
import io
import json
import subprocess
import sys

import pytest

from cqp_graph.query.catalogue import QueryError, parse_query_file, run_named

from .support import FIRST, REGISTER_QUERY, csv_rows

REQUIRED = {"competences-for-mission", "competences", "unused-competences"}


def run_cli(*args):
    return subprocess.run([sys.executable, "-m", "cqp_graph", *args], capture_output=True, text=True)


def test_catalogue_has_the_named_queries(catalogue):
    assert len(catalogue) >= 12
    assert REQUIRED <= set(catalogue.queries)
    for q in catalogue:
        assert q.title and q.description
        for p in q.params:
            assert p.description and p.example is not None, f"{q.name}.{p.name} needs a description and example"


def test_every_query_runs_on_its_example(catalogue, store, settings):
    for q in catalogue:
        if q.name.startswith(REGISTER_QUERY):
            continue  # about the RNCP register, absent here: tests/test_register.py runs them on an import
        table = run_named(store, q, {p.name: p.example for p in q.params}, settings.base)
        assert table.rows, f"{q.name} returned nothing for its example"


def test_parameters_are_bound_not_pasted(catalogue, store, settings):
    q = catalogue.get("competences-for-mission")
    hostile = 'M3" } ?s ?p ?o . FILTER("x'
    assert run_named(store, q, {"mission": hostile}, settings.base).rows == []
    assert hostile not in q.sparql
    m3 = run_named(store, q, {"mission": "M3"}, settings.base).rows
    assert m3 and all(r["mission"] == "M3" for r in m3)


def test_integer_parameter(catalogue, store, settings):
    q = catalogue.get("transversal-competences")
    five = run_named(store, q, {"min_missions": "5"}, settings.base).rows
    assert [r["code"] for r in five] == ["OTC1"]
    default = run_named(store, q, {}, settings.base).rows
    assert all(r["missions"] >= 3 for r in default) and len(default) > len(five)
    with pytest.raises(QueryError, match="n'est pas un nombre entier"):
        run_named(store, q, {"min_missions": "trois"}, settings.base)


def test_unknown_query_and_parameter_are_clear_errors(catalogue, store, settings):
    with pytest.raises(QueryError, match="aucune requête nommée « nope »"):
        catalogue.get("nope")
    with pytest.raises(QueryError, match="n'a pas de paramètre « colour »"):
        run_named(store, catalogue.get("competences"), {"colour": "blue"}, settings.base)
    with pytest.raises(QueryError, match="attend le paramètre « mission »"):
        run_named(store, catalogue.get("competences-for-mission"), {}, settings.base)


def test_header_parameter_must_be_a_query_variable(tmp_path):
    path = tmp_path / "bad.rq"
    path.write_text("# ---\n# title: t\n# description: d\n# params:\n#   nothing: {type: string, example: x}\n# ---\n"
                    "SELECT ?a WHERE { ?a ?b ?c }\n", encoding="utf-8")
    with pytest.raises(QueryError, match="'nothing' is not a variable"):
        parse_query_file(path)


def test_cli_formats():
    as_json = run_cli("query", "unused-competences", "--format", "json")
    assert as_json.returncode == 0, as_json.stderr
    assert json.loads(as_json.stdout) == [{"code": "RC1", "label": "Identifier les profils (typologies) des clients",
                                           "kind": "C", "domain": "R", "referential": FIRST}]
    as_csv = run_cli("query", "competences", "--format", "csv")
    rows = list(csv.DictReader(io.StringIO(as_csv.stdout)))
    codes = [r["code"] for name in ("competences.csv", "aptitudes.csv") for r in csv_rows(name)]
    assert sorted(r["code"] for r in rows) == sorted(codes) and {"code", "label", "kind", "domain"} <= set(rows[0])
    table = run_cli("query", "missions-for-competence", "--param", "competence=RSF10")
    assert table.returncode == 0 and "RFS10" in table.stdout


def test_cli_errors_exit_non_zero():
    unknown = run_cli("query", "nope")
    assert unknown.returncode == 2 and "aucune requête nommée « nope »" in " ".join(unknown.stderr.split())
    bad = run_cli("query", "competences-for-mission", "--param", "misson=M3")
    assert bad.returncode == 2 and "pas de paramètre « misson »" in " ".join(bad.stderr.split())


def test_competence_json_objects(catalogue, store, settings):
    for row in run_named(store, catalogue.get("competences"), {}, settings.base).rows:
        assert row["kind"] in ("C", "SF", "A")
        assert row["domain"] in ("R", "PO", "OT") or (row["kind"] == "A" and row["domain"] is None)
