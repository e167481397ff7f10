"""The graph against an independent reading of the seed text.

This reads ../shared/seed directly with its own small parser (not the data files) and
compares what it finds with what the named queries return.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys

import pytest

from cqp_graph.query.catalogue import run_named

from .support import SEED_CODE_LINE as CODE_LINE, Seed, csv_rows, mission_pages, normalise

def domain_pages(seed: str) -> dict[str, tuple[str, str]]:
    start = seed.index(" RELATION CLIENT / ARGUMENTATION")
    end = seed.index("Référentiel de certification")
    out = {}
    for line in seed[start:end].splitlines():
        m = CODE_LINE.match(line)
        if m:
            code = normalise(m.group("code"))
            domain, kind = re.match(r"^(R|PO|OT)(C|SF)", code).groups()
            out[code] = (kind, domain)
    return out


def aptitudes(seed: str) -> list[str]:
    line = next(l for l in seed.splitlines() if l.startswith("Écoute, courtoisie"))
    return [a.strip() for a in line.split(",")]


def query(store, catalogue, settings, name, **params):
    return run_named(store, catalogue.get(name), params, settings.base).rows


@pytest.mark.parametrize("mission", ["M1", "M2", "M3", "M4", "M5"])
def test_competences_for_each_mission_match_the_seed(seed_text, store, catalogue, settings, mission):
    expected = mission_pages(seed_text)[mission]
    rows = query(store, catalogue, settings, "competences-for-mission", mission=mission)
    assert {r["code"] for r in rows} == expected
    assert len(rows) == len(expected), "one row per competence"


def test_cli_json_for_m3_matches_the_seed(seed_text):
    """The exact command the issue names, run as a user would."""
    out = subprocess.run([sys.executable, "-m", "cqp_graph", "query", "competences-for-mission",
                          "--param", "mission=M3", "--format", "json"], capture_output=True, text=True, check=True)
    rows = json.loads(out.stdout)
    assert {r["code"] for r in rows} == mission_pages(seed_text)["M3"]
    for row in rows:
        assert {"code", "label", "kind", "domain"} <= row.keys()
        assert row["kind"] in ("C", "SF") and row["domain"] in ("R", "PO", "OT")


def test_coded_competences_with_kind_and_domain(seed_text, store, catalogue, settings):
    expected = domain_pages(seed_text)
    assert set().union(*mission_pages(seed_text).values()) <= set(expected), "mission pages cite domain codes"
    rows = [r for r in query(store, catalogue, settings, "competences") if r["kind"] != "A"]
    assert {r["code"]: (r["kind"], r["domain"]) for r in rows} == expected


def test_twelve_aptitudes_as_written(seed_text, store, catalogue, settings):
    expected = aptitudes(seed_text)
    second = seed_text[seed_text.rindex("Écoute, courtoisie"):].splitlines()[:2]
    assert [a.strip() for a in " ".join(second).split(",")] == expected, "the list is given twice, the same"
    rows = query(store, catalogue, settings, "aptitudes")
    assert [r["label"] for r in rows] == expected
    assert all(r["kind"] == "A" and r["minted"] is True and r["domain"] is None for r in rows)
    assert len({r["code"] for r in rows}) == len(expected)


def test_unused_competences_are_those_no_mission_page_lists(seed_text, store, catalogue, settings):
    used = set().union(*mission_pages(seed_text).values())
    expected = set(domain_pages(seed_text)) - used
    assert expected == {"RC1"}
    assert {r["code"] for r in query(store, catalogue, settings, "unused-competences")} == expected


def test_rc3_is_absent_and_reported_as_a_gap(seed_text, graph, shapes):
    from cqp_graph.graph.validate import validate_graph

    assert "RC3" not in seed_text
    report = validate_graph(graph, shapes)
    gaps = report.by_shape("CodeGapShape")
    assert [f.message for f in gaps] == ["Numérotation interrompue : RC3 manque avant RC4."]


def _flat(text: str) -> str:
    return re.sub(r"\s+", " ", text.replace("\xa0", " ").replace("\uf06c", ""))


def test_every_wording_in_the_graph_stands_in_the_seed(seed_text, store, catalogue, settings):
    """Labels reach the graph exactly: each one is a run of the seed's text (line breaks aside)."""
    flat = _flat(seed_text)
    labels = [r["label"] for r in query(store, catalogue, settings, "competences")]
    labels += [r["label_as_written"] for r in query(store, catalogue, settings, "label-variants")]
    for mission in ("M1", "M2", "M3", "M4", "M5"):
        labels += [r["label"] for r in query(store, catalogue, settings, "activities-of-mission", mission=mission)]
        labels += [r["label_as_written"] for r in query(store, catalogue, settings, "competences-for-mission",
                                                        mission=mission)]
    labels += [r["label"] for r in query(store, catalogue, settings, "missions")]
    labels += [r["label"] for r in query(store, catalogue, settings, "units")]
    labels += [r["label"] for r in query(store, catalogue, settings, "blocks")]
    labels += [r["label"] for r in query(store, catalogue, settings, "domains")]
    labels += [r["label"] for r in query(store, catalogue, settings, "aptitudes")]
    labels += [r["label"] for r in query(store, catalogue, settings, "routes")]
    labels += [r["label"] for r in query(store, catalogue, settings, "route-steps", route="vae")]
    for evaluator in query(store, catalogue, settings, "evaluators"):
        labels += [evaluator["label"], evaluator["heading"], evaluator["description"]]
    missing = [label for label in labels if _flat(label) not in flat]
    assert not missing


def test_misspelt_codes_are_kept_as_written(store, catalogue, settings):
    rows = query(store, catalogue, settings, "label-variants")
    written = {(r["item"], r["code_as_written"]) for r in rows if r["variant_kind"] == "code"}
    assert written == {("RSF10", "RFS10"), ("OTSF8", "OTSF 8")}


@pytest.mark.parametrize("code", ["OTSF2", "OTSF4", "OTSF8", "POSF1", "POSF5"])
def test_wording_variants_named_by_the_issue_are_recorded(store, catalogue, settings, code):
    rows = [r for r in query(store, catalogue, settings, "label-variants") if r["item"] == code]
    assert any(r["variant_kind"] == "wording" for r in rows)
    for r in rows:
        assert r["section"] and r["lines"], "each variant says where it appears"
        assert r["label_as_written"] != r["reference_label"]


def test_activities_per_mission(seed_text, store, catalogue, settings):
    codes = set(re.findall(r"^(M[1-5]A\d+) [–-]", seed_text, flags=re.M))
    job = Seed(seed_text)
    assert codes == set(job.job_activities()) == {i.code for items in job.page_activities().values() for i in items}
    found = set()
    for mission in ("M1", "M2", "M3", "M4", "M5"):
        rows = query(store, catalogue, settings, "activities-of-mission", mission=mission)
        assert all(r["code"].startswith(mission + "A") for r in rows)
        found |= {r["code"] for r in rows}
    assert found == codes


def test_evaluation_thresholds_as_stated(seed_text, store, catalogue, settings):
    formation = {r["rule"]: r for r in query(store, catalogue, settings, "evaluation-rules", route="formation")}
    assert formation["formation-block"]["min_percent"] == 70
    assert {formation[f"formation-block-{e}"]["min_percent"] for e in ("trainer", "tutor", "professional")} == {50}
    assert formation["formation-know-how-tutor"]["min_percent"] == 30
    blocs = {r["rule"]: r for r in query(store, catalogue, settings, "evaluation-rules", route="blocs")}
    assert blocs["blocs-block"]["min_percent"] == 70 and blocs["blocs-unit"]["min_percent"] == 50
    vae = {r["rule"]: r for r in query(store, catalogue, settings, "evaluation-rules", route="vae")}
    assert vae["vae-block"]["min_percent"] == 70
    for pct in ("70%", "50%", "30%", "70 %", "50 %"):
        assert pct in seed_text


def test_units_stay_unassigned(store, catalogue, settings):
    rows = query(store, catalogue, settings, "units")
    assert [r["code"] for r in rows] == [r["code"] for r in csv_rows("units.csv")]
    assert all(r["block"] is None and r["unreadable_in"] == "G3" for r in rows)
