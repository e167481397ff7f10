"""Releases: DCAT / VoID / PROV, checksums, changes, and never a partial folder."""

from __future__ import annotations

import hashlib
import json
import os
import signal
import subprocess
import sys
import time

import pytest
from rdflib import Graph, URIRef
from rdflib.namespace import RDF

from cqp_graph.publish.release import ReleaseError, make_release

from .support import ROOT, settings_for
from .support import edit_csv, set_cell

DCAT = "http://www.w3.org/ns/dcat#"


@pytest.fixture
def filled(data_copy, tmp_path):
    edit_csv(data_copy, "publication.csv", set_cell("code", "eqf-level", "value", "4"))
    edit_csv(data_copy, "publication.csv", set_cell("code", "nqf-level", "value", "4"))
    return data_copy, settings_for(data_copy, tmp_path)


def test_release_folder_is_complete_and_checked(filled, tmp_path):
    _, settings = filled
    target = make_release(settings, "1.0.0", tmp_path / "releases")
    names = {p.name for p in target.iterdir()}
    assert {"graph.ttl", "graph.nt", "graph.jsonld", "graph.rdf", "elm.ttl", "elm.jsonld", "rncp.xml", "dataset.ttl",
            "prov.ttl", "CHANGES.md", "SHA256SUMS", "release.json"} <= names
    for line in (target / "SHA256SUMS").read_text().splitlines():
        digest, name = line.split("  ")
        assert hashlib.sha256((target / name).read_bytes()).hexdigest() == digest
    dataset = Graph().parse(target / "dataset.ttl")
    release = URIRef(settings.base + "release/1.0.0")
    assert (release, RDF.type, URIRef(DCAT + "Dataset")) in dataset
    assert str(dataset.value(release, URIRef(DCAT + "version"))) == "1.0.0"
    assert dataset.value(release, URIRef("http://purl.org/dc/terms/license")) is not None
    assert dataset.value(release, URIRef("http://purl.org/dc/terms/issued")) is not None
    assert int(dataset.value(release, URIRef("http://rdfs.org/ns/void#triples"))) == \
        len(Graph().parse(target / "graph.nt"))
    downloads = {str(o) for o in dataset.objects(None, URIRef(DCAT + "downloadURL"))}
    assert f"{release}/elm.ttl" in downloads and f"{release}/rncp.xml" in downloads
    prov = Graph().parse(target / "prov.ttl")
    used = {str(o) for o in prov.objects(None, URIRef("http://www.w3.org/ns/prov#used"))}
    assert any(u.endswith("rules.csv") for u in used)
    assert json.loads((target / "release.json").read_text())["previous"] is None


def test_second_release_lists_changes(filled, tmp_path):
    data, settings = filled
    make_release(settings, "1.0.0", tmp_path / "releases")
    edit_csv(data, "rules.csv", set_cell("code", "vae-block", "min_percent", "75"))
    target = make_release(settings, "1.1.0", tmp_path / "releases")
    text = (target / "CHANGES.md").read_text(encoding="utf-8")
    assert "depuis 1.0.0" in text and "rule/vae-block" in text
    dataset = Graph().parse(target / "dataset.ttl")
    assert (URIRef(settings.base + "release/1.1.0"), URIRef(DCAT + "previousVersion"),
            URIRef(settings.base + "release/1.0.0")) in dataset


def test_refusals(filled, tmp_path, settings):
    _, filled_settings = filled
    make_release(filled_settings, "1.0.0", tmp_path / "releases")
    with pytest.raises(ReleaseError, match="jamais réécrite"):
        make_release(filled_settings, "1.0.0", tmp_path / "releases")
    with pytest.raises(ReleaseError, match="MAJEUR.MINEUR.CORRECTIF"):
        make_release(filled_settings, "v2", tmp_path / "releases")
    with pytest.raises(ReleaseError, match="eqf-level"):
        make_release(settings, "2.0.0", tmp_path / "other")
    assert not (tmp_path / "other" / "2.0.0").exists()
    partial = make_release(settings, "2.0.0", tmp_path / "other", allow_missing=True)
    assert "elm.ttl" not in {p.name for p in partial.iterdir()}
    assert "eqf-level" in json.loads((partial / "release.json").read_text())["skipped"]["elm"]


def test_failure_midway_leaves_nothing(filled, tmp_path, monkeypatch):
    _, settings = filled
    import cqp_graph.publish.release as release

    def boom(*args, **kwargs):
        raise RuntimeError("disk full")
    monkeypatch.setattr(release, "provenance", boom)
    with pytest.raises(RuntimeError):
        make_release(settings, "1.0.0", tmp_path / "releases")
    assert list((tmp_path / "releases").iterdir()) == []


def test_killed_release_leaves_no_release_folder(filled, tmp_path):
    data, _ = filled
    out = tmp_path / "releases"
    env = dict(os.environ)
    process = subprocess.Popen([sys.executable, "-m", "cqp_graph", "release", "3.0.0", "--output", str(out),
                                "--data", str(data)], cwd=ROOT, env=env, stdout=subprocess.DEVNULL,
                               stderr=subprocess.DEVNULL, start_new_session=True)
    deadline = time.time() + 60
    while time.time() < deadline and not (out.exists() and any(out.iterdir())):
        time.sleep(0.05)
    os.killpg(process.pid, signal.SIGKILL)
    process.wait()
    assert not (out / "3.0.0").exists() or (out / "3.0.0" / "SHA256SUMS").exists(), "a release folder is whole"
    visible = [p.name for p in out.iterdir() if not p.name.startswith(".")] if out.exists() else []
    assert visible in ([], ["3.0.0"])
    # the next release clears what an interrupted one left in its staging area
    subprocess.run([sys.executable, "-m", "cqp_graph", "release", "3.0.1", "--output", str(out), "--data",
                    str(data)], cwd=ROOT, check=True, capture_output=True)
    assert not [p for p in out.iterdir() if p.name.startswith(".")]
