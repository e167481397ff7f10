#!/usr/bin/env python3
"""Regenerate the README's "Where things live" table and docs/architecture.md's import graph from the code.

    python scripts/update_readme_table.py           # rewrite both blocks in place
    python scripts/update_readme_table.py --check   # exit 1, saying which, when a block is stale

Each block sits between `<!-- NAME:start -->` and `<!-- NAME:end -->`; what lies outside them is left as written.
The content comes from cqp_graph.present.architecture (module docstrings and import statements);
tests/test_architecture_docs.py runs the same comparison.
"""
from __future__ import annotations

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))   # the checkout's package, whatever is installed

from cqp_graph.present import architecture  # noqa: E402
from cqp_graph.publish.atomic import write_text  # noqa: E402

BLOCKS = (
    (ROOT / "README.md", architecture.README_BLOCK, architecture.where_things_live_markdown),
    (ROOT / "docs" / "architecture.md", architecture.IMPORTS_BLOCK, architecture.imports_mermaid),
)


def main(argv: list[str]) -> int:
    check = "--check" in argv
    stale = []
    for path, name, generate in BLOCKS:
        text = path.read_text(encoding="utf-8")
        updated = architecture.replace_block(text, name, generate())
        if updated != text:
            stale.append(f"{path.relative_to(ROOT)} ({name})")
            if not check:
                write_text(path, updated)
    verb = "stale" if check else "updated"
    print(f"{verb}: {', '.join(stale)}" if stale else "up to date")
    return 1 if check and stale else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
