"""The designer's flows as a person goes through them, in Debian's chromium (Playwright) against a live server:
search « reclamation » in the menu's box and open a suggestion; upload the lacunary programme as an Excel file and
download the report; fill the decision form; compare two missions; read the API's documentation. Search and coverage
are also tried at a phone's width; scripts a hostile visitor slips into the search box or a file name never run.

Every expectation is read from the data (data/agc-alimentaire/*.csv) or the example programme (examples/), never from
the program's output; screenshots are kept in the artifacts folder (tests/browser.py, `CQP_GRAPH_TEST_ARTIFACTS`).
The states only a flow reaches (suggestions open, a coverage report, a decision, a comparison) go through axe-core
too: no serious or critical violation (tests/test_accessibility.py audits the pages as first opened).
"""

from __future__ import annotations

import csv
import io
import re
import unicodedata

import openpyxl
import pytest

from .browser import axe_violations, chromium, screenshot, serious
from .support import FIRST, ROOT, csv_rows

pytestmark = pytest.mark.xdist_group("browser")  # one browser at a time (with --dist loadgroup; loadfile: per module)

WIDTHS = {"bureau": (1280, 800), "telephone": (390, 844)}
LACUNARY = ROOT / "examples" / "programme-lacunaire.csv"


@pytest.fixture(scope="module")
def browser():
    with chromium() as browser:
        yield browser


@pytest.fixture
def page_at(browser):
    """`page_at("telephone")`: a fresh page (own cookies, downloads accepted, axe allowed in) at one of WIDTHS."""
    contexts = []

    def open_page(width: str = "bureau"):
        w, h = WIDTHS[width]
        phone = width == "telephone"
        context = browser.new_context(viewport={"width": w, "height": h}, locale="fr-FR", accept_downloads=True,
                                      is_mobile=phone, has_touch=phone, bypass_csp=True)
        contexts.append(context)
        return context.new_page()

    yield open_page
    for context in contexts:
        context.close()


def shown(page, locator, what: str, timeout: float = 30000):
    """Wait for `locator`; if it never shows, fail with what the page says instead (a 503 under load, an error…)."""
    try:
        locator.first.wait_for(state="visible", timeout=timeout)
    except Exception as exc:  # Playwright's TimeoutError: say what the person sees
        body = page.locator("body").inner_text(timeout=5000) if page.locator("body").count() else page.content()
        pytest.fail(f"{what} never showed on {page.url} ({type(exc).__name__}); the page says: {spaced(body)[:800]}")
    return locator


def folded(text: str) -> str:
    """Lower case, accents and punctuation set aside: how a person typing « reclamation » means « réclamation »."""
    text = "".join(c for c in unicodedata.normalize("NFD", text) if unicodedata.category(c) != "Mn")
    return " ".join(re.sub(r"[^\w]+", " ", text.lower()).split())


def spaced(text: str) -> str:
    """Non-breaking and narrow spaces (French typography) as plain spaces, runs of blanks as one."""
    return " ".join(text.replace("\xa0", " ").replace("\u202f", " ").split())


def codes(column) -> list[str]:
    return [cell.strip() for cell in column]


# -- expectations from the data ---------------------------------------------------------------------------------

def requirements_of(mission: str) -> set[str]:
    return {r["competence"] for r in csv_rows("requirements.csv") if r["mission"] == mission}


def lacunary_gaps() -> list[str]:
    """What the lacunary programme leaves untrained, read from the CSVs: every competence and aptitude of the
    referential but those a module names and those of the missions whose activities a module trains with
    activities_stand_for_mission (README: « a trained activity covers the competences its mission needs »)."""
    mission_of = {a["code"]: a["mission"] for a in csv_rows("activities.csv")}
    trained: set[str] = set()
    with LACUNARY.open(encoding="utf-8") as handle:
        for module in csv.DictReader(handle):
            trained |= {c for c in module["competences"].split("|") if c}
            if module["activities_stand_for_mission"].strip().lower() == "true":
                for activity in filter(None, module["activities"].split("|")):
                    trained |= requirements_of(mission_of[activity])
    everything = [c["code"] for c in csv_rows("competences.csv")] + [a["code"] for a in csv_rows("aptitudes.csv")]
    return [code for code in everything if code not in trained]


def lacunary_xlsx(path):
    """The lacunary programme as a training organisation keeps it: an Excel workbook, one module a row."""
    workbook = openpyxl.Workbook()
    sheet = workbook.active
    sheet.title = "Programme"
    with LACUNARY.open(encoding="utf-8") as handle:
        for row in csv.reader(handle):
            sheet.append([float(v) if i == 2 and v and v != "hours" else v for i, v in enumerate(row)])
    workbook.save(path)
    return path


# -- search -------------------------------------------------------------------------------------------------------

@pytest.mark.parametrize("width", list(WIDTHS))
def test_search_reclamation_in_the_menu_leads_to_the_mission(page_at, live_server, width):
    missions = {m["code"]: m["label"] for m in csv_rows("missions.csv")}
    wanted = [code for code, label in missions.items() if "reclamation" in folded(label)]
    assert len(wanted) == 1, f"one mission is about « réclamation » in missions.csv: {wanted}"
    code, label = wanted[0], missions[wanted[0]]

    page = page_at(width)
    page.goto(live_server.url + "/")
    box = page.get_by_role("combobox", name=re.compile("Rechercher"))
    box.click()
    box.press_sequentially("reclamation", delay=40)  # no accent, as people type
    listbox = page.get_by_role("listbox", name="Suggestions")
    option = listbox.get_by_role("option").filter(has_text=re.compile(rf"^{code}\b"))
    shown(page, option, f"the suggestion {code}", timeout=15000)
    assert box.get_attribute("aria-expanded") == "true"
    screenshot(page, f"recherche-suggestions-{width}.png")
    assert not serious(axe_violations(page), f"suggestions open ({width})")
    if width == "telephone":
        option.tap()
    else:
        option.click()
    page.wait_for_url(re.compile(rf"/{FIRST}/mission/{code}(\.html)?$"), timeout=15000)
    assert page.locator("main h1").inner_text().strip() == label
    screenshot(page, f"recherche-mission-{code}-{width}.png", full_page=True)


def test_search_keyboard_only(page_at, live_server):
    """Without a mouse: type, ArrowDown to the mission's suggestion, Enter."""
    missions = {m["code"]: m["label"] for m in csv_rows("missions.csv")}
    code = next(c for c, label in missions.items() if "reclamation" in folded(label))
    page = page_at()
    page.goto(live_server.url + "/search")
    page.keyboard.press("Tab")  # the skip link first
    assert page.evaluate("document.activeElement.className") == "skip"
    box = page.locator("#menu-q")
    box.focus()
    box.press_sequentially("réclamations clients", delay=30)
    options = shown(page, page.get_by_role("option"), "the suggestions", timeout=15000)
    texts = options.all_inner_texts()
    index = next((i for i, t in enumerate(texts) if t.startswith(code + " ")), None)
    assert index is not None, f"{code} is not among the suggestions {texts}"
    for _ in range(index + 1):
        box.press("ArrowDown")
    assert box.get_attribute("aria-activedescendant") == options.nth(index).get_attribute("id")
    box.press("Enter")
    page.wait_for_url(re.compile(rf"/mission/{code}(\.html)?$"), timeout=15000)
    assert page.locator("main h1").inner_text().strip() == missions[code]


# -- coverage -----------------------------------------------------------------------------------------------------

@pytest.mark.parametrize("width", list(WIDTHS))
def test_coverage_upload_xlsx_shows_the_gaps_and_downloads_them(page_at, live_server, tmp_path, width):
    gaps = lacunary_gaps()
    assert gaps, "the lacunary programme leaves gaps"
    upload = lacunary_xlsx(tmp_path / "programme-lacunaire.xlsx")

    page = page_at(width)
    page.goto(live_server.url + "/")
    page.get_by_role("navigation", name="Menu principal").get_by_role("link", name="Couverture").click()
    page.wait_for_url("**/coverage")
    page.get_by_label("Fichier du programme").set_input_files(str(upload))
    screenshot(page, f"couverture-formulaire-{width}.png")
    page.get_by_role("button", name="Analyser le programme").click()
    shown(page, page.locator("h2#lacunes"), "the gaps of the report")
    gap_table = page.locator("h2#lacunes + table")
    listed = codes(gap_table.locator("tr td:first-child").all_inner_texts())
    assert sorted(listed) == sorted(gaps), f"gaps listed {listed}, the data give {gaps}"
    screenshot(page, f"couverture-rapport-{width}.png", full_page=True)
    assert not serious(axe_violations(page), f"coverage report ({width})")

    with page.expect_download(timeout=30000) as info:
        page.get_by_role("button", name=re.compile(r"Excel")).click()
    download = info.value
    assert download.suggested_filename.endswith(".xlsx"), download.suggested_filename
    saved = tmp_path / download.suggested_filename
    download.save_as(saved)
    workbook = openpyxl.load_workbook(saved, read_only=True)
    sheet = workbook[workbook.sheetnames[0]]
    rows = list(sheet.iter_rows(values_only=True))
    assert rows[0][0] == "code", f"the first sheet ({sheet.title}) starts with the gaps' codes: {rows[0]}"
    assert sorted(str(r[0]) for r in rows[1:] if r[0]) == sorted(gaps)

    with page.expect_download(timeout=30000) as info:
        page.get_by_role("button", name="CSV").click()
    text = open(info.value.path(), encoding="utf-8").read()
    table = list(csv.DictReader(io.StringIO(text)))
    untrained = [r["code"] for r in table if r["couverte"] == "non"]
    assert sorted(untrained) == sorted(gaps)


def test_coverage_file_with_a_mistake_shows_the_line_next_to_the_form(page_at, live_server, tmp_path):
    """A module naming a code the referential does not have: the error names the file, the line and the code, next
    to the form (which stays usable), and the page is still accessible."""
    known = {c["code"] for c in csv_rows("competences.csv")}
    wrong = "ZZ99"
    assert wrong not in known
    rows = LACUNARY.read_text(encoding="utf-8").splitlines()
    line = 3  # the second module, as a spreadsheet numbers lines (the header is line 1)
    rows[line - 1] = rows[line - 1].replace("POC1|", f"POC1|{wrong}|", 1)
    assert wrong in rows[line - 1]
    mistaken = tmp_path / "programme-avec-erreur.csv"
    mistaken.write_text("\n".join(rows) + "\n", encoding="utf-8")

    page = page_at()
    page.goto(live_server.url + "/coverage")
    page.get_by_label("Fichier du programme").set_input_files(str(mistaken))
    page.get_by_role("button", name="Analyser le programme").click()
    alert = shown(page, page.get_by_role("alert"), "the errors next to the form")
    text = spaced(alert.first.inner_text())
    assert mistaken.name in text and wrong in text, text
    error_rows = [spaced(r) for r in alert.first.locator("tr").all_inner_texts()]
    assert any(r.startswith(f"{line} ") and wrong in r for r in error_rows), error_rows
    assert page.get_by_label("Fichier du programme").is_visible()
    screenshot(page, "couverture-erreur.png", full_page=True)
    assert not serious(axe_violations(page), "coverage error")


# -- decisions ----------------------------------------------------------------------------------------------------

def test_decision_form_for_one_candidate(page_at, live_server):
    """Formation route: one block well over every threshold, one with a single evaluator one point under its floor,
    one just under the block threshold — figures read from rules.csv; each block's decision and failing rule shown."""
    route = min(csv_rows("routes.csv"), key=lambda r: int(r["order"]))
    rules = [r for r in csv_rows("rules.csv") if r["route"] == route["code"]]
    block_rule = next(r for r in rules if r["scope"] == "block")
    floors = {r["evaluator"]: r for r in rules if r["scope"] == "block-evaluator"}
    evaluators = {e["code"]: e["label"] for e in csv_rows("evaluators.csv")}
    block_min = int(block_rule["min_percent"])
    blocks = [b["code"] for b in sorted(csv_rows("blocks.csv"), key=lambda b: int(b["order"]))]
    assert len(blocks) >= 3 and floors, (blocks, floors)
    low_evaluator = sorted(floors)[0]
    low = int(floors[low_evaluator]["min_percent"]) - 1
    plans = {  # block: (scores by evaluator, acquired?, the rule that refuses it)
        blocks[0]: ({e: block_min + 5 for e in floors}, True, None),
        blocks[1]: ({e: (low if e == low_evaluator else 100) for e in floors}, False, floors[low_evaluator]["code"]),
        blocks[2]: ({e: block_min - 1 for e in floors}, False, block_rule["code"]),
    }
    assert all(block_min - 1 >= int(r["min_percent"]) for r in floors.values()), "block 3 fails on the block rule only"

    page = page_at()
    page.goto(live_server.url + "/decisions")
    page.get_by_label("Nom du candidat").fill("Éloïse Dupré-Lefèvre")
    for block, (scores, _, _) in plans.items():
        fieldset = page.locator("fieldset").filter(has=page.locator("legend", has_text=re.compile(rf"\b{block}\b")))
        for evaluator, score in scores.items():
            fieldset.get_by_label(f"{evaluators[evaluator]} (%)", exact=True).fill(str(score))
    screenshot(page, "decision-formulaire.png", full_page=True)
    page.get_by_role("button", name="Décider", exact=True).click()
    result = shown(page, page.locator("section#decision"), "the decision")
    summary = spaced(result.locator("h2").inner_text())
    assert "Éloïse Dupré-Lefèvre" in summary and route["label"] in summary
    assert "non délivré" in summary, f"a block is refused, so is the CQP: {summary}"
    for block, (scores, acquired, refusing) in plans.items():
        row = result.locator("table tr").filter(has=page.locator("td:first-child", has_text=re.compile(rf"^{block}$")))
        cells = [spaced(t) for t in row.locator("td").all_inner_texts()]
        decision = cells[3]
        assert decision == ("acquis" if acquired else "non acquis"), (block, cells)
        if refusing:
            assert refusing in cells[4], f"{block}: the refusing rule {refusing} is named: {cells[4]}"
            failed = spaced(row.locator("li", has_text="✗").inner_text())
            assert refusing in failed, failed
    screenshot(page, "decision-resultat.png", full_page=True)
    assert not serious(axe_violations(page), "decision shown")


# -- compare ------------------------------------------------------------------------------------------------------

def test_compare_two_missions_lists_the_shared_competences(page_at, live_server):
    first, second = "M2", "M3"
    shared = requirements_of(first) & requirements_of(second)
    only_first = requirements_of(first) - requirements_of(second)
    assert shared and only_first
    page = page_at()
    page.goto(live_server.url + "/compare")
    for code in (first, second):
        page.get_by_role("checkbox", name=re.compile(rf"^{code}\b")).check()
    page.get_by_role("button", name="Comparer").click()
    page.wait_for_url(re.compile(rf"mission={first}.*mission={second}"))
    table = shown(page, page.locator("h2#communes + table"), "the shared competences")
    assert set(codes(table.locator("tbody td:first-child").all_inner_texts())) == shared
    only = page.locator(f"h2#seulement-{first} + table")
    assert set(codes(only.locator("tbody td:first-child").all_inner_texts())) == only_first
    screenshot(page, "comparer-M2-M3.png", full_page=True)
    assert not serious(axe_violations(page), "comparison")


# -- API documentation --------------------------------------------------------------------------------------------

def test_docs_shows_an_operation(page_at, live_server):
    page = page_at()
    answer = page.request.get(live_server.url + "/openapi.json")
    assert answer.ok, f"/openapi.json: {answer.status} {answer.text()[:300]}"
    spec = answer.json()
    path = next(p for p in spec["paths"] if p == "/api/missions")
    page.goto(live_server.url + "/docs")
    operation = page.locator(".opblock-summary-path", has_text=re.compile(rf"^{re.escape(path)}$"))
    shown(page, operation, f"the operation {path}")
    assert not page.locator("text=Unable to render this definition").count()
    screenshot(page, "docs-operations.png")


# -- a hostile visitor --------------------------------------------------------------------------------------------

PAYLOAD = "<img src=x onerror=\"window.__pwned=1\"><script>window.__pwned=1</script>"


def test_scripts_in_search_and_file_names_never_run(page_at, live_server, tmp_path):
    page = page_at()
    dialogs = []
    page.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))

    page.goto(live_server.url + "/search?q=" + PAYLOAD.replace("#", "%23"))
    page.wait_for_load_state("networkidle")
    assert page.locator("#menu-q").input_value() == PAYLOAD, "the query is given back as text, whole"
    page.locator("#menu-q").fill("")
    page.locator("#menu-q").press_sequentially('"><svg onload=alert(1)>', delay=10)
    page.wait_for_timeout(600)  # suggestions asked and drawn
    assert page.evaluate("window.__pwned") is None and not dialogs

    # a programme whose file name and module title carry markup
    hostile = tmp_path / 'x"><img src=x onerror=alert(1)>.csv'
    rows = LACUNARY.read_text(encoding="utf-8").splitlines()
    rows[1] = rows[1].replace("Bases de la relation client", PAYLOAD.replace('"', "'"))
    hostile.write_text("\n".join(rows) + "\n", encoding="utf-8")
    page.goto(live_server.url + "/coverage")
    page.get_by_label("Fichier du programme").set_input_files(str(hostile))
    page.get_by_role("button", name="Analyser le programme").click()
    page.wait_for_load_state("networkidle")
    assert page.evaluate("window.__pwned") is None and not dialogs
    assert page.locator("main img").count() == 0, "no markup of the file reached the page"
    assert "onerror" in page.locator("main").inner_text(), "the title is shown as text"
    screenshot(page, "hostile-couverture.png", full_page=True)
