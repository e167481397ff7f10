"""A real browser for the tests: Debian's chromium driven by Playwright (no browser download).

Lives here: opening a page in chromium, running axe-core in it (vendored from npm by scripts/vendor-axe.sh) and
saving screenshots to the artifacts folder (`CQP_GRAPH_TEST_ARTIFACTS`,
default test-artifacts/ at the project root). Not here: the server it visits (tests/server.py, through the
`live_server` fixture).
"""

from __future__ import annotations

import os
import shutil
from contextlib import contextmanager
from pathlib import Path

import pytest

ARTIFACTS = Path(os.environ.get("CQP_GRAPH_TEST_ARTIFACTS") or Path(__file__).resolve().parent.parent / "test-artifacts")
AXE = Path(__file__).resolve().parent / "vendor" / "axe-core" / "axe.min.js"
#: axe's violations on the page as it is now: rule, impact, help, and the elements (CSS selectors)
AXE_RUN = """async () => {
  const result = await axe.run(document, { resultTypes: ["violations"] });
  return result.violations.map(v => ({ id: v.id, impact: v.impact, help: v.help, helpUrl: v.helpUrl,
    targets: v.nodes.map(n => n.target.join(" ")) }));
}"""
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync"]


def chromium_path() -> str | None:
    for name in ("chromium", "chromium-browser"):
        found = shutil.which(name)
        if found:
            return found
    return None


@contextmanager
def chromium():
    """A Playwright browser (Debian's chromium); skips with the reason when either is missing (CI=true: fails)."""
    path = chromium_path()
    if not path:
        pytest.skip("Debian's chromium is not installed (apt-get install chromium; .ci/run does it)")
    playwright = pytest.importorskip("playwright.sync_api", reason="playwright is not installed (pip install -e .[test])")
    with playwright.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=path, args=CHROMIUM_ARGS)
        try:
            yield browser
        finally:
            browser.close()


@contextmanager
def browser_page(width: int = 1300, height: int = 900):
    with chromium() as browser:
        yield browser.new_page(viewport={"width": width, "height": height})


def screenshot(page, name: str, full_page: bool = False) -> Path:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    path = ARTIFACTS / name
    page.screenshot(path=str(path), full_page=full_page)
    return path


def axe_violations(page) -> list[dict]:
    """axe-core's violations on the page as drawn now (its context needs bypass_csp=True: axe goes in as a script)."""
    assert AXE.exists(), f"{AXE} is missing: run scripts/vendor-axe.sh"
    page.add_script_tag(path=str(AXE))
    return page.evaluate(AXE_RUN)


def serious(violations: list[dict], where: str) -> list[str]:
    """The violations of impact serious or critical, one line each, naming the rule, the elements and `where`."""
    return [f"{where}: {v['id']} ({v['impact']}: {v['help']}) on {', '.join(v['targets'][:5])}"
            + (f" and {len(v['targets']) - 5} more" if len(v["targets"]) > 5 else "")
            for v in violations if v["impact"] in ("serious", "critical")]
