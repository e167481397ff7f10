"""What a person sees: the served pages in a real browser (Debian's chromium driven by Playwright)."""

from __future__ import annotations

from .browser import browser_page, screenshot


def test_mission_page_link_to_competence_and_query_page(live_server):
    with browser_page() as page:
        page.goto(live_server.url + "/agc-alimentaire/mission/M4")
        assert page.url.endswith("/agc-alimentaire/mission/M4.html")
        assert page.locator("h1").inner_text() == "Gérer les réclamations clients"
        assert page.locator("text=M4A2").first.is_visible()
        screenshot(page, "mission-M4.png", full_page=True)

        page.locator("a", has_text="RSF10").first.click()
        page.wait_for_url("**/competence/RSF10.html")
        assert "Apaiser les tensions" in page.locator("h1").inner_text()
        body = page.locator("body").inner_text()
        assert "RFS10" in body, "the misspelt code is shown with where it appears"
        assert "Gérer les réclamations clients" in body
        screenshot(page, "competence-RSF10.png", full_page=True)

        page.goto(live_server.url + "/query")
        page.wait_for_selector(".yasqe .CodeMirror")
        page.locator("button.example", has_text="Compétences exigées par une mission").click()
        page.locator(".yasqe_queryButton").click()
        page.wait_for_selector(".yasr table tbody tr", timeout=20000)
        rows = page.locator(".yasr table tbody tr").count()
        assert rows == 26, f"M3 needs 26 competences, the editor shows {rows} rows"
        assert "RSF10" in page.locator(".yasr").inner_text()
        screenshot(page, "requete-yasgui.png", full_page=True)


def test_home_page_lists_missions(live_server):
    with browser_page() as page:
        page.goto(live_server.url + "/")
        assert page.locator("a", has_text="M5").first.is_visible()
        page.locator("a", has_text="Jeu de données").first.click()
        page.wait_for_load_state()
        assert "Statistiques" in page.locator("body").inner_text()
