"""Accessibility as a tool sees it: axe-core (vendored from npm, tests/vendor/axe-core/) run in Debian's chromium on
every page of the menu and on a sample of resource pages, at a desktop and a phone width.

A violation of impact « serious » or « critical » fails the page, with the rule, the impact, the elements and the
page named; every violation found (the lesser ones too) is written to the artifacts folder (axe/*.json) beside a
screenshot, for a person to read. The pages are those of the URL plan (issue #11); the resource pages are the first
mission, competence, block and domain of the shipped referential's CSV files. The menu test checks that no menu
entry escapes the audit.
"""

from __future__ import annotations

import json
import re
from urllib.parse import urlsplit

import pytest

from .browser import ARTIFACTS, AXE, axe_violations, chromium, screenshot, serious
from .support import FIRST, csv_rows

pytestmark = pytest.mark.xdist_group("browser")  # one browser at a time (with --dist loadgroup; loadfile: per module)

WIDTHS = {"bureau": (1280, 800), "telephone": (390, 844)}


def _first(name: str) -> str:
    return csv_rows(name)[0]["code"]


# the pages of the menu (issue #11's URL plan) and a sample of resource pages, each with what shows it is drawn
PAGES = {
    "/": "main h1",
    f"/{FIRST}/mission/{_first('missions.csv')}": "main h1",
    f"/{FIRST}/competence/{_first('competences.csv')}": "main h1",
    f"/{FIRST}/block/{_first('blocks.csv')}": "main h1",
    f"/{FIRST}/domain/{_first('domains.csv')}": "main h1",
    "/search?q=client": "main h1",
    "/coverage": "main h1",
    "/coverage/referential": "main h1",
    "/decisions": "main h1",
    "/compare?mission=M2&mission=M3": "main h1",
    "/register": "main h1",
    "/findings": "main h1",
    "/query": ".yasqe .CodeMirror",
    "/dataset": "main h1",
    "/ontology": "main h1",
    "/docs": ".opblock",  # Swagger UI has drawn the operations
}

#: pages left out of the audit, each with its reason (printed); none today
EXCLUDED: dict[str, str] = {}


def slug(path: str) -> str:
    return re.sub(r"[^A-Za-z0-9]+", "-", path).strip("-") or "accueil"


@pytest.fixture(scope="module")
def browser():
    assert AXE.exists(), f"{AXE} is missing: run scripts/vendor-axe.sh"
    with chromium() as browser:
        yield browser


WIDER_THAN_SCREEN = """() => {
  const width = document.documentElement.clientWidth;
  const wide = [...document.querySelectorAll("main *, header *")].filter(e => e.getBoundingClientRect().right > width + 1)
    .filter(e => !e.parentElement || e.parentElement.getBoundingClientRect().right <= width + 1);
  return { scroll: document.documentElement.scrollWidth, width: width,
           wide: wide.slice(0, 5).map(e => e.tagName.toLowerCase() + (e.id ? "#" + e.id : "")
             + (typeof e.className === "string" && e.className ? "." + e.className.split(" ")[0] : "")
             + " « " + e.textContent.trim().slice(0, 40) + " »") };
}"""


def audit(browser, url: str, ready: str, width: int, height: int, shot: str) -> tuple[int, list[dict], dict]:
    """The page's HTTP status, axe's violations on it (bypass_csp: axe is injected as a script element) and how
    wide it is drawn against the screen."""
    context = browser.new_context(viewport={"width": width, "height": height}, locale="fr-FR", bypass_csp=True)
    try:
        page = context.new_page()
        response = page.goto(url, wait_until="load")
        status = response.status if response else 0
        if status != 200:
            return status, [], {}
        page.wait_for_selector(ready, timeout=20000)
        page.wait_for_load_state("networkidle")
        violations = axe_violations(page)
        fit = page.evaluate(WIDER_THAN_SCREEN)
        screenshot(page, f"axe/{shot}.png", full_page=True)
        return status, violations, fit
    finally:
        context.close()


@pytest.mark.parametrize("width", list(WIDTHS))
@pytest.mark.parametrize("path", list(PAGES))
def test_page_is_accessible_and_fits(browser, live_server, path, width):
    if path in EXCLUDED:
        print(f"{path} left out of the audit: {EXCLUDED[path]}")
        pytest.skip(f"{path} left out of the audit: {EXCLUDED[path]}")
    w, h = WIDTHS[width]
    shot = f"{slug(path)}-{width}"
    status, violations, fit = audit(browser, live_server.url + path, PAGES[path], w, h, shot)
    assert status == 200, f"page {path} : réponse {status} (page absente ?)"
    (ARTIFACTS / "axe").mkdir(parents=True, exist_ok=True)
    (ARTIFACTS / "axe" / f"{shot}.json").write_text(
        json.dumps({"page": path, "width": w, "violations": violations, "fit": fit}, ensure_ascii=False, indent=1),
        encoding="utf-8")
    problems = serious(violations, "axe")
    if width == "telephone" and fit["scroll"] > fit["width"]:
        problems.append(f"the page scrolls sideways ({fit['scroll']} px drawn on a {fit['width']} px screen), "
                        f"past the edge: {', '.join(fit['wide'])}")
    assert not problems, f"page {path} at {w}×{h}: " + "; ".join(problems)


def test_every_menu_entry_is_audited(browser, live_server):
    """The menu's pages are all in PAGES: a new menu entry cannot escape the audit."""
    page = browser.new_page()
    try:
        page.goto(live_server.url + "/")
        hrefs = page.locator("nav.menu a").evaluate_all("links => links.map(a => a.getAttribute('href'))")
    finally:
        page.close()
    assert len(hrefs) >= 10, f"the menu has {len(hrefs)} entries: {hrefs}"
    audited = {urlsplit(p).path for p in PAGES} | {urlsplit(p).path for p in EXCLUDED}
    missing = [h for h in hrefs if urlsplit(h).path not in audited]
    assert not missing, f"menu entries not audited: {missing}"
