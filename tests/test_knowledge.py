"""The knowledge layer over several referentials: names, membership, scoped named queries, optional parameters.

The data folder of this module holds three referentials: the shipped one, a copy of it under another name
(other title and RNCP number, one unit and one aptitude fewer: the same codes, so a query that leaks from one
referential into the other shows), and the small second referential written for the tests. Every expected
value is read from the folders' CSV files, never from the program's output.
"""

from __future__ import annotations

import json
import shutil
from decimal import Decimal
from pathlib import Path

import pytest
from rdflib import Graph, Literal, URIRef
from rdflib.namespace import DCTERMS, RDF, RDFS, SKOS

from cqp_graph.graph.assemble import load_shapes, referential_folders
from cqp_graph.graph.pipeline import run_pipeline
from cqp_graph.graph.validate import validate_graph
from cqp_graph.namespaces import ontology_ns
from cqp_graph.query.catalogue import QueryCatalogue, QueryError, parse_query_file
from cqp_graph.query.formats import to_json
from cqp_graph.query.knowledge import Knowledge, UnknownReferential
from cqp_graph.source.tables import DataError

from .support import (FIRST, REFERENTIAL, REGISTER_QUERY, ROOT, SECOND, csv_rows, edit_csv, set_cell, settings_for,
                      two_referentials)

COPY = "agc-copie"
COPY_TITLE = "Assistant de Gestion Client (copie de test)"
COPY_RNCP = "99123"


def _copy_of_the_shipped_referential(tmp_path: Path) -> Path:
    """data/agc-alimentaire under another name, with another title and RNCP number, without UC10 and A12."""
    stage = tmp_path / "stage"
    shutil.copytree(REFERENTIAL, stage / FIRST)
    edit_csv(stage, "certification.csv", set_cell("property", "title", "value", COPY_TITLE))
    edit_csv(stage, "certification.csv", set_cell("property", "rncp_number", "value", COPY_RNCP))
    edit_csv(stage, "units.csv", lambda rows: [r for r in rows if r["code"] != "UC10"])
    edit_csv(stage, "aptitudes.csv", lambda rows: [r for r in rows if r["code"] != "A12"])
    return stage / FIRST


@pytest.fixture(scope="module")
def three(tmp_path_factory):
    """The pipeline's result over a data folder holding three referentials."""
    tmp = tmp_path_factory.mktemp("three")
    data = two_referentials(tmp)
    shutil.move(str(_copy_of_the_shipped_referential(tmp)), str(data / COPY))
    settings = settings_for(data, tmp)
    return run_pipeline(settings)


@pytest.fixture(scope="module")
def folders(three) -> dict[str, Path]:
    return {p.name: p for p in sorted(Path(three.settings.data_dir).iterdir())}


def _root(settings, name: str) -> str:
    return f"{settings.base}{name}/"


# -- the referentials the graph holds ------------------------------------------------------------------------

def test_referentials_are_the_folders_with_their_title_and_number(three, folders):
    known = three.knowledge.referentials()
    assert [r.name for r in known] == sorted(folders) == sorted([FIRST, COPY, SECOND])
    for r in known:
        facts = {row["property"]: row["value"] for row in csv_rows("certification.csv", folders[r.name])}
        assert (r.title, r.rncp) == (facts["title"], facts["rncp_number"])
        assert r.iri.startswith(_root(three.settings, r.name))
        assert r.as_dict() == {"name": r.name, "iri": r.iri, "title": r.title, "rncp": r.rncp}
    assert {r.name: r.rncp for r in known}[COPY] == COPY_RNCP


def test_choosing_a_referential(three, graph, settings):
    knowledge = three.knowledge
    assert knowledge.referential(COPY).title == COPY_TITLE
    with pytest.raises(UnknownReferential) as several:
        knowledge.referential(None)
    assert all(name in str(several.value) for name in (FIRST, COPY, SECOND))
    assert several.value.known == sorted([FIRST, COPY, SECOND])
    with pytest.raises(UnknownReferential) as unknown:
        knowledge.referential("inconnu")
    assert "« inconnu »" in str(unknown.value) and all(n in str(unknown.value) for n in (FIRST, COPY, SECOND))
    alone = Knowledge.from_graph(graph, settings)
    assert alone.referential(None).name == FIRST == alone.referential(FIRST).name


# -- membership in the data ----------------------------------------------------------------------------------

def test_every_minted_resource_belongs_to_its_referential(three):
    graph, cqp, base = three.graph, ontology_ns(three.settings.base), three.settings.base
    certs = {str(c): str(n) for c, n in graph.subject_objects(cqp.referentialName)}
    assert sorted(certs.values()) == sorted([FIRST, COPY, SECOND])
    for cert, name in certs.items():
        assert list(graph.objects(URIRef(cert), cqp.referentialName)) == [Literal(name)]
        assert cert.startswith(_root(three.settings, name)) and (URIRef(cert), cqp.inReferential, None) not in graph
        minted = {s for s in graph.subjects() if str(s).startswith(_root(three.settings, name))} - {URIRef(cert)}
        assert len(minted) > 50
        for subject in minted:
            assert list(graph.objects(subject, cqp.inReferential)) == [URIRef(cert)], subject
    roots = tuple(_root(three.settings, n) for n in certs.values())
    outside = {s for s in graph.subjects(cqp.inReferential, None) if not str(s).startswith(roots)}
    assert not outside
    shared = {s for s in graph.subjects() if str(s).startswith(base + "rome/")}
    assert shared and not any((s, cqp.inReferential, None) in graph for s in shared), "ROME items are shared"


def test_the_ontology_defines_the_two_terms():
    ontology = Graph().parse(ROOT / "ontology" / "cqp.ttl")
    cqp = ontology_ns()
    for term, kind in ((cqp.referentialName, "DatatypeProperty"), (cqp.inReferential, "ObjectProperty")):
        assert (term, RDF.type, URIRef("http://www.w3.org/2002/07/owl#" + kind)) in ontology
        for predicate in (RDFS.label, SKOS.definition):
            assert {o.language for o in ontology.objects(term, predicate)} == {"fr", "en"}, (term, predicate)
    assert (cqp.inReferential, RDFS.range, cqp.Certification) in ontology
    assert (cqp.referentialName, RDFS.domain, cqp.Certification) in ontology


# -- named queries, scoped -----------------------------------------------------------------------------------

# the register's queries (queries/register-*.rq) answer on an RNCP import, not on referentials: tests/test_register.py
MAIN_QUERIES = sorted(q.name for q in QueryCatalogue(ROOT / "queries") if not q.name.startswith(REGISTER_QUERY))


def _examples(query) -> dict:
    return {p.name: p.example for p in query.params if not p.optional}


def _key(row: dict) -> str:
    return json.dumps(row, sort_keys=True, ensure_ascii=False)


@pytest.mark.parametrize("name", MAIN_QUERIES)
def test_each_named_query_answers_for_one_referential_or_all(three, name):
    knowledge, settings = three.knowledge, three.settings
    query = knowledge.catalogue.get(name)
    assert knowledge.takes_referential(name) and query.param("referential").optional
    params = _examples(query)
    scoped = {}
    for r in knowledge.referentials():
        rows = knowledge.rows(name, referential=r.name, **params)
        for row in rows:
            assert row["referential"] == r.name, row
            for column, value in row.items():
                if isinstance(value, str) and value.startswith(settings.base) and column != "referential":
                    assert value.startswith(_root(settings, r.name)), (column, value)
        scoped[r.name] = rows
    assert scoped[FIRST] and scoped[COPY], f"{name} answers nothing on its example for {FIRST} or {COPY}"
    everything = knowledge.rows(name, **params)
    assert sorted(map(_key, everything)) == sorted(_key(row) for rows in scoped.values() for row in rows)
    assert {row["referential"] for row in everything} == {n for n, rows in scoped.items() if rows}


def test_a_code_parameter_answers_only_the_referential_given(three, folders):
    knowledge = three.knowledge
    for name in (FIRST, COPY):
        expected = {r["competence"] for r in csv_rows("requirements.csv", folders[name]) if r["mission"] == "M3"}
        rows = knowledge.rows("competences-for-mission", mission="M3", referential=name)
        assert sorted(r["code"] for r in rows) == sorted(expected)
        assert all(r["iri"].startswith(_root(three.settings, name)) for r in rows)
    both = knowledge.rows("competences-for-mission", mission="M3")
    assert {r["referential"] for r in both} >= {FIRST, COPY}


def _csv_count(folder: Path, name: str) -> int:
    return len(csv_rows(name, folder)) if (folder / name).exists() else 0


def test_certification_summary_has_each_referentials_own_counts(three, folders):
    rows = three.knowledge.rows("certification-summary")
    assert [r["referential"] for r in rows] == sorted(folders)
    for row in rows:
        folder = folders[row["referential"]]
        facts = {r["property"]: r["value"] for r in csv_rows("certification.csv", folder)}
        assert (row["title"], row["rncp"], row["nsf"]) == (facts["title"], facts["rncp_number"], facts["nsf_code"])
        expected = {"missions": "missions.csv", "activities": "activities.csv", "competences": "competences.csv",
                    "aptitudes": "aptitudes.csv", "blocks": "blocks.csv", "units": "units.csv", "rules": "rules.csv"}
        assert {k: row[k] for k in expected} == {k: _csv_count(folder, f) for k, f in expected.items()}
        assert three.knowledge.one("certification-summary", referential=row["referential"]) == row
    copy = next(r for r in rows if r["referential"] == COPY)
    first = next(r for r in rows if r["referential"] == FIRST)
    assert (first["units"] - copy["units"], first["aptitudes"] - copy["aptitudes"]) == (1, 1)


def test_counts_inside_a_listing_are_each_referentials_own(three, folders):
    """blocks counts rules, competences and units: of its own referential, not of the whole graph."""
    for name, folder in folders.items():
        rules = csv_rows("rules.csv", folder)
        for row in three.knowledge.rows("blocks", referential=name):
            assert row["block_rules"] == sum(1 for r in rules if r["scope"] == "block")
            assert row["competences"] == sum(1 for r in csv_rows("competences.csv", folder)
                                             if r["domain"] == row["domain"])
            assert row["units"] == sum(1 for r in csv_rows("units.csv", folder) if r["block"] == row["code"])
        matrix = three.knowledge.rows("mission-domain-matrix", referential=name)
        assert len(matrix) == _csv_count(folder, "missions.csv") * _csv_count(folder, "domains.csv")


def test_an_unknown_referential_is_an_error_not_an_empty_answer(three):
    with pytest.raises(UnknownReferential, match="« nulle-part »"):
        three.knowledge.rows("missions", referential="nulle-part")
    with pytest.raises(QueryError, match="une seule était attendue"):
        three.knowledge.one("certification-summary")


def test_on_the_shipped_data_every_query_ends_with_its_referential(graph, settings):
    knowledge = Knowledge.from_graph(graph, settings)
    for query in knowledge.catalogue:
        if query.name.startswith(REGISTER_QUERY):
            continue  # about the RNCP register, absent here (tests/test_register.py)
        table = knowledge.table(query.name, _examples(query))
        assert table.columns[-1] == "referential", query.name
        assert {row["referential"] for row in table.rows} == {FIRST}, query.name


# -- optional parameters -------------------------------------------------------------------------------------

HEADER = "# ---\n# title: t\n# description: d\n# params:\n{params}# ---\n"


def _query_file(tmp_path: Path, params: str, body: str) -> Path:
    path = tmp_path / "q.rq"
    path.write_text(HEADER.format(params=params) + body, encoding="utf-8")
    return path


def test_an_optional_parameter_is_not_required_and_not_bound_when_absent(tmp_path):
    path = _query_file(tmp_path, "#   referential: {type: string, optional: true, example: x, description: nom}\n"
                                 "#   mission: {type: string, example: M3, description: code}\n",
                       "SELECT ?mission ?referential WHERE { ?m ?mission ?referential }\n")
    query = parse_query_file(path)
    optional, required = query.param("referential"), query.param("mission")
    assert (optional.optional, optional.required, required.optional, required.required) == (True, False, False, True)
    assert optional.as_dict()["optional"] is True and optional.as_dict()["required"] is False
    assert [v.value for v in query.bindings({"mission": "M3"})] == ["mission"]
    assert sorted(v.value for v in query.bindings({"mission": "M3", "referential": "x"})) == ["mission", "referential"]
    assert [v.value for v in query.bindings({"mission": "M3", "referential": ""})] == ["mission"]
    with pytest.raises(QueryError, match="attend le paramètre « mission »"):
        query.bindings({"referential": "x"})


@pytest.mark.parametrize("params,body,message", [
    ("#   referential: {type: string, optional: true, example: x}\n", "SELECT ?a WHERE { ?a ?b ?c }\n",
     "'referential' is not a variable"),
    ("#   referential: {type: string, optional: true, example: x}\n", "SELECT ?a WHERE { ?a ?b ?referential }\n",
     "'referential' must be in the SELECT projection"),
    ("#   referential: {type: string, optional: true, example: x}\n",
     "SELECT (STR(?referential) AS ?name) WHERE { ?a ?b ?referential }\n", "must be in the SELECT projection"),
    ("#   referential: {type: string, optional: oui, example: x}\n", "SELECT ?referential WHERE { ?a ?b ?referential }\n",
     "optional is true or false"),
])
def test_a_parameter_must_be_a_projected_variable(tmp_path, params, body, message):
    with pytest.raises(QueryError, match=message):
        parse_query_file(_query_file(tmp_path, params, body))


def test_projected_forms_are_accepted(tmp_path):
    for body in ("SELECT * WHERE { ?a ?b ?referential }\n",
                 "SELECT DISTINCT (STR(?x) AS ?referential) ?a WHERE { ?a ?b ?x }\n",
                 "SELECT ?a\n  ?referential WHERE { ?a ?b ?referential }\n"):
        query = parse_query_file(_query_file(tmp_path, "#   referential: {type: string, optional: true, example: x}\n",
                                             body))
        assert query.param("referential").optional


def test_the_catalogue_describes_the_referential_parameter(catalogue):
    for query in catalogue:
        if query.name.startswith(REGISTER_QUERY) and not query.has_param("referential"):
            continue  # a question about the register alone (lineage, its texts): tests/test_register.py
        described = {p["name"]: p for p in query.as_dict()["parameters"]}
        assert described["referential"]["optional"] is True and described["referential"]["required"] is False
        assert described["referential"]["example"] == FIRST


# -- shapes --------------------------------------------------------------------------------------------------

def test_shapes_reject_a_broken_membership(three):
    settings, graph = three.settings, Graph()
    graph += three.graph
    cqp = ontology_ns(settings.base)
    lost = URIRef(_root(settings, COPY) + "mission/M2")
    assert (lost, cqp.inReferential, None) in graph
    graph.remove((lost, cqp.inReferential, None))
    unnamed = URIRef(_root(settings, SECOND) + "certification")
    graph.remove((unnamed, cqp.referentialName, None))
    first = URIRef(_root(settings, FIRST) + "certification")
    twin = URIRef(settings.base + "ailleurs/certification")
    graph.add((twin, RDF.type, cqp.Certification))
    graph.add((twin, cqp.referentialName, Literal(FIRST)))
    graph.add((twin, DCTERMS.title, Literal("Jumeau", lang="fr")))
    report = validate_graph(graph, load_shapes(settings, quality=False))

    def foci(shape):
        return {f.focus for f in report.violations if f.shape.endswith("#" + shape)}

    assert foci("InReferentialShape") == {str(lost)}
    assert str(unnamed) in foci("ReferentialNameShape")
    assert foci("UniqueReferentialNameShape") == {str(first), str(twin)}
    assert foci("ReferentialRootShape") == {str(twin)}


# -- folders -------------------------------------------------------------------------------------------------

def test_folders_that_cannot_name_a_referential_are_refused(tmp_path):
    data = tmp_path / "data"
    (data / "agc").mkdir(parents=True)
    (data / ".cache").mkdir()
    assert [p.name for p in referential_folders(settings_for(data, tmp_path))] == ["agc"]
    (data / "AGC").mkdir()
    with pytest.raises(DataError, match="« AGC » et « agc »|« agc » et « AGC »"):
        referential_folders(settings_for(data, tmp_path))
    (data / "AGC").rmdir()
    (data / "mon référentiel").mkdir()
    with pytest.raises(DataError, match="« mon référentiel » ne peut pas nommer un référentiel"):
        referential_folders(settings_for(data, tmp_path))
    (data / "mon référentiel").rmdir()
    for reserved in ("rome", "ontology", "api", "static", "release"):  # IRIs and routes cqp-graph uses itself
        (data / reserved).mkdir()
        with pytest.raises(DataError, match=f"« {reserved} » ne peut pas nommer un référentiel : ce nom est réservé"):
            referential_folders(settings_for(data, tmp_path))
        (data / reserved).rmdir()


# -- rows to JSON --------------------------------------------------------------------------------------------

def test_to_json_takes_a_table_or_any_value(three):
    table = three.knowledge.table("missions", {"referential": SECOND})
    assert json.loads(to_json(table)) == table.rows
    assert to_json({"a": Decimal("1.5"), "picture": b"\x89PNG", "é": [1]}, indent=None) == \
        '{"a": "1.5", "picture": null, "é": [1]}'


def test_rdf_terms_become_the_python_values_their_datatypes_say():
    import pyoxigraph as ox

    from cqp_graph.query.store import to_python

    xsd = "http://www.w3.org/2001/XMLSchema#"

    def typed(value, name):
        return ox.Literal(value, datatype=ox.NamedNode(xsd + name))
    cases = [(typed("42", "integer"), 42), (typed("7", "nonNegativeInteger"), 7), (typed("3", "int"), 3),
             (typed("2.0", "decimal"), 2), (typed("2.5", "decimal"), 2.5), (typed("2.0", "double"), 2.0),
             (typed("1.5", "float"), 1.5), (typed("true", "boolean"), True), (typed("1", "boolean"), True),
             (typed("false", "boolean"), False), (ox.Literal("M3"), "M3"), (ox.Literal("mission", language="fr"),
                                                                            "mission"),
             (typed("2026-11-28", "date"), "2026-11-28"), (ox.NamedNode("http://example.org/x"),
                                                          "http://example.org/x"), (None, None)]
    for term, expected in cases:
        got = to_python(term)
        assert got == expected and type(got) is type(expected), (term, got)
