"""Documentation stays in step with the code (datasette's rule: an undocumented setting fails a test)."""

from __future__ import annotations

from cqp_graph.config import SETTINGS
from cqp_graph.present.docs import data_format_markdown

from .support import ROOT

README = (ROOT / "README.md").read_text(encoding="utf-8")


def test_every_setting_is_documented():
    missing = [name for name in SETTINGS if f"`{name}`" not in README]
    assert not missing, f"settings missing from README.md: {missing}"


def test_every_named_query_is_listed(catalogue):
    missing = [q.name for q in catalogue if f"`{q.name}`" not in README]
    assert not missing, f"queries missing from README.md: {missing}"


def test_data_format_doc_is_generated_from_the_tables():
    committed = (ROOT / "docs" / "data-format.md").read_text(encoding="utf-8")
    assert committed == data_format_markdown(), "run `cqp-graph docs` and commit docs/data-format.md"


def test_readme_gives_two_commands_and_ci_runs_them():
    ci = (ROOT / ".ci" / "run").read_text(encoding="utf-8")
    assert 'python3 -m pip install -e ".[test]" && python3 -m cqp_graph build' in README
    assert 'python3 -m pip install -e ".[test]" && python3 -m cqp_graph build' in ci
    assert "python3 -m pytest" in README and "python3 -m pytest" in ci


def test_ontology_doc_is_generated_from_the_ontology(settings):
    from cqp_graph.graph.assemble import load_ontology
    from cqp_graph.present.ontology_doc import ontology_html

    committed = (ROOT / "docs" / "ontology.html").read_text(encoding="utf-8")
    assert committed == ontology_html(load_ontology(settings), settings.base), "run `cqp-graph docs` and commit"


def test_every_ontology_term_has_french_and_english_labels(settings):
    from rdflib import Literal
    from rdflib.namespace import OWL, RDF, RDFS

    from cqp_graph.graph.assemble import load_ontology

    ontology = load_ontology(settings)
    ns = settings.base + "ontology#"
    for kind in (OWL.Class, OWL.ObjectProperty, OWL.DatatypeProperty, OWL.AnnotationProperty):
        for term in ontology.subjects(RDF.type, kind):
            if not str(term).startswith(ns):
                continue
            langs = {lit.language for lit in ontology.objects(term, RDFS.label) if isinstance(lit, Literal)}
            assert {"fr", "en"} <= langs, term


def test_every_cli_command_is_in_the_readme():
    from cqp_graph.cli.commands import app

    for command in app.registered_commands:
        name = command.name or command.callback.__name__
        assert f"cqp-graph {name}" in README, name
