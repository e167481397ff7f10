"""Tests written for the mutants of the coverage module that the other coverage tests let survive.

They go through the command line (`cqp-graph coverage`, in-process) and the HTTP API, the two ways people
ask for a coverage report, never through the module's internals. Expectations come from the programme file
the test writes, from the referential's CSV files and from the rule the module's docstring states:
- activities are listed in natural order (M2A2 before M2A10) in each module and each mission of the report;
- a competence's modules are listed in the programme's order;
- the report carries the hours rule (hours split equally among the competences a module covers);
- the programme is read under the input limits the settings give (CQP_GRAPH_INPUT_*), not the defaults;
- with several referentials and none named, the report is refused, naming the missing `referential:`;
- the API measures the programme sent in the request body (YAML or CSV), not a file on disk.
- a programme graph measured without naming a referential is measured against the certification it names;
- an Excel programme: read by the command from its file, by the site from its first bytes whatever its name,
  and an error in a workbook sent to the API names it « programme.xlsx » (« programme.csv », « programme.yaml »
  for the other formats).
"""

from __future__ import annotations

import csv
import json
import re

import pytest
from typer.testing import CliRunner

from cqp_graph.cli import app

from .support import REFERENTIAL, ROOT, csv_rows, two_referentials

EXAMPLES = ROOT / "examples"


def natural(code: str):
    return [int(p) if p.isdigit() else p for p in re.split(r"(\d+)", code)]


def run(*args, env=None):
    return CliRunner().invoke(app, [str(a) for a in args], env=env, catch_exceptions=False)


def message(result) -> str:
    """The command's output as one line (the terminal library wraps long messages)."""
    return result.output.replace("\n", "")


def report(*args, env=None) -> dict:
    result = run("coverage", *args, "--format", "json", env=env)
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


def copy_data(tmp_path):
    import shutil

    data = tmp_path / "data"
    shutil.copytree(REFERENTIAL, data / REFERENTIAL.name)
    return data


def add_activity(data, code, mission, label):
    """Append one activity to the copy's activities.csv, its provenance copied from the mission's first one."""
    path = data / REFERENTIAL.name / "activities.csv"
    with path.open(encoding="utf-8") as handle:
        reader = csv.DictReader(handle)
        fields, rows = reader.fieldnames, list(reader)
    model = next(r for r in rows if r["mission"] == mission)
    rows.append(dict(model, code=code, label=label))
    with path.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=fields, lineterminator="\n")
        writer.writeheader()
        writer.writerows(rows)


# -- activities in natural order --------------------------------------------------------------------------

def test_a_module_lists_its_activities_in_natural_order(tmp_path):
    data = copy_data(tmp_path)
    mission = "M2"
    existing = [r["code"] for r in csv_rows("activities.csv", REFERENTIAL) if r["mission"] == mission]
    tenth = f"{mission}A10"
    assert tenth not in existing and len(existing) >= 2
    add_activity(data, tenth, mission, "Une dixième activité, ajoutée pour ce test")
    written = [tenth, existing[1], existing[0]]  # 10 first: character order would keep it before A2
    programme = tmp_path / "activites.yaml"
    programme.write_text(
        "title: Ordre des activités\nreferential: agc-alimentaire\nmodules:\n"
        f"  - code: MX1\n    title: Des activités\n    hours: 6\n    activities: [{', '.join(written)}]\n",
        encoding="utf-8")
    expected = sorted(written, key=natural)
    assert expected != sorted(written), "the fixture must tell natural order from character order"
    result = report(programme, "--data", data)
    module = next(m for m in result["modules"] if m["code"] == "MX1")
    assert module["activities"] == expected
    # and the mission's trained activities, in the same order
    assert next(m for m in result["by_mission"] if m["key"] == mission)["activities_trained"] == expected


# -- a competence's modules in the programme's order ---------------------------------------------------------

def test_a_competence_lists_its_modules_in_the_programme_order(tmp_path):
    """The modules training a competence come in the order the programme gives them, neither in character nor in
    natural order (MOD9, MOD10, MOD1 as written)."""
    competence = csv_rows("competences.csv", REFERENTIAL)[0]["code"]
    written = ["MOD9", "MOD10", "MOD1"]
    assert written != sorted(written) and written != sorted(written, key=natural)
    programme = tmp_path / "ordre.yaml"
    programme.write_text("title: Ordre des modules\nreferential: agc-alimentaire\nmodules:\n" + "".join(
        f"  - code: {code}\n    title: Module {code}\n    hours: 1\n    competences: [{competence}]\n"
        for code in written), encoding="utf-8")
    result = report(programme)
    assert next(c for c in result["competences"] if c["code"] == competence)["modules"] == written


# -- the hours rule is stated in every report ---------------------------------------------------------------

def test_the_report_states_the_hours_rule():
    result = report(EXAMPLES / "programme-lacunaire.yaml")
    rule = result["hours_rule"]
    # the rule as the module states it: a module's hours split equally among the competences it covers,
    # the hours of a module covering none counted apart
    assert "parts égales" in rule and "compétences" in rule and "à part" in rule


# -- the settings' input limits apply ---------------------------------------------------------------------

def test_the_programme_is_read_under_the_settings_limits(tmp_path):
    title = "Un intitulé de module bien plus long que la limite fixée"
    limit = 20
    assert len(title) > limit
    programme = tmp_path / "long.yaml"
    programme.write_text("title: Court\nreferential: agc-alimentaire\nmodules:\n"
                         f"  - code: MX1\n    title: {title}\n    hours: 3\n    competences: [RC2]\n",
                         encoding="utf-8")
    # under the default limits the programme is fine
    assert report(programme)["modules"][0]["title"] == title
    # under a smaller limit set in the environment, it is refused, naming the file
    result = run("coverage", programme, "--format", "json", env={"CQP_GRAPH_INPUT_MAX_STRING": str(limit)})
    assert result.exit_code != 0
    assert "long.yaml" in message(result) and f"au plus {limit}" in message(result)


# -- several referentials: the programme must name its own --------------------------------------------------

def test_with_two_referentials_a_programme_without_referential_is_refused(tmp_path):
    data = two_referentials(tmp_path)
    assert len([p for p in data.iterdir() if p.is_dir()]) == 2
    programme = tmp_path / "sans-referentiel.yaml"
    programme.write_text("title: Sans référentiel\nmodules:\n  - code: MX1\n    title: Un module\n    hours: 3\n"
                         "    competences: [RC2]\n", encoding="utf-8")
    result = run("coverage", programme, "--format", "json", "--data", data)
    assert result.exit_code != 0 and "Traceback" not in result.output
    # the refusal says a referential must be named (in the file's `referential:` or with --referential)
    assert re.search(r"r[ée]f[ée]rentiel", message(result), re.IGNORECASE), result.output
    # naming it is enough
    named = report(programme, "--data", data, "--referential", REFERENTIAL.name)
    assert [m["code"] for m in named["modules"]] == ["MX1"]


# -- the API measures the body it receives ------------------------------------------------------------------

@pytest.fixture(scope="module")
def client(tmp_path_factory):
    from fastapi.testclient import TestClient

    from cqp_graph.config import Settings
    from cqp_graph.web.app import create_app

    dist = tmp_path_factory.mktemp("dist")
    app_ = create_app(Settings.from_env(root=ROOT, data_dir=ROOT / "data", dist_dir=dist), workers=1)
    with TestClient(app_, raise_server_exceptions=False) as c:
        yield c


@pytest.mark.parametrize("media, body", [
    ("application/yaml", "title: Envoyé\nreferential: agc-alimentaire\nmodules:\n"
                         "  - code: MX7\n    title: Dans la requête\n    hours: 4\n    competences: [RC2, RSF1]\n"),
    ("text/csv", "code,title,hours,competences\nMX7,Dans la requête,4,RC2|RSF1\n"),
])
def test_the_api_measures_the_programme_in_the_body(client, media, body):
    r = client.post("/api/coverage/programme", content=body.encode("utf-8"),
                    headers={"content-type": media, "accept": "application/json"})
    assert r.status_code == 200, r.text
    modules = r.json()["modules"]
    assert [(m["code"], m["title"], m["hours"], m["competences"]) for m in modules] == \
        [("MX7", "Dans la requête", 4.0, ["RC2", "RSF1"])]


# -- a programme graph measured without naming a referential: the one the programme is for ------------------------

def test_programme_coverage_measures_against_the_certification_the_programme_names(tmp_path):
    """`programme_coverage` called without a referential, on a graph holding two: the programme's
    cqp:forCertification chooses (its own referential's codes are the ones measured), not « the only one »."""
    import yaml

    from cqp_graph.analyses.coverage import programme_coverage
    from cqp_graph.graph.assemble import load_input_shapes
    from cqp_graph.graph.pipeline import run_pipeline
    from cqp_graph.inputs.programme import load_programme

    from .support import settings_for

    data = two_referentials(tmp_path)
    built = run_pipeline(settings_for(data, tmp_path / "out"))
    shapes = load_input_shapes(built.settings, "programme")
    names = sorted(p.name for p in data.iterdir() if p.is_dir())
    assert len(names) == 2
    for name in names:
        codes = [r["code"] for r in csv_rows("competences.csv", data / name)]
        doc = {"title": "Tout", "referential": name,
               "modules": [{"code": "MOD1", "title": "Tout", "hours": 6, "competences": codes}]}
        graph, programme, _ = load_programme("programme.yaml", built.knowledge, shapes, text=yaml.safe_dump(doc))
        result = programme_coverage(built.knowledge, graph, programme)
        assert result["referential"] == name
        assert {c["code"] for c in result["competences"]} >= set(codes) and result["uncovered"] == [
            c["code"] for c in result["competences"] if c["code"] not in codes]


def test_an_api_error_about_a_workbook_names_it_as_a_workbook(client):
    """An .xlsx body sent without a file name: an error in it names « programme.xlsx » (the format received),
    not a YAML file; the unknown code is named too."""
    import io

    from openpyxl import Workbook

    book = Workbook()
    sheet = book.active
    sheet.append(["code", "title", "hours", "competences"])
    sheet.append(["MX7", "Dans le classeur", 4, "ZZ99"])
    out = io.BytesIO()
    book.save(out)
    r = client.post("/api/coverage/programme", content=out.getvalue(),
                    headers={"content-type": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
                             "accept": "application/json"})
    assert r.status_code == 422, r.text
    assert "programme.xlsx" in r.text and "programme.yaml" not in r.text and "ZZ99" in r.text, r.text


@pytest.mark.parametrize("media, body, name", [
    ("text/csv", "code,title,hours,competences\nMX7,En CSV,4,ZZ99\n", "programme.csv"),
    ("application/yaml", "title: En YAML\nreferential: agc-alimentaire\nmodules:\n"
                         "  - code: MX7\n    title: En YAML\n    hours: 4\n    competences: [ZZ99]\n", "programme.yaml"),
])
def test_an_api_error_names_the_programme_after_the_format_received(client, media, body, name):
    """A CSV or YAML body sent without a file name: an error in it names « programme.csv » or « programme.yaml »
    after its content type (as the workbook above is « programme.xlsx »), and the unknown code."""
    r = client.post("/api/coverage/programme", content=body.encode("utf-8"),
                    headers={"content-type": media, "accept": "application/json"})
    assert r.status_code == 422, r.text
    others = {"programme.csv", "programme.yaml", "programme.xlsx"} - {name}
    assert name in r.text and "ZZ99" in r.text and not any(o in r.text for o in others), r.text


def workbook(rows) -> bytes:
    import io

    from openpyxl import Workbook

    book = Workbook()
    for row in rows:
        book.active.append(row)
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


PROGRAMME_ROWS = [["code", "title", "hours", "competences"], ["MX8", "Au classeur", 6, "RC2|RSF1"]]


def test_the_command_measures_an_excel_programme(tmp_path):
    """`cqp-graph coverage programme.xlsx`: the workbook's module, hours and competences, as its cells give them."""
    path = tmp_path / "programme.xlsx"
    path.write_bytes(workbook(PROGRAMME_ROWS))
    result = report(path)
    (_, code, title, hours, competences), = [["", *row] for row in PROGRAMME_ROWS[1:]]
    assert [(m["code"], m["title"], m["hours"], m["competences"]) for m in result["modules"]] == \
        [(code, title, float(hours), competences.split("|"))]


def test_the_site_reads_a_workbook_by_its_content_whatever_its_name(client):
    """A workbook uploaded on the coverage page under a name without .xlsx is still read as a workbook (its first
    bytes say so): the page shows the module, not a YAML error."""
    r = client.post("/coverage", files={"fichier": ("mon-programme", workbook(PROGRAMME_ROWS))},
                    headers={"accept": "text/html"})
    assert r.status_code == 200, r.text[:2000]
    assert "MX8" in r.text and "Au classeur" in r.text


# -- coverage_of_data, the entry the API and the site call ---------------------------------------------------------

def test_a_programme_text_is_yaml_unless_told_otherwise(settings, knowledge):
    """Without `fmt`, the text is read as YAML and an error in it names « programme.yaml »."""
    from cqp_graph.analyses.coverage import coverage_of_data
    from cqp_graph.inputs.files import InputError

    text = ("title: Sans format\nreferential: agc-alimentaire\nmodules:\n"
            "  - code: MX1\n    title: Un module\n    hours: 2\n    competences: [ZZ99]\n")
    with pytest.raises(InputError) as caught:
        coverage_of_data(text, settings, knowledge)
    assert "programme.yaml" in str(caught.value) and "ZZ99" in str(caught.value)


def test_the_referential_asked_for_measures_a_programme_that_names_none(two_built):
    """With two referentials, a programme text that names none is measured against the one the caller names."""
    from cqp_graph.analyses.coverage import coverage_of_data

    names = sorted(r.name for r in two_built.knowledge.referentials())
    assert len(names) == 2
    for name in names:
        codes = [r["code"] for r in csv_rows("competences.csv", two_built.settings.data_dir / name)]
        text = ("title: Sans référentiel\nmodules:\n  - code: MX1\n    title: Un module\n    hours: 2\n"
                f"    competences: [{codes[0]}]\n")
        result = coverage_of_data(text, two_built.settings, two_built.knowledge, name)
        assert result["referential"] == name and [m["competences"] for m in result["modules"]] == [[codes[0]]]
