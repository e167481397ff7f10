"""Findings a person who edits data/*.csv can act on: the CSV file and line, in French, filterable by severity.

A copy of the data folder is broken on purpose (an activity of a mission that does not exist, a requirement of a
competence that does not exist); the expected file and line are read from the CSV files themselves (the line
where the broken record starts), never from the program. The CLI (`validate`, `--severity`) and the page
(`/findings?severity=`) are checked; the page runs over the shipped data, whose findings are warnings and
informations (a graph with a violation is never served).
"""

from __future__ import annotations

import csv
import json
import os
import re
import subprocess
import sys

import pytest

from cqp_graph.graph.pipeline import run_pipeline
from cqp_graph.graph.validate import locate, severity_key, severity_labels

from .support import FIRST, REFERENTIAL, ROOT, csv_rows, edit_csv, set_cell, settings_for

#: words of pyshacl's own (English) messages, which a person must never read
ENGLISH = re.compile(r"\b(Value|does not|Less than|More than|not conform|Node)\b")


def record_lines(path) -> dict[str, int]:
    """The line where each record of a CSV file starts, by the value of its first column (a record may span
    several lines when a cell holds a line break)."""
    lines, previous = {}, 1
    with path.open(encoding="utf-8", newline="") as handle:
        reader = csv.reader(handle)
        next(reader)
        for record in reader:
            lines.setdefault(record[0], previous + 1)
            previous = reader.line_num
    return lines


def requirement_line(path, mission: str, competence: str) -> int:
    previous = 1
    with path.open(encoding="utf-8", newline="") as handle:
        reader = csv.DictReader(handle)
        for row in reader:
            if row["mission"] == mission and row["competence"] == competence:
                return previous + 1
            previous = reader.line_num
    raise AssertionError(f"no requirement {mission} {competence}")


def cli(*args, env=None):
    return subprocess.run([sys.executable, "-m", "cqp_graph", *args], capture_output=True, text=True, cwd=ROOT,
                          env=env, timeout=600)


def test_a_broken_row_is_found_at_its_file_and_line_in_french(data_copy, tmp_path):
    activity = csv_rows("activities.csv")[2]["code"]  # the third activity, whatever its mission
    missions = {r["code"] for r in csv_rows("missions.csv")}
    unknown = next(f"M{n}" for n in range(9, 99) if f"M{n}" not in missions)
    edit_csv(data_copy, "activities.csv", set_cell("code", activity, "mission", unknown))
    expected_line = record_lines(data_copy / FIRST / "activities.csv")[activity]

    done = cli("validate", "--data", str(data_copy), "--format", "json")
    assert done.returncode == 1, done.stderr[-2000:]
    findings = json.loads(done.stdout)
    hits = [f for f in findings if f["severity"] == "Violation" and f["focus"].endswith(f"/activity/{activity}")]
    assert hits, findings[:3]
    assert {(f["file"], f["line"]) for f in hits} == {(f"{FIRST}/activities.csv", expected_line)}
    assert all(f["severity_label"] == "Violation" for f in hits)
    for f in findings:
        assert not ENGLISH.search(f["message"]), f["message"]

    # the table a person reads: the file's name and line, the severity in French, the summary line
    table = cli("validate", "--data", str(data_copy), "--severity", "violation", env={**os.environ,
                                                                                     "COLUMNS": "80"})
    assert table.returncode == 1, table.stderr[-2000:]
    assert f"activities.csv:{expected_line}" in table.stdout
    assert "Avertissement" not in table.stdout and "Information" not in table.stdout  # filtered out
    violations = sum(1 for f in findings if f["severity"] == "Violation")
    summary = " ".join(table.stdout.split())
    assert re.search(rf"{len(findings)} constats : {violations} violations?, \d+ avertissements?, \d+ informations? "
                     rf"\({violations} affichés?\)", summary), summary[-400:]


def test_severity_filter_of_validate():
    everything = json.loads(cli("validate", "--format", "json").stdout)
    for word, key in (("information", "Info"), ("warning", "Warning")):
        done = cli("validate", "--severity", word, "--format", "json")
        assert done.returncode == 0, done.stderr[-2000:]
        shown = json.loads(done.stdout)
        assert shown and {f["severity"] for f in shown} == {key}
        assert len(shown) == sum(1 for f in everything if f["severity"] == key)


@pytest.mark.parametrize("word,key", [("information", "Info"), ("INFO", "Info"), ("Avertissement", "Warning"),
                                      ("sh:Warning", "Warning"), ("violation", "Violation"), ("grave", None)])
def test_severity_words(shapes, word, key):
    assert severity_key(word, severity_labels(shapes)) == key


def test_an_unknown_severity_is_refused_in_french():
    done = cli("validate", "--severity", "grave")
    assert done.returncode == 2
    message = " ".join(done.stderr.split())
    assert "« grave » inconnue" in message and "avertissement" in message and "information" in message


def test_a_requirement_of_an_unknown_competence_points_at_requirements_csv(data_copy, tmp_path):
    first = csv_rows("requirements.csv")[4]
    competences = {r["code"] for r in csv_rows("competences.csv")}
    unknown = next(f"ZZSF{n}" for n in range(1, 99) if f"ZZSF{n}" not in competences)

    def change(rows):
        for r in rows:
            if r["mission"] == first["mission"] and r["competence"] == first["competence"]:
                r["competence"] = unknown

    edit_csv(data_copy, "requirements.csv", change)
    settings = settings_for(data_copy, tmp_path)
    report = locate(run_pipeline(settings, require_valid=False, quality=False).report, settings)
    line = requirement_line(data_copy / FIRST / "requirements.csv", first["mission"], unknown)
    about = [f for f in report.violations if f.value and f.value.endswith(f"/competence/{unknown}")]
    assert about, [f.message for f in report.violations]
    assert {(f.file, f.line) for f in about} == {(f"{FIRST}/requirements.csv", line)}
    assert all(not ENGLISH.search(f.message) for f in report.findings)


# -- the page ----------------------------------------------------------------------------------------------------

def unused_competence() -> str:
    """A coded competence of the shipped data that no requirement names (the data hold one: RC1)."""
    needed = {r["competence"] for r in csv_rows("requirements.csv")}
    unused = [r["code"] for r in csv_rows("competences.csv") if r["code"] not in needed]
    assert unused
    return unused[0]


def test_findings_page_names_file_and_line_and_links_the_resource(app_client):
    code = unused_competence()
    line = record_lines(REFERENTIAL / "competences.csv")[code]
    page = app_client.get("/findings")
    assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
    text = page.text
    row = next(r for r in text.split("<tr") if f"/competence/{code}\"" in r and "Avertissement" in r)
    assert f"{FIRST}/competences.csv</code>, ligne {line}" in row
    assert f'href="/{FIRST}/competence/{code}"' in row
    assert 'aria-current="page"' in text and ">Constats<" in text


@pytest.mark.parametrize("param,label,others", [
    ("avertissement", "Avertissement", ("Information", "Violation")),
    ("info", "Information", ("Avertissement", "Violation")),
])
def test_findings_page_filters_by_severity(app_client, param, label, others):
    page = app_client.get("/findings", params={"severity": param})
    assert page.status_code == 200
    cells = re.findall(r'<tr class="severity-\w+">\s*<td>([^<]+)</td>', page.text)
    assert cells and set(cells) == {label}
    data = app_client.get("/findings", params={"severity": param, "format": "json"}).json()
    assert len(data) == len(cells) and all(f["severity_label"] == label for f in data)
    assert all(f["file"] and f["line"] >= 2 for f in data)
    csv_text = app_client.get("/findings", params={"severity": param, "format": "csv"}).text
    assert csv_text.splitlines()[0].startswith("severity,severity_label,file,line")
    assert len(list(csv.reader(csv_text.splitlines()))) == len(data) + 1


def test_findings_page_refuses_an_unknown_severity_in_french(app_client):
    page = app_client.get("/findings", params={"severity": "grave"})
    assert page.status_code == 400 and "« grave » inconnue" in page.text and "avertissement" in page.text
    assert app_client.get("/findings", params={"format": "xml"}).status_code == 400


def test_every_property_shape_speaks_french(shapes):
    """Every property shape of the referential's shapes carries its own French message (pyshacl's English
    defaults never reach a person)."""
    from rdflib.namespace import SH

    silent = [s for s in set(shapes.objects(None, SH.property))
              if not any(getattr(m, "language", None) == "fr" for m in shapes.objects(s, SH.message))]
    assert not silent, [shapes.value(s, SH.path) for s in silent]


def test_findings_of_an_unknown_referential_are_a_404_and_a_known_one_keeps_its_own(app_client):
    """?referential= is checked (a wrong name is not every finding with 200) and filters by the resource's owner."""
    unknown = app_client.get("/findings", params={"referential": "zz"})
    assert unknown.status_code == 404, unknown.text[:300]
    assert "zz" in unknown.text
    everything = app_client.get("/findings", params={"format": "json"}).json()
    name = app_client.get("/api/referentials").json()[0]["name"]
    own = app_client.get("/findings", params={"format": "json", "referential": name}).json()
    assert 0 < len(own) <= len(everything)
    assert {f["focus"] for f in own} <= {f["focus"] for f in everything}
