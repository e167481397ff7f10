"""Search (/api/search, /search, the menu's box), the one menu of every page, and the list APIs' parameters.

Lives here: what a person typing in the search box, or a program paging through a list, sees. Expected codes
and labels come from the data files (tests/support.py's `csv_rows`), written the way a person types them (no
accents, capitals, punctuation), never from an earlier answer of the program.

Not here: the index's figures (bench/bench_search.py), the pages' own content (tests/test_pages.py).
"""

from __future__ import annotations

import csv
import io
import re
import unicodedata
from urllib.parse import urlsplit

import pytest

from cqp_graph.config import Settings

from .support import FIRST, SECOND, SHARED, csv_rows, need_shared

SETTINGS = Settings.from_env()  # the bounds the in-process server runs with (its defaults)
MENU = ["/", "/search", "/coverage", "/decisions", "/compare", "/register", "/findings", "/query", "/docs",
        "/dataset", "/ontology"]


def typed(text: str) -> str:
    """`text` as a hurried person types it: no accents, capitals, punctuation instead of some spaces."""
    text = text.replace("’", " ").replace("'", " ")
    bare = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode("ascii")
    return bare.upper().replace(" ", ", ", 1)


def words(text: str) -> list[str]:
    bare = unicodedata.normalize("NFKD", text.casefold()).encode("ascii", "ignore").decode("ascii")
    return re.findall(r"[a-z0-9]+", bare)


def search(client, q: str, **params) -> list[dict]:
    response = client.get("/api/search", params={"q": q, **params})
    assert response.status_code == 200, response.text
    return response.json()


# -- finding things as a person types them ---------------------------------------------------------------------

def test_reclamation_without_accent_finds_the_mission_that_manages_complaints(app_client):
    """The issue's example: « reclamation » finds « Gérer les réclamations clients » (the mission of the data
    whose label has « réclamations »), first."""
    expected = [m for m in csv_rows("missions.csv") if "réclamation" in m["label"]]
    assert expected, "the data has a mission about « réclamations »"
    hits = search(app_client, "reclamation")
    assert hits[0]["code"] == expected[0]["code"] and hits[0]["label"] == expected[0]["label"]
    assert hits[0]["type"] == "Mission" and hits[0]["referential"] == FIRST
    # every activity and competence whose label says « réclamation(s) » is found too
    others = {a["code"] for a in csv_rows("activities.csv") if "réclamation" in a["label"].casefold()}
    others |= {c["code"] for c in csv_rows("competences.csv") if "réclamation" in c["label"].casefold()}
    assert others <= {h["code"] for h in search(app_client, "RÉCLAMATIONS!", limit=50)}


@pytest.mark.parametrize("table", ["missions.csv", "activities.csv", "competences.csv", "aptitudes.csv",
                                   "blocks.csv", "domains.csv"])
def test_each_label_typed_without_accents_capitals_or_punctuation_finds_its_item_first(app_client, table):
    for row in csv_rows(table):
        hits = search(app_client, typed(row["label"]), limit=5)
        assert hits and hits[0]["code"] == row["code"], (table, row["code"], typed(row["label"]), hits[:2])


def test_a_mission_code_in_lower_case_or_spaced_is_that_mission_first(app_client):
    for m in csv_rows("missions.csv"):
        for q in (m["code"].lower(), " ".join(m["code"]), m["code"] + "."):
            hits = search(app_client, q)
            assert hits[0]["code"] == m["code"] and hits[0]["type"] == "Mission", (q, hits[:2])
            assert hits[0]["score"] >= 2000  # an exact code ranks above any text match


def test_a_code_prefix_lists_every_code_it_starts_before_text_matches(app_client):
    codes = [c["code"] for c in csv_rows("competences.csv")]
    prefix = "RSF"
    expected = {c for c in codes if c.startswith(prefix)}
    hits = search(app_client, prefix.lower(), limit=SETTINGS.search_max_limit)
    found = [h["code"] for h in hits]
    assert expected <= set(found)
    coded = [i for i, h in enumerate(hits) if h["code"].upper().startswith(prefix)]
    assert coded == list(range(len(coded))), "the code matches come first"
    scores = [h["score"] for h in hits]
    assert scores == sorted(scores, reverse=True), "the list is sorted by score"


def test_rc2_is_exactly_one_competence_first(app_client):
    rc2 = next(c for c in csv_rows("competences.csv") if c["code"] == "RC2")
    hits = search(app_client, "rc2")
    assert hits[0]["code"] == "RC2" and hits[0]["label"] == rc2["label"] and hits[0]["type"] == "Competence"


def test_a_wording_only_the_source_uses_elsewhere_finds_its_competence(app_client):
    """A mission page words a competence differently from its reference label: words found only in that other
    wording (requirements.csv, variants.csv) still find the competence."""
    labels = {c["code"]: c["label"] for c in csv_rows("competences.csv")}
    wordings = [(r["competence"], r["label_as_written"]) for r in csv_rows("requirements.csv")]
    wordings += [(v["item_code"], v["label_as_written"]) for v in csv_rows("variants.csv")
                 if v["item_type"] == "competence"]
    tried = 0
    for code, wording in wordings:
        own = set(words(wording)) - set(words(labels.get(code, "")))
        distinctive = [w for w in own if len(w) >= 5]
        if not distinctive or code not in labels:
            continue
        hits = search(app_client, " ".join(sorted(set(words(wording)))), limit=10)
        assert code in [h["code"] for h in hits], (code, wording, hits[:3])
        tried += 1
    assert tried >= 3, "the data words several competences differently on the mission pages"


def test_a_query_without_letters_finds_nothing_and_is_not_an_error(app_client):
    assert search(app_client, "!!! …") == []
    assert search(app_client, "\u0001") == []


# -- parameters --------------------------------------------------------------------------------------------------

def test_limit_and_offset_page_through_the_same_ranking(app_client):
    whole = search(app_client, "r", limit=12)
    assert len(whole) == 12
    first = search(app_client, "r", limit=5)
    second = search(app_client, "r", limit=5, offset=5)
    assert [h["iri"] for h in first + second] == [h["iri"] for h in whole[:10]]
    assert search(app_client, "r", limit=5, offset=SETTINGS.max_offset) == []


@pytest.mark.parametrize("params", [
    {}, {"q": ""}, {"q": "x" * (SETTINGS.search_max_query + 1)},
    {"q": "m4", "limit": "0"}, {"q": "m4", "limit": str(SETTINGS.search_max_limit + 1)}, {"q": "m4", "limit": "dix"},
    {"q": "m4", "limit": "-1"}, {"q": "m4", "limit": "1e3"}, {"q": "m4", "offset": "-1"},
    {"q": "m4", "offset": str(SETTINGS.max_offset + 1)}, {"q": "m4", "referential": "nulle-part"},
])
def test_bad_search_parameters_are_400_in_french(app_client, params):
    response = app_client.get("/api/search", params=params)
    assert response.status_code == 400, response.text
    detail = response.json()["detail"]
    assert "paramètre" in detail and any(name in detail for name in ("« q »", "« limit »", "« offset »",
                                                                      "« referential »"))


def test_referential_parameter_keeps_that_referentials_resources(app_client):
    hits = search(app_client, "m", referential=FIRST, limit=SETTINGS.search_max_limit)
    assert hits and {h["referential"] for h in hits} == {FIRST}


def test_openapi_declares_the_search_and_list_parameters_with_their_bounds(app_client):
    spec = app_client.get("/openapi.json").json()
    params = {p["name"]: p for p in spec["paths"]["/api/search"]["get"]["parameters"]}
    assert params["q"]["required"] is True
    assert params["q"]["schema"]["maxLength"] == SETTINGS.search_max_query
    assert params["limit"]["schema"]["maximum"] == SETTINGS.search_max_limit
    assert params["offset"]["schema"]["maximum"] == SETTINGS.max_offset
    assert "400" in spec["paths"]["/api/search"]["get"]["responses"]
    lists = ["/api/missions", "/api/competences", "/api/domains", "/api/blocks", "/api/missions/{code}/competences"]
    lists += ["/api/referentials/{referential}" + p[len("/api"):] for p in lists]
    for path in lists:
        operation = spec["paths"][path]["get"]
        declared = {p["name"]: p["schema"] for p in operation["parameters"]}
        assert declared["limit"] == {"type": "integer", "minimum": 1, "maximum": SETTINGS.page_max}, path
        assert declared["offset"]["maximum"] == SETTINGS.max_offset, path
        assert declared["format"]["enum"] == ["json", "csv", "xlsx"], path
        assert "400" in operation["responses"], path
        assert "x-cqp-setting" not in str(operation)
    assert {p["name"] for p in spec["paths"]["/api/competences"]["get"]["parameters"]} >= {"q"}


# -- the list APIs ---------------------------------------------------------------------------------------------

def test_competences_q_filters_by_every_wording_of_the_data(app_client):
    """`/api/competences?q=reclamation`: exactly the competences one of whose wordings in the data (label,
    variants, wording on a mission page) has a word starting with « reclamation »."""
    texts: dict[str, list[str]] = {}
    for c in csv_rows("competences.csv") + csv_rows("aptitudes.csv"):
        texts.setdefault(c["code"], []).append(c["label"])
    for r in csv_rows("requirements.csv"):
        texts[r["competence"]].append(r["label_as_written"])
    for v in csv_rows("variants.csv"):
        if v["item_code"] in texts:
            texts[v["item_code"]].append(v["label_as_written"])
    expected = {code for code, wordings in texts.items()
                if any(w.startswith("reclamation") for t in wordings for w in words(t))}
    assert expected
    rows = app_client.get("/api/competences", params={"q": "Réclamation"}).json()
    assert {r["code"] for r in rows} == expected
    everything = app_client.get("/api/competences").json()
    assert [r["code"] for r in rows] == [r["code"] for r in everything if r["code"] in expected], "list order kept"


def test_competences_q_by_code_prefix(app_client):
    expected = [c["code"] for c in app_client.get("/api/competences").json() if c["code"].startswith("OTSF")]
    assert [r["code"] for r in app_client.get("/api/competences", params={"q": "otsf"}).json()] == expected


@pytest.mark.parametrize("path", ["/api/missions", "/api/competences", "/api/domains", "/api/blocks",
                                  "/api/missions/M3/competences", f"/api/referentials/{FIRST}/competences",
                                  f"/api/referentials/{FIRST}/missions/M3/competences"])
def test_every_list_pages_with_limit_and_offset(app_client, path):
    whole = app_client.get(path).json()
    assert len(whole) >= 3
    assert app_client.get(path, params={"limit": 2}).json() == whole[:2]
    assert app_client.get(path, params={"limit": 2, "offset": 1}).json() == whole[1:3]
    assert app_client.get(path, params={"offset": len(whole)}).json() == []
    for params in ({"limit": 0}, {"limit": SETTINGS.page_max + 1}, {"limit": "x"}, {"offset": -1},
                   {"format": "pdf"}, {"offset": SETTINGS.max_offset + 1}):
        response = app_client.get(path, params=params)
        assert response.status_code == 400, (path, params, response.text)
        assert response.json()["detail"].startswith("paramètre")


def test_lists_download_as_csv_and_xlsx_with_the_same_rows(app_client):
    from openpyxl import load_workbook

    rows = app_client.get("/api/competences").json()
    expected_codes = [c["code"] for c in csv_rows("competences.csv") + csv_rows("aptitudes.csv")]
    assert sorted(r["code"] for r in rows) == sorted(expected_codes)
    response = app_client.get("/api/competences", params={"format": "csv"})
    assert response.status_code == 200 and response.headers["content-type"].startswith("text/csv")
    table = list(csv.DictReader(io.StringIO(response.text)))
    assert [r["code"] for r in table] == [r["code"] for r in rows]
    assert [r["label"] for r in table] == [r["label"] for r in rows]
    response = app_client.get("/api/competences", params={"format": "xlsx", "limit": 10, "offset": 5})
    assert response.status_code == 200 and "spreadsheetml" in response.headers["content-type"]
    sheet = load_workbook(io.BytesIO(response.content)).active
    values = list(sheet.iter_rows(values_only=True))
    assert values[0][:2] == ("code", "libellé")
    assert [v[0] for v in values[1:]] == [r["code"] for r in rows[5:15]]


# -- the pages ---------------------------------------------------------------------------------------------------

def html(client, path: str) -> str:
    response = client.get(path, headers={"Accept": "text/html"}, follow_redirects=True)
    assert response.status_code == 200, (path, response.status_code, response.text[:300])
    assert response.headers["content-type"].startswith("text/html"), path
    return response.text


def one_menu(page: str, path: str) -> None:
    assert page.count('<nav class="menu"') == 1, path
    assert page.count('id="menu-q"') == 1 and '<label for="menu-q"' in page, path
    assert 'action="/search"' in page and 'role="combobox"' in page, path
    assert '<html lang="fr">' in page and 'href="#contenu"' in page and 'id="contenu"' in page, path
    assert page.count("<header") == 1 and page.count("<main") == 1, path
    menu = page[page.index('<nav class="menu"'):page.index("</nav>", page.index('<nav class="menu"'))]
    assert re.findall(r'<a href="([^"]+)"', menu) == MENU, path


@pytest.mark.parametrize("path", MENU)
def test_every_menu_page_has_the_one_menu_with_its_own_entry_marked(app_client, path):
    page = html(app_client, path)
    one_menu(page, path)
    marked = re.findall(r'<a href="([^"]+)" aria-current="page"', page)
    assert marked == [path], (path, marked)


def test_resource_and_message_pages_have_the_one_menu(app_client):
    hits = search(app_client, "m3")
    for path in (hits[0]["page"], "/dumps/", "/search?q=reclamation"):
        one_menu(html(app_client, path), path)
    missing = app_client.get(f"/{FIRST}/mission/M99.html", headers={"Accept": "text/html"})
    assert missing.status_code == 404 and '<nav class="menu"' in missing.text


def test_the_search_page_links_each_result_to_its_page(app_client):
    expected = next(m for m in csv_rows("missions.csv") if "réclamation" in m["label"])
    page = html(app_client, "/search?q=reclamation")
    assert expected["label"] in page
    links = re.findall(r'<li><a href="([^"]+)">', page)
    assert links
    for link in links[:5]:
        assert urlsplit(link).path.startswith("/") and html(app_client, link)
    assert 'value="reclamation"' in page  # the box keeps what was asked


def test_the_search_page_without_javascript_and_its_errors(app_client):
    assert "Aucun résultat" in html(app_client, "/search?q=zzzzqqq")
    assert "Résultats" not in html(app_client, "/search")  # the form alone
    assert "Résultats" not in html(app_client, "/search?q=")
    response = app_client.get("/search", params={"q": "x" * (SETTINGS.search_max_query + 1)})
    assert response.status_code == 400 and 'role="alert"' in response.text and '<nav class="menu"' in response.text
    page_two = html(app_client, "/search?q=r&limit=5&offset=5")
    assert 'rel="prev"' in page_two and 'rel="next"' in page_two and 'start="6"' in page_two


def test_a_report_written_to_a_file_has_no_site_menu(built):
    from cqp_graph.analyses.report import referential_report
    from cqp_graph.present.render import referential_report_files

    page = referential_report_files(referential_report(built, FIRST))["rapport.html"].decode("utf-8")
    assert '<nav class="menu"' not in page and "search.js" not in page and 'id="contenu"' in page


def test_search_script_is_served_and_names_the_api(app_client):
    response = app_client.get("/static/search.js")
    assert response.status_code == 200 and "/api/search" in response.text and "aria-activedescendant" in response.text


# -- the index itself ----------------------------------------------------------------------------------------------

def test_two_referentials_are_told_apart(two_built):
    from cqp_graph.query.search import SearchIndex

    index = SearchIndex.build(two_built.knowledge)
    both = index.search("m1", limit=10)
    assert {h.referential for h in both if h.code == "M1"} == {FIRST, SECOND}
    only = index.search("m1", limit=10, referential=SECOND)
    assert only and {h.referential for h in only} == {SECOND}


def test_imported_rncp_fiches_are_searched_and_belong_to_no_referential(built, settings, tmp_path):
    import pyoxigraph as ox

    from cqp_graph.exchange.rncp_import import import_rncp
    from cqp_graph.query.knowledge import Knowledge
    from cqp_graph.query.search import SearchIndex

    export = need_shared(SHARED / "rncp" / "export_fiches_RNCP_fixture.xml")
    output = tmp_path / "rncp.ttl"
    import_rncp(export, output, settings.base)
    knowledge = Knowledge.from_graph(built.graph, settings)
    knowledge.store.bulk_load(path=str(output), format=ox.RdfFormat.TURTLE)
    index = SearchIndex.build(knowledge)
    fiche = re.search(r"<NUMERO_FICHE>(RNCP\d+)</NUMERO_FICHE>[\s\S]*?<INTITULE>([^<]+)</INTITULE>",
                      export.read_text(encoding="utf-8"))
    number, title = fiche.group(1), fiche.group(2)
    hits = index.search(typed(title), limit=5)
    assert any(h.code == number and h.type == "RegisterRecord" and h.referential is None for h in hits), hits
    assert index.search(number[4:], limit=1)[0].code == number  # the bare number finds the fiche
    assert all(h.referential == FIRST for h in index.search(typed(title), limit=20, referential=FIRST))
    copy = SearchIndex.from_bytes(index.to_bytes())
    assert [h.iri for h in copy.search("m4 reclamation")] == [h.iri for h in index.search("m4 reclamation")]


def test_an_elided_article_does_not_hide_the_word_it_is_glued_to(app_client):
    """« l'écoute » (and « l’écoute ») finds what « écoute » finds: the French elision is not a word of its own."""
    plain = [h["iri"] for h in app_client.get("/api/search", params={"q": "ecoute", "limit": 50}).json()]
    assert len(plain) > 1
    for q in ("l'écoute", "L’ÉCOUTE"):
        elided = [h["iri"] for h in app_client.get("/api/search", params={"q": q, "limit": 50}).json()]
        assert set(elided) == set(plain), q
