"""The REST API and the pages with several referentials side by side (in-process TestClient, no uvicorn).

The data folder holds the shipped referential, the small second one written for the tests
(tests/fixtures/referentials/) and a copy of the shipped one under another name, with another title, RNCP number
and M3 label: the same codes in two referentials, which must never mix. Every expectation is read from the CSV
files of each folder, never from the program.
"""

from __future__ import annotations

import shutil

import pytest
from markupsafe import escape

from .support import FIRST, REFERENTIAL, SECOND, csv_rows, edit_csv, set_cell, settings_for, two_referentials

COPY = "agc-copie"
COPY_TITLE = "Assistant de Gestion Client — copie d'essai"
COPY_RNCP = "99002"
COPY_M3 = "Intervenir auprès du client (libellé de la copie)"


@pytest.fixture(scope="module")
def data(tmp_path_factory):
    """data/ with three referentials: the shipped one, the second one, and a renamed, retitled copy of the first."""
    tmp = tmp_path_factory.mktemp("referentials")
    folder = two_referentials(tmp)
    staging = tmp / "staging"
    shutil.copytree(REFERENTIAL, staging / REFERENTIAL.name)  # edit_csv edits <folder>/agc-alimentaire/
    edit_csv(staging, "certification.csv", set_cell("property", "title", "value", COPY_TITLE))
    edit_csv(staging, "certification.csv", set_cell("property", "rncp_number", "value", COPY_RNCP))
    edit_csv(staging, "missions.csv", set_cell("code", "M3", "label", COPY_M3))
    shutil.move(staging / REFERENTIAL.name, folder / COPY)
    return folder


NAMES = sorted([FIRST, SECOND, COPY])


def client_for(settings):
    from fastapi.testclient import TestClient

    from cqp_graph.web.app import create_app

    return TestClient(create_app(settings, workers=1), raise_server_exceptions=False)


@pytest.fixture(scope="module")
def many(data, tmp_path_factory):
    """The server over the three referentials (built through the pipeline into a fresh dist/)."""
    settings = settings_for(data, tmp_path_factory.mktemp("many"))
    with client_for(settings) as client:  # the context runs the lifespan: the SPARQL worker starts and stops
        client.settings = settings
        yield client


@pytest.fixture(scope="module")
def one(tmp_path_factory):
    """The server over the shipped data/ alone (one referential)."""
    settings = settings_for(REFERENTIAL.parent, tmp_path_factory.mktemp("one"))
    with client_for(settings) as client:
        client.settings = settings
        yield client


def certification(folder) -> dict:
    return {r["property"]: r["value"] for r in csv_rows("certification.csv", folder)}


def folder_of(data, name):
    return data / name


def root(client, name) -> str:
    return f"{client.settings.base}{name}/"


# -- /api/referentials --------------------------------------------------------------------------------------

def test_referentials_lists_each_with_its_own_title_and_number(many, data):
    response = many.get("/api/referentials")
    assert response.status_code == 200, response.text
    listed = {r["name"]: r for r in response.json()}
    assert sorted(listed) == NAMES
    for name in NAMES:
        expected = certification(folder_of(data, name))
        assert listed[name]["title"] == expected["title"]
        assert listed[name]["rncp"] == expected["rncp_number"]
        assert listed[name]["iri"].startswith(root(many, name))
        assert listed[name]["links"]["missions"] == f"/api/referentials/{name}/missions"
    assert listed[COPY]["title"] == COPY_TITLE and listed[COPY]["rncp"] == COPY_RNCP
    assert listed[FIRST]["title"] != listed[SECOND]["title"] != listed[COPY]["title"]


def test_one_referential_and_its_links_resolve(many):
    info = many.get(f"/api/referentials/{SECOND}").json()
    for what in ("missions", "blocks", "competences", "domains"):
        assert many.get(info["links"][what]).status_code == 200, what
    page = many.get(info["links"]["page"] + ".html")
    assert page.status_code == 200 and info["title"] in page.text


# -- resources under a referential ---------------------------------------------------------------------------

@pytest.mark.parametrize("name", NAMES)
def test_m3_competences_are_only_that_referentials(many, data, name):
    expected = {r["competence"] for r in csv_rows("requirements.csv", folder_of(data, name)) if r["mission"] == "M3"}
    response = many.get(f"/api/referentials/{name}/missions/M3/competences")
    assert response.status_code == 200, response.text
    rows = response.json()
    assert {r["code"] for r in rows} == expected
    assert len(rows) == len(expected)  # the same codes in another referential are not repeated
    assert all(r["iri"].startswith(root(many, name)) for r in rows)


@pytest.mark.parametrize("name", NAMES)
def test_missions_blocks_domains_competences_are_that_referentials(many, data, name):
    folder = folder_of(data, name)
    for route, table in [("missions", "missions.csv"), ("blocks", "blocks.csv"), ("domains", "domains.csv")]:
        rows = many.get(f"/api/referentials/{name}/{route}").json()
        assert sorted(r["code"] for r in rows) == sorted(r["code"] for r in csv_rows(table, folder)), route
        assert all(r["iri"].startswith(root(many, name)) for r in rows), route
    competences = many.get(f"/api/referentials/{name}/competences").json()
    expected = {r["code"] for r in csv_rows("competences.csv", folder)} | \
        {r["code"] for r in csv_rows("aptitudes.csv", folder)}
    assert {c["code"] for c in competences} == expected
    mission = many.get(f"/api/referentials/{name}/missions/M3").json()
    label = next(r["label"] for r in csv_rows("missions.csv", folder) if r["code"] == "M3")
    assert mission["label"] == label and mission["iri"].startswith(root(many, name))
    assert {a["code"] for a in mission["activities"]} == \
        {r["code"] for r in csv_rows("activities.csv", folder) if r["mission"] == "M3"}


def test_a_competence_of_one_referential_is_unknown_in_another(many, data):
    own = csv_rows("competences.csv", folder_of(data, SECOND))[0]["code"]
    shipped = {r["code"] for r in csv_rows("competences.csv", REFERENTIAL)}
    assert own not in shipped
    found = many.get(f"/api/referentials/{SECOND}/competences/{own}")
    assert found.status_code == 200 and found.json()["iri"].startswith(root(many, SECOND))
    assert {n["code"] for n in found.json()["needed_by"]} == \
        {r["mission"] for r in csv_rows("requirements.csv", folder_of(data, SECOND)) if r["competence"] == own}
    missing = many.get(f"/api/referentials/{FIRST}/competences/{own}")
    assert missing.status_code == 404 and FIRST in missing.json()["detail"]


def test_named_query_under_a_referential_binds_it(many, data):
    rows = many.get(f"/api/referentials/{COPY}/queries/competences-for-mission", params={"mission": "M3"}).json()
    expected = {r["competence"] for r in csv_rows("requirements.csv", folder_of(data, COPY)) if r["mission"] == "M3"}
    assert {r["code"] for r in rows} == expected and all(r["iri"].startswith(root(many, COPY)) for r in rows)
    everywhere = many.get("/api/queries/competences-for-mission", params={"mission": "M3"}).json()
    assert {r["iri"] for r in rows} < {r["iri"] for r in everywhere}  # without one: every referential
    contradicted = many.get(f"/api/referentials/{COPY}/queries/competences-for-mission",
                            params={"mission": "M3", "referential": SECOND})
    assert contradicted.status_code == 422 and COPY in contradicted.json()["detail"]


def test_certification_summary_per_referential(many, data):
    for name in NAMES:
        rows = many.get(f"/api/referentials/{name}/queries/certification-summary").json()
        expected = certification(folder_of(data, name))
        assert [(r["title"], r["rncp"]) for r in rows] == [(expected["title"], expected["rncp_number"])]
        assert rows[0]["missions"] == len(csv_rows("missions.csv", folder_of(data, name)))


# -- short routes --------------------------------------------------------------------------------------------

@pytest.mark.parametrize("path", ["/api/missions", "/api/missions/M3", "/api/missions/M3/competences",
                                  "/api/competences", "/api/blocks", "/api/domains", "/api/coverage",
                                  "/api/analyses/transversality"])
def test_short_routes_say_which_referentials_to_choose(many, path):
    response = many.get(path)
    assert response.status_code == 409, response.text
    detail = response.json()["detail"]
    rest = path[len("/api"):]
    assert sorted(c["name"] for c in detail["choix"]) == NAMES
    for name in NAMES:
        url = f"/api/referentials/{name}{rest}"
        choice = next(c for c in detail["choix"] if c["name"] == name)
        assert url in detail["message"] and choice["url"] == url
        assert many.get(url).status_code == 200  # the URL it names answers
    assert "référentiels" in detail["message"]


@pytest.mark.parametrize("path", ["/api/referentials/inconnu", "/api/referentials/inconnu/missions",
                                  "/api/referentials/inconnu/missions/M3/competences",
                                  "/api/referentials/inconnu/queries/missions"])
def test_unknown_referential_is_404_with_the_known_names(many, path):
    response = many.get(path)
    assert response.status_code == 404, response.text
    detail = response.json()["detail"]
    assert "inconnu" in detail["message"] and all(name in detail["message"] for name in NAMES)
    assert sorted(c["name"] for c in detail["choix"]) == NAMES


@pytest.mark.parametrize("path", ["/api/queries/certification-summary?referential=inconnu",
                                  "/api/queries/missions?referential=inconnu&format=csv"])
def test_unknown_referential_as_a_query_parameter_is_404_not_500(many, path):
    response = many.get(path)
    assert response.status_code == 404, response.text
    detail = response.json()["detail"]
    assert "inconnu" in detail["message"] and sorted(c["name"] for c in detail["choix"]) == NAMES


def test_unreadable_referential_is_404(many):
    assert many.get("/api/referentials/%ff/missions").status_code == 404


@pytest.mark.parametrize("route", ["missions", "missions/M3", "missions/M3/competences", "competences",
                                   "competences/RSF10", "blocks", "domains", "coverage", "analyses/transversality",
                                   "queries/competences-for-mission?mission=M3"])
def test_one_referential_short_routes_answer_as_the_referential_route(one, route):
    short = one.get(f"/api/{route}")
    scoped = one.get(f"/api/referentials/{FIRST}/{route}")
    assert short.status_code == 200 and scoped.status_code == 200, (short.text, scoped.text)
    assert short.json() == scoped.json() and short.json()


def test_one_referential_lists_itself(one):
    listed = one.get("/api/referentials").json()
    assert [r["name"] for r in listed] == [FIRST]
    assert listed[0]["title"] == certification(REFERENTIAL)["title"]


# -- pages ---------------------------------------------------------------------------------------------------

def test_home_page_lists_every_referential(many, data):
    page = many.get("/")
    assert page.status_code == 200
    for name in NAMES:
        expected = certification(folder_of(data, name))
        assert escape(expected["title"]) in page.text and f"RNCP {expected['rncp_number']}" in page.text
        assert f"/api/referentials/{name}/missions" in page.text
        assert f"/{name}/mission/M3" in page.text and f"/{name}/block/B1" in page.text


@pytest.mark.parametrize("name", NAMES)
def test_mission_pages_of_each_referential_show_their_own_competences(many, data, name):
    page = many.get(f"/{name}/mission/M3.html")
    assert page.status_code == 200
    codes = {r["competence"] for r in csv_rows("requirements.csv", folder_of(data, name)) if r["mission"] == "M3"}
    for code in codes:
        assert f'href="/{name}/competence/{code}"' in page.text
    others = [n for n in NAMES if n != name]
    assert not any(f'href="/{other}/competence/' in page.text for other in others)


# -- decisions and coverage under a referential --------------------------------------------------------------

def block_threshold(folder, route: str) -> float:
    rows = [r for r in csv_rows("rules.csv", folder) if r["route"] == route and r["scope"] == "block"]
    assert len(rows) == 1
    return float(rows[0]["min_percent"])


def test_a_decision_under_each_referential_uses_its_rules(many, data):
    first, second = block_threshold(REFERENTIAL, "vae"), block_threshold(folder_of(data, SECOND), "vae")
    assert first != second
    score = (first + second) / 2  # between the two thresholds: acquired under one referential only
    body = {"route": "vae", "blocks": {"B1": {"score": score}}}
    decided = {}
    for name in (FIRST, SECOND):
        response = many.post(f"/api/referentials/{name}/decisions", json=body)
        assert response.status_code == 200, response.text
        decided[name] = next(b for b in response.json()["blocks"] if b["code"] == "B1")
    for name, threshold in ((FIRST, first), (SECOND, second)):
        assert decided[name]["decision"] == ("acquired" if score >= threshold else "not acquired"), decided[name]
    assert decided[FIRST]["decision"] != decided[SECOND]["decision"]


def test_a_route_of_another_referential_is_refused(many, data):
    routes = {r["code"] for r in csv_rows("routes.csv", folder_of(data, SECOND))} - \
        {r["code"] for r in csv_rows("routes.csv", REFERENTIAL)}
    route = sorted(routes)[0]
    body = {"route": route, "blocks": {"B1": {"score": 90}}}
    assert many.post(f"/api/referentials/{SECOND}/decisions", json=body).status_code == 200
    refused = many.post(f"/api/referentials/{FIRST}/decisions", json=body)
    assert refused.status_code == 422 and route in refused.text


def test_short_decision_without_a_referential_names_the_choices(many):
    response = many.post("/api/decisions", json={"route": "vae", "blocks": {"B1": {"score": 90}}})
    assert response.status_code == 409, response.text
    assert sorted(c["name"] for c in response.json()["detail"]["choix"]) == NAMES
    named = many.post("/api/decisions", json={"referential": SECOND, "route": "vae", "blocks": {"B1": {"score": 90}}})
    assert named.status_code == 200, named.text


def test_programme_coverage_under_a_referential(many, data):
    folder = folder_of(data, SECOND)
    codes = sorted(r["code"] for r in csv_rows("competences.csv", folder))[:2]
    programme = {"title": "Parcours", "modules": [{"code": "MOD01", "title": "Module", "hours": 10,
                                                   "competences": codes}]}
    response = many.post(f"/api/referentials/{SECOND}/coverage/programme", json=programme)
    assert response.status_code == 200, response.text
    result = response.json()
    assert result["referential"] == SECOND
    assert {c["code"] for c in result["competences"]} == \
        {r["code"] for name in ("competences.csv", "aptitudes.csv") for r in csv_rows(name, folder)}
    assert {c["code"] for c in result["competences"] if c["covered"]} == set(codes)
    refused = many.post(f"/api/referentials/{FIRST}/coverage/programme", json=programme)
    assert refused.status_code == 422  # those codes are not the shipped referential's


# -- the OpenAPI document ------------------------------------------------------------------------------------

def test_openapi_names_the_referentials(many):
    schema = many.get("/openapi.json").json()
    for path in ("/api/referentials", "/api/referentials/{referential}/missions/{code}/competences",
                 "/api/referentials/{referential}/decisions", "/api/referentials/{referential}/queries/{name}"):
        assert path in schema["paths"], path
    parameter = next(p for p in schema["paths"]["/api/referentials/{referential}/missions"]["get"]["parameters"]
                     if p["name"] == "referential")
    assert sorted(parameter["schema"]["enum"]) == NAMES
    assert "409" in schema["paths"]["/api/missions"]["get"]["responses"]


# -- nothing unvalidated is served ---------------------------------------------------------------------------

def test_a_dump_without_recorded_findings_is_validated_before_it_is_served(one, tmp_path):
    """A dump given with --graph and no validation.json beside it is re-validated: one violation and it is
    refused (before, such a dump was served as it was)."""
    from cqp_graph.graph.pipeline import InvalidGraph
    from cqp_graph.web.state import ServerState

    served = one.settings.dist_dir / "graph.nt"
    assert (one.settings.dist_dir / "validation.json").is_file()  # the server built it through the pipeline
    broken = tmp_path / "graph.nt"
    mission = f"<{one.settings.base}{FIRST}/mission/M9>"
    broken.write_bytes(served.read_bytes() + f"{mission} <http://www.w3.org/1999/02/22-rdf-syntax-ns#type> "
                       f"<{one.settings.base}ontology#Mission> .\n".encode("utf-8"))
    with pytest.raises(InvalidGraph, match="violation"):
        ServerState.load(one.settings, graph_file=broken, workers=1)
    state = ServerState.load(one.settings, graph_file=served, workers=1)  # its findings are recorded: trusted
    assert state.built.valid and [r.name for r in state.referentials()] == [FIRST]
