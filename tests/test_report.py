"""The referential coverage report: files, content, and what a person sees in a real browser."""

from __future__ import annotations

import csv
import json
import re
import subprocess
import sys

import pytest

from .browser import browser_page, screenshot


@pytest.fixture(scope="module")
def report_dir(tmp_path_factory):
    out = tmp_path_factory.mktemp("rapport")
    done = subprocess.run([sys.executable, "-m", "cqp_graph", "report", "--output", str(out)],
                          capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    return out


def test_report_files(report_dir):
    for name in ("rapport.html", "rapport.md", "rapport.json", "matrice.csv", "chiffres.csv", "constats.csv",
                 "matrice.svg", "reseau.svg"):
        assert (report_dir / name).stat().st_size > 0, name


def test_report_is_self_contained(report_dir):
    html = (report_dir / "rapport.html").read_text(encoding="utf-8")
    assert not re.search(r"""(src|href)=["']https?://""", html)
    assert "<link" not in html and "<script" not in html
    assert html.count("<svg") >= 2


def test_report_figures_agree_with_the_matrix(report_dir, store, catalogue, settings):
    from cqp_graph.query.catalogue import run_named

    data = json.loads((report_dir / "rapport.json").read_text(encoding="utf-8"))
    rows = list(csv.reader((report_dir / "matrice.csv").open(encoding="utf-8")))
    header, body = rows[0], rows[1:]
    assert len(header) - 1 == 45
    for row in body:
        expected = {r["code"] for r in run_named(store, catalogue.get("competences-for-mission"), {"mission": row[0]},
                                                 settings.base).rows}
        assert {code for code, cell in zip(header[1:], row[1:]) if cell == "1"} == expected
    per_mission = {m["mission"]: m["competences"] for m in data["per_mission"]}
    assert per_mission == {row[0]: sum(int(c) for c in row[1:]) for row in body}
    assert [u["code"] for u in data["unused"]] == ["RC1"]


def test_report_in_a_real_browser(report_dir):
    with browser_page() as page:
        page.goto((report_dir / "rapport.html").as_uri())
        assert page.locator("h1").inner_text() == "Rapport de couverture du référentiel"
        matrix = page.locator("#matrice + figure svg")
        assert matrix.is_visible() and matrix.bounding_box()["width"] > 600
        network = page.locator("#reseau + figure svg")
        assert network.is_visible() and network.bounding_box()["height"] > 400
        body = page.locator("body").inner_text()
        assert "RC1 — Identifier les profils (typologies) des clients" in body
        assert "Numérotation interrompue : RC3 manque avant RC4." in body
        assert "Si GPA, définir une commande en fonction des informations concernant les stocks clients" in body
        assert "RFS10" in body
        screenshot(page, "rapport-haut.png")
        page.locator("#matrice").scroll_into_view_if_needed()
        screenshot(page, "rapport-matrice.png")
        page.locator("#constats").scroll_into_view_if_needed()
        screenshot(page, "rapport-constats.png")
