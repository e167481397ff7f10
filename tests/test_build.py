"""Building dist/: formats, reproducibility, atomicity, clear errors, more referentials, another base."""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from rdflib import Graph, URIRef
from rdflib.compare import isomorphic

from cqp_graph.publish.dumps import DUMPS, write_dist
from cqp_graph.graph.assemble import build_graph, load_shapes
from cqp_graph.source.tables import DataError
from cqp_graph.graph.validate import validate_graph

from .support import ROOT, settings_for
from .support import edit_csv, set_cell


def run_build(dist: Path, seed: str, data: Path = ROOT / "data", extra_env=None) -> subprocess.CompletedProcess:
    env = dict(os.environ, PYTHONHASHSEED=seed, **(extra_env or {}))
    return subprocess.run([sys.executable, "-m", "cqp_graph", "build", "--output", str(dist), "--data", str(data)],
                          capture_output=True, text=True, env=env, cwd=ROOT)


def digests(folder: Path) -> dict[str, str]:
    return {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(folder.iterdir())}


def test_two_builds_are_byte_identical(tmp_path):
    a = run_build(tmp_path / "a", "1")
    b = run_build(tmp_path / "b", "2")
    assert a.returncode == 0, a.stderr
    assert b.returncode == 0, b.stderr
    assert digests(tmp_path / "a") == digests(tmp_path / "b")
    assert set(digests(tmp_path / "a")) >= set(DUMPS) | {"context.jsonld", "validation.json"}


def test_every_dump_holds_the_same_graph(graph, settings, tmp_path):
    write_dist(graph, tmp_path, settings.base)
    formats = {"graph.ttl": "turtle", "graph.nt": "nt", "graph.jsonld": "json-ld", "graph.rdf": "xml"}
    for name, fmt in formats.items():
        parsed = Graph().parse(tmp_path / name, format=fmt)
        assert isomorphic(parsed, graph), name


def test_build_prints_a_summary(tmp_path):
    result = run_build(tmp_path / "dist", "0")
    assert result.returncode == 0, result.stderr
    for text in ("Synthèse du graphe", "28795", "violations", "construction et validation"):
        assert text in result.stdout


@pytest.mark.parametrize("file,mutate,expected", [
    ("missions.csv", lambda t: t.replace("M3,Intervenir", "M3,\"Intervenir"), "missions.csv:4: syntaxe CSV"),
    ("rules.csv", lambda t: t.replace("vae-block,vae,block,block,,70,", "vae-block,vae,block,block,,soixante-dix,"),
     "rules.csv:12: colonne « min_percent » : « soixante-dix » n'est pas un nombre"),
    ("competences.csv", lambda t: t.replace("RC2,C,R,", "RC2,C,,"), "competences.csv:3: colonne « domain » vide : elle est obligatoire"),
    ("activities.csv", lambda t: t + "M1A1,M1,Doublon,Le référentiel emploi,106\n",
     "activities.csv:27: code « M1A1 » en double (déjà à la ligne 2)"),
    ("missions.csv", lambda t: t.replace("code,label,order", "code,libelle,order"), "missions.csv:1: colonne(s) obligatoire(s) absente(s) : label"),
    ("units.csv", lambda t: t.replace("UC2,Réaliser une vente,,2,", "UC2,Réaliser une vente,,2,,extra,"),
     "units.csv:3: 11 cellules alors que l'en-tête en a 9"),
])
def test_malformed_file_names_file_line_and_problem(data_copy, tmp_path, file, mutate, expected):
    path = data_copy / "agc-alimentaire" / file
    path.write_text(mutate(path.read_text(encoding="utf-8")), encoding="utf-8")
    with pytest.raises(DataError) as excinfo:
        build_graph(settings_for(data_copy, tmp_path))
    assert expected in str(excinfo.value)
    assert str(path) in str(excinfo.value)


def test_failed_build_leaves_the_previous_dist_untouched(data_copy, tmp_path):
    dist = tmp_path / "dist"
    assert run_build(dist, "0", data_copy).returncode == 0
    before = digests(dist)
    rules = data_copy / "agc-alimentaire" / "rules.csv"
    rules.write_text(rules.read_text(encoding="utf-8").replace(",70,stated", ",x,stated"), encoding="utf-8")
    failed = run_build(dist, "0", data_copy)
    assert failed.returncode != 0
    said = " ".join(failed.stderr.split())  # the terminal wraps a long message at 80 columns
    assert "rules.csv" in said and "n'est pas un nombre" in said
    assert digests(dist) == before
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".dist")], "no staging folder left behind"


def test_graph_with_violations_is_not_published(data_copy, tmp_path):
    edit_csv(data_copy, "rules.csv", set_cell("code", "vae-block", "min_percent", "170"))
    result = run_build(tmp_path / "dist", "0", data_copy)
    assert result.returncode == 1
    assert "violation" in result.stderr
    assert not (tmp_path / "dist").exists()


def test_a_second_referential_is_a_folder(data_copy, tmp_path):
    other = data_copy / "autre-cqp"
    shutil.copytree(data_copy / "agc-alimentaire", other)
    edit_csv(data_copy, "missions.csv", set_cell("code", "M1", "label", "Collecter les informations"))
    settings = settings_for(data_copy, tmp_path)
    graph = build_graph(settings)
    for slug in ("agc-alimentaire", "autre-cqp"):
        assert (URIRef(f"{settings.base}{slug}/mission/M1"), None, None) in graph
    assert validate_graph(graph, load_shapes(settings)).conforms


def test_rebased_graph_still_validates(tmp_path):
    settings = settings_for(ROOT / "data", tmp_path, base="http://localhost:8000/")
    graph = build_graph(settings)
    assert not [t for t in graph if any(str(x).startswith("https://w3id.org/cqp-graph/") for x in t)]
    report = validate_graph(graph, load_shapes(settings))
    assert report.conforms
    assert report.by_shape("UnusedCompetenceShape"), "quality shapes follow the new base too"
