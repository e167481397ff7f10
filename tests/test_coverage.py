"""Training-programme coverage, checked against an independent computation from the programme file."""

from __future__ import annotations

import io
import subprocess
import sys

import pytest
import yaml

from cqp_graph.analyses.coverage import coverage_of_file
from cqp_graph.inputs.files import InputError
from cqp_graph.query.catalogue import run_named
from cqp_graph.query.knowledge import Knowledge

from .support import ROOT

EXAMPLES = ROOT / "examples"
#: a programme's columns (a module's keys) as the README and programme.py's docstring list them, sorted
COLUMNS = ", ".join(sorted(["code", "title", "hours", "competences", "activities", "activities_stand_for_mission"]))


@pytest.fixture(scope="module")
def knowledge(store, settings):
    return Knowledge.over(store, settings)


def expected_covered(path, store, catalogue, settings) -> set[str]:
    programme = yaml.safe_load(path.read_text(encoding="utf-8"))
    needs = {}
    for r in run_named(store, catalogue.get("requirements"), {}, settings.base).rows:
        needs.setdefault(r["mission"], set()).add(r["competence"])
    covered = set()
    for module in programme["modules"]:
        covered |= set(module.get("competences") or [])
        if module.get("activities_stand_for_mission"):
            for activity in module.get("activities") or []:
                covered |= needs[activity.split("A")[0]]
    return covered


@pytest.mark.parametrize("name", ["programme-complet.yaml", "programme-lacunaire.yaml"])
def test_coverage_matches_an_independent_count(name, knowledge, store, catalogue, settings):
    path = EXAMPLES / name
    result = coverage_of_file(path, settings, knowledge)
    all_codes = {c["code"] for c in run_named(store, catalogue.get("competences"), {}, settings.base).rows}
    covered = expected_covered(path, store, catalogue, settings)
    assert set(result["uncovered"]) == all_codes - covered
    assert result["summary"]["covered"] == len(covered & all_codes)
    programme = yaml.safe_load(path.read_text(encoding="utf-8"))
    assert result["summary"]["hours"] == sum(m["hours"] for m in programme["modules"])
    allocated = sum(x["hours"] for x in result["competences"]) + result["summary"]["unallocated_hours"]
    assert allocated == pytest.approx(result["summary"]["hours"], abs=0.05)


def test_complete_programme_prepares_every_block(knowledge, settings):
    result = coverage_of_file(EXAMPLES / "programme-complet.yaml", settings, knowledge)
    assert result["uncovered"] == []
    assert result["blocks_fully_prepared"] == [b["key"] for b in result["by_block"]]
    assert result["modules_training_nothing"] == []


def test_programme_with_gaps(knowledge, settings):
    result = coverage_of_file(EXAMPLES / "programme-lacunaire.yaml", settings, knowledge)
    assert "RC1" in result["uncovered"] and "RSF10" in result["uncovered"]
    assert result["modules_training_nothing"] == ["MOD05"]
    block_r = next(b for b in result["by_block"] if b["domain"] == "R")
    assert not block_r["fully_prepared"]
    m4 = next(m for m in result["by_mission"] if m["key"] == "M4")
    assert m4["activities_trained"] == ["M4A1", "M4A2", "M4A3"]
    assert m4["covered"] < m4["total"], "activities not declared to stand for their mission cover nothing"
    m1 = next(m for m in result["by_mission"] if m["key"] == "M1")
    assert m1["covered"] == m1["total"], "M1A4 is declared to stand for M1's competences"


def test_csv_programme_equals_yaml_programme(knowledge, settings):
    a = coverage_of_file(EXAMPLES / "programme-lacunaire.yaml", settings, knowledge)
    b = coverage_of_file(EXAMPLES / "programme-lacunaire.csv", settings, knowledge)
    assert a["uncovered"] == b["uncovered"] and a["by_block"] == b["by_block"]


@pytest.mark.parametrize("text,line,message", [
    ("title: t\nmodules:\n  - code: M1\n    title: x\n    hours: 3\n    competences: [RC2, RC99]\n", 3,
     "module M1 : code de compétence inconnu du référentiel (RC99)"),
    ("title: t\nmodules:\n  - code: M1\n    title: x\n    competences: [RC2]\n", 3, "module M1 : champ « hours » manquant"),
    ("title: t\nmodules:\n  - code: M1\n    title: x\n    hours: -4\n", 5, "module M1 : « hours » ne peut pas être négatif"),
    ("title: t\nmodules:\n  - code: M1\n    hours: 4\n", 3, "module M1 : champ « title » manquant"),
    ("title: t\nmodules:\n  - code: M1\n    title: x\n    hours: 2\n  - code: M2\n    title: y\n    hours: 2\n"
     "    activities: [M9A1]\n", 6, "module M2 : code d'activité inconnu du référentiel (M9A1)"),
    ("title: t\nmodules:\n  - code: M1\n    title: x\n    hour: 2\n", 5,
     f"module M1 : clé inconnue « hour » (attendu : {COLUMNS}) ; vouliez-vous dire hours ?"),
    ("titre: t\nmodules:\n  - code: M1\n    title: x\n    hours: 2\n", 1,
     "programme : clé inconnue « titre » (attendu : modules, referential, title) ; vouliez-vous dire title ?"),
    ("title: t\nmodules: [\n", 3, "syntaxe YAML"),
])
def test_bad_programmes_name_module_and_line(tmp_path, knowledge, settings, text, line, message):
    path = tmp_path / "programme.yaml"
    path.write_text("referential: agc-alimentaire\n" + text, encoding="utf-8")
    with pytest.raises(InputError) as excinfo:
        coverage_of_file(path, settings, knowledge)
    assert f"{path}:{line + 1}: {message}" in str(excinfo.value)


@pytest.mark.parametrize("header, unknown, hints", [
    # a close column the file lacks is suggested, whatever its case
    ("code,title,hour,competences", "hour", " ; « hour » : vouliez-vous dire hours ?"),
    ("code,Title,hours,Competence", "Competence, Title",
     " ; « Competence » : vouliez-vous dire competences ? ; « Title » : vouliez-vous dire title ?"),
    # nothing close: no hint; a column the file already has is not suggested for another one
    ("code,title,hours,durée", "durée", ""),
    ("code,title,hours,hour", "hour", ""),
])
def test_unknown_programme_columns_suggest_the_close_one(header, unknown, hints):
    from cqp_graph.inputs.programme import parse_programme

    cells = {"code": "M1", "title": "t", "Title": "t", "hours": "2", "hour": "2", "competences": "RC2",
             "Competence": "RC2", "durée": "2"}
    text = header + "\n" + ",".join(cells[h] for h in header.split(",")) + "\n"
    with pytest.raises(InputError) as excinfo:
        parse_programme(text, "p.csv")
    assert excinfo.value.problems == [(1, f"colonne(s) inconnue(s) : {unknown} (attendu : {COLUMNS}){hints}")]


def test_unknown_workbook_columns_suggest_the_close_one_on_the_header_row():
    from openpyxl import Workbook

    from cqp_graph.inputs.programme import parse_programme

    book = Workbook()
    sheet = book.active
    sheet.title = "Programme"
    sheet.append([])  # the header is on the first non-empty row: Excel's row 3
    sheet.append([])
    sheet.append(["code", "title", "heures", "hour"])
    sheet.append(["M1", "t", 2, 2])
    raw = io.BytesIO()
    book.save(raw)
    with pytest.raises(InputError) as excinfo:
        parse_programme(raw.getvalue(), "p.xlsx")
    assert excinfo.value.problems == [(3, f"feuille « Programme », colonne(s) inconnue(s) : heures, hour "
                                          f"(attendu : {COLUMNS}) ; « hour » : vouliez-vous dire hours ?")]


@pytest.mark.parametrize("fmt", ["html", "csv", "json"])
def test_cli_coverage_formats(tmp_path, fmt):
    out = tmp_path / f"c.{fmt}"
    done = subprocess.run([sys.executable, "-m", "cqp_graph", "coverage", str(EXAMPLES / "programme-lacunaire.yaml"),
                           "--format", fmt, "--output", str(out)], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    text = out.read_text(encoding="utf-8")
    assert "RSF10" in text
    if fmt == "html":
        assert "<svg" in text and "Couverture du référentiel par le programme" in text
        assert "src=\"http" not in text and "<link" not in text


def test_a_workbook_file_is_read_with_the_same_checks_as_a_text_file(tmp_path):
    from cqp_graph.inputs.files import InputLimits, read_text
    from cqp_graph.inputs.programme import read_xlsx_file

    limits = InputLimits(max_bytes=64)
    big = tmp_path / "gros.xlsx"
    big.write_bytes(b"PK\x03\x04" + b"\x00" * limits.max_bytes)  # one byte more than the limit allows
    small = tmp_path / "petit.xlsx"
    small.write_bytes(b"PK\x03\x04" + b"\x00" * (limits.max_bytes - 4))  # exactly the limit: read whole
    assert read_xlsx_file(small, limits) == small.read_bytes()
    for path, words in ((big, f"fichier de plus de {limits.max_bytes} octets (CQP_GRAPH_INPUT_MAX_BYTES)"),
                        (tmp_path / "absent.xlsx", "fichier introuvable"),
                        (tmp_path, "c'est un dossier, pas un fichier")):
        problems = []
        for read in (read_xlsx_file, read_text):
            with pytest.raises(InputError) as excinfo:
                read(path, limits)
            problems.append(excinfo.value.problems)
        assert problems[0] == problems[1] == [(None, words)], problems


@pytest.mark.parametrize("name, raw, fmt", [
    ("p.xlsx", None, "xlsx"), ("P.XLS", None, "xlsx"), ("p.xlsm", None, "xlsx"), ("p.ods", None, "xlsx"),
    ("p.csv", None, "csv"), ("p.yaml", None, "yaml"), ("p.json", None, "yaml"),
    # the first bytes, when known, win over the name: a ZIP archive or an old Office file is a workbook
    ("corps", b"PK\x03\x04", "xlsx"), ("p.csv", b"\xd0\xcf\x11\xe0", "xlsx"), ("p.csv", b"code,title\n", "csv"),
])
def test_a_programme_format_comes_from_its_name_or_first_bytes(name, raw, fmt):
    from cqp_graph.inputs.programme import programme_format

    assert programme_format(name, raw) == fmt


def test_an_old_or_libreoffice_workbook_is_told_how_to_save_it(tmp_path):
    from cqp_graph.inputs.programme import parse_programme, programme_format, read_xlsx_file

    old = tmp_path / "p.xls"
    old.write_bytes(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 512)  # an OLE compound file's signature
    with pytest.raises(InputError) as excinfo:
        parse_programme(read_xlsx_file(old), old, programme_format(old))
    [(line, message)] = excinfo.value.problems
    assert line is None and "ancien format (.xls)" in message and "enregistrer" in message and ".xlsx" in message


@pytest.mark.parametrize("cell, shown", [("M\x02", "U+0002, position 2"), ("a\x0bb", "U+000B, position 2"),
                                         ("\x7fx", "U+007F, position 1"), ("\x85", "U+0085, position 1")])
def test_a_control_character_in_a_programme_is_refused_on_its_line(cell, shown):
    from cqp_graph.inputs.programme import parse_programme

    # YAML writes the character as an escape; the module's code is on line 3
    escaped = cell.encode("unicode_escape").decode("ascii")  # « M\\x02 »: YAML reads the escape back
    text = f'title: t\nmodules:\n  - code: "{escaped}"\n    title: x\n    hours: 2\n'
    with pytest.raises(InputError) as excinfo:
        parse_programme(text, "p.yaml")
    assert excinfo.value.problems == [
        (3, f"module #1 : « code » contient un caractère de contrôle ({shown}) : un texte n'en contient pas")]
    # a tab and a line break stay (a title may be written on two lines)
    header, modules = parse_programme('title: t\nmodules:\n  - code: M1\n    title: "a\\tb\\nc"\n    hours: 2\n',
                                      "p.yaml")
    assert modules[0]["title"] == "a\tb\nc"
