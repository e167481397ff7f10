"""The real `cqp-graph` command with two referentials side by side (issue #9, "several referentials, really").

Each test runs `python -m cqp_graph` in a subprocess, from an empty working folder, on a data folder holding
the shipped referential and the second one written for the tests (`support.two_referentials`), with
`CQP_GRAPH_DATA` and `CQP_GRAPH_DIST` set. Expected values are read from each referential's own CSV files,
never from the program. Every command that acts on one referential takes `--referential NAME`; without it,
with two referentials, it stops with exit 2 and a French message naming both.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import xml.etree.ElementTree as ET
from dataclasses import dataclass
from pathlib import Path

import pytest

from .support import FIRST, ROOT, SECOND, csv_rows, two_referentials

BOTH = (FIRST, SECOND)
EXAMPLES = ROOT / "examples"


@dataclass
class Two:
    data: Path
    dist: Path
    cwd: Path
    env: dict

    def run(self, *args: str) -> subprocess.CompletedProcess:
        return subprocess.run([sys.executable, "-m", "cqp_graph", *args], cwd=self.cwd, env=self.env,
                              capture_output=True, text=True, timeout=600)

    def rows(self, referential: str, table: str) -> list[dict]:
        return csv_rows(table, self.data / referential)

    def certification(self, referential: str) -> dict[str, str]:
        return {r["property"]: r["value"] for r in self.rows(referential, "certification.csv")}


@pytest.fixture(scope="module")
def two(tmp_path_factory) -> Two:
    root = tmp_path_factory.mktemp("cli-referentials")
    data = two_referentials(root)
    cwd = root / "cwd"
    cwd.mkdir()
    env = dict(os.environ, CQP_GRAPH_DATA=str(data), CQP_GRAPH_DIST=str(root / "dist"), COLUMNS="250")
    for name in ("CQP_GRAPH_HOME", "CQP_GRAPH_BASE"):
        env.pop(name, None)
    return Two(data, root / "dist", cwd, env)


def one_line(text: str) -> str:
    return " ".join(text.split())


def assert_asks_which(done: subprocess.CompletedProcess):
    """Exit 2 and one French message naming both referentials, no traceback."""
    message = one_line(done.stderr)
    assert done.returncode == 2, (done.returncode, done.stdout[-500:], done.stderr[-2000:])
    assert "Traceback" not in done.stderr and message.startswith("erreur :"), message
    assert "référentiel" in message and all(name in message for name in BOTH), message


def test_build_writes_both_under_the_dist_setting(two):
    done = two.run("build")
    assert done.returncode == 0, done.stderr[-2000:]
    assert (two.dist / "graph.nt").stat().st_size > 0 and (two.dist / "validation.json").is_file()
    assert list(two.cwd.iterdir()) == [], "nothing written in the working folder"
    for name in BOTH:
        certification = two.certification(name)
        assert certification["title"] in done.stdout and certification["rncp_number"] in done.stdout, name


def test_certification_summary_lists_both(two):
    done = two.run("query", "certification-summary", "--format", "json")
    assert done.returncode == 0, done.stderr[-2000:]
    rows = json.loads(done.stdout)
    got = {(r["title"], str(r["rncp"])) for r in rows}
    assert got == {(two.certification(n)["title"], two.certification(n)["rncp_number"]) for n in BOTH}


@pytest.mark.parametrize("name", BOTH)
def test_export_rncp_of_each_carries_its_own_number(two, name):
    output = two.cwd.parent / f"rncp-{name}.xml"
    done = two.run("export-rncp", "--referential", name, "--output", str(output))
    assert done.returncode == 0, done.stderr[-2000:]
    certification = two.certification(name)
    fiche = ET.parse(output).getroot().find("FICHE")
    assert fiche.findtext("NUMERO_FICHE") == f"RNCP{certification['rncp_number']}"
    assert fiche.findtext("INTITULE") == certification["title"]
    blocks = [b.findtext("CODE") for b in fiche.iter("BLOC_COMPETENCES")]
    assert len(blocks) == len(two.rows(name, "blocks.csv")), blocks
    assert all(code.startswith(f"RNCP{certification['rncp_number']}BC") for code in blocks), blocks


def test_a_command_on_one_referential_asks_which(two):
    output = two.cwd.parent / "asked.xml"
    assert_asks_which(two.run("export-rncp", "--output", str(output)))
    unknown = two.run("export-rncp", "--referential", "nulle-part", "--output", str(output))
    assert_asks_which(unknown)
    assert "nulle-part" in one_line(unknown.stderr)
    assert not output.exists(), "no file is written when the referential is not chosen"
    # a results file that does not say which referential it is for
    results = two.cwd.parent / "sans-referentiel.yaml"
    results.write_text((EXAMPLES / "candidat-blocs.yaml").read_text(encoding="utf-8"), encoding="utf-8")
    assert_asks_which(two.run("decide", str(results)))


def test_decide_on_each(two):
    first = two.run("decide", str(EXAMPLES / "candidat-blocs.yaml"), "--referential", FIRST, "--format", "json")
    assert first.returncode == 0, first.stderr[-2000:]
    decision = json.loads(first.stdout)
    assert decision["referential"] == FIRST
    assert [b["code"] for b in decision["blocks"]] == [b["code"] for b in two.rows(FIRST, "blocks.csv")]
    assert decision["decision"] == "awarded"  # the example: "trois blocs acquis", evaluations as required

    # the second referential's own route, evaluators and thresholds, read from its rules.csv: every figure
    # one point above its threshold, except the last block's score, one point below
    rules = [r for r in two.rows(SECOND, "rules.csv") if r["route"] == "alternance"]
    block_min = next(float(r["min_percent"]) for r in rules if r["scope"] == "block")
    evaluator_min = {r["evaluator"]: float(r["min_percent"]) for r in rules if r["scope"] == "block-evaluator"}
    codes = [b["code"] for b in two.rows(SECOND, "blocks.csv")]
    lines = ["candidate: Essai", "route: alternance", "blocks:"]
    for code in codes:
        score = block_min - 1 if code == codes[-1] else block_min + 1
        evaluators = ", ".join(f"{e}: {m + 1}" for e, m in evaluator_min.items())
        lines.append(f"  {code}: {{score: {score}, evaluators: {{{evaluators}}}}}")
    results = two.cwd.parent / "second.yaml"
    results.write_text("\n".join(lines) + "\n", encoding="utf-8")
    second = two.run("decide", str(results), "--referential", SECOND, "--format", "json")
    assert second.returncode == 0, second.stderr[-2000:]
    decision = json.loads(second.stdout)
    assert decision["referential"] == SECOND and decision["route"]["code"] == "alternance"
    assert {b["code"]: b["decision"] == "acquired" for b in decision["blocks"]} == \
        {code: code != codes[-1] for code in codes}
    assert decision["decision"] != "awarded"
    # the first referential's results are not valid for the second (its evaluators and block B3 are unknown)
    crossed = two.run("decide", str(EXAMPLES / "candidat-blocs.yaml"), "--referential", SECOND)
    assert crossed.returncode == 2 and "Traceback" not in crossed.stderr, crossed.stderr[-2000:]


def test_coverage_on_each(two):
    for name, programme, trained in ((FIRST, EXAMPLES / "programme-lacunaire.yaml", None),
                                     (SECOND, None, [r["code"] for r in two.rows(SECOND, "competences.csv")][:3])):
        if programme is None:
            programme = two.cwd.parent / f"programme-{name}.yaml"
            programme.write_text("title: Essai\nmodules:\n  - code: MOD1\n    title: Réception\n    hours: 6\n"
                                 f"    competences: [{', '.join(trained)}]\n", encoding="utf-8")
        done = two.run("coverage", str(programme), "--referential", name, "--format", "json")
        assert done.returncode == 0, done.stderr[-2000:]
        result = json.loads(done.stdout)
        assert result["referential"] == name
        every = len(two.rows(name, "competences.csv")) + len(two.rows(name, "aptitudes.csv"))
        assert result["summary"]["competences"] == every, name
        if trained:
            assert result["summary"]["covered"] == len(trained)


@pytest.mark.parametrize("name", BOTH)
def test_report_on_each_under_the_dist_setting(two, name):
    done = two.run("report", "--referential", name)
    assert done.returncode == 0, done.stderr[-2000:]
    folder = two.dist / "rapport" / name  # several referentials: one folder each
    figures = json.loads((folder / "rapport.json").read_text(encoding="utf-8"))
    certification = two.certification(name)
    assert figures["title"] == certification["title"]
    assert str(figures["summary"]["rncp"]) == certification["rncp_number"]
    assert {"rapport.html", "rapport.md", "matrice.csv", "reseau.svg"} <= {p.name for p in folder.iterdir()}
    assert certification["title"] in (folder / "rapport.md").read_text(encoding="utf-8")


def test_analyze_default_folder_follows_the_dist_setting(two):
    done = two.run("analyze", "--referential", SECOND)
    assert done.returncode == 0, done.stderr[-2000:]
    results = json.loads((two.dist / "analyses" / SECOND / "analyses.json").read_text(encoding="utf-8"))
    assert results["summary"]["missions"] == len(two.rows(SECOND, "missions.csv"))
    assert not (two.dist / "analyses" / "analyses.json").exists(), "each referential in its own folder"
