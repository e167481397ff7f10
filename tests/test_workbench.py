"""The workbench on the site: a programme's coverage (YAML, CSV, Excel) and a candidate's decision, in French.

Expectations come from elsewhere than the pages: the coverage from `analyses.coverage` run in the test on the
example file, the thresholds and the fields a route needs from the rules read in the graph (named queries), the
Excel files built here with openpyxl from the example CSV. Hostile files (too big, zip bomb, entity bomb, not a
workbook, bad UTF-8, formulas, markup) must give a 4xx page with a French message, never a 500.
"""

from __future__ import annotations

import base64
import csv
import html
import io
import re
import zipfile
from decimal import Decimal
from pathlib import Path

import pytest
from openpyxl import Workbook, load_workbook

from cqp_graph.analyses.coverage import coverage_of_file
from cqp_graph.analyses.decisions import decide_file
from cqp_graph.inputs.files import InputError

from .support import FIRST, ROOT, csv_rows

EXAMPLES = ROOT / "examples"
LACUNARY_YAML = EXAMPLES / "programme-lacunaire.yaml"
LACUNARY_CSV = EXAMPLES / "programme-lacunaire.csv"


# -- helpers -----------------------------------------------------------------------------------------------

def _text(fragment: str) -> str:
    return html.unescape(re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", fragment))).strip()


def _section(page: str, anchor: str) -> str:
    start = page.index(f'id="{anchor}"')
    end = page.find("<h2", start + 1)
    return page[start:end if end > 0 else len(page)]


def _first_cells(fragment: str) -> list[str]:
    """The first cell of each body row of the tables in `fragment`."""
    return [_text(c) for c in re.findall(r"<tr><td[^>]*>(.*?)</td>", fragment, re.S)]


def _alert(page: str) -> str:
    match = re.search(r'role="alert">(.*?)</div>', page, re.S)
    return _text(match.group(1)) if match else ""


def _xlsx_from_csv(path: Path, sheet: str = "Programme") -> bytes:
    """The example CSV typed into a workbook as a person would: hours as numbers, the rest as text."""
    rows = list(csv.reader(path.read_text(encoding="utf-8").splitlines()))
    book = Workbook()
    ws = book.active
    ws.title = sheet
    hours = rows[0].index("hours")
    ws.append(rows[0])
    for row in rows[1:]:
        ws.append([float(v) if i == hours else (v or None) for i, v in enumerate(row)])
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def _post(client, name: str, content: bytes, **data):
    return client.post("/coverage", files={"fichier": (name, content)}, data=data)


@pytest.fixture(scope="module")
def expected(settings, knowledge):
    """The coverage of the lacunary programme as the analysis answers it, computed here."""
    return coverage_of_file(LACUNARY_YAML, settings, knowledge)


# -- coverage ----------------------------------------------------------------------------------------------

def test_coverage_form_is_french_and_offers_the_template(app_client):
    page = app_client.get("/coverage")
    assert page.status_code == 200
    assert 'type="file"' in page.text and 'enctype="multipart/form-data"' in page.text
    assert "Analyser le programme" in page.text
    assert 'href="/coverage/template.xlsx' in page.text and 'href="/coverage/referential' in page.text


@pytest.mark.parametrize("kind", ["yaml", "csv", "xlsx"])
def test_lacunary_programme_gives_the_analysis_gaps(app_client, expected, kind):
    content = {"yaml": LACUNARY_YAML.read_bytes(), "csv": LACUNARY_CSV.read_bytes(),
               "xlsx": _xlsx_from_csv(LACUNARY_CSV)}[kind]
    page = _post(app_client, f"programme-lacunaire.{kind}", content)
    assert page.status_code == 200, _alert(page.text)
    assert expected["uncovered"], "the lacunary example must leave gaps"
    gaps = _first_cells(_section(page.text, "lacunes"))
    assert gaps == expected["uncovered"]
    # the gaps come before the per-block table, and the figures are French
    assert page.text.index('id="lacunes"') < page.text.index('id="blocs"')
    summary = Decimal(str(expected["summary"]["percent"]))
    french = format(summary.normalize(), "f").replace(".", ",") + "\u202f%"  # no break before %
    assert french in page.text and "," in french
    blocks = _section(page.text, "blocs")
    for row in expected["by_block"]:
        assert f"{row['covered']}/{row['total']}" in blocks
    assert _first_cells(blocks) == [b["key"] for b in expected["by_block"]]
    missions = _section(page.text, "missions")
    assert _first_cells(missions) == [m["key"] for m in expected["by_mission"]]


def test_downloads_parse_back_with_the_same_numbers(app_client, expected):
    page = _post(app_client, "programme-lacunaire.csv", LACUNARY_CSV.read_bytes())
    assert page.status_code == 200
    # stateless: the page carries the file, the download buttons post that copy back
    copy = re.search(r'name="copie" value="([^"]*)"', page.text).group(1)
    assert base64.b64decode(copy) == LACUNARY_CSV.read_bytes()
    name = html.unescape(re.search(r'name="nom" value="([^"]*)"', page.text).group(1))
    xlsx = app_client.post("/coverage", data={"copie": copy, "nom": name, "format": "xlsx"})
    assert xlsx.status_code == 200
    assert xlsx.headers["content-type"].startswith("application/vnd.openxmlformats-officedocument.spreadsheetml")
    assert "attachment" in xlsx.headers["content-disposition"]
    book = load_workbook(io.BytesIO(xlsx.content), read_only=True)
    gaps = list(book["Lacunes"].iter_rows(min_row=2, values_only=True))
    assert [r[0] for r in gaps] == expected["uncovered"]
    blocks = list(book["Par bloc"].iter_rows(values_only=True))
    header = list(blocks[0])
    for row, want in zip(blocks[1:], expected["by_block"], strict=True):
        got = dict(zip(header, row))
        assert got["bloc"] == want["key"]
        assert got["compétences"] == want["total"] and got["couvertes"] == want["covered"]
        assert got["% couvert"] == pytest.approx(want["percent"]) and isinstance(got["% couvert"], (int, float))
        assert got["heures"] == pytest.approx(want["hours"])
    domains = {r[0]: r for r in book["Par domaine"].iter_rows(min_row=2, values_only=True)}
    assert set(domains) == {d["key"] for d in expected["by_domain"]}
    full = load_workbook(io.BytesIO(xlsx.content))
    assert full["Lacunes"].freeze_panes == "A2" and full["Lacunes"]["A1"].font.b

    text = app_client.post("/coverage", data={"copie": copy, "nom": name, "format": "csv"})
    assert text.status_code == 200 and text.headers["content-type"].startswith("text/csv")
    rows = list(csv.reader(io.StringIO(text.content.decode("utf-8"))))
    header = rows[0]
    by_code = {r[0]: dict(zip(header, r)) for r in rows[1:]}
    assert set(by_code) == {c["code"] for c in expected["competences"]}
    assert sorted(c for c, r in by_code.items() if r["couverte"] == "non") == sorted(expected["uncovered"])
    for c in expected["competences"]:
        assert float(by_code[c["code"]]["heures"]) == pytest.approx(c["hours"])
    # the gaps first
    flags = [r[header.index("couverte")] for r in rows[1:]]
    assert flags == sorted(flags, key=lambda f: f != "non")


def test_the_cli_reads_the_same_workbook(tmp_path, settings, knowledge, expected):
    path = tmp_path / "programme-lacunaire.xlsx"
    path.write_bytes(_xlsx_from_csv(LACUNARY_CSV, sheet="Feuil1"))  # no sheet « Programme »: the first one
    got = coverage_of_file(path, settings, knowledge)
    assert got["uncovered"] == expected["uncovered"]
    assert got["by_block"] == expected["by_block"] and got["summary"]["hours"] == expected["summary"]["hours"]


def test_a_stale_dimension_does_not_hide_modules(app_client, expected):
    """A workbook whose <dimension> says A1:C2 (as some generators leave it) still has every row read."""
    with zipfile.ZipFile(io.BytesIO(_xlsx_from_csv(LACUNARY_CSV))) as archive:
        parts = {n: archive.read(n) for n in archive.namelist()}
    sheet = next(n for n in parts if n.startswith("xl/worksheets/sheet"))
    parts[sheet], count = re.subn(rb'<dimension ref="[^"]*"', b'<dimension ref="A1:C2"', parts[sheet])
    assert count == 1
    page = _post(app_client, "dimension.xlsx", _zip(parts))
    assert page.status_code == 200, _alert(page.text)
    assert _first_cells(_section(page.text, "modules")) == [m["code"] for m in expected["modules"]]
    assert _first_cells(_section(page.text, "lacunes")) == expected["uncovered"]


def test_template_lists_the_referential_and_reads_back(app_client, knowledge, expected):
    answer = app_client.get("/coverage/template.xlsx")
    assert answer.status_code == 200 and "attachment" in answer.headers["content-disposition"]
    book = load_workbook(io.BytesIO(answer.content))
    sheet = book["Programme"]
    header = [c.value for c in sheet[1]]
    assert header == next(csv.reader(LACUNARY_CSV.read_text(encoding="utf-8").splitlines()))
    codes = [r[0] for r in book["Compétences"].iter_rows(min_row=2, values_only=True)]
    assert sorted(codes) == sorted(r["code"] for r in knowledge.rows("competences"))
    assert any(v.type == "list" for v in sheet.data_validations.dataValidation)
    # filled in with the example's modules, it gives the same gaps
    for row in list(csv.reader(LACUNARY_CSV.read_text(encoding="utf-8").splitlines()))[1:]:
        sheet.append([float(v) if i == 2 else (v or None) for i, v in enumerate(row)])
    out = io.BytesIO()
    book.save(out)
    page = _post(app_client, "mon-programme.xlsx", out.getvalue())
    assert page.status_code == 200, _alert(page.text)
    assert _first_cells(_section(page.text, "lacunes")) == expected["uncovered"]


def test_errors_name_file_line_and_module(app_client):
    rows = LACUNARY_CSV.read_text(encoding="utf-8").splitlines()
    rows[2] = rows[2].replace("POC1|", "POC1|ZZ99|")  # line 3: MOD02
    module = rows[2].split(",")[0]
    page = _post(app_client, "à corriger.csv", "\n".join(rows).encode("utf-8"))
    assert page.status_code == 400
    alert = _alert(page.text)
    assert "à corriger.csv" in alert and "ZZ99" in alert and f"module {module}" in alert
    assert re.search(r"\b3 module " + module, alert)
    assert 'type="file"' in page.text  # the form is shown again

    # the same mistake in Excel names the sheet and the row as Excel numbers it
    book = load_workbook(io.BytesIO(_xlsx_from_csv(LACUNARY_CSV)))
    book["Programme"]["C4"] = "vingt"  # hours of the third module, row 4
    out = io.BytesIO()
    book.save(out)
    page = _post(app_client, "programme.xlsx", out.getvalue())
    assert page.status_code == 400
    alert = _alert(page.text)
    third = rows[3].split(",")[0]
    assert "programme.xlsx" in alert and "feuille « Programme »" in alert and f"module {third}" in alert
    assert re.search(r"\b4 feuille", alert) and "hours" in alert

    page = _post(app_client, "programme.yaml", b"title: x\nmodules:\n  - code: M1\n    title: t\n    hours: -3\n")
    assert page.status_code == 400 and "négatif" in _alert(page.text) and "module M1" in _alert(page.text)


def _zip(parts: dict[str, bytes], method=zipfile.ZIP_DEFLATED) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", method) as archive:
        for name, data in parts.items():
            archive.writestr(name, data)
    return out.getvalue()


def test_hostile_uploads_are_refused_in_french(app_client, settings):
    limit = settings.input_max_bytes
    cases = {
        "too big": ("gros.csv", b"code,title,hours\n" + b"x" * (limit + 10), 413, "CQP_GRAPH_INPUT_MAX_BYTES"),
        "zip bomb": ("bombe.xlsx", _zip({"xl/workbook.xml": b"\0" * (settings.input_max_unzipped_bytes + 1)}),
                     400, "CQP_GRAPH_INPUT_MAX_UNZIPPED_BYTES"),
        "bzip2 part": ("bz.xlsx", _zip({"xl/workbook.xml": b"<x/>"}, zipfile.ZIP_BZIP2), 400, "compressée"),
        "not a zip": ("faux.xlsx", b"code,title\nM1,t\n", 400, "pas un classeur Excel"),
        "old excel": ("ancien.xls", b"\xd0\xcf\x11\xe0" + b"\0" * 100, 400, ".xls"),
        "zip not xlsx": ("tableur.ods", _zip({"content.xml": b"<x/>"}), 400, "xl/workbook.xml"),
        "bad utf-8": ("latin1.csv", "code,title,hours\nM1,Étude,3\n".encode("latin-1"), 400, "UTF-8"),
        "empty": ("vide.csv", b"", 400, "vide"),
    }
    for what, (name, content, status, words) in cases.items():
        page = _post(app_client, name, content)
        assert page.status_code == status, (what, _alert(page.text))
        assert words in _alert(page.text), (what, _alert(page.text))


def test_entity_bomb_inside_a_workbook_is_refused(app_client):
    book = io.BytesIO()
    Workbook().save(book)
    with zipfile.ZipFile(io.BytesIO(book.getvalue())) as archive:
        parts = {n: archive.read(n) for n in archive.namelist()}
    lol = (b'<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol">'
           + b"".join(b'<!ENTITY lol%d "%s">' % (i, (b"&lol%d;" % (i - 1) if i else b"&lol;") * 10)
                      for i in range(1, 9))
           + b']><worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"><sheetData><row r="1">'
             b'<c r="A1" t="inlineStr"><is><t>&lol8;</t></is></c></row></sheetData></worksheet>')
    parts["xl/worksheets/sheet1.xml"] = lol
    page = _post(app_client, "entites.xlsx", _zip(parts))
    assert page.status_code == 400
    assert "classeur .xlsx illisible" in _alert(page.text)


def test_costly_xml_is_refused_before_parsing(app_client, settings):
    """Small archives whose XML would keep openpyxl busy for seconds (thousands of styles or sheets)."""
    book = io.BytesIO()
    Workbook().save(book)
    with zipfile.ZipFile(io.BytesIO(book.getvalue())) as archive:
        parts = {n: archive.read(n) for n in archive.namelist()}
    many = 2 * settings.input_max_entries + 1
    styles = dict(parts)
    styles["xl/styles.xml"] = parts["xl/styles.xml"].replace(
        b"</cellXfs>", b'<xf numFmtId="0" fontId="0" fillId="0" borderId="0" xfId="0"/>' * many + b"</cellXfs>")
    sheets = dict(parts)
    sheets["xl/workbook.xml"] = parts["xl/workbook.xml"].replace(
        b"</sheets>", b"".join(b'<sheet name="S%d" sheetId="%d" r:id="rId1"/>' % (i, i + 2) for i in range(300))
        + b"</sheets>")
    for name, changed, words in (("styles.xlsx", styles, "éléments XML"), ("feuilles.xlsx", sheets, "feuilles")):
        page = _post(app_client, name, _zip(changed))
        assert page.status_code == 400 and words in _alert(page.text), _alert(page.text)


def test_far_cells_and_rows_stay_bounded(app_client, settings):
    book = Workbook()
    ws = book.active
    ws.append(["code", "title", "hours"])
    ws.append(["M1", "t", 3])
    ws.cell(row=1_000_000, column=16_000, value="loin")
    out = io.BytesIO()
    book.save(out)
    page = _post(app_client, "loin.xlsx", out.getvalue())
    assert page.status_code == 400
    assert "CQP_GRAPH_INPUT_MAX_ENTRIES" in _alert(page.text)


def test_formulas_and_markup_stay_text(app_client):
    title = "=HYPERLINK(\"http://exemple.invalid\")<script>alert(1)</script>"
    content = ("code,title,hours,competences\n"
               f"M1,\"{title.replace(chr(34), chr(34) * 2)}\",3,RC2\n").encode("utf-8")
    page = _post(app_client, "<img src=x onerror=alert(1)>.csv", content)
    assert page.status_code == 200, _alert(page.text)
    assert "<script>alert(1)" not in page.text and "<img src=x" not in page.text
    assert "&lt;script&gt;" in page.text
    copy = re.search(r'name="copie" value="([^"]*)"', page.text).group(1)
    xlsx = app_client.post("/coverage", data={"copie": copy, "nom": "p.csv", "format": "xlsx"})
    cell = load_workbook(io.BytesIO(xlsx.content))["Modules"]["B2"]
    assert cell.value == title and cell.data_type == "s"
    # a formula in an uploaded workbook counts by its saved value: none here, so the hours are missing
    book = Workbook()
    ws = book.active
    ws.append(["code", "title", "hours"])
    ws.append(["M1", "t", "=1+2"])
    out = io.BytesIO()
    book.save(out)
    page = _post(app_client, "formule.xlsx", out.getvalue())
    assert page.status_code == 400 and "hours" in _alert(page.text)


def test_no_file_or_bad_form_is_a_400(app_client):
    assert app_client.post("/coverage", data={"format": "html"}).status_code == 400
    assert app_client.post("/coverage", content=b'{"a": 1}', headers={"content-type": "application/json"}
                           ).status_code == 400
    broken = app_client.post("/coverage", content=b"--x\r\nContent-Disposition: form-data; name=\"fichier\"\r\n",
                             headers={"content-type": "multipart/form-data; boundary=x"})
    assert broken.status_code == 400
    assert app_client.post("/coverage", data={"copie": "%%%", "nom": "a.csv"}).status_code == 400
    bad = _post(app_client, "p.csv", LACUNARY_CSV.read_bytes(), format="pdf")
    assert bad.status_code == 400 and "pdf" in _alert(bad.text)
    assert app_client.get("/coverage?referential=inconnu").status_code == 404


def test_referential_report_is_served_and_linked(app_client, knowledge):
    home = app_client.get("/")
    assert 'href="/coverage/referential"' in home.text
    page = app_client.get("/coverage/referential")
    assert page.status_code == 200
    title = knowledge.rows("certification-summary")[0]["title"]
    assert html.escape(title, quote=False) in page.text or title in html.unescape(page.text)
    assert "<svg" in page.text


# -- decisions ---------------------------------------------------------------------------------------------

def _form_fields(page: str) -> dict[str, list[tuple[str, str]]]:
    """{fieldset legend: [(input name, label)]} of the decision form."""
    out = {}
    for legend, body in re.findall(r"<fieldset><legend>(.*?)</legend>(.*?)</fieldset>", page, re.S):
        out[_text(legend)] = [(name, _text(label)) for name, label in
                              re.findall(r'<label for="([^"]+)">(.*?)</label>', body, re.S)]
    return out


def _rules(knowledge, route, referential=None):
    return knowledge.rows("evaluation-rules", route=route, **({"referential": referential} if referential else {}))


def _fill(fields, knowledge, route, below: str | None = None, delta=Decimal("0.1"), referential=None):
    """Values exactly at each threshold the route's rules set (block score, each judged evaluator); the block
    `below` gets its block score just under the threshold."""
    rules = _rules(knowledge, route, referential)
    evaluators = {e["code"]: e["label"] for e in
                  knowledge.rows("evaluators", **({"referential": referential} if referential else {}))}
    block_min = max((Decimal(str(r["min_percent"])) for r in rules if r["scope"] == "block"), default=Decimal(0))
    judged = {evaluators[r["evaluator"]]: Decimal(str(r["min_percent"])) for r in rules
              if r["scope"] == "block-evaluator"}
    values = {}
    for legend, inputs in fields.items():
        block = re.match(r"Bloc (\S+) —", legend)
        if not block:
            continue
        for name, label in inputs:
            if label.startswith("Résultat global"):
                value = block_min - (delta if block.group(1) == below else 0)
                values[name] = format(value, "f").replace(".", ",")  # typed the French way
            for evaluator, minimum in judged.items():
                if label == f"{evaluator} (%)":
                    values[name] = str(minimum)
    return values, block_min


@pytest.mark.parametrize("route", ["formation", "blocs", "vae"])
def test_decision_form_fields_come_from_the_rules(app_client, knowledge, route):
    page = app_client.get(f"/decisions?route={route}")
    assert page.status_code == 200
    fields = _form_fields(page.text)
    blocks = [b["code"] for b in knowledge.rows("blocks")]
    assert [re.match(r"Bloc (\S+) —", k).group(1) for k in fields if k.startswith("Bloc ")] == blocks
    rules = _rules(knowledge, route)
    evaluators = {e["code"]: e["label"] for e in knowledge.rows("evaluators")}
    judged = {evaluators[r["evaluator"]] for r in rules if r["scope"] == "block-evaluator"}
    for legend, inputs in fields.items():
        if legend.startswith("Bloc "):
            labels = {label for _n, label in inputs}
            assert {f"{e} (%)" for e in judged} <= labels
            assert not {f"{e} (%)" for e in set(evaluators.values()) - judged} & labels
    has_units = any(r["scope"] == "unit" for r in rules)
    assert ("Unités de compétence" in fields) == has_units
    if has_units:
        assert {label.split(" — ")[0] for _n, label in fields["Unités de compétence"]} == \
            {u["code"] for u in knowledge.rows("units")}
    # know-how results are asked for, per block, for the know-how of the block's domain, when a rule judges them
    judged_know_how = any(r["scope"] == "know-how" for r in rules)
    kinds = {r["code"] for r in knowledge.select("SELECT ?code WHERE { cqp:knowHow skos:notation ?code }").rows}
    assert kinds
    domain_of = {b["code"]: b["domain"] for b in knowledge.rows("blocks")}
    for legend, inputs in fields.items():
        block = re.match(r"Bloc (\S+) —", legend)
        if block:
            want = {c["code"] for c in knowledge.rows("competences")
                    if c["kind"] in kinds and c["domain"] == domain_of[block.group(1)]} if judged_know_how else set()
            assert {label.split(" — ")[0] for _n, label in inputs if " — " in label} == want


@pytest.mark.parametrize("route", ["formation", "vae"])
def test_decision_at_and_below_the_thresholds(app_client, knowledge, route):
    page = app_client.get(f"/decisions?route={route}")
    fields = _form_fields(page.text)
    values, block_min = _fill(fields, knowledge, route)
    answer = app_client.post("/decisions", data={"route": route, "candidate": "Zoé Test", **values})
    assert answer.status_code == 200, _alert(answer.text)
    assert "CQP délivré" in answer.text and "CQP non délivré" not in answer.text
    first = knowledge.rows("blocks")[0]["code"]
    values, block_min = _fill(fields, knowledge, route, below=first)
    answer = app_client.post("/decisions", data={"route": route, **values})
    assert answer.status_code == 200
    assert "CQP non délivré" in answer.text
    under = format(block_min - Decimal("0.1"), "f").replace(".", ",")
    threshold = format(block_min.normalize(), "f").replace(".", ",")
    assert f"bloc {first} : {under}\u202f% &lt; {threshold}\u202f%" in answer.text
    assert f"bloc {first} non acquis" in answer.text
    # the values typed are kept in the form
    assert re.search(r'value="' + re.escape(under) + '"', answer.text)


def test_decision_know_how_under_its_threshold(app_client, knowledge):
    rules = _rules(knowledge, "formation")
    know_how = [r for r in rules if r["scope"] == "know-how"]
    assert know_how
    page = app_client.get("/decisions?route=formation")
    fields = _form_fields(page.text)
    values, _ = _fill(fields, knowledge, "formation")
    legend, inputs = next((k, v) for k, v in fields.items()
                          if k.startswith("Bloc ") and any(" — " in lbl for _n, lbl in v))
    name, label = next((n, lbl) for n, lbl in inputs if " — " in lbl)
    values[name] = str(Decimal(str(know_how[0]["min_percent"])) - 1)
    answer = app_client.post("/decisions", data={"route": "formation", **values})
    assert "CQP non délivré" in answer.text
    block = re.match(r"Bloc (\S+) —", legend).group(1)
    assert f"bloc {block} non acquis" in answer.text and label.split(" — ")[0] in answer.text


def test_decision_upload_matches_the_cli(app_client, settings, knowledge):
    for example in ("candidat-formation.yaml", "candidat-blocs.yaml", "candidat-vae.json"):
        path = EXAMPLES / example
        want = decide_file(path, settings, knowledge)
        answer = app_client.post("/decisions", files={"fichier": (example, path.read_bytes())})
        assert answer.status_code == 200, _alert(answer.text)
        start = answer.text.index('id="decision"')
        decision = answer.text[start:answer.text.index("</section>", start)]
        assert want["decision_fr"] in _text(decision)
        rows = re.findall(r"<tr><td>([^<]+)</td><td>.*?</td><td class=\"num\">.*?</td><td><span class=\"[a-z]+\">"
                          r"([^<]+)</span>", decision, re.S)
        assert rows == [(b["code"], b["decision_fr"]) for b in want["blocks"]]


def test_uploaded_results_fill_the_form_and_decide_the_same_again(app_client):
    for example in ("candidat-formation.yaml", "candidat-blocs.yaml", "candidat-vae.json"):
        first = app_client.post("/decisions", files={"fichier": (example, (EXAMPLES / example).read_bytes())})
        form = first.text.split('class="workbench"')[1].split("</form>")[0]
        values = {html.unescape(n): html.unescape(v) for n, v in
                  re.findall(r'name="([^"]+)" value="([^"]*)"', form)}
        assert sum(1 for v in values.values() if v) > 2, example
        again = app_client.post("/decisions", data=values)
        assert again.status_code == 200, _alert(again.text)

        def decisions(page):
            start = page.index('id="decision"')
            part = page[start:page.index("</section>", start)]
            return _text(part.split("</h2>")[0]), re.findall(r'<span class="(?:ok|ko)">([^<]+)</span>', part)
        assert decisions(again.text) == decisions(first.text), example


def test_decision_errors_are_french_and_4xx(app_client, knowledge):
    page = app_client.get("/decisions?route=formation")
    fields = _form_fields(page.text)
    name, label = next(iter(fields.values()))[0]
    for value, words in (("abc", "n'est pas un nombre"), ("150", "entre 0 et 100"), ("nan", "entre 0 et 100")):
        answer = app_client.post("/decisions", data={"route": "formation", name: value})
        assert answer.status_code == 400 and words in _alert(answer.text) and label in _alert(answer.text)
    assert app_client.post("/decisions", data={"route": "formation"}).status_code == 400
    assert app_client.post("/decisions", data={"route": "nulle-part", name: "50"}).status_code == 404  # as GET
    assert app_client.get("/decisions?route=nulle-part").status_code == 404
    bad = app_client.post("/decisions", files={"fichier": ("r.yaml", b"route: formation\nblocks:\n  B9: 50\n")})
    assert bad.status_code == 400 and "B9" in _alert(bad.text) and "r.yaml" in _alert(bad.text)
    bad = app_client.post("/decisions", files={"fichier": ("r.yaml", b"route: ailleurs\nblocks:\n  B1: 50\n")})
    assert bad.status_code == 400 and "ailleurs" in _alert(bad.text)
    bad = app_client.post("/decisions", files={"fichier": ("r.yaml", b"\xff\xfe")})
    assert bad.status_code == 400 and "UTF-8" in _alert(bad.text)


# -- several referentials ----------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def two_client(two_built, two_settings, tmp_path_factory):
    from fastapi.testclient import TestClient

    from cqp_graph.publish.dumps import write_dist
    from cqp_graph.web.app import create_app

    dist = tmp_path_factory.mktemp("two-dist")
    write_dist(two_built.graph, dist, two_settings.base, extra={"validation.json": two_built.findings_json()})
    with TestClient(create_app(two_settings, graph_file=dist / "graph.nt", workers=1),
                    raise_server_exceptions=False) as client:
        yield client


def test_several_referentials_are_chosen_not_guessed(two_client, two_built, expected):
    from .support import FIRST, SECOND

    knowledge = two_built.knowledge
    form = two_client.get("/coverage")
    assert form.status_code == 200 and f'value="{FIRST}"' in form.text and f'value="{SECOND}"' in form.text
    unnamed = _post(two_client, "programme-lacunaire.csv", LACUNARY_CSV.read_bytes())
    assert unnamed.status_code == 400 and SECOND in _alert(unnamed.text)
    named = _post(two_client, "programme-lacunaire.csv", LACUNARY_CSV.read_bytes(), referential=FIRST)
    assert named.status_code == 200 and _first_cells(_section(named.text, "lacunes")) == expected["uncovered"]
    assert _post(two_client, "p.csv", LACUNARY_CSV.read_bytes(), referential="aucun").status_code == 404

    choice = two_client.get("/coverage/referential")
    assert choice.status_code == 200 and f"referential={SECOND}" in choice.text
    assert two_client.get(f"/coverage/referential?referential={SECOND}").status_code == 200
    assert two_client.get("/coverage/template.xlsx").status_code == 400
    template = two_client.get(f"/coverage/template.xlsx?referential={SECOND}")
    codes = [r[0] for r in load_workbook(io.BytesIO(template.content))["Compétences"].iter_rows(
        min_row=2, values_only=True)]
    assert sorted(codes) == sorted(r["code"] for r in knowledge.rows("competences", referential=SECOND))

    # the decision form of the second referential: its own routes, blocks, evaluators and thresholds
    routes = [r["code"] for r in knowledge.rows("routes", referential=SECOND)]
    page = two_client.get(f"/decisions?referential={SECOND}")
    assert page.status_code == 200
    select = page.text.split('id="route-choice"')[1].split("</select>")[0]
    assert re.findall(r'<option value="([^"]+)"', select) == routes
    route = routes[0]
    fields = _form_fields(two_client.get(f"/decisions?referential={SECOND}&route={route}").text)
    blocks = [b["code"] for b in knowledge.rows("blocks", referential=SECOND)]
    assert [re.match(r"Bloc (\S+) —", k).group(1) for k in fields if k.startswith("Bloc ")] == blocks
    values, _ = _fill(fields, knowledge, route, referential=SECOND)
    at = two_client.post("/decisions", data={"referential": SECOND, "route": route, **values})
    assert at.status_code == 200 and "CQP délivré" in at.text, _alert(at.text)
    values, _ = _fill(fields, knowledge, route, below=blocks[0], referential=SECOND)
    under = two_client.post("/decisions", data={"referential": SECOND, "route": route, **values})
    assert "CQP non délivré" in under.text and f"bloc {blocks[0]} non acquis" in under.text
    assert two_client.post("/decisions", data={"route": route, **values}).status_code == 400


def test_odd_parameters_never_give_a_500_nor_markup(app_client):
    from urllib.parse import quote

    odd = ["<script>alert(1)</script>", "%ff", "\u0000", "x" * 5000, "../../etc/passwd", "référentiel"]
    urls = ["/coverage?referential=", "/coverage/referential?referential=", "/coverage/template.xlsx?referential=",
            "/decisions?route=", "/decisions?referential=", "/decisions?route=formation&referential="]
    for value in odd:
        for url in urls:
            answer = app_client.get(url + quote(value))
            assert answer.status_code in (200, 400, 404), (url, value, answer.status_code)
            assert "<script>alert" not in answer.text
        for form in ({"route": value, "candidate": value}, {"referential": value, "route": "formation"},
                     {"route": "formation", "candidate": value, "bloc-0-score": "50"}):
            answer = app_client.post("/decisions", data=form)
            assert answer.status_code in (200, 400, 404), (form, answer.status_code)
            assert "<script>alert" not in answer.text
        answer = app_client.post("/coverage", data={"copie": base64.b64encode(b"x").decode(), "nom": value,
                                                    "format": "html"})
        assert answer.status_code in (400, 404) and "<script>alert" not in answer.text


# -- what a person types wrong: close matches, French Excel, wrong files, typography (H8's findings) ---------

def _variant() -> tuple[str, str]:
    """(a code as the source misspells it on a mission page, the competence's code), from requirements.csv:
    one whose difference is more than case or spaces."""
    fold = lambda s: re.sub(r"\s+", "", s).casefold()  # noqa: E731
    return next((r["code_as_written"], r["competence"]) for r in csv_rows("requirements.csv")
                if r["code_as_written"] and fold(r["code_as_written"]) != fold(r["competence"]))


def test_unknown_codes_are_shown_as_written_with_the_close_match(app_client, tmp_path, settings, knowledge):
    codes = [r["code"] for r in csv_rows("competences.csv")]
    lower = next(c for c in codes if c.lower() != c)  # « rc1 » for RC1
    spaced = re.sub(r"(\d+)$", r" \1", codes[-1])  # « RSF 10 » for RSF10
    written, meant = _variant()
    typed = [lower.lower(), written, spaced, "<b>x</b>"]
    text = "code,title,hours,competences\nMOD01,Intro,10," + "|".join(typed) + "\n"
    page = _post(app_client, "typo.csv", text.encode("utf-8"))
    assert page.status_code == 400
    alert = _alert(page.text)
    assert f"module MOD01 : code de compétence inconnu du référentiel ({lower.lower()}) ; vouliez-vous dire " \
           f"{lower} ?" in alert
    assert f"({written}) ; vouliez-vous dire {meant} ?" in alert and "graphie de la source" in alert
    assert f"({spaced}) ; vouliez-vous dire {codes[-1]} ?" in alert
    assert "(<b>x</b>)" in alert and "&lt;b&gt;x" in page.text and "<b>x</b>" not in page.text
    assert "%20" not in alert and "%3C" not in alert
    # the CLI reads the file through the same inputs/: same messages
    path = tmp_path / "typo.csv"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(InputError) as excinfo:
        coverage_of_file(path, settings, knowledge)
    assert f"({written}) ; vouliez-vous dire {meant} ?" in str(excinfo.value)
    assert f"typo.csv:2: module MOD01 : code de compétence inconnu du référentiel ({spaced})" in str(excinfo.value)


def test_french_excel_csv_is_read_and_other_encodings_are_explained(app_client, expected):
    rows = list(csv.reader(LACUNARY_CSV.read_text(encoding="utf-8").splitlines()))
    hours = rows[0].index("hours")
    out = io.StringIO()
    writer = csv.writer(out, delimiter=";")
    writer.writerow(rows[0])
    for row in rows[1:]:  # French Excel writes decimals with a comma
        writer.writerow([v.replace(".", ",") if i == hours else v for i, v in enumerate(row)])
    page = _post(app_client, "programme-excel.csv", out.getvalue().encode("utf-8"))
    assert page.status_code == 200, _alert(page.text)
    assert _first_cells(_section(page.text, "lacunes")) == expected["uncovered"]
    latin = out.getvalue() + "MOD99;Études;1;\n"
    page = _post(app_client, "programme-excel.csv", latin.encode("windows-1252"))
    assert page.status_code == 400
    assert "« CSV UTF-8 (délimité par des virgules) »" in _alert(page.text)


def test_files_that_are_not_text_are_named_by_their_kind(app_client):
    pdf, png = b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n1 0 obj\n", b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR"
    for name, content, ext in (("programme.pdf", pdf, ".pdf"), ("image.png", png, ".png"),
                               ("programme.csv", pdf, ".pdf")):
        page = _post(app_client, name, content)
        assert page.status_code == 400
        alert = _alert(page.text)
        assert f"fichier {ext}" in alert and "format non pris en charge" in alert
        assert "déposez un classeur .xlsx, un .csv ou un .yaml" in alert and "octet 0x" not in alert
    page = app_client.post("/decisions", files={"fichier": ("resultats.pdf", pdf)})
    assert page.status_code == 400 and ".yaml ou .json" in _alert(page.text)
    page = app_client.post("/decisions", files={"fichier": ("programme.xlsx", _xlsx_from_csv(LACUNARY_CSV))})
    assert page.status_code == 400 and "un classeur Excel n'est pas accepté ici" in _alert(page.text)


def test_decision_files_suggest_the_code_of_a_label_or_a_case(app_client):
    evaluators = csv_rows("evaluators.csv")
    labelled = next(r for r in evaluators if r["label"].casefold() != r["code"].casefold())
    block = csv_rows("blocks.csv")[0]["code"]
    text = f"route: formation\nblocks:\n  {block}:\n    evaluators: {{{labelled['label']}: 60}}\n"
    page = app_client.post("/decisions", files={"fichier": ("r.yaml", text.encode("utf-8"))})
    assert page.status_code == 400
    assert f"({labelled['label']}) ; vouliez-vous dire {labelled['code']} ?" in _alert(page.text)
    text = f"route: formation\nblocks:\n  {block.lower()}: 60\n"
    page = app_client.post("/decisions", files={"fichier": ("r.yaml", text.encode("utf-8"))})
    assert page.status_code == 400
    assert f"bloc {block.lower()} : bloc inconnu du référentiel ({block.lower()}) ; vouliez-vous dire {block} ?" \
        in _alert(page.text)


def test_an_unknown_route_is_404_with_the_close_one_on_get_and_post(app_client, knowledge):
    routes = [r["code"] for r in knowledge.rows("routes", referential=FIRST)]
    route = next(r for r in routes if r.upper() != r)
    for answer in (app_client.get(f"/decisions?route={route.upper()}"),
                   app_client.post("/decisions", data={"route": route.upper(), "candidate": "x"})):
        assert answer.status_code == 404
        assert f"voie « {route.upper()} » inconnue ; vouliez-vous dire {route} ?" in _alert(answer.text)


def test_programme_keys_are_listed_where_they_belong(app_client):
    page = _post(app_client, "p.yaml", b"title: x\ncandidate: y\nmodules:\n  - code: M1\n    title: t\n    hours: 1\n")
    assert page.status_code == 400
    assert "programme : clé inconnue « candidate » (attendu : modules, referential, title)" in _alert(page.text)
    page = _post(app_client, "p.yaml", b"title: x\nmodules:\n  - code: M1\n    title: t\n    hour: 1\n")
    alert = _alert(page.text)
    assert "module M1 : clé inconnue « hour » (attendu : activities," in alert and "hours" in alert


def test_template_of_an_unknown_referential_is_a_404_about_the_template(app_client):
    page = app_client.get("/coverage/template.xlsx?referential=zz")
    assert page.status_code == 404
    text = html.unescape(page.text)
    assert "<title>Le modèle de programme n'a pas pu être produit" in text
    assert "Le programme n'a pas pu être analysé" not in text and "« zz » inconnu" in _alert(page.text)


def test_referential_report_wraps_its_table_of_contents(app_client):
    page = app_client.get("/coverage/referential")
    head = page.text[:page.text.index("</head>")]
    assert re.search(r"nav\.toc\s*\{[^}]*flex-wrap:\s*wrap", head)


def test_api_reads_an_excel_programme_as_body_or_form(app_client, expected):
    book = _xlsx_from_csv(LACUNARY_CSV)
    media = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    answer = app_client.post("/api/coverage/programme", content=book, headers={"Content-Type": media})
    assert answer.status_code == 200, answer.text
    assert answer.json()["uncovered"] == expected["uncovered"]
    answer = app_client.post("/api/coverage/programme", files={"fichier": ("p.xlsx", book)})
    assert answer.status_code == 200, answer.text
    assert answer.json()["uncovered"] == expected["uncovered"]
    answer = app_client.post("/api/coverage/programme", files={"fichier": ("p.csv", LACUNARY_CSV.read_bytes())})
    assert answer.status_code == 200 and answer.json()["uncovered"] == expected["uncovered"]
    bad = app_client.post("/api/coverage/programme", content=b"PK\x03\x04 not really", headers={"Content-Type": media})
    assert bad.status_code == 422 and "xlsx" in bad.text
    assert app_client.post("/api/coverage/programme", files={"autre": ("p.csv", b"x")}).status_code == 422
    described = app_client.get("/openapi.json").json()["paths"]["/api/coverage/programme"]["post"]["description"]
    assert media in described and "multipart" in described and "`fichier`" in described


@pytest.mark.parametrize("method, why", [
    (None, "le référentiel ne déclare pas comment combiner les résultats des évaluateurs (choix block-score-aggregation)"),
    ("median", "le choix déclaré block-score-aggregation=median n'est pas une méthode connue (mean, min)"),
])
def test_without_a_method_the_referential_declares_a_block_score_is_asked_for_not_computed(tmp_path, method, why):
    """A referential whose settings.csv declares no way of combining evaluators' scores (the file is optional), or
    a way the engine does not know (its shapes allow what the referential lists): the form asks for the block's
    score (« à remplir », not « facultatif »), and a decision from evaluators' scores only says, in the reason a
    jury reads first, that the score was not computed and why, never « aucun résultat »."""
    from fastapi.testclient import TestClient

    from cqp_graph.graph.pipeline import run_pipeline
    from cqp_graph.publish.dumps import write_dist
    from cqp_graph.web.app import create_app

    from .support import SECOND, edit_csv, settings_for, small_referential

    def declare(rows):  # in place: edit_csv keeps the rows when the change returns an empty list
        rows[:] = [r for r in rows if r["code"] != "block-score-aggregation"] + [
            {**r, "value": method, "allowed_values": f"mean|min|{method}"}
            for r in rows if method and r["code"] == "block-score-aggregation"]

    data = small_referential(tmp_path)
    edit_csv(data, "settings.csv", declare, referential=SECOND)
    settings = settings_for(data, tmp_path)
    built = run_pipeline(settings)
    dist = tmp_path / "served"
    write_dist(built.graph, dist, settings.base, extra={"validation.json": built.findings_json()})
    knowledge = built.knowledge
    route = next(r["code"] for r in knowledge.rows("routes")
                 if any(rule["scope"] == "block-evaluator" for rule in _rules(knowledge, r["code"])))
    blocks = [b["code"] for b in knowledge.rows("blocks")]
    evaluators = [e["code"] for e in knowledge.rows("evaluators")]
    with TestClient(create_app(settings, graph_file=dist / "graph.nt", workers=1),
                    raise_server_exceptions=False) as client:
        form = client.get(f"/decisions?route={route}")
        assert form.status_code == 200
        text = html.unescape(form.text)
        assert text.count(f"à remplir : il ne sera pas calculé à partir des évaluateurs, car {why}") == len(blocks)
        assert "sinon calculé" not in text
        results = {"route": route, "blocks": {b: {"evaluators": {e: 90 for e in evaluators}} for b in blocks}}
        answer = client.post("/api/decisions", json=results)
        assert answer.status_code == 200, answer.text
        decision = answer.json()
    assert decision["decision"] == "not awarded" and decision["settings_applied"] == []
    for block, reason in zip(decision["blocks"], decision["reasons"]):
        assert block["score"] is None and block["score_source"].endswith(f"mais {why}")
        assert reason.startswith(f"bloc {block['code']} non acquis : bloc {block['code']} : résultat non calculé, "
                                 f"car {why}, la règle exige au moins ")
        assert "aucun résultat" not in reason
