"""The pages a curriculum designer reads: /docs in a browser, a mission's competences grouped once, block and
domain pages, and the comparison of missions.

Expectations come from the referential's CSV files (data/agc-alimentaire), read here with `csv`, never from
the program's output.
"""

from __future__ import annotations

import csv
import io
import re
from collections import Counter
from decimal import Decimal
from html.parser import HTMLParser

import openpyxl
import pytest
from rdflib import Graph, Literal, Namespace
from rdflib.namespace import RDF, SKOS

from cqp_graph.config import Settings

from .browser import browser_page, screenshot
from .support import REFERENTIAL, ROOT, SECOND_REFERENTIAL

BASE = Settings.from_env(root=ROOT).base


def test_docs_renders_the_openapi_31_document_in_a_browser(live_server, app_client):
    spec = app_client.get("/openapi.json").json()
    assert spec["openapi"].startswith("3.1"), "the document Swagger UI must read is OpenAPI 3.1"
    requested = []
    with browser_page() as page:
        page.on("request", lambda r: requested.append(r.url))
        page.goto(live_server.url + "/docs")
        operation = page.locator(".opblock-summary", has_text="/api/missions").first
        operation.wait_for(timeout=20000)
        assert operation.is_visible()
        body = page.locator("#swagger-ui").inner_text()
        assert "Unable to render" not in body and "valid version field" not in body
        assert re.search(r"GET\s*/api/missions\b", body), "the GET /api/missions operation is listed"
        screenshot(page, "docs.png")
    outside = [u for u in requested if not u.startswith(live_server.url) and not u.startswith("data:")]
    assert not outside, f"/docs fetched from the network: {outside}"


# -- reading the data and the pages ------------------------------------------------------------------------------

def read(name: str, folder=REFERENTIAL) -> list[dict]:
    with (folder / name).open(encoding="utf-8", newline="") as handle:
        return list(csv.DictReader(handle))


def ontology_kinds() -> dict[str, str]:
    """The competence kinds' notations and French names, read from ontology/cqp.ttl (not from the program)."""
    graph = Graph().parse(ROOT / "ontology" / "cqp.ttl", format="turtle")
    cqp = Namespace(BASE + "ontology#")
    return {str(graph.value(k, SKOS.notation)): next(str(l) for l in graph.objects(k, SKOS.prefLabel)
                                                     if l.language == "fr")
            for k in graph.subjects(RDF.type, cqp.CompetenceKind)}


class Page(HTMLParser):
    """A page as its headings (h1-h3), each with the texts of the links and table cells under it."""

    def __init__(self, text: str):
        super().__init__()
        self.parts: list[dict] = [{"level": 0, "title": "", "links": [], "cells": [], "hrefs": []}]
        self.heading = None
        self.cell = None
        self.link = None
        self.feed(text)

    def handle_starttag(self, tag, attrs):
        if tag in ("h1", "h2", "h3"):
            self.heading = {"level": int(tag[1]), "title": "", "links": [], "cells": [], "hrefs": []}
        elif tag in ("td", "th"):
            self.cell = ""
        elif tag == "a":
            self.link = ""
            self.parts[-1]["hrefs"].append(dict(attrs).get("href"))

    def handle_endtag(self, tag):
        if tag in ("h1", "h2", "h3") and self.heading is not None:
            self.heading["title"] = " ".join(self.heading["title"].split())
            self.parts.append(self.heading)
            self.heading = None
        elif tag in ("td", "th") and self.cell is not None:
            self.parts[-1]["cells"].append(" ".join(self.cell.split()))
            self.cell = None
        elif tag == "a" and self.link is not None:
            if self.heading is None:
                self.parts[-1]["links"].append(self.link.strip())
            self.link = None

    def handle_data(self, data):
        if self.heading is not None:
            self.heading["title"] += data
        if self.cell is not None:
            self.cell += data
        if self.link is not None:
            self.link += data

    def under(self, title_start: str) -> list[dict]:
        """The part whose heading starts with `title_start`, and the deeper parts that follow it."""
        for i, part in enumerate(self.parts):
            if part["title"].startswith(title_start):
                out = [part]
                for other in self.parts[i + 1:]:
                    if other["level"] <= part["level"]:
                        break
                    out.append(other)
                return out
        raise AssertionError(f"no heading « {title_start} » in {[p['title'] for p in self.parts]}")

    def all_links(self) -> list[str]:
        return [link for part in self.parts for link in part["links"]]


def page(client, path: str) -> tuple[str, Page]:
    answer = client.get(path)
    assert answer.status_code == 200, (path, answer.status_code, answer.text[:300])
    return answer.text, Page(answer.text)


ENGLISH_FIELDS = re.compile(r">\s*(competence|domain|unit|item_type|distinct_subjects|code_as_written|"
                            r"label_as_written|variant_kind|kind)\s*<")


# -- a mission: its competences once, by block and domain, with a legend and downloads ------------------------

def test_mission_page_lists_each_competence_once_grouped_by_block(app_client):
    mission = "M3"
    competences = {r["code"]: r for r in read("competences.csv")}
    needed = sorted({r["competence"] for r in read("requirements.csv") if r["mission"] == mission})
    block_of = {b["domain"]: b for b in read("blocks.csv")}
    text, parsed = page(app_client, f"/{REFERENTIAL.name}/mission/{mission}.html")
    links = Counter(parsed.all_links())
    for code in needed:
        assert links[code] == 1, f"{code} is linked {links[code]} times on the {mission} page"
    assert not [c for c in competences if c not in needed and links[c]], "only the mission's competences"
    section = parsed.under(f"Compétences exigées ({len(needed)})")
    groups = section[1:]
    assert len(groups) == len({competences[c]["domain"] for c in needed}), [g["title"] for g in groups]
    for group in groups:
        in_group = [c for c in group["links"] if c in competences]
        assert in_group, group["title"]
        domains = {competences[c]["domain"] for c in in_group}
        assert len(domains) == 1, (group["title"], domains)
        block = block_of[domains.pop()]
        assert group["title"].startswith(f"Bloc {block['code']} — {block['label']}"), group["title"]
        assert group["title"].endswith(f": {len(in_group)}")
    # the description and the incoming links do not list the competences again
    described = parsed.under("Description")[0]["links"] + parsed.under("Liens vers cette ressource")[0]["links"]
    labels = {competences[c]["label"] for c in needed}
    assert not labels & set(described), "the competences are listed once, in their section"


def test_mission_page_explains_the_codes_from_the_graph(app_client):
    text, parsed = page(app_client, f"/{REFERENTIAL.name}/mission/M3.html")
    legend = " ".join(" ".join(text[text.index("Légende des codes"):].split("</section>")[0].split()).split())
    for code, name in ontology_kinds().items():
        assert f"<strong>{code}</strong> : {name}" in legend, (code, name)
    for domain in read("domains.csv"):
        assert f"<strong>{domain['code']}</strong> : {domain['label']}" in legend, domain
    cells = parsed.under("Répartition par domaine et par nature")[0]["cells"]
    competences = {r["code"]: r for r in read("competences.csv")}
    needed = {r["competence"] for r in read("requirements.csv") if r["mission"] == "M3"}
    kinds = ontology_kinds()
    used = [k for k in kinds if any(competences[c]["kind"] == k for c in needed)]
    header = ["Domaine", *[f"{kinds[k]} ({k})" for k in used], "Total"]
    assert cells[:len(header)] == header
    rows = [cells[i:i + len(header)] for i in range(len(header), len(cells), len(header))]
    domains = [d for d in read("domains.csv") if any(competences[c]["domain"] == d["code"] for c in needed)]
    expected = [[f"{d['code']} — {d['label']}",
                 *[str(sum(1 for c in needed if competences[c]["domain"] == d["code"] and competences[c]["kind"] == k))
                   for k in used],
                 str(sum(1 for c in needed if competences[c]["domain"] == d["code"]))] for d in domains]
    assert rows == expected


def test_mission_page_offers_the_list_as_csv_and_xlsx(app_client):
    text, parsed = page(app_client, f"/{REFERENTIAL.name}/mission/M3.html")
    hrefs = [h for part in parsed.parts for h in part["hrefs"] if h and "/competences?format=" in h]
    path = f"/api/referentials/{REFERENTIAL.name}/missions/M3/competences"
    assert {f"{path}?format=csv", f"{path}?format=xlsx"} <= set(hrefs), hrefs
    answer = app_client.get(f"{path}?format=csv")
    assert answer.status_code == 200
    needed = {r["competence"] for r in read("requirements.csv") if r["mission"] == "M3"}
    assert all(code in answer.text for code in needed)


# -- blocks, domains and competences: French headers, grouped by kind ------------------------------------------

@pytest.mark.parametrize("kind", ["block", "domain"])
def test_block_and_domain_pages_list_their_competences_by_kind(app_client, kind):
    kinds = ontology_kinds()
    blocks = read("blocks.csv")
    competences = read("competences.csv")
    requirements = read("requirements.csv")
    for item in (blocks if kind == "block" else read("domains.csv")):
        domain = item["domain"] if kind == "block" else item["code"]
        own = [c for c in competences if c["domain"] == domain]
        text, parsed = page(app_client, f"/{REFERENTIAL.name}/{kind}/{item['code']}.html")
        assert not ENGLISH_FIELDS.search(text), ENGLISH_FIELDS.search(text).group(0)
        title = "Compétences du bloc" if kind == "block" else "Compétences du domaine"
        section = parsed.under(f"{title} ({len(own)})")
        by_kind = Counter(c["kind"] for c in own)
        titles = [g["title"] for g in section[1:]]
        assert titles == [f"{kinds[k]} ({k}) : {by_kind[k]}" for k in kinds if by_kind[k]], titles
        cells = [cell for g in section[1:] for cell in g["cells"]]
        assert cells[:3] == ["Code", "Libellé", "Missions qui l'exigent"]
        for c in own:
            missions = sorted({r["mission"] for r in requirements if r["competence"] == c["code"]},
                              key=lambda m: int(m[1:]))
            assert " ".join(missions) in cells or (not missions and "aucune" in cells), (c["code"], missions)
        downloads = [h for part in parsed.parts for h in part["hrefs"] if h and "format=csv" in h]
        assert downloads, "the list can be downloaded"
        assert app_client.get(downloads[0]).status_code == 200


def test_competence_page_names_variant_kinds_in_french(app_client):
    graph = Graph().parse(ROOT / "ontology" / "cqp.ttl", format="turtle")
    code_variant = next(str(l) for k in graph.subjects(SKOS.notation, Literal("code"))
                        for l in graph.objects(k, SKOS.prefLabel) if l.language == "fr"
                        and (k, RDF.type, Namespace(BASE + "ontology#").VariantKind) in graph)
    written = [r for r in read("requirements.csv") if r["code_as_written"] and r["code_as_written"] != r["competence"]]
    assert written, "the shipped data misspell some codes"
    text, parsed = page(app_client, f"/{REFERENTIAL.name}/competence/{written[0]['competence']}.html")
    cells = parsed.under("Variantes")[0]["cells"]
    assert cells[:5] == ["Nature", "Code écrit", "Formulation", "Où", "Lignes"]
    assert code_variant in cells and written[0]["code_as_written"] in cells
    assert not ENGLISH_FIELDS.search(text)


# -- comparing missions -------------------------------------------------------------------------------------------

def needs(mission: str) -> set[str]:
    aptitudes = {a["code"] for a in read("aptitudes.csv")}
    return {r["competence"] for r in read("requirements.csv") if r["mission"] == mission} - aptitudes


def french_percent(value: Decimal) -> str:
    return format(value.quantize(Decimal("0.01")).normalize(), "f").replace(".", ",") + "\u202f%"  # no break


def test_compare_two_missions(app_client):
    a, b = needs("M2"), needs("M3")
    text, parsed = page(app_client, "/compare?mission=M2&mission=M3")
    shared = parsed.under(f"Compétences communes ({len(a & b)})")[0]
    assert {c for c in shared["links"]} == a & b
    only_a = parsed.under(f"Seulement dans M2")[0]
    only_b = parsed.under(f"Seulement dans M3")[0]
    assert set(only_a["links"]) == a - b and set(only_b["links"]) == b - a
    assert only_a["title"].endswith(f"({len(a - b)})") and only_b["title"].endswith(f"({len(b - a)})")
    jaccard = Decimal(len(a & b)) / Decimal(len(a | b)) * 100
    cells = parsed.under("Similarité")[0]["cells"]
    percent = french_percent(round(jaccard, 2))
    # the parser folds white space (the narrow no-break space too): the page itself holds it
    assert ["M2 et M3", str(len(a & b)), str(len(a | b)), " ".join(percent.split())] == cells[4:8], cells
    assert f">{percent}<" in text


def test_compare_three_missions_and_download(app_client):
    sets = {m: needs(m) for m in ("M1", "M3", "M5")}
    query = "mission=M1&mission=M3&mission=M5"
    text, parsed = page(app_client, f"/compare?{query}")
    common = set.intersection(*sets.values())
    assert set(parsed.under(f"Compétences communes à toutes les missions choisies ({len(common)})")[0]["links"]) == common
    for m, own in sets.items():
        others = set().union(*(s for o, s in sets.items() if o != m))
        assert set(parsed.under(f"Seulement dans {m}")[0]["links"]) == own - others, m
    assert len(parsed.under("Similarité")[0]["cells"]) == 4 * 4, "three pairs and the header"
    union = set().union(*sets.values())
    table = app_client.get(f"/compare?{query}&format=csv")
    assert table.status_code == 200 and table.headers["content-type"].startswith("text/csv")
    rows = list(csv.reader(io.StringIO(table.text)))
    assert rows[0] == ["Code", "Libellé", "Nature", "Domaine", "M1", "M3", "M5"]
    assert {r[0] for r in rows[1:]} == union
    for r in rows[1:]:
        assert r[4:] == ["oui" if r[0] in sets[m] else "non" for m in ("M1", "M3", "M5")], r
    workbook = app_client.get(f"/compare?{query}&format=xlsx")
    assert workbook.status_code == 200
    sheet = openpyxl.load_workbook(io.BytesIO(workbook.content)).worksheets[0]
    assert sheet.max_row == len(union) + 1


def test_compare_refuses_bad_requests_in_french(app_client, settings):
    known = [m["code"] for m in read("missions.csv")]
    unknown = app_client.get("/compare?mission=M2&mission=M9")
    assert unknown.status_code == 404
    assert "M9 : mission inconnue" in unknown.text and ", ".join(known) in unknown.text
    assert app_client.get("/compare?mission=M2").status_code == 400
    assert app_client.get("/compare?mission=M2&mission=M2").status_code == 400, "the same mission twice is one"
    many = "&".join(f"mission={known[i % len(known)]}" for i in range(settings.compare_max_missions + 1))
    too_many = app_client.get(f"/compare?{many}")
    assert too_many.status_code == 400 and "CQP_GRAPH_COMPARE_MAX_MISSIONS" in too_many.text
    assert app_client.get("/compare?mission=" + "M" * 5000 + "&mission=M2").status_code == 400
    assert app_client.get("/compare?mission=M2&mission=M3&format=pdf").status_code == 400
    assert app_client.get("/compare?referential=nope&mission=M2&mission=M3").status_code == 404
    form = app_client.get("/compare")
    assert form.status_code == 200 and all(f'value="{m}"' in form.text for m in known)


def test_compare_in_a_browser(live_server):
    a, b = needs("M2"), needs("M3")
    with browser_page() as browser:
        browser.goto(live_server.url + "/compare")
        browser.check('input[value="M2"]')
        browser.check('input[value="M3"]')
        browser.locator("button", has_text="Comparer").click()
        browser.wait_for_url("**/compare?mission=M2&mission=M3")
        body = browser.locator("main").inner_text()
        assert f"Compétences communes ({len(a & b)})" in body
        assert french_percent(round(Decimal(len(a & b)) / Decimal(len(a | b)) * 100, 2)) in body
        screenshot(browser, "comparer-M2-M3.png", full_page=True)
        browser.set_viewport_size({"width": 390, "height": 844})
        screenshot(browser, "comparer-M2-M3-telephone.png", full_page=True)


# -- several referentials: each page answers for its own ------------------------------------------------------

@pytest.fixture(scope="module")
def two_client(two_built, two_settings, tmp_path_factory):
    from dataclasses import replace

    from fastapi.testclient import TestClient

    from cqp_graph.publish.dumps import write_dist
    from cqp_graph.web.app import create_app

    dist = tmp_path_factory.mktemp("two-pages")
    write_dist(two_built.graph, dist, two_settings.base, extra={"validation.json": two_built.findings_json()})
    app = create_app(replace(two_settings, dist_dir=dist), graph_file=dist / "graph.nt", workers=1)
    with TestClient(app, raise_server_exceptions=False) as client:
        yield client


def test_pages_of_the_second_referential_use_its_own_codes(two_client):
    folder = SECOND_REFERENTIAL
    mission = read("missions.csv", folder)[0]["code"]
    needed = {r["competence"] for r in read("requirements.csv", folder) if r["mission"] == mission}
    text, parsed = page(two_client, f"/{folder.name}/mission/{mission}.html")
    links = Counter(parsed.all_links())
    assert needed and all(links[c] == 1 for c in needed), {c: links[c] for c in needed}
    assert f"/api/referentials/{folder.name}/missions/{mission}/competences?format=csv" in text
    legend = text[text.index("Légende des codes"):]
    for d in read("domains.csv", folder):
        assert f"<strong>{d['code']}</strong> : {d['label']}" in legend
    for d in read("domains.csv"):
        if d["code"] not in {x["code"] for x in read("domains.csv", folder)}:
            assert f"<strong>{d['code']}</strong>" not in legend, "another referential's domain"


def test_compare_asks_which_referential(two_client):
    choose = two_client.get("/compare")
    assert choose.status_code == 200
    assert f"/compare?referential={REFERENTIAL.name}" in choose.text and \
        f"/compare?referential={SECOND_REFERENTIAL.name}" in choose.text
    assert two_client.get("/compare?mission=M1&mission=M2").status_code == 400
    folder = SECOND_REFERENTIAL
    codes = [m["code"] for m in read("missions.csv", folder)][:2]
    sets = [{r["competence"] for r in read("requirements.csv", folder) if r["mission"] == m} for m in codes]
    text, parsed = page(two_client, f"/compare?referential={folder.name}&mission={codes[0]}&mission={codes[1]}")
    assert set(parsed.under(f"Compétences communes ({len(sets[0] & sets[1])})")[0]["links"]) == sets[0] & sets[1]
    assert set(parsed.under(f"Seulement dans {codes[0]}")[0]["links"]) == sets[0] - sets[1]
