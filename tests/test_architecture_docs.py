"""The architecture documentation stays in step with the code.

The README's "Where things live" table of the package and docs/architecture.md's import graph are generated
(`cqp_graph.present.architecture`, written by `python scripts/update_readme_table.py`); these tests fail when a
block is stale, when a module has no docstring, or when a package does not say what lives in it and what does
not. Expectations are read here on their own: the files from the folder tree, the summaries from the imported
modules' `__doc__`, the imports with a regular expression over the source.
"""

from __future__ import annotations

import importlib
import re
from pathlib import Path

import pytest

from cqp_graph.present import architecture

from .support import ROOT

PACKAGE = ROOT / "cqp_graph"
REGENERATE = "run `python scripts/update_readme_table.py` and commit the result"


def source_files() -> list[Path]:
    """Every .py file of the package, read from the folder tree (the wheel's `_resources/` is data)."""
    return sorted(p for p in PACKAGE.rglob("*.py")
                  if "__pycache__" not in p.parts and "_resources" not in p.relative_to(PACKAGE).parts)


def dotted(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def block(path: Path, name: str) -> str:
    text = path.read_text(encoding="utf-8")
    start, end = f"<!-- {name}:start -->\n", f"<!-- {name}:end -->"
    assert start in text and end in text, f"{path.name} lacks the markers {start.strip()} … {end}; {REGENERATE}"
    return text.split(start, 1)[1].split(end, 1)[0]


# -- the generated blocks are what the code says ------------------------------------------------------------

def test_readme_table_is_generated_from_the_docstrings():
    committed = block(ROOT / "README.md", "where-things-live")
    assert committed == architecture.where_things_live_markdown(), \
        f"README.md's \"Where things live\" table is stale: {REGENERATE}"


def test_architecture_import_graph_is_generated_from_the_imports():
    committed = block(ROOT / "docs" / "architecture.md", "package-imports")
    assert committed == architecture.imports_mermaid(), \
        f"docs/architecture.md's import graph is stale: {REGENERATE}"


def test_every_module_has_a_docstring_and_every_package_says_what_lives_there():
    problems = architecture.docstring_problems()
    assert not problems, "docstrings to write (then " + REGENERATE + "):\n" + "\n".join(problems)


# -- the generator itself, against expectations read independently --------------------------------------------

def table_rows() -> dict[str, str]:
    rows = {}
    for line in architecture.where_things_live_markdown().splitlines()[2:]:
        where, what = re.fullmatch(r"\| \**`([^`]+)`\** \| (.*) \|", line).groups()
        rows[where] = what
    return rows


def test_the_table_has_one_row_per_module_and_package_of_the_tree():
    expected = set()
    for path in source_files():
        relative = path.relative_to(ROOT).as_posix()
        expected.add(relative.removesuffix("__init__.py") if path.name == "__init__.py" else relative)
    assert set(table_rows()) == expected


def test_each_row_is_the_first_paragraph_of_the_module_docstring():
    rows = table_rows()
    for path in source_files():
        if path.name == "__main__.py":   # importing it would run the command line
            continue
        doc = importlib.import_module(dotted(path)).__doc__ or ""
        first = " ".join(doc.strip().split("\n\n")[0].split())
        where = path.relative_to(ROOT).as_posix().removesuffix("__init__.py")
        assert rows[where] == first.replace("|", "\\|"), where


def test_modules_follow_their_package_in_the_table():
    order = list(table_rows())
    for where in order:
        if where.endswith(".py") and where.count("/") == 2:   # cqp_graph/<sub>/<module>.py
            package = where.rsplit("/", 1)[0] + "/"
            between = order[order.index(package) + 1: order.index(where)]
            assert all(w.startswith(package) for w in between), f"{where} is not listed under {package}"


IMPORT = re.compile(r"^\s*(?:from|import)\s+cqp_graph\.(\w+)|lazy\(\"cqp_graph\.(\w+)", re.M)


def test_the_import_graph_has_every_import_between_sub_packages():
    subpackages = {p.parent.name for p in PACKAGE.glob("*/__init__.py") if p.parent.name != "_resources"}
    expected = set()
    for path in source_files():
        parts = path.relative_to(PACKAGE).parts
        if len(parts) < 2:
            continue
        for match in IMPORT.finditer(path.read_text(encoding="utf-8")):
            target = match.group(1) or match.group(2)
            if target in subpackages and target != parts[0]:
                expected.add((parts[0], target))
    drawn = set(re.findall(r"^  (\w+) --> (\w+)$", architecture.imports_mermaid(), re.M))
    assert drawn == expected


def test_the_package_imports_itself_by_absolute_names():
    relative = [f"{p.relative_to(ROOT)}:{n}" for p in source_files()
                for n, line in enumerate(p.read_text(encoding="utf-8").splitlines(), 1)
                if re.match(r"\s*from\s+\.", line)]
    assert not relative, f"relative imports (the package imports itself absolutely): {relative}"


# -- what makes the checks fail ----------------------------------------------------------------------------

def test_a_missing_docstring_or_a_package_without_lives_here_is_reported(tmp_path):
    package = tmp_path / "pkg"
    (package / "stage").mkdir(parents=True)
    (package / "__init__.py").write_text('"""Root.\n\nLives here: a. Not here: b.\n"""\n')
    (package / "stage" / "__init__.py").write_text('"""A stage.\n\nLives here: everything.\n"""\n')
    (package / "stage" / "bare.py").write_text("X = 1\n")
    (package / "stage" / "told.py").write_text('"""Told, on\ntwo lines.\n\nMore."""\n')
    problems = architecture.docstring_problems(package)
    assert problems == ["pkg/stage/__init__.py: the package's docstring lacks a \"Not here: …\" sentence",
                        "pkg/stage/bare.py: no docstring (its first paragraph is its row in the README's table)"]
    table = architecture.where_things_live_markdown(package)
    assert "| `pkg/stage/told.py` | Told, on two lines. |" in table
    assert "| `pkg/stage/bare.py` | (no docstring) |" in table


def test_a_block_is_replaced_between_its_markers_only():
    text = "before\n<!-- t:start -->\nold\n<!-- t:end -->\nafter\n"
    assert architecture.replace_block(text, "t", "new\n") == "before\n<!-- t:start -->\nnew\n<!-- t:end -->\nafter\n"
    assert architecture.read_block(text, "t") == "old\n"
    with pytest.raises(ValueError, match="markers"):
        architecture.replace_block("no markers\n", "t", "x\n")
