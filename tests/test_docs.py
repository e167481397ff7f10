"""Documentation stays in step with the code (datasette's rule: an undocumented setting fails a test)."""

from __future__ import annotations

from cqp_graph.config import SETTINGS
from cqp_graph.docs import data_format_markdown

from .conftest import ROOT

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
    assert 'python3 -m pip install -e ".[test]" && cqp-graph build' in README
    assert 'python3 -m pip install -e ".[test]" && cqp-graph build' in ci
    assert "python3 -m pytest" in README and "python3 -m pytest" in ci
