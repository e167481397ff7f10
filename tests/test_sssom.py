"""SSSOM: the reviewed ROME mappings as a mapping set that sssom-py (from PyPI) parses and validates, in every
release, from the command line and at a stable URL on the server; the same mappings as in the graph."""

from __future__ import annotations

import csv
import shutil
import subprocess
import sys

import httpx
import pytest
from rdflib import URIRef
from rdflib.namespace import SKOS

from cqp_graph.publish.release import make_release
from cqp_graph.exchange.sssom import sssom_tsv

from .support import REFERENTIAL, ROOT, settings_for

sssom_parsers = pytest.importorskip("sssom.parsers", reason="sssom-py is not installed (pip install -e '.[test]')")
from sssom.validators import validate  # noqa: E402

CURIE_COLUMNS = ("subject_id", "predicate_id", "object_id", "mapping_justification", "object_source")


def reviewed() -> list[dict]:
    with (REFERENTIAL / "rome-mappings.csv").open(encoding="utf-8", newline="") as handle:
        return list(csv.DictReader(handle))


def licence() -> str:
    with (REFERENTIAL / "publication.csv").open(encoding="utf-8", newline="") as handle:
        return next(r for r in csv.DictReader(handle) if r["code"] == "data-licence")["value"]


def checked(path):
    """Parse with sssom-py, run its validators (JSON schema, prefix map completeness, CURIE format) and our own
    stricter checks; return the mapping set data frame."""
    msdf = sssom_parsers.parse_sssom_table(str(path))
    reports = validate(msdf, fail_on_error=False)
    assert reports and all(not report.results for report in reports.values()), reports
    prefixes = dict(msdf.converter.prefix_map)
    header = [line for line in path.read_text(encoding="utf-8").splitlines() if line.startswith("#")]
    for key in ("curie_map", "mapping_set_id", "mapping_set_version", "license", "mapping_set_title"):
        assert any(line.startswith(f"# {key}:") for line in header), key
    assert msdf.df["mapping_date"].notna().all()  # in the header when shared by every mapping, else per row
    for column in CURIE_COLUMNS:  # sssom-py lets a bare "494086" through: check every id is a known CURIE
        for value in msdf.df[column]:
            prefix, _, local = value.partition(":")
            assert local and prefix in prefixes, (column, value)
    return msdf


def expanded(msdf) -> set[tuple[URIRef, URIRef, URIRef]]:
    expand = msdf.converter.expand
    return {(URIRef(expand(s)), URIRef(expand(p)), URIRef(expand(o)))
            for s, p, o in zip(msdf.df["subject_id"], msdf.df["predicate_id"], msdf.df["object_id"])}


@pytest.fixture(scope="module")
def release(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("sssom")
    settings = settings_for(REFERENTIAL.parent, tmp)
    return settings, make_release(settings, "1.2.0", tmp / "releases", allow_missing=True)


def test_release_mapping_set_is_valid_sssom(release):
    settings, target = release
    msdf = checked(target / "rome.sssom.tsv")
    assert msdf.metadata["mapping_set_id"] == settings.base + "mappings/rome.sssom.tsv"
    assert msdf.metadata["mapping_set_version"] == "1.2.0"
    assert msdf.metadata["license"] == licence()
    assert set(msdf.df["mapping_justification"]) == {"semapv:ManualMappingCuration"}
    assert msdf.converter.prefix_map["rome"] == settings.base + "rome/"
    assert len(msdf.df) == len(reviewed())


def test_sssom_cli_validates_the_release_file(release):
    _settings, target = release
    cli = shutil.which("sssom", path=str(ROOT / ".venv" / "bin")) or shutil.which("sssom")
    if cli is None:
        pytest.skip("the sssom command is not on the PATH (sssom-py installed without its script)")
    done = subprocess.run([cli, "validate", str(target / "rome.sssom.tsv")], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr[-2000:]
    bad = target.parent / "bad.sssom.tsv"  # a CURIE whose prefix is not in the curie_map: the CLI must refuse
    bad.write_text((target / "rome.sssom.tsv").read_text(encoding="utf-8").replace("\trome:item/", "\tfoo:", 1),
                   encoding="utf-8")
    refused = subprocess.run([cli, "validate", str(bad)], capture_output=True, text=True)
    assert refused.returncode != 0


def test_mapping_set_holds_the_graphs_mappings(release, graph, settings):
    _settings, target = release
    msdf = checked(target / "rome.sssom.tsv")
    in_file = expanded(msdf)
    predicates = {SKOS.exactMatch, SKOS.closeMatch, SKOS.relatedMatch, SKOS.broadMatch, SKOS.narrowMatch}
    rome = settings.base + "rome/"
    in_graph = {(s, p, o) for s, p, o in graph if p in predicates and str(o).startswith(rome)}
    assert in_file == in_graph
    expected = set()  # and the reviewed table, through the IRI scheme the README documents
    for row in reviewed():
        subject = "agc-alimentaire/job" if row["subject_id"] == "JOB" else f"agc-alimentaire/competence/{row['subject_id']}"
        kind = "job" if row["object_type"] == "job" else "item"
        expected.add((URIRef(settings.base + subject), URIRef(SKOS[row["predicate_id"].split(":")[1]]),
                      URIRef(f"{rome}{kind}/{row['object_id']}")))
    assert in_file == expected
    by_object = {(s, o): (conf, label) for s, o, conf, label in
                 zip(msdf.df["subject_id"], msdf.df["object_id"], msdf.df["confidence"], msdf.df["object_label"])}
    for row in reviewed():
        subject = "agc-alimentaire:job" if row["subject_id"] == "JOB" else f"agc-alimentaire:competence/{row['subject_id']}"
        kind = "job" if row["object_type"] == "job" else "item"
        confidence, label = by_object[(subject, f"rome:{kind}/{row['object_id']}")]
        assert float(confidence) == float(row["confidence"]) and label == row["object_label"]


def test_command_line_writes_the_mapping_set(tmp_path):
    out = tmp_path / "rome.sssom.tsv"
    done = subprocess.run([sys.executable, "-m", "cqp_graph", "align-rome", "--sssom", str(out)],
                          capture_output=True, text=True, cwd=ROOT)
    assert done.returncode == 0, done.stderr
    msdf = checked(out)
    assert len(msdf.df) == len(reviewed())
    assert msdf.metadata["mapping_set_version"] == max(r["mapping_date"] for r in reviewed())


def test_a_referential_without_mappings_releases_without_the_file(data_copy, tmp_path):
    table = REFERENTIAL.name
    path = data_copy / table / "rome-mappings.csv"
    path.write_text(path.read_text(encoding="utf-8").splitlines()[0] + "\n", encoding="utf-8")
    target = make_release(settings_for(data_copy, tmp_path), "1.0.0", tmp_path / "releases", allow_missing=True)
    assert not (target / "rome.sssom.tsv").exists()
    assert "sssom" in (target / "release.json").read_text(encoding="utf-8")


def test_server_serves_the_mapping_set_at_a_stable_url(live_server, graph, settings):
    response = httpx.get(live_server.url + "/mappings/rome.sssom.tsv")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/tab-separated-values")
    assert response.text == sssom_tsv(graph, settings.base)
    assert httpx.get(live_server.url + "/mappings/other.sssom.tsv").status_code == 404
