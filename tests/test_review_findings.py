"""Regressions found by the review of the stores/register/workbench commit (each test names its finding).

A control character in an uploaded programme no longer breaks its Excel download; an unknown register fiche is
answered without comparing it with every fiche; an import file that is not RDF stops `serve` and `load` with a
French message; a results file's route is checked against the referential's own routes; numbering gaps list
every missing number; the RNCP import's summary is French; a release version or a staging folder's name cannot
end in a newline; /findings answers its refusals in the form asked for and keeps the referential in its links.
Expectations come from the inputs written here and from the referentials' CSV files.
"""

from __future__ import annotations

import io
import os
import subprocess
import sys
from pathlib import Path

import pytest
from openpyxl import load_workbook

from cqp_graph.analyses.decisions import decide_data
from cqp_graph.analyses.network import numbering_gaps
from cqp_graph.inputs.files import InputError
from cqp_graph.present.spreadsheet import xlsx_bytes
from cqp_graph.publish import atomic
from cqp_graph.publish.release import ReleaseError, make_release
from cqp_graph.web.register_routes import close_numbers

from .support import FIRST, ROOT, SECOND, SECOND_REFERENTIAL, SHARED, csv_rows, need_shared


def _cli(*args, env=None, timeout=600):
    return subprocess.run([sys.executable, "-m", "cqp_graph", *args], capture_output=True, text=True, cwd=ROOT,
                          env={**os.environ, "COLUMNS": "200", **(env or {})}, timeout=timeout)


# -- F1: a control character in a programme, downloaded as a workbook -------------------------------------------

def test_a_control_character_in_a_text_cell_does_not_break_a_workbook():
    book = load_workbook(io.BytesIO(xlsx_bytes({"T": (["code", "titre"], [["M\x02", "a\x0bb\tc"]])})))
    assert [c.value for c in book["T"][2]] == ["M", "ab\tc"]  # \x02 and \x0b cannot be in XML 1.0; a tab can


def test_the_coverage_download_of_a_programme_with_control_characters(app_client):
    competence = csv_rows("competences.csv")[0]["code"]
    programme = (f'title: "T\\x01"\nmodules:\n  - code: "M\\x02"\n    title: "a\\x0bb"\n    hours: 21\n'
                 f"    competences: [{competence}]\n").encode()
    response = app_client.post("/coverage", files={"fichier": ("ctl.yaml", programme)}, data={"format": "xlsx"})
    # the reader may refuse the control characters (a French message naming them) or let them through to a
    # workbook that leaves them out; never a 500
    assert response.status_code in (200, 400), response.text[:300]
    if response.status_code == 400:
        assert "caractère de contrôle" in response.text
    else:
        modules = load_workbook(io.BytesIO(response.content))["Modules"]
        assert [c.value for c in modules[2]][:2] == ["M", "ab"]


# -- F2: close fiche numbers without a scan of the register ------------------------------------------------------

class _NoScan(dict):
    """A register that refuses to be walked through: only look-ups are allowed."""

    def __iter__(self):
        raise AssertionError("the register was scanned")

    def keys(self):
        raise AssertionError("the register was scanned")


@pytest.mark.parametrize("typed", ["RNCP3476", "RNCP347620", "RNCP34752", "RNCP37462", "RNCP347662"])
def test_close_fiche_numbers_are_one_slip_away_and_found_without_a_scan(typed):
    register = _NoScan({n: {} for n in ("RNCP34762", "RNCP1", "RS34762", "RNCP99999")})
    assert "RNCP34762" in close_numbers(typed, register)
    assert "RS34762" not in close_numbers(typed, register)  # another kind of fiche is another number


def test_far_numbers_are_not_suggested():
    assert close_numbers("RNCP12345", _NoScan({"RNCP54321": {}, "RNCP12": {}})) == []


# -- F3: an import file that is not RDF ---------------------------------------------------------------------------

@pytest.fixture(scope="module")
def not_rdf(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("bad") / "import.nt"
    path.write_text("<a> <b> pas du RDF .\n", encoding="utf-8")
    return path


def test_load_refuses_an_import_that_is_not_rdf_in_french(tmp_path, not_rdf):
    store = tmp_path / "store"
    done = _cli("load", "--file", str(not_rdf), env={"CQP_GRAPH_STORE": str(store)})
    assert done.returncode == 2, done.stderr[-2000:]
    text = " ".join(done.stderr.split())
    assert "Traceback" not in done.stderr and "fichier RDF illisible" in text and not_rdf.name in text
    assert not [p for p in store.iterdir() if not p.name.startswith(".")] if store.exists() else True


def test_serve_refuses_a_merge_that_is_not_rdf_in_french(tmp_path, not_rdf):
    done = _cli("serve", "--port", "9", "--workers", "1", "--merge", str(not_rdf),
                env={"CQP_GRAPH_DIST": str(tmp_path / "dist")})
    assert done.returncode == 2, done.stderr[-2000:]
    text = " ".join(done.stderr.split())
    assert "Traceback" not in done.stderr and "fichier RDF illisible" in text and "ligne 1" in text


# -- F4: the route of a results file is the referential's ---------------------------------------------------------

def test_an_unknown_route_names_the_routes_of_its_own_referential(two_built, two_settings):
    own = [r["code"] for r in csv_rows("routes.csv", SECOND_REFERENTIAL)]
    other = [r["code"] for r in csv_rows("routes.csv") if r["code"] not in own]
    assert other  # a route of the first referential the second does not have
    with pytest.raises(InputError) as caught:
        decide_data(f"route: {other[0]}\nblocks: {{}}\n", two_settings, two_built.knowledge, SECOND)
    message = str(caught.value)
    assert f"voie inconnue du référentiel {SECOND} ({other[0]})" in message
    assert f"voies : {', '.join(own)}" in message
    assert not any(f"{code}," in message or f"{code} " in message.split("(")[0] for code in other[1:])


def test_a_route_in_capitals_is_refused_with_the_close_one(knowledge, settings):
    routes = [r["code"] for r in csv_rows("routes.csv")]
    route = routes[-1]
    with pytest.raises(InputError) as caught:
        decide_data(f"route: {route.upper()}\nblocks: {{}}\n", settings, knowledge, FIRST)
    assert f"vouliez-vous dire {route} ?" in str(caught.value)


def test_the_results_shape_lists_no_route():
    text = (ROOT / "shapes" / "inputs" / "results.ttl").read_text(encoding="utf-8")
    for route in csv_rows("routes.csv"):
        assert f"{route['code']})" not in text and f"{route['code']}," not in text


# -- F5: numbering gaps ------------------------------------------------------------------------------------------

def test_numbering_gaps_list_every_missing_number_of_each_series():
    assert numbering_gaps({"C1", "C4", "RC2", "X", "POSF10", "POSF9", "POSF1"}) == \
        ["C2", "C3", "POSF2", "POSF3", "POSF4", "POSF5", "POSF6", "POSF7", "POSF8", "RC1"]


def test_the_coverage_api_uses_them(app_client):
    coded = [r["code"] for r in csv_rows("competences.csv")] + [r["code"] for r in csv_rows("aptitudes.csv")]
    assert app_client.get("/api/coverage").json()["numbering_gaps"] == numbering_gaps(coded)


# -- F7: the RNCP import's summary ---------------------------------------------------------------------------------

def test_the_import_summary_is_french(tmp_path):
    export = need_shared(SHARED / "rncp" / "export_fiches_RNCP_fixture.xml")
    done = _cli("import-rncp", str(export), "-o", str(tmp_path / "rncp.nt"), "--no-validate")
    line = next(line for line in done.stdout.splitlines() if line.startswith("découpage"))
    assert "{" not in line and not any(word in line for word in ("'codes'", "bullets", "'none'")), line
    assert "par puces" in line


# -- F11: names ending in a newline --------------------------------------------------------------------------------

def test_a_release_version_ending_in_a_newline_is_refused(tmp_path, settings):
    with pytest.raises(ReleaseError, match="MAJEUR.MINEUR.CORRECTIF"):  # refused for its form, before any work
        make_release(settings, "1.0.0\n", tmp_path)
    assert list(tmp_path.iterdir()) == []


def test_a_staging_name_ending_in_a_newline_is_not_ours():
    assert atomic.STAGE_NAME.match(".cqp-graph-stage-12-abcdefgh")
    assert not atomic.STAGE_NAME.match(".cqp-graph-stage-12-abcdefgh\n")


# -- F12: /findings refusals and links -----------------------------------------------------------------------------

def test_findings_refusals_answer_in_the_form_asked_for(app_client):
    page = app_client.get("/findings", params={"referential": "zz"})
    assert page.status_code == 404 and page.headers["content-type"].startswith("text/html")
    assert "aucun référentiel nommé « zz »" in page.text
    data = app_client.get("/findings", params={"referential": "zz", "format": "json"})
    assert data.status_code == 404 and "aucun référentiel" in data.json()["detail"]
    bad = app_client.get("/findings", params={"severity": "grave", "format": "json"})
    assert bad.status_code == 400 and "« grave » inconnue" in bad.json()["detail"]


def test_findings_links_keep_the_referential(app_client):
    page = app_client.get("/findings", params={"referential": FIRST}).text
    assert f"/findings?referential={FIRST}&amp;format=csv" in page
    assert f'name="referential" value="{FIRST}"' in page


# -- F10: one block per domain ---------------------------------------------------------------------------------------

def test_two_blocks_certifying_one_domain_are_a_violation(data_copy, tmp_path):
    from cqp_graph.graph.assemble import build_graph, load_shapes
    from cqp_graph.graph.validate import validate_graph

    from .support import edit_csv, set_cell, settings_for

    blocks = csv_rows("blocks.csv")
    first, second = blocks[0], blocks[1]
    edit_csv(data_copy, "blocks.csv", set_cell("code", second["code"], "domain", first["domain"]))
    settings = settings_for(data_copy, tmp_path)
    report = validate_graph(build_graph(settings), load_shapes(settings))
    hits = [f for f in report.violations if f.shape.endswith("#DomainShape") and "un seul bloc" in f.message]
    assert hits and hits[0].focus.endswith(f"/domain/{first['domain']}"), [f.message for f in report.violations]


# -- F15: the know-how of the request schema is the ontology's kind ---------------------------------------------------

def test_the_results_schema_offers_the_know_how_codes(app_client):
    schema = app_client.get("/openapi.json").json()
    results = schema["paths"]["/api/decisions"]["post"]["requestBody"]["content"]["application/json"]["schema"]
    evaluators = results["properties"]["know_how"]["properties"]
    know_how = {r["code"] for r in csv_rows("competences.csv") if r["kind"] == "SF"}  # the data's know-how kind
    assert evaluators and all(set(v["properties"]) == know_how for v in evaluators.values())


# -- F16: the rule book's unknown route is French and typed ------------------------------------------------------------

def test_the_rule_book_refuses_an_unknown_route_in_french(knowledge):
    from cqp_graph.analyses.decisions import RuleBook, UnknownRoute

    routes = [r["code"] for r in csv_rows("routes.csv")]
    with pytest.raises(UnknownRoute) as caught:
        RuleBook.load(knowledge, "itinéraire", FIRST)
    assert caught.value.route == "itinéraire" and caught.value.known == routes
    assert str(caught.value) == f"voie « itinéraire » inconnue du référentiel {FIRST} (voies : {', '.join(routes)})"


# -- F12, F19, F11 (the coordinator's files) ----------------------------------------------------------------

def test_an_unknown_ontology_extension_is_not_found(app_client):
    from cqp_graph.web.formats import EXTENSIONS

    assert app_client.get("/ontology.zzz").status_code == 404
    for ext, media in EXTENSIONS.items():  # each known one still answers in its format
        answer = app_client.get(f"/ontology.{ext}")
        assert answer.status_code == 200 and answer.headers["content-type"].startswith(media), ext


def test_a_dump_is_the_file_itself_as_an_attachment(app_client, dist_dir):
    from cqp_graph.publish.formats import DUMPS

    for name, (_fmt, media) in DUMPS.items():
        answer = app_client.get(f"/dumps/{name}")
        assert answer.status_code == 200
        assert answer.content == (dist_dir / name).read_bytes()
        assert answer.headers["content-type"].startswith(media)
        assert answer.headers["content-disposition"].startswith("attachment") and name in \
            answer.headers["content-disposition"]


def test_store_folder_names_ending_in_a_newline_are_not_ours():
    from cqp_graph.query import folder_store

    assert folder_store.VERSION.match("v-20261128T060000Z-1a2b3c4d")
    assert folder_store.VERSION.match("v-20261128T060000Z-1a2b3c4d\n") is None
    assert folder_store.LOADING.match(".loading-12-1a2b3c4d")
    assert folder_store.LOADING.match(".loading-12-1a2b3c4d\n") is None


def test_the_api_schema_of_a_text_refuses_exactly_what_the_reader_refuses(app_client):
    # schema-valid bodies must be accepted (schemathesis ST202): the schema's pattern for texts is the reader's rule
    import re

    from cqp_graph.inputs.files import strict_text
    from cqp_graph.web.api_routes import input_schemas

    schemas = input_schemas(app_client.app.state.cqp)
    module = schemas["programme"]["properties"]["modules"]["items"]["properties"]
    texts = [module["code"], module["title"], schemas["programme"]["properties"]["title"],
             schemas["results"]["properties"]["candidate"]["anyOf"][0]]
    for schema in texts:
        pattern = re.compile(schema["pattern"])
        for code in list(range(0x300)) + [0x2028, 0xFEFF, 0x1F1FA]:
            text = f"a{chr(code)}b"
            try:
                strict_text(text, None)
                accepted = True
            except ValueError:
                accepted = False
            assert bool(pattern.search(text)) == accepted, (schema, hex(code))


def test_natural_order_takes_any_text():
    # a programme's code « M² » reached natural_key through a sorted list and int("²") raised (a 500 on the API)
    from cqp_graph.numbers import natural_key

    codes = ["RC10", "RC2", "M²", "x²3", "٣", "A", ""]
    ordered = sorted(codes, key=lambda v: (natural_key(v), v))
    assert ordered.index("RC2") < ordered.index("RC10")
    assert natural_key("x²3") == ["x²", 3, ""] and natural_key("٣") == ["", 3, ""]
