"""ELM / Europass export: refuses without the values the profile needs; conforms to the official LOQ shapes."""

from __future__ import annotations

import subprocess
import sys

import pytest
from pyshacl import validate
from rdflib import Graph, URIRef

from cqp_graph.exchange.elm import ELM, MissingSetting, export_elm
from cqp_graph.graph.pipeline import run_pipeline
from cqp_graph.query.knowledge import Knowledge

from .support import settings_for
from .support import SHARED, csv_rows, edit_csv, need_shared, set_cell

SHAPES = SHARED / "standards" / "elm"


@pytest.fixture
def filled(data_copy, tmp_path):
    """A copy of the data whose unknown levels are filled with test values (not claims about the CQP)."""
    edit_csv(data_copy, "publication.csv", set_cell("code", "eqf-level", "value", "4"))
    edit_csv(data_copy, "publication.csv", set_cell("code", "nqf-level", "value", "4"))
    settings = settings_for(data_copy, tmp_path)
    return settings, run_pipeline(settings).knowledge


def test_refuses_and_names_the_missing_setting(store, settings, tmp_path):
    with pytest.raises(MissingSetting) as excinfo:
        export_elm(Knowledge.over(store, settings), settings)
    assert excinfo.value.code == "eqf-level"
    done = subprocess.run([sys.executable, "-m", "cqp_graph", "export-elm", "--output", str(tmp_path / "x.ttl")],
                          capture_output=True, text=True)
    assert done.returncode == 2 and "eqf-level" in done.stderr


@pytest.mark.parametrize("fmt", ["turtle", "json-ld"])
def test_export_conforms_to_the_official_loq_shapes(filled, fmt):
    need_shared(SHAPES)
    settings, knowledge = filled
    data = Graph().parse(data=export_elm(knowledge, settings, fmt=fmt), format=fmt)
    for shapes in ("LOQ-constraints.ttl", "LOQ-constraints-mdr.ttl"):
        conforms, _, text = validate(data, shacl_graph=Graph().parse(SHAPES / shapes), inference="none",
                                     advanced=True)
        assert conforms, f"{shapes}\n{text}"
    qualifications = set(data.subjects(URIRef("http://www.w3.org/1999/02/22-rdf-syntax-ns#type"), ELM.Qualification))
    blocks = csv_rows("blocks.csv")
    assert len(qualifications) == 1 + len(blocks)  # the CQP and its blocks
    whole = next(q for q in qualifications if (q, ELM.hasPart, None) in data)
    assert len(list(data.objects(whole, ELM.hasPart))) == len(blocks)
    outcomes = len(csv_rows("competences.csv")) + len(csv_rows("aptitudes.csv"))
    assert len(list(data.objects(whole, ELM.learningOutcome))) == outcomes
    assert len(list(data.objects(whole, ELM.provenBy))) == len(csv_rows("routes.csv"))
    assert any("70\u202f%" in str(d) for d in data.objects(None, URIRef("http://purl.org/dc/terms/description")))


def test_the_shapes_do_catch_a_broken_export(filled):
    need_shared(SHAPES)
    settings, knowledge = filled
    data = Graph().parse(data=export_elm(knowledge, settings), format="turtle")
    data.remove((None, ELM.EQFLevel, None))
    data.add((URIRef(settings.base + "elm/rncp28795"), URIRef(settings.base + "ontology#code"),
              URIRef(settings.base + "x")))
    conforms, _, text = validate(data, shacl_graph=Graph().parse(SHAPES / "LOQ-constraints.ttl"), inference="none")
    assert not conforms and "EQFLevel" in text
