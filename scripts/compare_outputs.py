#!/usr/bin/env python3
"""Compare what two source trees of cqp-graph answer on the shipped referential.

Each tree runs its own code (`PYTHONPATH=<tree> python -m cqp_graph …`, `CQP_GRAPH_HOME=<tree>`,
`CQP_GRAPH_DIST=<a temporary folder>`, from a neutral working folder so that neither the current folder nor an
editable install can lend it the other tree's package). Collected for each tree: every named query with the
example parameters of its header (JSON), `build` (the dumps, compared as graphs), `export-rncp`, `export-elm`
(Turtle and JSON-LD, on a copy of the data where the EQF and NQF levels are known, plus the refusal on the shipped data),
`report` (JSON, Markdown, CSV), `coverage` and `decide` on every file of `examples/`, `analyze`
(`analyses.json`), and the server (`serve --workers 1`): home page, REST resources, a mission and a competence
page, `/dataset`, a SPARQL SELECT, a decision and a programme coverage over HTTP.

The new tree is also asked through what it adds for several referentials, each answer compared with the old
tree's answer for all: every named query with `referential=agc-alimentaire` (`query/NAME@referential`), and
`/api/referentials/agc-alimentaire/…` against the old short routes (`serve/ref-…`).

The old side is collected once into a baseline folder (`--baseline`, reused until `--refresh-baseline`); the
new side is collected on every run. Runs use PYTHONHASHSEED=0 (two runs of one tree then answer byte for byte
alike). The comparison prints one row per output: `same`, `same + expected` (only the additions the
several-referentials work brings: `cqp:inReferential` / `cqp:referentialName` triples and the ontology's
definitions of these two terms, a `referential` key or column), `reordered` (the same codes in a list, or in a
`|`-joined GROUP_CONCAT, in another order), `differs` (with a short summary), `new only`,
`old only` or `error`; the exit code is 1 when a row differs, failed or is missing.

Usage:
    python scripts/compare_outputs.py [--old /tmp/premove] [--new .] [--baseline /tmp/coord/baseline]
                                      [--refresh-baseline] [--work DIR] [--collect-only old|new]

Lives here: the collection and comparison of outputs between two trees. Not here: anything the package
itself uses; this script never imports `cqp_graph` (it runs each tree in its own process).
"""
from __future__ import annotations

import argparse
import csv
import difflib
import io
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parent.parent
EXPECTED_PREDICATES = {"inReferential", "referentialName"}
EXPECTED_KEYS = {"referential", "referentials"}
FORMATS = {".ttl": "turtle", ".nt": "nt", ".jsonld": "json-ld", ".rdf": "xml"}
REFERENTIAL = "agc-alimentaire"
SERVER = "http://server"   # the server's address (its port changes from run to run) in what it answers


# --------------------------------------------------------------------------------------------------------------
# collecting one tree's outputs
# --------------------------------------------------------------------------------------------------------------

class Runner:
    """Runs one tree's `python -m cqp_graph …` in a clean environment and records every run."""

    def __init__(self, tree: Path, out: Path, python: str, role: str):
        self.tree, self.out, self.python, self.role = tree, out, python, role
        self.work = Path(tempfile.mkdtemp(prefix="cqp-compare-"))
        self.cwd = self.work / "cwd"
        self.dist = self.work / "dist"
        self.cwd.mkdir()
        self.runs: dict[str, dict] = {}

    def env(self, **extra) -> dict:
        env = {k: v for k, v in os.environ.items()
               if not k.startswith("CQP_GRAPH_") and k not in ("PYTHONPATH", "COVERAGE_PROCESS_START")}
        env.update(PYTHONPATH=str(self.tree), CQP_GRAPH_HOME=str(self.tree), CQP_GRAPH_DIST=str(self.dist),
                   COLUMNS="200", NO_COLOR="1", TERM="dumb", PYTHONDONTWRITEBYTECODE="1",
                   PYTHONHASHSEED="0")   # set and dict orders (GROUP_CONCAT, Louvain) alike from run to run
        env.update(extra)
        return env

    def package_file(self) -> str:
        done = subprocess.run([self.python, "-c", "import cqp_graph; print(cqp_graph.__file__)"],
                              cwd=self.cwd, env=self.env(), capture_output=True, text=True, timeout=120)
        return done.stdout.strip()

    def check_origin(self) -> str:
        """The package imported must be the tree's own; if not, run from a copy of the tree."""
        found = self.package_file()
        if found and Path(found).resolve().is_relative_to((self.tree / "cqp_graph").resolve()):
            return found
        copy = self.work / "tree"
        shutil.copytree(self.tree, copy, ignore=shutil.ignore_patterns(".venv", ".git", "dist", "__pycache__",
                                                                       "*.egg-info", "test-artifacts"))
        self.tree = copy
        found = self.package_file()
        if not (found and Path(found).resolve().is_relative_to((copy / "cqp_graph").resolve())):
            sys.exit(f"cqp_graph is imported from {found or '(nothing)'}, not from {self.tree}: stopping")
        return found

    def cli(self, output: str, *args: str, stdout_to: str | None = None, stderr_to: str | None = None,
            timeout: int = 600, **env) -> int:
        started = time.perf_counter()
        done = subprocess.run([self.python, "-m", "cqp_graph", *args], cwd=self.cwd, env=self.env(**env),
                              capture_output=True, text=True, timeout=timeout)
        if stdout_to:
            self.write(stdout_to, done.stdout)
        if stderr_to:
            self.write(stderr_to, done.stderr)
        self.runs[output] = {"args": list(args), "rc": done.returncode, "seconds": round(time.perf_counter() - started, 2),
                             "stderr": done.stderr[-2000:], "stdout": done.stdout[-2000:] if not stdout_to else ""}
        return done.returncode

    def write(self, name: str, text: str | bytes) -> None:
        path = self.out / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(text if isinstance(text, bytes) else text.encode("utf-8"))

    def keep(self, source: Path, name: str) -> None:
        if source.is_file():
            self.write(name, source.read_bytes())


def query_headers(tree: Path) -> list[tuple[str, dict]]:
    """(name, parameters) of every named query in queries/*.rq, read from its YAML header."""
    found = []
    for path in sorted((tree / "queries").glob("*.rq")):
        lines, inside = [], False
        for line in path.read_text(encoding="utf-8").splitlines():
            if line.strip() == "# ---":
                if inside:
                    break
                inside = True
                continue
            if inside:
                lines.append(line[2:] if line.startswith("# ") else line.lstrip("#"))
        header = yaml.safe_load("\n".join(lines)) or {}
        found.append((path.stem, header.get("params") or {}))
    return found


def collect(tree: Path, out: Path, python: str, role: str, log=print) -> None:
    """Run every output of `tree` into `out`; `role` "old" asks the short routes where "new" asks new ones."""
    if out.exists():
        shutil.rmtree(out)
    out.mkdir(parents=True)
    run = Runner(tree, out, python, role)
    origin = run.check_origin()
    log(f"[{tree}] cqp_graph from {origin}")
    try:
        _collect(run, log)
    finally:
        (out / "runs.json").write_text(json.dumps({"tree": str(tree), "package": origin, "when": time.strftime("%F %T"),
                                                   "runs": run.runs}, ensure_ascii=False, indent=1))
        shutil.rmtree(run.work, ignore_errors=True)


def _collect(run: Runner, log) -> None:
    tree = run.tree
    log("  build")
    run.cli("build", "build", stdout_to="build/summary.txt")
    for name in ("graph.ttl", "graph.nt", "graph.jsonld", "graph.rdf", "context.jsonld", "validation.json"):
        run.keep(run.dist / name, f"build/{name}")

    log("  named queries")
    for name, params in query_headers(tree):
        args = []
        for key, spec in params.items():
            spec = spec or {}
            if key != "referential" and "example" in spec:
                args += ["--param", f"{key}={spec['example']}"]
        run.cli(f"query/{name}", "query", name, *args, "--format", "json", stdout_to=f"query/{name}.json")
        if "referential" in params:
            run.cli(f"query/{name}@referential", "query", name, *args, "--param", f"referential={REFERENTIAL}",
                    "--format", "json", stdout_to=f"query/{name}@referential.json")

    log("  exports")
    run.cli("export-rncp", "export-rncp", "--output", str(run.out / "export/rncp.xml"))
    run.cli("export-elm (refusal)", "export-elm", "--output", str(run.work / "refused.ttl"),
            stderr_to="export/elm-refusal.txt")
    data = run.work / "data-eqf"
    shutil.copytree(tree / "data", data)
    _set_publication(data / REFERENTIAL / "publication.csv", {"eqf-level": "4", "nqf-level": "4"})
    run.cli("export-elm.ttl", "export-elm", "--data", str(data), "--output", str(run.out / "export/elm.ttl"))
    run.cli("export-elm.jsonld", "export-elm", "--data", str(data), "--output", str(run.out / "export/elm.jsonld"))

    log("  report, analyze")
    run.cli("report", "report", "--output", str(run.out / "report"))
    for picture in (run.out / "report").glob("*.svg"):
        picture.unlink()   # drawn by matplotlib: ids and metadata vary between runs (compared as data in rapport.json)
    run.cli("analyze", "analyze", "--output", str(run.work / "analyses"), stdout_to="analyze/stdout.txt")
    run.keep(run.work / "analyses" / "analyses.json", "analyze/analyses.json")

    log("  coverage, decide")
    # the same relative path in both trees: a programme's IRI carries a digest of the path it was read from
    shutil.copytree(tree / "examples", run.cwd / "examples")
    for example in sorted((run.cwd / "examples").iterdir()):
        relative = f"examples/{example.name}"
        if example.name.startswith("programme"):
            run.cli(f"coverage/{example.name}", "coverage", relative, "--format", "json",
                    stdout_to=f"coverage/{example.name}.json")
        elif example.name.startswith("candidat"):
            run.cli(f"decide/{example.name}", "decide", relative, "--format", "json",
                    stdout_to=f"decide/{example.name}.json")
            run.cli(f"decide/{example.name} (text)", "decide", relative, "--format", "text",
                    stdout_to=f"decide/{example.name}.txt")

    log("  server")
    _collect_server(run)


def _set_publication(path: Path, values: dict[str, str]) -> None:
    with path.open(encoding="utf-8", newline="") as handle:
        rows = list(csv.DictReader(handle))
    fields = list(rows[0])
    for row in rows:
        if row["code"] in values:
            row["value"] = values[row["code"]]
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=fields, lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)
    path.write_text(buffer.getvalue(), encoding="utf-8")


R = f"/api/referentials/{REFERENTIAL}"
SERVER_GETS = [
    # (output name, path, Accept[, the old tree's path for the same answer: its short route; None: new only])
    ("home.html", "/", "text/html"),
    ("api-missions.json", "/api/missions", "application/json"),
    ("api-mission-M3.json", "/api/missions/M3", "application/json"),
    ("api-missions-M3-competences.json", "/api/missions/M3/competences", "application/json"),
    ("api-competences.json", "/api/competences", "application/json"),
    ("api-competence-RC2.json", "/api/competences/RC2", "application/json"),
    ("api-blocks.json", "/api/blocks", "application/json"),
    ("api-domains.json", "/api/domains", "application/json"),
    ("api-coverage.json", "/api/coverage", "application/json"),
    ("api-query-competences-for-mission.json", "/api/queries/competences-for-mission?mission=M3", "application/json"),
    ("mission-M3.html", f"/{REFERENTIAL}/mission/M3.html", "text/html"),
    ("competence-RC2.html", f"/{REFERENTIAL}/competence/RC2.html", "text/html"),
    ("mission-M3.ttl", f"/{REFERENTIAL}/mission/M3.ttl", "text/turtle"),
    ("dataset.ttl", "/dataset", "text/turtle"),
    ("api-referentials.json", "/api/referentials", "application/json", None),
    ("ref-missions.json", f"{R}/missions", "application/json", "/api/missions"),
    ("ref-missions-M3-competences.json", f"{R}/missions/M3/competences", "application/json",
     "/api/missions/M3/competences"),
    ("ref-competences.json", f"{R}/competences", "application/json", "/api/competences"),
    ("ref-competence-RC2.json", f"{R}/competences/RC2", "application/json", "/api/competences/RC2"),
    ("ref-blocks.json", f"{R}/blocks", "application/json", "/api/blocks"),
    ("ref-domains.json", f"{R}/domains", "application/json", "/api/domains"),
    ("ref-coverage.json", f"{R}/coverage", "application/json", "/api/coverage"),
]
SPARQL_SELECT = """PREFIX cqp: <https://w3id.org/cqp-graph/ontology#>
SELECT ?mission ?code WHERE { ?m a cqp:Mission ; cqp:code ?mission ; cqp:requiresCompetence/cqp:code ?code }
ORDER BY ?mission ?code"""


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _fetch(url: str, accept: str, data: bytes | None = None, content_type: str | None = None) -> tuple[int, bytes]:
    request = urllib.request.Request(url, data=data, headers={"Accept": accept})
    if content_type:
        request.add_header("Content-Type", content_type)
    try:
        with urllib.request.urlopen(request, timeout=60) as answer:
            return answer.status, answer.read()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read()


def _collect_server(run: Runner) -> None:
    port = _free_port()
    log_path = run.work / "serve.log"
    with log_path.open("wb") as log:
        server = subprocess.Popen([run.python, "-m", "cqp_graph", "serve", "--port", str(port), "--workers", "1"],
                                  cwd=run.cwd, env=run.env(), stdout=log, stderr=subprocess.STDOUT,
                                  start_new_session=True)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 180
        while time.monotonic() < deadline and server.poll() is None:
            try:
                if _fetch(base + "/health", "application/json")[0] == 200:
                    break
            except OSError:
                pass
            time.sleep(0.5)
        else:
            run.runs["serve"] = {"rc": server.poll(), "stderr": log_path.read_text(errors="replace")[-2000:]}
            return
        run.runs["serve"] = {"rc": 0, "port": port}
        for name, path, accept, *old_path in SERVER_GETS:
            if run.role == "old" and old_path:
                path = old_path[0]
                if path is None:
                    continue
            status, body = _fetch(base + path, accept)
            run.runs[f"serve/{name}"] = {"rc": 0 if status == 200 else status, "path": path}
            run.write(f"serve/{name}", body.replace(base.encode(), SERVER.encode()))
        query = urllib.parse.urlencode({"query": SPARQL_SELECT})
        status, body = _fetch(f"{base}/sparql?{query}", "application/sparql-results+json")
        run.runs["serve/sparql-select.json"] = {"rc": 0 if status == 200 else status, "path": "/sparql"}
        run.write("serve/sparql-select.json", body.replace(base.encode(), SERVER.encode()))
        for name, path, example, media in (
                ("post-decisions.json", "/api/decisions", "candidat-formation.yaml", "application/yaml"),
                ("post-coverage-programme.json", "/api/coverage/programme", "programme-lacunaire.yaml",
                 "application/yaml")):
            status, body = _fetch(base + path, "application/json", (run.tree / "examples" / example).read_bytes(), media)
            run.runs[f"serve/{name}"] = {"rc": 0 if status == 200 else status, "path": path}
            run.write(f"serve/{name}", body.replace(base.encode(), SERVER.encode()))
    finally:
        if server.poll() is None:
            os.killpg(server.pid, signal.SIGINT)
            try:
                server.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(server.pid, signal.SIGKILL)
                server.wait()
        run.keep(log_path, "serve/serve.log")


# --------------------------------------------------------------------------------------------------------------
# comparing
# --------------------------------------------------------------------------------------------------------------

def _local(iri) -> str:
    return re.split(r"[#/]", str(iri))[-1]


def compare_graphs(old: Path, new: Path, fmt: str) -> tuple[str, str]:
    from rdflib import Graph
    from rdflib.compare import graph_diff, isomorphic, to_isomorphic

    a, b = Graph(), Graph()
    a.parse(old, format=fmt)
    b.parse(new, format=fmt)
    if isomorphic(a, b):
        return "same", f"{len(a)} triples, isomorphic"
    expected = Graph()
    for triple in b:   # the new triples, and the ontology's definitions of the new terms
        if _local(triple[1]) in EXPECTED_PREDICATES or _local(triple[0]) in EXPECTED_PREDICATES:
            expected.add(triple)
    b_rest = b - expected
    if len(expected) and isomorphic(a, b_rest):
        by = _count_by_predicate(expected)
        return "same + expected", f"{len(a)} triples alike; added {by}"
    _both, only_old, only_new = graph_diff(to_isomorphic(a), to_isomorphic(b_rest))
    parts = []
    if len(expected):
        parts.append(f"expected added {_count_by_predicate(expected)}")
    if len(only_old):
        parts.append(f"removed {_count_by_predicate(only_old)}")
    if len(only_new):
        parts.append(f"added {_count_by_predicate(only_new)}")
    examples = sorted(f"-{_short_triple(t)}" for t in only_old)[:2] + sorted(f"+{_short_triple(t)}" for t in only_new)[:2]
    return "differs", f"{len(a)} → {len(b)} triples; " + "; ".join(parts) + ("; e.g. " + " | ".join(examples) if examples else "")


def _count_by_predicate(graph) -> str:
    counts: dict[str, int] = {}
    for _s, p, _o in graph:
        counts[_local(p)] = counts.get(_local(p), 0) + 1
    return ", ".join(f"{k} ×{v}" for k, v in sorted(counts.items(), key=lambda kv: (-kv[1], kv[0])))


def _short_triple(triple) -> str:
    return " ".join(_local(t) if not hasattr(t, "datatype") else repr(str(t))[:40] for t in triple)


def json_differences(a, b, path: str = "$") -> list[tuple[str, str]]:
    """(kind, where) for every difference; kind 'expected' for a `referential` key only the new side has."""
    if isinstance(a, dict) and isinstance(b, dict):
        found = []
        for key in b.keys() - a.keys():
            found.append(("expected" if key in EXPECTED_KEYS else "added", f"{path}.{key}"))
        for key in a.keys() - b.keys():
            found.append(("removed", f"{path}.{key}"))
        for key in a.keys() & b.keys():
            found += json_differences(a[key], b[key], f"{path}.{key}")
        return found
    if isinstance(a, list) and isinstance(b, list):
        if a != b and all(isinstance(x, str) for x in a + b) and sorted(a) == sorted(b):
            return [("order", f"{path}")]   # the same codes in another order (rows, lists of dicts, stay strict)
        if len(a) != len(b):
            return [("changed", f"{path} length {len(a)} → {len(b)}")]
        found = []
        for index, (x, y) in enumerate(zip(a, b)):
            found += json_differences(x, y, f"{path}[{index}]")
        return found
    if a == b and type(a) is type(b):
        return []
    if isinstance(a, str) and isinstance(b, str) and "|" in a and sorted(a.split("|")) == sorted(b.split("|")):
        return [("order", f"{path}")]   # a GROUP_CONCAT, whose order SPARQL leaves open
    return [("changed", f"{path}: {_clip(a)} → {_clip(b)}")]


def _clip(value, width: int = 50) -> str:
    text = json.dumps(value, ensure_ascii=False)
    return text if len(text) <= width else text[:width - 1] + "…"


def _generic_path(where: str) -> str:
    return re.sub(r"\[\d+\]", "[]", where.split(" ")[0].split(":")[0])


def compare_json(old: Path, new: Path) -> tuple[str, str]:
    try:
        a = json.loads(old.read_text(encoding="utf-8"))
        b = json.loads(new.read_text(encoding="utf-8"))
    except ValueError as exc:
        return compare_text(old, new)[0], f"not JSON ({exc.__class__.__name__}); " + compare_text(old, new)[1]
    if isinstance(a, dict) and isinstance(b, dict) and "results" in a and "head" in a:   # SPARQL results
        key = lambda r: json.dumps(r, sort_keys=True)   # noqa: E731
        a = {"head": a["head"], "bindings": sorted(a["results"]["bindings"], key=key)}
        b = {"head": b.get("head"), "bindings": sorted(b.get("results", {}).get("bindings", []), key=key)}
    found = json_differences(a, b)
    if not found:
        return "same", _json_size(a)
    expected = [w for k, w in found if k == "expected"]
    order = [w for k, w in found if k == "order"]
    other = [(k, w) for k, w in found if k not in ("expected", "order")]
    notes = []
    if order:
        notes.append(f"same items in another order ×{len(order)}: {', '.join(order[:2])}"
                     + ("…" if len(order) > 2 else ""))
    if expected:
        where = sorted({_generic_path(w) for w in expected})
        notes.append(f"expected key added ×{len(expected)} ({', '.join(where[:3])}{'…' if len(where) > 3 else ''})")
    note = "; ".join(notes)
    if not other:
        verdict = "reordered" if order else "same"
        return (verdict + (" + expected" if expected else "")), f"{_json_size(a)}; {note}"
    shown = "; ".join(f"{k} {w}" for k, w in other[:3])
    more = f" (+{len(other) - 3} more)" if len(other) > 3 else ""
    return "differs", (note + "; " if note else "") + f"{len(other)} difference(s): {shown}{more}"


def _json_size(value) -> str:
    if isinstance(value, list):
        return f"{len(value)} rows"
    if isinstance(value, dict) and "bindings" in value:
        return f"{len(value['bindings'])} bindings"
    if isinstance(value, dict):
        return f"{len(value)} keys"
    return "equal"


def compare_text(old: Path, new: Path, drop: str | None = None, strip: str | None = None) -> tuple[str, str]:
    def lines(path):
        text = path.read_text(encoding="utf-8", errors="replace")
        if strip:
            text = re.sub(strip, "", text, flags=re.S)
        kept = [line.rstrip() for line in text.splitlines()]
        if drop:
            kept = [line for line in kept if not re.search(drop, line)]
        return kept

    a, b = lines(old), lines(new)
    if a == b:
        return "same", f"{len(a)} lines"
    hunks, removed, added = [], 0, 0
    for tag, i1, i2, j1, j2 in difflib.SequenceMatcher(None, a, b, autojunk=False).get_opcodes():
        if tag == "equal":
            continue
        removed, added = removed + i2 - i1, added + j2 - j1
        hunks.append(_hunk(a[i1:i2], b[j1:j2]))
    shown = "; ".join(hunks[:3]) + (f"; (+{len(hunks) - 3} more)" if len(hunks) > 3 else "")
    return "differs", f"{removed} line(s) removed, {added} added: {shown}"


def _hunk(old: list[str], new: list[str], width: int = 60) -> str:
    """One change, short: where two lines part, or the first line added or removed."""
    if old and new:
        x, y = old[0].strip(), new[0].strip()
        start = next((i for i, (p, q) in enumerate(zip(x, y)) if p != q), min(len(x), len(y)))
        start = max(0, start - 15)
        more = f" (+{len(new) - 1} line(s))" if len(new) > 1 else ""
        return f"«…{x[start:start + width]}» → «…{y[start:start + width]}»{more}"
    lines, sign = (new, "+") if new else (old, "-")
    text = lines[0].strip()
    text = text if len(text) <= width else text[:width - 1] + "…"
    return f"{sign}«{text}»" + (f" (+{len(lines) - 1} line(s))" if len(lines) > 1 else "")


def compare_file(old: Path, new: Path, name: str) -> tuple[str, str]:
    suffix = Path(name).suffix
    if name.startswith(("build/graph", "export/elm", "serve/dataset", "serve/mission-M3.ttl")) and suffix in FORMATS:
        return compare_graphs(old, new, FORMATS[suffix])
    if suffix in (".json", ".jsonld"):
        return compare_json(old, new)
    if name == "build/summary.txt":
        return compare_text(old, new, drop=r"build \+ validate:|écrit ")
    if name.endswith(".html"):
        return compare_text(old, new, strip=r"<svg.*?</svg>")
    if name.startswith("analyze/stdout"):
        return compare_text(old, new, drop=r"^écrit ")
    return compare_text(old, new)


def compare(old_dir: Path, new_dir: Path) -> list[tuple[str, str, str]]:
    runs_old = json.loads((old_dir / "runs.json").read_text())["runs"]
    runs_new = json.loads((new_dir / "runs.json").read_text())["runs"]
    rows = []
    files_old = {str(p.relative_to(old_dir)) for p in old_dir.rglob("*") if p.is_file()}
    files_new = {str(p.relative_to(new_dir)) for p in new_dir.rglob("*") if p.is_file()}
    skip = {"runs.json", "serve/serve.log"}
    for name in sorted((files_old | files_new) - skip):
        old_name = name.replace("@referential", "")   # asked for the one referential: the old answer for all
        if name not in files_new:
            rows.append((name, "old only", _failure(runs_new, name) or "not produced by the new tree"))
        elif old_name not in files_old:
            failure = _failure(runs_new, name)
            rows.append((name, "error" if failure else "new only", failure or "not produced by the old tree"))
        else:
            failure = _failure(runs_new, name)
            if failure and not _failure(runs_old, old_name):
                rows.append((name, "error", failure))
                continue
            try:
                verdict, summary = compare_file(old_dir / old_name, new_dir / name, name)
                if old_name != name:
                    summary += f" (vs the old {old_name})"
            except Exception as exc:   # a parse error is a finding, not a crash of the comparison
                verdict, summary = "error", f"{exc.__class__.__name__}: {_clip(str(exc), 120)}"
            if failure:
                summary += f" (both runs failed alike? old: {_failure(runs_old, old_name)})"
            rows.append((name, verdict, summary))
    for key, run in sorted(runs_new.items()):   # failed runs that left no output to compare
        if run.get("rc") and key not in runs_old and not any(r[0].startswith(key) for r in rows):
            rows.append((key, "error", f"exit {run['rc']}: {_clip(run.get('stderr', '').strip(), 160)}"))
    old_rc = {k: r.get("rc") for k, r in runs_old.items()}
    new_rc = {k: r.get("rc") for k, r in runs_new.items()}
    for key in sorted(old_rc.keys() & new_rc.keys()):
        if old_rc[key] != new_rc[key] and not any(r[0].startswith(key) and r[1] == "error" for r in rows):
            rows.append((key + " (exit code)", "differs", f"{old_rc[key]} → {new_rc[key]}"))
    return rows


def _failure(runs: dict, name: str) -> str:
    key = name
    for suffix in (".json", ".txt"):
        if key.endswith(suffix) and key[: -len(suffix)] in runs:
            key = key[: -len(suffix)]
    run = runs.get(key) or runs.get(name)
    if run and run.get("rc"):
        return f"exit {run['rc']}: {_clip((run.get('stderr') or '').strip(), 160)}"
    return ""


def table(rows: list[tuple[str, str, str]]) -> str:
    lines = ["| output | verdict | summary |", "| --- | --- | --- |"]
    lines += [f"| `{name}` | {verdict} | {summary.replace('|', '¦')} |" for name, verdict, summary in rows]
    counts: dict[str, int] = {}
    for _n, verdict, _s in rows:
        counts[verdict] = counts.get(verdict, 0) + 1
    lines.append("")
    lines.append("totals: " + ", ".join(f"{v} {k}" for k, v in sorted(counts.items())))
    return "\n".join(lines)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--old", type=Path, default=Path("/tmp/premove"))
    parser.add_argument("--new", type=Path, default=ROOT)
    parser.add_argument("--baseline", type=Path, default=Path("/tmp/coord/baseline"),
                        help="folder of the old tree's outputs (collected when absent)")
    parser.add_argument("--refresh-baseline", action="store_true", help="collect the old side again")
    parser.add_argument("--work", type=Path, default=Path(tempfile.gettempdir()) / "cqp-compare-new",
                        help="folder for the new tree's outputs (replaced on every run)")
    parser.add_argument("--python", default=sys.executable, help="interpreter that runs both trees")
    parser.add_argument("--collect-only", choices=("old", "new"))
    parser.add_argument("--output", type=Path, help="also write the table (Markdown) here")
    args = parser.parse_args(argv)
    log = lambda message: print(message, file=sys.stderr, flush=True)   # noqa: E731

    if args.refresh_baseline or not (args.baseline / "runs.json").exists() or args.collect_only == "old":
        log(f"collecting the old tree {args.old} into {args.baseline}")
        collect(args.old.resolve(), args.baseline, args.python, "old", log)
    if args.collect_only == "old":
        return 0
    log(f"collecting the new tree {args.new} into {args.work}")
    collect(args.new.resolve(), args.work, args.python, "new", log)
    if args.collect_only == "new":
        return 0
    rows = compare(args.baseline, args.work)
    text = table(rows)
    print(text)
    if args.output:
        args.output.write_text(text + "\n", encoding="utf-8")
    return 1 if any(verdict in ("differs", "error", "old only") for _n, verdict, _s in rows) else 0


if __name__ == "__main__":
    sys.exit(main())
