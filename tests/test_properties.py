"""Rules that are properties, checked on generated inputs (hypothesis).

- a decision is monotonic in the scores: raising any score never withdraws a block or the CQP;
- a programme's hours are conserved and each module's hours are split equally among the referential
  competences it covers;
- an RNCP fiche goes through import and back unchanged: every number, title, block, list and item.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from collections import defaultdict
from decimal import Decimal

import pytest
import yaml
from hypothesis import HealthCheck, given, settings as hsettings, strategies as st
from rdflib import Graph, URIRef
from rdflib.namespace import DCTERMS, SKOS

from cqp_graph.analyses.coverage import coverage_of_file
from cqp_graph.analyses.decisions import Decider, RuleBook
from cqp_graph.namespaces import CQP
from cqp_graph.query.catalogue import run_named
from cqp_graph.query.knowledge import Knowledge
from cqp_graph.exchange.rncp_import import import_rncp

SLOW = hsettings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
ROUTES = ("formation", "blocs", "vae")
SCORE = st.decimals(min_value=0, max_value=100, places=2)


@pytest.fixture(scope="module")
def referential(store, catalogue, settings):
    def q(name, **params):
        return run_named(store, catalogue.get(name), params, settings.base).rows

    books = {route: RuleBook.load(Knowledge.over(store, settings), route) for route in ROUTES}
    return {
        "books": books,
        "blocks": [b["code"] for b in q("blocks")],
        "evaluators": [e["code"] for e in q("evaluators")],
        "know_how": [c["code"] for c in q("competences") if c["kind"] == "SF"],
        "units": [u["code"] for u in q("units")],
        "codes": [c["code"] for c in q("competences")],
        "needs": {m["code"]: {r["code"] for r in q("competences-for-mission", mission=m["code"])}
                  for m in q("missions")},
        "activities": [a["code"] for m in q("missions") for a in q("activities-of-mission", mission=m["code"])],
    }


def candidates(ref):
    blocks, evaluators = ref["blocks"], ref["evaluators"]
    block = st.fixed_dictionaries({"score": st.one_of(st.none(), SCORE),
                                   "evaluators": st.fixed_dictionaries({e: SCORE for e in evaluators})})
    return st.fixed_dictionaries({
        "route": st.sampled_from(ROUTES),
        "blocks": st.fixed_dictionaries({b: block for b in blocks}),
        "know_how": st.fixed_dictionaries({"tutor": st.dictionaries(st.sampled_from(ref["know_how"]), SCORE,
                                                                    max_size=6)}),
        "units": st.dictionaries(st.sampled_from(ref["units"]), SCORE, max_size=4),
    })


def raise_scores(data: dict, bump: Decimal) -> dict:
    def up(v):
        return None if v is None else min(Decimal(100), v + bump)
    return {
        "route": data["route"],
        "blocks": {b: {"score": up(r["score"]), "evaluators": {e: up(v) for e, v in r["evaluators"].items()}}
                   for b, r in data["blocks"].items()},
        "know_how": {e: {k: up(v) for k, v in m.items()} for e, m in data["know_how"].items()},
        "units": {u: up(v) for u, v in data["units"].items()},
    }


def test_decisions_are_monotonic_in_the_scores(referential):
    @SLOW
    @given(data=candidates(referential), bump=st.decimals(min_value=0, max_value=40, places=2))
    def check(data, bump):
        book = referential["books"][data["route"]]
        before = Decider(book, data).decide()
        after = Decider(book, raise_scores(data, bump)).decide()
        if before["decision"] == "awarded":
            assert after["decision"] == "awarded"
        for a, b in zip(before["blocks"], after["blocks"]):
            if a["decision"] == "acquired":
                assert b["decision"] == "acquired", (a, b)
        for a, b in zip(before["units"], after["units"]):
            if a["decision"] == "acquired":
                assert b["decision"] == "acquired"
        every = [c for blk in after["blocks"] for c in blk["checks"]] + after["certification_checks"]
        assert (after["decision"] == "awarded") == (all(c["passed"] for c in every) and bool(after["blocks"]))

    check()


def test_everything_at_100_is_awarded_and_everything_at_0_is_not(referential):
    for route in ROUTES:
        for value, expected in ((Decimal(100), "awarded"), (Decimal(0), "not awarded")):
            data = {"route": route, "know_how": {"tutor": {k: value for k in referential["know_how"]}},
                    "units": {u: value for u in referential["units"]},
                    "blocks": {b: {"score": value, "evaluators": {e: value for e in referential["evaluators"]}}
                               for b in referential["blocks"]}}
            assert Decider(referential["books"][route], data).decide()["decision"] == expected, (route, value)


def programmes(ref):
    module = st.fixed_dictionaries({
        "hours": st.decimals(min_value=0, max_value=200, places=1),
        "competences": st.lists(st.sampled_from(ref["codes"]), unique=True, max_size=8),
        "activities": st.lists(st.sampled_from(ref["activities"]), unique=True, max_size=2),
        "activities_stand_for_mission": st.booleans(),
    })
    return st.lists(module, min_size=1, max_size=5)


def test_coverage_hours_are_conserved_and_split_equally(referential, store, settings, tmp_path):
    knowledge = Knowledge.over(store, settings)
    path = tmp_path / "programme.yaml"

    @hsettings(max_examples=8, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
    @given(modules=programmes(referential))
    def check(modules):
        doc = {"title": "p", "referential": "agc-alimentaire", "modules": [
            {"code": f"MOD{i}", "title": f"m{i}", "hours": float(m["hours"]), "competences": m["competences"],
             "activities": m["activities"], "activities_stand_for_mission": m["activities_stand_for_mission"]}
            for i, m in enumerate(modules, start=1)]}
        path.write_text(yaml.safe_dump(doc, allow_unicode=True), encoding="utf-8")
        result = coverage_of_file(path, settings, knowledge)
        expected: dict[str, Decimal] = defaultdict(Decimal)
        unallocated = Decimal(0)
        for m in modules:
            covered = set(m["competences"])
            if m["activities_stand_for_mission"]:
                for a in m["activities"]:
                    covered |= referential["needs"][a.split("A")[0]]
            hours = Decimal(str(float(m["hours"])))
            for code in covered:
                expected[code] += hours / len(covered)
            if not covered:
                unallocated += hours
        for row in result["competences"]:
            assert row["hours"] == pytest.approx(float(expected.get(row["code"], 0)), abs=0.01), row["code"]
        total = sum(Decimal(str(float(m["hours"]))) for m in modules)
        assert result["summary"]["hours"] == pytest.approx(float(total), abs=1e-9)
        assert result["summary"]["unallocated_hours"] == pytest.approx(float(unallocated), abs=1e-9)
        allocated = sum(Decimal(str(r["hours"])) for r in result["competences"])
        assert float(allocated + unallocated) == pytest.approx(float(total), abs=0.01 * len(result["competences"]))
        assert sum(b["hours"] for b in result["by_block"]) + \
            sum(r["hours"] for r in result["competences"] if r["block"] is None) == \
            pytest.approx(float(allocated), abs=0.005 * len(result["competences"]) + 0.01)

    check()


# -- RNCP: what goes in comes out --------------------------------------------------------------------------

TEXT = st.text(st.characters(codec="utf-8", exclude_categories=("Cs", "Cc", "Zl", "Zp"), exclude_characters="\r"),
               min_size=1, max_size=40).filter(lambda t: t.strip())
WORD_ITEM = st.text(st.characters(whitelist_categories=("Ll", "Lu"), max_codepoint=0x17F), min_size=1,
                    max_size=15)


@st.composite
def fiches(draw):
    numbers = draw(st.lists(st.integers(1, 999999), min_size=1, max_size=4, unique=True))
    out = []
    for n in numbers:
        number = f"RNCP{n}"
        blocks = []
        for i in range(1, draw(st.integers(0, 4)) + 1):
            items = draw(st.lists(st.lists(WORD_ITEM, min_size=1, max_size=4).map(" ".join), min_size=2, max_size=5))
            blocks.append({"code": f"{number}BC{i:02d}", "label": draw(TEXT),
                           "list": "  ".join(f"- {item}" for item in items), "items": items,
                           "modalities": draw(TEXT)})
        out.append({"number": number, "title": draw(TEXT), "blocks": blocks})
    return out


def to_xml(records) -> bytes:
    root = ET.Element("FICHES")
    ET.SubElement(root, "VERSION_FLUX").text = "4.1"
    for r in records:
        fiche = ET.SubElement(root, "FICHE")
        ET.SubElement(fiche, "NUMERO_FICHE").text = r["number"]
        ET.SubElement(fiche, "INTITULE").text = r["title"]
        blocks = ET.SubElement(fiche, "BLOCS_COMPETENCES")
        for b in r["blocks"]:
            block = ET.SubElement(blocks, "BLOC_COMPETENCES")
            ET.SubElement(block, "CODE").text = b["code"]
            ET.SubElement(block, "LIBELLE").text = b["label"]
            ET.SubElement(block, "LISTE_COMPETENCES").text = b["list"]
            ET.SubElement(block, "MODALITES_EVALUATION").text = b["modalities"]
    return ET.tostring(root, encoding="utf-8", xml_declaration=True)


def test_rncp_import_keeps_every_fiche_block_and_item(tmp_path):
    base = "https://w3id.org/cqp-graph/"  # the base CQP (cqp_graph.namespaces) is minted under

    @hsettings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
    @given(records=fiches())
    def check(records):
        source = tmp_path / "export.xml"
        source.write_bytes(to_xml(records))
        report = import_rncp(source, tmp_path / "out.ttl", base)
        assert report.problems == [] and report.fiches == len(records)
        assert report.blocks == sum(len(r["blocks"]) for r in records)
        graph = Graph().parse(tmp_path / "out.ttl")
        for r in records:
            record = URIRef(f"{base}rncp/{r['number']}")
            assert str(graph.value(record, CQP.recordNumber)) == r["number"]
            assert str(graph.value(record, DCTERMS.title)) == r["title"].strip()
            codes = {str(graph.value(b, CQP.code)) for b in graph.objects(record, CQP.hasBlock)}
            assert codes == {b["code"] for b in r["blocks"]}
            for b in r["blocks"]:
                node = URIRef(f"{base}rncp/block/{b['code']}")
                assert str(graph.value(node, SKOS.prefLabel)) == b["label"].strip()
                assert str(graph.value(node, CQP.competenceListText)) == b["list"]
                assert str(graph.value(node, CQP.assessmentText)) == b["modalities"]
                items = sorted((int(graph.value(i, CQP.order)), str(graph.value(i, CQP.itemText)))
                               for i in graph.objects(node, CQP.hasItem))
                assert [t for _, t in items] == b["items"]

    check()
