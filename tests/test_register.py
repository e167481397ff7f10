"""Cross-certification on the RNCP / RS register imported beside the referential: named queries, pages and API.

The register is the shared extracts (../shared/rncp) imported with `import_rncp` and merged into the served
graph the way `serve --merge` does (`create_app(extra_sources=…)`), plus a small export this module writes from
the referential's own CSV files (a fiche that is the referential's own, blocks whose texts are a referential
block's text, a lineage chain of three, an RS fiche named after a block), and, when the generator is there, an
export of `generate_rncp`. Every expectation is read from the XML files themselves (ElementTree) and from the
referential's CSV files, never from the program's output.
"""

from __future__ import annotations

import importlib.util
import re
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from cqp_graph.analyses.similarity import STOP_WORDS, tokens
from cqp_graph.config import Settings
from cqp_graph.exchange.rncp_import import import_rncp
from cqp_graph.query.catalogue import QueryCatalogue

from .support import FIRST, REGISTER_QUERY, ROOT, SHARED, csv_rows, need_shared

RNCP = SHARED / "rncp" / "export_fiches_RNCP_fixture.xml"
RS = SHARED / "rncp" / "export_fiches_RS_fixture.xml"
BASE = "https://w3id.org/cqp-graph/"


# -- what the referential says (its CSV files) -----------------------------------------------------------------

def referential_facts() -> dict:
    certification = {r["property"]: r["value"] for r in csv_rows("certification.csv")}
    sheets = {r["object_id"] for r in csv_rows("rome-mappings.csv")
              if r["subject_id"] == "JOB" and r["object_type"] == "job"}
    domains = {r["code"]: r["label"] for r in csv_rows("domains.csv")}
    blocks = {}
    for block in csv_rows("blocks.csv"):
        competences = [c["label"] for c in csv_rows("competences.csv") if c["domain"] == block["domain"]]
        blocks[block["code"]] = {"label": block["label"], "list": "\n".join([domains[block["domain"]]] + competences)}
    return {"rncp": certification["rncp_number"], "nsf": certification["nsf_code"], "sheets": sheets,
            "blocks": blocks}


# -- a small export written from the referential --------------------------------------------------------------

def _fiche(root, number: str, title: str, *, rome=(), nsf=(), blocks=(), older=(), newer=(), capacities=None):
    fiche = ET.SubElement(root, "FICHE")
    ET.SubElement(fiche, "NUMERO_FICHE").text = number
    ET.SubElement(fiche, "INTITULE").text = title
    ET.SubElement(fiche, "ACTIF").text = "Oui"
    for tag, item, values in (("CODES_ROME", "ROME", rome), ("CODES_NSF", "NSF", nsf)):
        holder = ET.SubElement(fiche, tag)
        for value in values:
            ET.SubElement(ET.SubElement(holder, item), "CODE").text = value
    if capacities:
        ET.SubElement(fiche, "CAPACITES_ATTESTEES").text = capacities
    holder = ET.SubElement(fiche, "BLOCS_COMPETENCES")
    for code, label, text in blocks:
        block = ET.SubElement(holder, "BLOC_COMPETENCES")
        ET.SubElement(block, "CODE").text = code
        ET.SubElement(block, "LIBELLE").text = label
        ET.SubElement(block, "LISTE_COMPETENCES").text = text
    for tag, item, key, values in (("ANCIENNES_CERTIFICATIONS", "ANCIENNE_CERTIFICATION",
                                    "ID_FICHE_ANCIENNE_CERTIFICATION", older),
                                   ("NOUVELLES_CERTIFICATIONS", "NOUVELLE_CERTIFICATION",
                                    "ID_FICHE_NOUVELLE_CERTIFICATION", newer)):
        holder = ET.SubElement(fiche, tag)
        for value in values:
            ET.SubElement(ET.SubElement(holder, item), key).text = value


def crafted_export(path: Path, facts: dict) -> Path:
    """Fiches written from the referential: its own fiche (its NSF code, a block with B1's text), two fiches
    whose blocks carry B2's text word for word (a tie, broken by code), a chain 9999901 → 9999902 → 9999903
    (the last outside the file), a fiche sharing a ROME job sheet of the referential, and an RS fiche whose
    title and capacities are B3's text."""
    root = ET.Element("FICHES")
    b1, b2, b3 = (facts["blocks"][code] for code in ("B1", "B2", "B3"))
    own = f"RNCP{facts['rncp']}"
    sheet = sorted(facts["sheets"])[0]
    _fiche(root, own, "Assistant de gestion client", nsf=[facts["nsf"]],
           blocks=[(f"{own}BC01", b1["label"], b1["list"])])
    _fiche(root, "RNCP9999902", "Fiche de test B", rome=[sheet], blocks=[("RNCP9999902BC01", b2["label"], b2["list"])],
           older=["RNCP9999901"], newer=["RNCP9999903"])
    _fiche(root, "RNCP9999901", "Fiche de test A", blocks=[("RNCP9999901BC01", b2["label"], b2["list"])],
           newer=["RNCP9999902"])
    _fiche(root, "RS99999", b3["label"], capacities=b3["list"])
    ET.ElementTree(root).write(path, encoding="utf-8", xml_declaration=True)
    return path


# -- what the XML files say ------------------------------------------------------------------------------------

def xml_fiches(paths) -> dict[str, dict]:
    out = {}
    for path in paths:
        for fiche in ET.parse(path).getroot().iter("FICHE"):
            number = fiche.findtext("NUMERO_FICHE").strip()
            out[number] = {
                "rome": {c.findtext("CODE").strip() for c in fiche.findall("CODES_ROME/ROME")},
                "nsf": {c.findtext("CODE").strip() for c in fiche.findall("CODES_NSF/NSF")},
                "older": {c.findtext("ID_FICHE_ANCIENNE_CERTIFICATION").strip()
                          for c in fiche.findall("ANCIENNES_CERTIFICATIONS/ANCIENNE_CERTIFICATION")},
                "newer": {c.findtext("ID_FICHE_NOUVELLE_CERTIFICATION").strip()
                          for c in fiche.findall("NOUVELLES_CERTIFICATIONS/NOUVELLE_CERTIFICATION")},
                "blocks": [b.findtext("CODE").strip() for b in fiche.findall("BLOCS_COMPETENCES/BLOC_COMPETENCES")],
            }
    return out


def successors(fiches: dict[str, dict]) -> dict[str, set[str]]:
    """Direct "replaced by" edges, read from both sides (a fiche's new ones, and the fiches that name it old)."""
    edges: dict[str, set[str]] = {}
    for number, fiche in fiches.items():
        edges.setdefault(number, set()).update(fiche["newer"])
        for old in fiche["older"]:
            edges.setdefault(old, set()).add(number)
    return edges


def closure(edges: dict[str, set[str]], start: str) -> set[str]:
    seen, todo = set(), list(edges.get(start, ()))
    while todo:
        node = todo.pop()
        if node not in seen:
            seen.add(node)
            todo.extend(edges.get(node, ()))
    return seen - {start}


def expected_shared(fiches: dict[str, dict], facts: dict) -> set[tuple]:
    out = set()
    for number, fiche in fiches.items():
        for code in fiche["rome"] & facts["sheets"]:
            out.add((number, "ROME", code, "identique"))
        for code in fiche["nsf"]:
            if code[:3] == facts["nsf"][:3]:
                out.add((number, "NSF", code, "identique" if code == facts["nsf"] else "même spécialité"))
    return out


# -- the server over the referential and the register -----------------------------------------------------------

def _client(dist_dir, sources):
    from fastapi.testclient import TestClient

    from cqp_graph.web.app import create_app
    from cqp_graph.web.executor import Source

    settings = Settings.from_env(root=ROOT, data_dir=ROOT / "data", dist_dir=dist_dir)
    app = create_app(settings, graph_file=dist_dir / "graph.nt", extra_sources=[Source(str(p)) for p in sources],
                     workers=1)
    return TestClient(app, raise_server_exceptions=False)


@pytest.fixture(scope="module")
def register(dist_dir, tmp_path_factory):
    need_shared(RNCP)
    need_shared(RS)
    folder = tmp_path_factory.mktemp("register")
    facts = referential_facts()
    exports = [RNCP, RS, crafted_export(folder / "crafted.xml", facts)]
    imported = []
    for index, export in enumerate(exports):
        report = import_rncp(export, folder / f"import{index}.ttl", BASE)
        assert not report.problems, report.problems
        imported.append(folder / f"import{index}.ttl")
    with _client(dist_dir, imported) as client:
        yield {"client": client, "facts": facts, "fiches": xml_fiches(exports), "exports": exports,
               "knowledge": client.app.state.cqp.knowledge}


def test_shared_codes_are_those_the_xml_and_the_referential_share(register):
    facts, fiches = register["facts"], register["fiches"]
    expected = expected_shared(fiches, facts)
    assert {e[1] for e in expected} == {"ROME", "NSF"}  # the data exercise both kinds
    rows = register["knowledge"].rows("register-shared-codes", referential=FIRST)
    assert {(r["fiche"], r["kind"], r["code"], r["match"]) for r in rows} == expected
    answer = register["client"].get("/api/register/shared-codes").json()
    got = {(f["fiche"], c["kind"], c["code"], c["match"]) for f in answer["fiches"] for c in f["codes"]}
    assert got == expected and answer["total"] == len({e[0] for e in expected})
    own = {f["fiche"] for f in answer["fiches"] if f["own"]}
    assert own == {f"RNCP{facts['rncp']}"}
    for fiche in answer["fiches"]:
        assert fiche["href"] == f"/rncp/{fiche['fiche']}"


def test_shared_codes_page_lists_them_in_french(register):
    page = register["client"].get("/register")
    assert page.status_code == 200 and "Registre RNCP" in page.text
    for number, _kind, code, _match in expected_shared(register["fiches"], register["facts"]):
        assert f'href="/rncp/{number}"' in page.text and code in page.text
    assert "fiche du référentiel" in page.text
    for url in ("/register", "/register/blocks", "/register/lineage"):  # the site menu marks the register's entry
        assert '<a href="/register" aria-current="page">' in register["client"].get(url).text, url


def test_paging_slices_the_whole_list(register):
    client = register["client"]
    whole = client.get("/api/register/shared-codes").json()["fiches"]
    assert len(whole) >= 3
    part = client.get("/api/register/shared-codes", params={"limit": 2, "offset": 1}).json()
    assert part["fiches"] == whole[1:3] and part["total"] == len(whole)


def test_lineage_of_each_fiche_is_the_transitive_closure_of_the_xml(register):
    fiches, client = register["fiches"], register["client"]
    edges = successors(fiches)
    backwards: dict[str, set[str]] = {}
    for old, news in edges.items():
        for new in news:
            backwards.setdefault(new, set()).add(old)
    for number in fiches:
        answer = client.get("/api/register/lineage", params={"fiche": number}).json()
        assert {s["other"] for s in answer["replaced_by"]} == closure(edges, number), number
        assert {s["other"] for s in answer["replaces"]} == closure(backwards, number), number
        for s in answer["replaced_by"]:
            assert s["direct"] == (s["other"] in edges.get(number, ())), (number, s)
            assert s["in_register"] == (s["other"] in fiches)
    chain = client.get("/api/register/lineage", params={"fiche": "RNCP9999901"}).json()
    assert {(s["other"], s["direct"]) for s in chain["replaced_by"]} == {("RNCP9999902", True), ("RNCP9999903", False)}


def test_lineage_of_the_whole_register(register):
    fiches = register["fiches"]
    edges = successors(fiches)
    expected = {(number, other) for number in fiches for other in closure(edges, number)}
    answer = register["client"].get("/api/register/lineage").json()
    assert answer["total"] == len(expected)
    assert {(s["fiche"], s["other"]) for s in answer["successions"]} == expected
    rows = register["knowledge"].rows("register-lineage")
    assert {(r["fiche"], r["other"]) for r in rows if r["relation"] == "remplacée par"} == expected


def test_lineage_page(register):
    client = register["client"]
    page = client.get("/register/lineage", params={"fiche": "RNCP9999901"})
    assert page.status_code == 200 and "Remplacée par" in page.text
    assert 'href="/rncp/RNCP9999902"' in page.text and "RNCP9999903" in page.text and "indirect" in page.text
    assert "hors de l&#39;importation" in page.text or "hors de l'importation" in page.text
    whole = client.get("/register/lineage")
    assert whole.status_code == 200 and "Successions du registre" in whole.text


def test_a_block_written_word_for_word_scores_one_and_ties_break_by_code(register):
    answer = register["client"].get("/api/register/blocks", params={"top": 3}).json()
    by_block = {b["code"]: b for b in answer["blocks"]}
    own = f"RNCP{register['facts']['rncp']}BC01"
    assert (by_block["B1"]["matches"][0]["code"], by_block["B1"]["matches"][0]["score"]) == (own, 1.0)
    b2 = [(m["code"], m["score"]) for m in by_block["B2"]["matches"][:2]]
    assert b2 == [("RNCP9999901BC01", 1.0), ("RNCP9999902BC01", 1.0)]
    for block in answer["blocks"]:
        scores = [m["score"] for m in block["matches"]]
        assert len(scores) <= 3 and scores == sorted(scores, reverse=True) and all(0 < s <= 1 for s in scores)
        assert all(m["kind"] == "RNCP" for m in block["matches"])
        codes = [m["code"] for m in block["matches"]]
        blocks_of_xml = {c for f in register["fiches"].values() for c in f["blocks"]}
        assert set(codes) <= blocks_of_xml


def test_scores_are_reproducible_and_top_is_a_prefix(register):
    client = register["client"]
    five = client.get("/api/register/blocks", params={"top": 5}).json()["blocks"]
    two = client.get("/api/register/blocks", params={"top": 2}).json()["blocks"]
    for a, b in zip(five, two):
        assert a["matches"][:2] == b["matches"]
    from cqp_graph.analyses import similarity

    fresh = similarity.closest(similarity.register_index(register["knowledge"]),
                               similarity.referential_blocks(register["knowledge"]), "RNCP", 5)
    assert [[(m["code"], m["score"]) for m in b["matches"]] for b in fresh] == \
        [[(m["code"], m["score"]) for m in b["matches"]] for b in five]


def test_rs_fiches_matching_a_block(register):
    answer = register["client"].get("/api/register/rs", params={"top": 4}).json()
    by_block = {b["code"]: b for b in answer["blocks"]}
    rs_numbers = {n for n in register["fiches"] if n.startswith("RS")}
    assert by_block["B3"]["matches"][0]["code"] == "RS99999"
    for block in answer["blocks"]:
        assert {m["code"] for m in block["matches"]} <= rs_numbers
        assert all(m["kind"] == "RS" for m in block["matches"])


def test_blocks_page_shows_scores_the_french_way(register):
    page = register["client"].get("/register/blocks", params={"top": 2})
    assert page.status_code == 200 and "Blocs RNCP les plus proches" in page.text and "Fiches RS" in page.text
    assert "1,000" in page.text and "RNCP9999901BC01" in page.text


def test_tokens_fold_accents_case_and_stop_words():
    assert tokens("Réclamations des CLIENTS") == tokens("reclamation client")
    assert tokens("de la les et ou à été avaient") == []
    assert all(t.isascii() for t in tokens("Gérer les réclamations, négocier"))
    assert "l" not in tokens("l'entreprise") and tokens("l'entreprise") == tokens("entreprises")
    assert {"de", "la", "ete", "a", "eussent"} <= STOP_WORDS


# -- bounds and refusals ----------------------------------------------------------------------------------------

PAGES = {"/api/register/blocks": "/register/blocks", "/api/register/rs": None, "/api/register/shared-codes": "/register",
         "/api/register/lineage": "/register/lineage"}


@pytest.mark.parametrize("url, params, status, words", [
    ("/api/register/blocks", {"top": "0"}, 422, "top"),
    ("/api/register/blocks", {"top": "51"}, 422, "CQP_GRAPH_REGISTER_MAX_TOP_K"),
    ("/api/register/rs", {"top": "deux"}, 422, "nombre entier"),
    ("/api/register/shared-codes", {"limit": "0"}, 422, "limit"),
    ("/api/register/shared-codes", {"limit": "501"}, 422, "CQP_GRAPH_REGISTER_MAX_ROWS"),
    ("/api/register/shared-codes", {"offset": "-1"}, 422, "offset"),
    ("/api/register/shared-codes", {"offset": str(Settings.from_env().max_offset + 1)}, 422, "CQP_GRAPH_MAX_OFFSET"),
    ("/api/register/shared-codes", {"referential": "nulle-part"}, 404, "nulle-part"),
    ("/api/register/blocks", {"referential": "../data"}, 422, "nom de référentiel"),
    ("/api/register/shared-codes", {"colour": "bleu"}, 422, "inconnu"),
    ("/api/register/lineage", {"fiche": "RNCP12345678"}, 422, "7 chiffres"),
    ("/api/register/lineage", {"fiche": "ABC1"}, 422, "numéro de fiche"),
    ("/api/register/lineage", {"fiche": "RNCP1\x01"}, 422, "contrôle"),
    ("/api/register/lineage", {"fiche": "x" * 3000}, 422, "CQP_GRAPH_INPUT_MAX_STRING"),
])
def test_inputs_out_of_bounds_are_refused_in_french(register, url, params, status, words):
    response = register["client"].get(url, params=params)
    assert response.status_code == status
    assert words in response.json()["detail"] if isinstance(response.json()["detail"], str) else \
        words in response.json()["detail"]["message"]
    page = PAGES[url]
    if page:  # the page of the same question refuses the same input, in HTML
        answer = register["client"].get(page, params=params)
        assert answer.status_code == status and "text/html" in answer.headers["content-type"]
        assert words in answer.text


def test_an_unknown_parameter_names_the_accepted_ones(register):
    """The refusal lists the parameters the operation declares in the OpenAPI document (none for /api/register)."""
    client = register["client"]
    declared = client.get("/openapi.json").json()["paths"]
    for url in ("/api/register", "/api/register/shared-codes", "/api/register/blocks", "/api/register/lineage"):
        names = [p["name"] for p in declared[url]["get"].get("parameters", [])]
        response = client.get(url, params={"limit": "-1"} if not names else {"colour": "bleu"})
        assert response.status_code == 422, url
        message = response.json()["detail"]
        assert "inconnu" in message, message
        if names:
            listed = message.split("paramètres acceptés : ", 1)[1].rstrip(")").split(", ")
            assert sorted(listed) == sorted(names), (url, message)
        else:
            assert "n'en accepte aucun" in message and "paramètres : )" not in message, message


def test_a_refusal_on_a_page_is_announced(register):
    """The error paragraph of a register page is an alert a screen reader reads out; the empty state is not."""
    page = register["client"].get("/register", params={"referential": "<script>"})
    assert page.status_code == 422
    assert re.search(r'<p class="ko" id="register-message" role="alert">[^<]*&lt;script&gt;', page.text), page.text[-800:]


def test_an_empty_value_is_refused_by_the_api_and_means_absent_on_a_page(register):
    client = register["client"]
    for url, name in (("/api/register/blocks", "referential"), ("/api/register/lineage", "fiche"),
                      ("/api/register/shared-codes", "limit")):
        response = client.get(url, params={name: ""})
        assert response.status_code == 422 and "vide" in response.json()["detail"], url
    assert client.get("/register/blocks", params={"referential": "", "top": "2"}).text == \
        client.get("/register/blocks", params={"top": "2"}).text
    assert client.get("/register/lineage", params={"fiche": ""}).status_code == 200


def test_an_unknown_fiche_is_a_404_with_close_numbers(register):
    number = "RNCP34762"
    assert number in register["fiches"]
    response = register["client"].get("/api/register/lineage", params={"fiche": number[:-1]})
    assert response.status_code == 404
    detail = response.json()["detail"]
    assert "aucune fiche" in detail["message"] and number in detail["proches"]
    page = register["client"].get("/register/lineage", params={"fiche": number[:-1]})
    assert page.status_code == 404 and number in page.text


def test_an_unknown_referential_names_the_known_ones(register):
    response = register["client"].get("/api/register/blocks", params={"referential": "nulle-part"})
    assert response.status_code == 404 and FIRST in response.json()["detail"]["choix"]
    scoped = register["client"].get("/api/register/blocks", params={"referential": FIRST}).json()
    assert {b["referential"] for b in scoped["blocks"]} == {FIRST}
    assert [b["code"] for b in scoped["blocks"]] == [r["code"] for r in csv_rows("blocks.csv")]


def test_without_a_register_the_pages_say_how_to_load_one(app_client):
    for url in ("/register", "/register/blocks", "/register/lineage"):
        page = app_client.get(url)
        assert page.status_code == 200, url
        assert "Aucune importation du registre" in page.text
        assert "serve --merge" in page.text and "cqp-graph load" in page.text
    summary = app_client.get("/api/register").json()
    assert summary["loaded"] is False and "serve --merge" in summary["message"]
    for url in ("/api/register/shared-codes", "/api/register/blocks", "/api/register/rs", "/api/register/lineage"):
        response = app_client.get(url)
        assert response.status_code == 404 and "serve --merge" in response.text, url


# -- the named queries -----------------------------------------------------------------------------------------

REGISTER_QUERIES = sorted(q.name for q in QueryCatalogue(ROOT / "queries") if q.name.startswith(REGISTER_QUERY))


def test_register_queries_have_french_headers():
    assert set(REGISTER_QUERIES) >= {"register-shared-codes", "register-lineage", "register-texts", "register-fiches"}
    for query in QueryCatalogue(ROOT / "queries"):
        if query.name not in REGISTER_QUERIES:
            continue
        assert query.title and query.description
        assert any(word in query.description for word in (" les ", " la ", " des ", " du ")), query.name
        for param in query.params:
            assert param.description and param.example is not None and param.optional, (query.name, param.name)
    shared = QueryCatalogue(ROOT / "queries").get("register-shared-codes")
    assert shared.param("referential").example == FIRST


@pytest.mark.parametrize("name", REGISTER_QUERIES)
def test_each_register_query_answers_on_its_example(register, name):
    knowledge = register["knowledge"]
    query = knowledge.catalogue.get(name)
    rows = knowledge.rows(name, **{p.name: p.example for p in query.params})
    assert rows, name
    if query.has_param("referential"):
        assert knowledge.table(name, {}).columns[-1] == "referential"
        assert {r["referential"] for r in rows} == {FIRST}


def test_register_fiches_are_those_of_the_xml(register):
    rows = register["knowledge"].rows("register-fiches")
    fiches = register["fiches"]
    assert {r["fiche"] for r in rows} == set(fiches)
    assert all(r["blocks"] == len(fiches[r["fiche"]]["blocks"]) for r in rows)
    assert {r["fiche"] for r in register["knowledge"].rows("register-fiches", kind="RS")} == \
        {n for n in fiches if n.startswith("RS")}


# -- a generated export: longer lineage chains, RS fiches, shared ROME codes --------------------------------------

@pytest.fixture(scope="module")
def generated(dist_dir, tmp_path_factory):
    if importlib.util.find_spec("cqp_graph.exchange.rncp_generate") is None:
        pytest.skip("cqp_graph.exchange.rncp_generate (generate-rncp) is not in this checkout")
    from cqp_graph.exchange.rncp_generate import generate_rncp

    folder = tmp_path_factory.mktemp("generated")
    export = folder / "export.xml"
    generate_rncp(export, 300, seed=11)
    import_rncp(export, folder / "export.ttl", BASE)
    with _client(dist_dir, [folder / "export.ttl"]) as client:
        yield {"client": client, "fiches": xml_fiches([export]), "facts": referential_facts()}


def test_generated_export_lineage_and_shared_codes(generated):
    fiches, client = generated["fiches"], generated["client"]
    edges = successors(fiches)
    expected = {(n, o) for n in fiches for o in closure(edges, n)}
    assert any(len(closure(edges, n)) >= 2 for n in fiches), "the generator wrote no chain of three"
    answer = client.get("/api/register/lineage", params={"limit": 500}).json()
    got = {(s["fiche"], s["other"]) for s in answer["successions"]}
    offset = 500
    while offset < answer["total"]:
        got |= {(s["fiche"], s["other"]) for s in client.get(
            "/api/register/lineage", params={"limit": 500, "offset": offset}).json()["successions"]}
        offset += 500
    assert answer["total"] == len(expected) and got == expected
    shared = client.get("/api/register/shared-codes").json()
    got = {(f["fiche"], c["kind"], c["code"], c["match"]) for f in shared["fiches"] for c in f["codes"]}
    assert got == expected_shared(fiches, generated["facts"])


def test_generated_export_rs_fiches_are_ranked(generated):
    fiches, client = generated["fiches"], generated["client"]
    rs = {n for n in fiches if n.startswith("RS")}
    assert rs, "the generator wrote no RS fiche"
    answer = client.get("/api/register/rs", params={"top": 3}).json()
    for block in answer["blocks"]:
        assert {m["code"] for m in block["matches"]} <= rs
        scores = [(-m["score"], m["code"]) for m in block["matches"]]
        assert scores == sorted(scores)


def test_the_api_documents_each_parameter_with_its_served_bound(register):
    paths = register["client"].get("/openapi.json").json()["paths"]
    settings = register["client"].app.state.cqp.settings
    declared = {path: {p["name"]: p["schema"] for p in paths[path]["get"].get("parameters", [])}
                for path in ("/api/register/shared-codes", "/api/register/blocks", "/api/register/rs",
                             "/api/register/lineage")}
    assert declared["/api/register/blocks"]["top"]["maximum"] == settings.register_max_top_k
    assert declared["/api/register/shared-codes"]["limit"]["maximum"] == settings.register_max_rows
    assert declared["/api/register/lineage"]["offset"]["maximum"] == settings.max_offset
    assert set(declared["/api/register/lineage"]) == {"fiche", "limit", "offset"}
    assert all("x-cqp-setting" not in schema for params in declared.values() for schema in params.values())


def test_the_tf_idf_index_is_built_at_start_not_at_the_first_question(dist_dir, tmp_path):
    import time

    from cqp_graph.web import register_routes

    need_shared(RNCP)
    imported = tmp_path / "rncp.ttl"
    assert not import_rncp(RNCP, imported, BASE).problems
    with _client(dist_dir, [imported]) as client:  # no request is made
        register = register_routes._register(client.app.state.cqp)
        deadline = time.time() + 120
        while register._index is None:
            assert time.time() < deadline, "the register's index was not built at start"
            time.sleep(0.05)
        # the index built at start is the one the route answers from
        assert client.get("/api/register/blocks", params={"top": 1}).status_code == 200
        assert register._index is register_routes.index(client.app.state.cqp)
