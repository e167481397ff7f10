"""The architecture documentation generated from the code itself: module docstrings and imports.

`where_things_live_markdown()` is the README's "Where things live" table of the package: one row per
sub-package and per module, each with the summary (first paragraph) of its docstring. `imports_mermaid()` is
the graph of which sub-package imports which, read from the import statements, for docs/architecture.md.
Both are written between markers (`<!-- NAME:start -->` … `<!-- NAME:end -->`) by
`python scripts/update_readme_table.py`; tests/test_architecture_docs.py fails when a block is stale or a
docstring is missing.

Lives here: reading the package's own source (with `ast`, importing nothing) and turning it into Markdown.
Not here: the data-format and ontology documentation (`cqp_graph.present.docs`,
`cqp_graph.present.ontology_doc`), the prose of docs/architecture.md (written by hand).
"""

from __future__ import annotations

import ast
import re
from dataclasses import dataclass
from pathlib import Path

PACKAGE_DIR = Path(__file__).resolve().parent.parent
PACKAGE = PACKAGE_DIR.name

#: The sub-packages in the order of the pipeline (a newcomer reads the table top to bottom as the data flows);
#: a sub-package missing here comes after them, in alphabetical order.
STAGE_ORDER = ("source", "graph", "query", "inputs", "analyses", "exchange", "publish", "present", "web", "cli")

README_BLOCK = "where-things-live"
_MODULE_NAME = re.compile(rf"^{PACKAGE}(\.[A-Za-z_]\w*)+(:\w+)?$")
IMPORTS_BLOCK = "package-imports"


@dataclass(frozen=True)
class ModuleDoc:
    """One module or package of the source tree and its docstring."""

    path: Path            # the .py file (a package's __init__.py)
    name: str             # dotted name, e.g. cqp_graph.query.knowledge
    is_package: bool
    docstring: str | None
    root: Path = PACKAGE_DIR.parent   # the folder holding the package: paths are shown from there

    @property
    def summary(self) -> str:
        """The docstring's first paragraph on one line (PEP 257's summary), or '' without a docstring."""
        if not self.docstring:
            return ""
        first = self.docstring.strip().split("\n\n", 1)[0]
        return " ".join(line.strip() for line in first.splitlines())

    @property
    def display_path(self) -> str:
        relative = self.path.relative_to(self.root).as_posix()
        return relative.removesuffix("__init__.py") if self.is_package else relative

    @property
    def subpackage(self) -> str | None:
        """The first-level sub-package holding this module (None for the top-level modules)."""
        parts = self.name.split(".")
        if len(parts) >= 3 or (self.is_package and len(parts) == 2):
            return parts[1]
        return None


def _skipped(path: Path, package_dir: Path) -> bool:
    """Folders that are not source: `_resources/` (the wheel's data), caches, hidden folders."""
    return any(part.startswith((".", "_")) for part in path.relative_to(package_dir).parts[:-1])


def modules(package_dir: Path = PACKAGE_DIR) -> list[ModuleDoc]:
    """Every module and package of the source tree (resource folders such as `_resources/` left out)."""
    found = []
    for path in sorted(package_dir.rglob("*.py")):
        if _skipped(path, package_dir):
            continue
        relative = path.relative_to(package_dir.parent).with_suffix("")
        parts = list(relative.parts)
        is_package = parts[-1] == "__init__"
        if is_package:
            parts = parts[:-1]
        if is_package and path.parent != package_dir and not (path.parent.parent / "__init__.py").is_file():
            continue
        tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
        found.append(ModuleDoc(path, ".".join(parts), is_package, ast.get_docstring(tree), package_dir.parent))
    return found


def _order(doc: ModuleDoc) -> tuple:
    sub = doc.subpackage
    if sub is None:   # the root package first, then the top-level modules
        return (0, not doc.is_package, doc.name)
    stage = STAGE_ORDER.index(sub) if sub in STAGE_ORDER else len(STAGE_ORDER)
    return (1, stage, sub, not doc.is_package, doc.name)


def _cell(text: str) -> str:
    return text.replace("|", "\\|")


def where_things_live_markdown(package_dir: Path = PACKAGE_DIR) -> str:
    """The README's table of the package: each sub-package, then its modules, with their docstring summaries."""
    lines = ["| where | what |", "| --- | --- |"]
    for doc in sorted(modules(package_dir), key=_order):
        where = f"**`{doc.display_path}`**" if doc.is_package else f"`{doc.display_path}`"
        lines.append(f"| {where} | {_cell(doc.summary) or '(no docstring)'} |")
    return "\n".join(lines) + "\n"


# ---------------------------------------------------------------------------------------------------------------
# who imports whom
# ---------------------------------------------------------------------------------------------------------------

def _imported_modules(doc: ModuleDoc) -> set[str]:
    """Dotted names of the package's modules that `doc` imports (anywhere in the file, relative or absolute)."""
    tree = ast.parse(doc.path.read_text(encoding="utf-8"))
    here = doc.name.split(".") if doc.is_package else doc.name.split(".")[:-1]
    found = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = here[: len(here) - node.level + 1]
                module = ".".join(base + ([node.module] if node.module else []))
            else:
                module = node.module or ""
            found.add(module)
            found.update(f"{module}.{alias.name}" for alias in node.names)
        elif isinstance(node, ast.Call):   # imports by name: importlib.import_module("…"), the CLI's lazy("…")
            for argument in node.args:
                if isinstance(argument, ast.Constant) and isinstance(argument.value, str) \
                        and _MODULE_NAME.match(argument.value):
                    found.add(argument.value.split(":")[0])
    return {name for name in found if name == PACKAGE or name.startswith(PACKAGE + ".")}


def _unit(name: str, top_modules: set[str], subpackages: set[str]) -> str | None:
    """What a dotted name belongs to in the graph: a sub-package, a top-level module, or nothing."""
    parts = name.split(".")
    if len(parts) < 2:
        return None
    if parts[1] in subpackages or parts[1] in top_modules:
        return parts[1]
    return None


def import_graph(package_dir: Path = PACKAGE_DIR) -> dict[str, set[str]]:
    """For each sub-package and top-level module, the other sub-packages and top-level modules it imports."""
    docs = modules(package_dir)
    subpackages = {d.subpackage for d in docs if d.subpackage}
    top_modules = {d.name.split(".")[1] for d in docs if d.subpackage is None and not d.is_package}
    edges: dict[str, set[str]] = {unit: set() for unit in subpackages | top_modules}
    for doc in docs:
        source = doc.subpackage or (None if doc.is_package else doc.name.split(".")[1])
        if source is None:
            continue
        for name in _imported_modules(doc):
            target = _unit(name, top_modules, subpackages)
            if target and target != source:
                edges[source].add(target)
    return edges


def _cycles(edges: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected groups of more than one unit (Tarjan), each sorted."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    groups: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for target in sorted(edges.get(node, ())):
            if target not in index:
                visit(target)
                low[node] = min(low[node], low[target])
            elif target in on_stack:
                low[node] = min(low[node], index[target])
        if low[node] == index[node]:
            group = []
            while True:
                item = stack.pop()
                on_stack.discard(item)
                group.append(item)
                if item == node:
                    break
            if len(group) > 1:
                groups.append(sorted(group))

    for node in sorted(edges):
        if node not in index:
            visit(node)
    return sorted(groups)


def imports_mermaid(package_dir: Path = PACKAGE_DIR) -> str:
    """docs/architecture.md's generated part: a mermaid graph of sub-package imports and what it leaves out."""
    edges = import_graph(package_dir)
    docs = modules(package_dir)
    subpackages = sorted({d.subpackage for d in docs if d.subpackage},
                         key=lambda s: (STAGE_ORDER.index(s) if s in STAGE_ORDER else len(STAGE_ORDER), s))
    top_modules = sorted(unit for unit in edges if unit not in subpackages)
    lines = ["```mermaid", "graph TD"]
    for sub in subpackages:
        lines.append(f"  {sub}[{sub}/]")
    for sub in subpackages:
        for target in sorted(t for t in edges[sub] if t in subpackages):
            lines.append(f"  {sub} --> {target}")
    lines.append("```")
    lines.append("")
    lines.append("An arrow reads \"imports\" (anywhere in the sub-package, deferred imports included). "
                 "Top-level modules, left out of the picture:")
    lines.append("")
    for module in top_modules:
        users = sorted(unit for unit, targets in edges.items() if module in targets)
        uses = sorted(edges[module])
        lines.append(f"- `{module}` — imported by {', '.join(f'`{u}`' for u in users) or 'no other part'}; "
                     f"imports {', '.join(f'`{u}`' for u in uses) or 'nothing of the package'}")
    cycles = _cycles(edges)
    lines.append("")
    lines.append("Import cycles between these parts: " + ("; ".join(" ↔ ".join(group) for group in cycles)
                                                         if cycles else "none") + ".")
    return "\n".join(lines) + "\n"


# ---------------------------------------------------------------------------------------------------------------
# marker-delimited blocks and docstring checks
# ---------------------------------------------------------------------------------------------------------------

def _markers(name: str) -> tuple[str, str]:
    return f"<!-- {name}:start -->", f"<!-- {name}:end -->"


def read_block(text: str, name: str) -> str | None:
    """The text between `<!-- name:start -->` and `<!-- name:end -->` (without the line breaks around it)."""
    start, end = _markers(name)
    match = re.search(re.escape(start) + r"\n(.*?)" + re.escape(end), text, flags=re.S)
    return match.group(1) if match else None


def replace_block(text: str, name: str, content: str) -> str:
    """`text` with the block `name` holding `content`; a ValueError when the markers are missing."""
    start, end = _markers(name)
    if read_block(text, name) is None:
        raise ValueError(f"the markers {start} … {end} are missing")
    pattern = re.escape(start) + r"\n.*?" + re.escape(end)
    return re.sub(pattern, lambda _m: f"{start}\n{content}{end}", text, count=1, flags=re.S)


def docstring_problems(package_dir: Path = PACKAGE_DIR) -> list[str]:
    """What keeps the generated table honest: every module has a docstring; a package says what lives there."""
    problems = []
    for doc in modules(package_dir):
        where = doc.path.relative_to(package_dir.parent).as_posix()
        if not doc.summary:
            problems.append(f"{where}: no docstring (its first paragraph is its row in the README's table)")
            continue
        if doc.is_package:
            for phrase in ("Lives here", "Not here"):
                if phrase not in doc.docstring:
                    problems.append(f"{where}: the package's docstring lacks a \"{phrase}: …\" sentence")
    return problems
