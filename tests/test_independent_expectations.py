"""Expectations derived from the sources themselves, never typed from the program's output.

Codes, each code's own wording (paired line by line), the variants and where they stand, the thresholds
(from the seed's sentences), and the hours of a programme (computed here from the programme file) are
compared with what the graph and the commands give.
"""

from __future__ import annotations

import json
import subprocess
import sys
from collections import defaultdict
from decimal import Decimal

import pytest
import yaml

from cqp_graph.analyses.decisions import Decider, RuleBook
from cqp_graph.query.catalogue import run_named
from cqp_graph.query.knowledge import Knowledge

from .support import ROOT, Seed, csv_rows, seed_or_skip, typographic_key

MISSIONS = ("M1", "M2", "M3", "M4", "M5")


@pytest.fixture(scope="module")
def seed() -> Seed:
    return seed_or_skip()


def rows(store, catalogue, settings, name, **params):
    return run_named(store, catalogue.get(name), params, settings.base).rows


def flat(text: str) -> str:
    return " ".join(text.replace("\xa0", " ").split())


# -- codes and their own wording ------------------------------------------------------------------------------

def test_every_competence_has_the_wording_of_its_own_line(seed, store, catalogue, settings):
    """45 coded competences (domain pages) + 12 aptitudes: each code with the wording on its line."""
    reference = seed.reference_labels()
    aptitudes = seed.aptitudes()
    graph = {r["code"]: r for r in rows(store, catalogue, settings, "competences")}
    assert len(graph) == len(reference) + len(aptitudes)
    for code, item in reference.items():
        assert graph[code]["label"] == item.text, f"{code}: the graph's label is not the wording of line {item.lines}"
        domain = next(d for d in ("PO", "OT", "R") if code.startswith(d))
        assert graph[code]["domain"] == domain and graph[code]["kind"] == code[len(domain):].rstrip("0123456789")
    coded = {c for c, r in graph.items() if r["kind"] != "A"}
    assert coded == set(reference)
    minted = sorted((c for c, r in graph.items() if r["kind"] == "A"), key=lambda c: int(c[1:]))
    assert [graph[c]["label"] for c in minted] == aptitudes


def test_data_provenance_points_at_each_codes_own_line(seed):
    reference = seed.reference_labels()
    for row in csv_rows("competences.csv"):
        item = reference[row["code"]]
        assert row["source_lines"] == item.lines, f"{row['code']} is on line(s) {item.lines}"
        assert row["label"] == item.text


@pytest.mark.parametrize("code", ["RC2", "RC4"])
def test_rc2_and_rc4_each_paired_with_their_own_line(seed, store, catalogue, settings, code):
    item = seed.reference_labels()[code]
    line = seed.lines[item.first - 1]
    assert line.startswith(code) and item.text in line
    label = next(r["label"] for r in rows(store, catalogue, settings, "competences") if r["code"] == code)
    assert label == item.text
    for mission, items in seed.mission_items().items():
        for i in items:
            if i.code == code:
                page = next(r for r in rows(store, catalogue, settings, "competences-for-mission", mission=mission)
                            if r["code"] == code)
                assert page["label_as_written"] == i.text, (mission, code)


@pytest.mark.parametrize("mission", MISSIONS)
def test_mission_pages_code_and_wording_as_written(seed, store, catalogue, settings, mission):
    expected = {i.code: (i.written, i.text) for i in seed.mission_items()[mission]}
    found = {r["code"]: (r["code_as_written"], r["label_as_written"])
             for r in rows(store, catalogue, settings, "competences-for-mission", mission=mission)}
    assert found == expected
    data = {r["competence"]: r["source_lines"] for r in csv_rows("requirements.csv") if r["mission"] == mission}
    assert data == {i.code: i.lines for i in seed.mission_items()[mission]}


def test_counts_derived_from_the_seed(seed, store, catalogue, settings):
    pages = seed.mission_items()
    pairs = sum(len(items) for items in pages.values())
    assert len(rows(store, catalogue, settings, "requirements")) == pairs
    needed = {i.code for items in pages.values() for i in items}
    unused = set(seed.reference_labels()) - needed
    assert {r["code"] for r in rows(store, catalogue, settings, "unused-competences")} == unused
    transversal = {r["code"]: r["missions"] for r in rows(store, catalogue, settings, "competences")
                   if r["kind"] != "A"}
    for code in seed.reference_labels():
        assert transversal[code] == sum(1 for items in pages.values() if code in {i.code for i in items}), code


# -- variants, each with where it stands ----------------------------------------------------------------------

def expected_competence_variants(seed: Seed) -> set[tuple]:
    reference = seed.reference_labels()
    out = set()
    for mission, items in seed.mission_items().items():
        section = f"Le référentiel de compétences — page de la mission {mission}"
        for i in items:
            if i.written != i.code:
                out.add((i.code, "code", i.written, i.text, section, i.lines))
            if i.text != reference[i.code].text:
                kind = "typographic" if typographic_key(i.text) == typographic_key(reference[i.code].text) \
                    else "wording"
                out.add((i.code, kind, i.written, i.text, section, i.lines))
    return out


def test_each_competence_variant_with_its_kind_section_and_lines(seed, store, catalogue, settings):
    expected = expected_competence_variants(seed)
    reference = seed.reference_labels()
    found = {(r["item"], r["variant_kind"], r["code_as_written"], r["label_as_written"], r["section"], r["lines"])
             for r in rows(store, catalogue, settings, "label-variants") if r["item"] in reference}
    assert found == expected
    for kind in ("typographic", "wording", "code"):
        assert any(v[1] == kind for v in expected), f"the seed has {kind} variants"


def test_rfs10_is_recorded_with_its_provenance(seed, store, catalogue, settings):
    written = [(m, i) for m, items in seed.mission_items().items() for i in items if i.written == "RFS10"]
    assert len(written) == 1
    mission, item = written[0]
    row = next(r for r in rows(store, catalogue, settings, "label-variants")
               if r["variant_kind"] == "code" and r["code_as_written"] == "RFS10")
    assert row["item"] == "RSF10" and row["lines"] == item.lines and mission in row["section"]
    assert row["label_as_written"] == item.text


def test_activity_variants_with_where_they_stand(seed, store, catalogue, settings):
    reference = seed.job_activities()
    expected = set()
    for mission, items in seed.page_activities().items():
        for i in items:
            if i.text != reference[i.code].text:
                kind = "typographic" if typographic_key(i.text) == typographic_key(reference[i.code].text) \
                    else "wording"
                expected.add((i.code, kind, i.text, f"Le référentiel de compétences — page de la mission {mission}",
                              i.lines))
    found = {(r["item"], r["variant_kind"], r["label_as_written"], r["section"], r["lines"])
             for r in rows(store, catalogue, settings, "label-variants") if r["item"] in reference}
    assert found == expected and expected
    labels = {}
    for mission in MISSIONS:
        labels |= {r["code"]: r["label"] for r in rows(store, catalogue, settings, "activities-of-mission",
                                                            mission=mission)}
    assert labels == {c: i.text for c, i in reference.items()}


def _line_span(lines: str) -> list[int]:
    out = []
    for part in lines.split(","):
        a, _, b = part.strip().partition("-")
        out += list(range(int(a), int(b or a) + 1))
    return out


def test_every_variant_stands_on_the_lines_it_names(seed, store, catalogue, settings):
    variants = rows(store, catalogue, settings, "label-variants")
    assert variants
    for r in variants:
        text = flat(" ".join(seed.lines[n - 1] for n in _line_span(r["lines"])))
        assert flat(r["label_as_written"]) in text, r
        if r["variant_kind"] == "typographic":
            assert typographic_key(r["label_as_written"]) == typographic_key(r["reference_label"]), r
            assert r["label_as_written"] != r["reference_label"]


# -- thresholds from the seed's sentences -----------------------------------------------------------------------

def test_stated_thresholds_are_the_seeds(seed, store, catalogue, settings):
    said = seed.thresholds()
    expected = {
        "formation-block": said["formation-block"],
        "formation-block-trainer": said["formation-evaluator"],
        "formation-block-tutor": said["formation-evaluator"],
        "formation-block-professional": said["formation-evaluator"],
        "formation-know-how-tutor": said["formation-know-how-tutor"],
        "blocs-block": said["blocs-block"],
        "blocs-unit": said["blocs-unit"],
        "vae-block": said["vae-block"],
        # "dans les conditions applicables pour la délivrance du CQP par la voie de la formation"
        "blocs-cqp-tutor": said["formation-evaluator"],
        "blocs-cqp-professional": said["formation-evaluator"],
        "blocs-know-how-tutor": said["formation-know-how-tutor"],
    }
    found = {r["rule"]: r["min_percent"] for route in ("formation", "blocs", "vae")
             for r in rows(store, catalogue, settings, "evaluation-rules", route=route)}
    assert found == expected


def _passing_candidate(store, catalogue, settings, route):
    blocks = rows(store, catalogue, settings, "blocks")
    evaluators = [e["code"] for e in rows(store, catalogue, settings, "evaluators")]
    return blocks, {"candidate": "T", "route": route, "know_how": {}, "units": {},
                    "blocks": {b["code"]: {"score": 100, "evaluators": {e: 100 for e in evaluators}} for b in blocks}}


@pytest.mark.parametrize("route", ["formation", "blocs"])
def test_tutor_know_how_threshold_decides_as_the_seed_says(seed, store, catalogue, settings, route):
    threshold = Decimal(seed.thresholds()["formation-know-how-tutor"])
    know_how = next(c for c in seed.reference_labels() if c.startswith("RSF"))
    book = RuleBook.load(Knowledge.over(store, settings), route)
    for value, awarded in ((threshold, True), (threshold - Decimal("0.01"), False), (threshold + 1, True)):
        blocks, data = _passing_candidate(store, catalogue, settings, route)
        data["know_how"] = {"tutor": {know_how: value}}
        decision = Decider(book, data).decide()
        assert (decision["decision"] == "awarded") is awarded, (value, decision["reasons"])
        if not awarded:
            assert any(f"{know_how}" in r and f"{threshold}\u202f%" in r for r in decision["reasons"])


@pytest.mark.parametrize("route,rule", [("formation", "formation-block"), ("blocs", "blocs-block"),
                                        ("vae", "vae-block")])
def test_block_threshold_decides_as_the_seed_says(seed, store, catalogue, settings, route, rule):
    threshold = Decimal(seed.thresholds()[rule])
    book = RuleBook.load(Knowledge.over(store, settings), route)
    for value, acquired in ((threshold, True), (threshold - Decimal("0.01"), False)):
        blocks, data = _passing_candidate(store, catalogue, settings, route)
        data["blocks"][blocks[0]["code"]]["score"] = value
        decision = Decider(book, data).decide()
        assert (decision["blocks"][0]["decision"] == "acquired") is acquired, (route, value)


# -- hours, computed here from the programme file ----------------------------------------------------------------

def expected_hours(path, seed: Seed) -> tuple[dict[str, Decimal], Decimal]:
    programme = yaml.safe_load(path.read_text(encoding="utf-8"))
    needs = {m: {i.code for i in items} for m, items in seed.mission_items().items()}
    known = set(seed.reference_labels()) | {f"A{n}" for n in range(1, len(seed.aptitudes()) + 1)}
    per_competence: dict[str, Decimal] = defaultdict(Decimal)
    unallocated = Decimal(0)
    for module in programme["modules"]:
        covered = set(module.get("competences") or []) & known
        if module.get("activities_stand_for_mission"):
            for activity in module.get("activities") or []:
                covered |= needs[activity.split("A")[0]]
        hours = Decimal(str(module["hours"]))
        if covered:
            for code in covered:
                per_competence[code] += hours / len(covered)
        else:
            unallocated += hours
    return per_competence, unallocated


@pytest.mark.parametrize("name", ["programme-lacunaire.yaml", "programme-complet.yaml"])
def test_hours_per_competence_and_block_split_equally(seed, tmp_path, name):
    path = ROOT / "examples" / name
    per_competence, unallocated = expected_hours(path, seed)
    out = tmp_path / "coverage.json"
    done = subprocess.run([sys.executable, "-m", "cqp_graph", "coverage", str(path), "--format", "json",
                           "--output", str(out)], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    result = json.loads(out.read_text(encoding="utf-8"))
    for row in result["competences"]:
        assert row["hours"] == pytest.approx(float(per_competence.get(row["code"], 0)), abs=0.01), row["code"]
    for block in result["by_block"]:
        # a block certifies a domain; a code starts with its domain (R, PO, OT), an aptitude with A
        hours = sum(h for c, h in per_competence.items() if c.startswith(block["domain"]))
        assert block["hours"] == pytest.approx(float(hours), abs=0.01), block["key"]
    assert result["summary"]["unallocated_hours"] == pytest.approx(float(unallocated), abs=0.01)
    total = sum(Decimal(str(m["hours"])) for m in yaml.safe_load(path.read_text(encoding="utf-8"))["modules"])
    assert abs(sum(per_competence.values()) + unallocated - total) < Decimal("1e-9"), "hours are conserved"


@pytest.mark.parametrize("name", ["programme-lacunaire.yaml", "programme-complet.yaml", "programme-lacunaire.csv"])
def test_hours_in_process_per_competence_block_domain_and_kind(seed, graph, settings, name):
    """The same computation, in-process (what mutation testing can see), over every grouping the report gives."""
    from cqp_graph.analyses.coverage import coverage_of_file

    path = ROOT / "examples" / name
    per_competence, unallocated = expected_hours(path.with_suffix(".yaml"), seed)
    result = coverage_of_file(path, settings, Knowledge.from_graph(graph, settings))
    assert {r["code"]: r["hours"] for r in result["competences"] if r["hours"]} == \
        {c: pytest.approx(float(h), abs=0.01) for c, h in per_competence.items() if h}
    domain_of = {c: next(d for d in ("PO", "OT", "R") if c.startswith(d)) for c in seed.reference_labels()}
    for row in result["by_block"] + result["by_domain"]:
        key = row["domain"] if "domain" in row else row["key"]
        expected = sum(h for c, h in per_competence.items() if domain_of.get(c) == key)
        assert row["hours"] == pytest.approx(float(expected), abs=0.01), row["key"]
    kind_of = {c: ("SF" if "SF" in c else "C") for c in seed.reference_labels()}
    for row in result["by_kind"]:
        expected = sum(h for c, h in per_competence.items() if kind_of.get(c, "A") == row["key"])
        assert row["hours"] == pytest.approx(float(expected), abs=0.01), row["key"]
    assert result["summary"]["unallocated_hours"] == pytest.approx(float(unallocated), abs=1e-9)
    covered = {c for c, h in per_competence.items()}
    assert set(result["uncovered"]) == (set(domain_of) | {r["code"] for r in result["competences"]
                                                          if r["kind"] == "A"}) - covered
    for row in result["by_block"] + result["by_domain"] + result["by_kind"]:
        assert row["covered"] + len(row["uncovered"]) == row["total"]
        assert row["percent"] == (round(100 * row["covered"] / row["total"], 1) if row["total"] else 0.0)


def domain_heading_variants(seed: Seed) -> dict[tuple[str, str], list[str]]:
    """Each domain's name from the legend (« R : Relation client / Argumentation »), found elsewhere in the
    seed with other capitals or spacing: (domain, as written) -> the lines of each occurrence."""
    import re

    legend = dict(re.findall(r"^(R|PO|OT) : (.+?)\s{2,}", seed.text, flags=re.M))
    assert set(legend) == {"R", "PO", "OT"}
    out: dict[tuple[str, str], list[str]] = defaultdict(list)
    for code, label in legend.items():
        pattern = re.compile(r"\s+".join(re.escape(word) for word in label.split()), re.I)
        for match in pattern.finditer(seed.text):
            written = " ".join(match.group(0).split())
            if written != label:
                first = seed.text.count("\n", 0, match.start()) + 1
                last = seed.text.count("\n", 0, match.end()) + 1
                out[(code, written)].append(str(first) if first == last else f"{first}-{last}")
    return out


def _typographic_domain_rows(store, catalogue, settings):
    return {(r["item"], r["label_as_written"]): r["lines"] for r in rows(store, catalogue, settings, "label-variants")
            if r["item"] in ("R", "PO", "OT") and r["variant_kind"] == "typographic"}


def test_domain_headings_written_otherwise_are_typographic_variants(seed, store, catalogue, settings):
    expected = domain_heading_variants(seed)
    found = _typographic_domain_rows(store, catalogue, settings)
    assert set(found) == set(expected) and expected
    for key, lines in found.items():
        assert lines.split(", ")[0] == expected[key][0], key


def test_domain_heading_variants_list_every_occurrence(seed, store, catalogue, settings):
    expected = {k: ", ".join(v) for k, v in domain_heading_variants(seed).items()}
    assert _typographic_domain_rows(store, catalogue, settings) == expected
