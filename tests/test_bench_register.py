"""The register benchmark's own logic: how often a line is timed, what a page's raw peer replays, which goals
the report says were missed.

Lives here: those checks, on small in-memory stores and hand-made results (no server started, no timing
asserted). Not here: the figures themselves (`python bench/bench_register.py`), the product's tests.
"""

from __future__ import annotations

import sys
from pathlib import Path
from types import SimpleNamespace

import pyoxigraph as ox

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "bench"))

import bench_register  # noqa: E402


def counting():
    calls = []

    def call():
        calls.append(1)
        return len(calls)

    return call, calls


def test_a_fast_line_is_timed_repeat_times_after_one_cold_call():
    call, calls = counting()
    got = bench_register.sample(call, repeat=7, budget=3600)
    assert got["n"] == 7 and len(calls) == 8 and got["first"] == 1


def test_a_line_slower_than_the_budget_is_timed_once_more_only():
    call, calls = counting()
    got = bench_register.sample(call, repeat=20, budget=0)  # any cold call exceeds a budget of 0 s
    assert got["n"] == 1 and len(calls) == 2


def store_of(triples: int) -> ox.Store:
    store = ox.Store()
    for i in range(triples):
        store.add(ox.Quad(ox.NamedNode(f"urn:s{i}"), ox.NamedNode("urn:p"), ox.Literal(str(i))))
    return store


def test_a_page_peer_replays_every_query_and_quad_pattern_the_route_ran():
    store = store_of(5)
    recorder = bench_register.Recorder(store)
    recorder.query("SELECT ?s WHERE { ?s ?p ?o }")  # not recording yet: not replayed
    recorder.log = []
    rows = list(recorder.query("SELECT ?s WHERE { ?s <urn:p> ?o }"))
    quads = list(recorder.quads_for_pattern(ox.NamedNode("urn:s1"), None, None))
    assert len(recorder.log) == 2
    assert bench_register.replay(store, recorder.log) == len(rows) + len(quads) == 6
    assert len(recorder) == 5


def size(fiches: int, floor: float, imported: float, rss: int, one: int, served: float, raw: float):
    result = bench_register.SizeResult(fiches, xml_bytes=10**6, generated=1.0, triples=100, floor=floor,
                                       imported=imported, import_rss=2**20, one_store=one)
    result.stores.append({"store": "folder", "workers": 2, "load": 1.0, "startup": 2.0, "failed": None, "rss": rss,
                          "pss": rss, "processes": 3})
    result.lines["competences"] = {"kind": "query", "folder": {"p50": served, "p99": served, "cold": served,
                                                               "n": 3, "rows": 4},
                                   "raw:folder": {"p50": raw, "p99": raw, "cold": raw, "n": 3, "rows": 4}}
    return result


def options():
    return SimpleNamespace(stores=["folder"], repeat=3, budget=1.0, seed=1)


def test_the_report_names_each_missed_goal_and_only_those():
    missed = size(1000, floor=1.0, imported=6.0, rss=300, one=100, served=0.020, raw=0.010)
    met = size(5000, floor=2.0, imported=4.0, rss=140, one=100, served=0.012, raw=0.010)
    text = bench_register.report([missed, met], options(), bench_register.datetime.now(), ("1", "2"))
    misses = text.split("## Objectifs manqués", 1)[1]
    assert "1\u202f000 fiches : import 6,00 × le plancher" in misses
    assert "1\u202f000 fiches, dossier (sur disque), 2 worker(s) : mémoire 3,00 × un magasin" in misses
    assert "1\u202f000 fiches, dossier (sur disque), `competences` : 2,00 × brut" in misses
    assert "5\u202f000" not in misses


def test_a_failed_line_is_reported_as_a_failure_not_as_a_figure():
    result = size(1000, floor=1.0, imported=2.0, rss=100, one=100, served=0.01, raw=0.01)
    result.lines["competences"]["folder"] = {"error": "HTTP 500"}
    result.failures.append("1000 fiches, folder, competences : HTTP 500")
    text = bench_register.report([result], options(), bench_register.datetime.now(), ("1", "2"))
    assert "| `competences` | 4 | – | échec |" in text
    assert "- 1000 fiches, folder, competences : HTTP 500" in text.split("## Échecs", 1)[1]
