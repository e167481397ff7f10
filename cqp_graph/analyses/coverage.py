"""Coverage of the referential by a training programme.

The facts come from SPARQL (queries/programme/ over the union of the programme and the
referential); this module adds them up per block, mission, domain and kind, and splits
hours. Hours: a module's hours are split equally among the referential competences it
covers (a declared choice, stated in every report); hours of a module that covers none
are counted apart.
"""

from __future__ import annotations

from collections import defaultdict
from decimal import Decimal
from pathlib import Path

import pyoxigraph as ox
from rdflib import Graph, URIRef

from cqp_graph.config import Settings
from cqp_graph.analyses.network import natural_key
from cqp_graph.query.catalogue import load_catalogue, run_named

HOURS_RULE = ("Les heures d'un module sont réparties à parts égales entre les compétences du référentiel "
              "qu'il couvre ; celles d'un module qui n'en couvre aucune sont comptées à part.")


def _split(value: str | None) -> list[str]:
    return [v for v in (value or "").split("|") if v]


def _ratio(covered: int, total: int) -> float:
    return round(100 * covered / total, 1) if total else 0.0


def programme_coverage(store: ox.Store, programme: URIRef, settings: Settings) -> dict:
    catalogue = load_catalogue(settings.queries_dir / "programme")
    referential = load_catalogue(settings.queries_dir)
    params = {"programme": str(programme)}
    competences = run_named(store, catalogue.get("competence-coverage"), params, settings.base).rows
    modules = run_named(store, catalogue.get("modules"), params, settings.base).rows
    missions = run_named(store, referential.get("missions"), {}, settings.base).rows
    blocks = run_named(store, referential.get("blocks"), {}, settings.base).rows
    domains = run_named(store, referential.get("domains"), {}, settings.base).rows
    title = next(iter(store.quads_for_pattern(ox.NamedNode(str(programme)),
                                              ox.NamedNode("http://purl.org/dc/terms/title"), None)), None)

    covered = {c["code"]: c["modules"] > 0 for c in competences}
    by_code = {c["code"]: c for c in competences}

    # hours: split each module's hours among the competences it covers
    hours_per_competence: dict[str, Decimal] = defaultdict(Decimal)
    unallocated = Decimal(0)
    module_rows = []
    for m in modules:
        hours = Decimal(str(m["hours"]))
        trained = [c for c in _split(m["competences"]) if c in by_code]
        if trained:
            for code in trained:
                hours_per_competence[code] += hours / len(trained)
        else:
            unallocated += hours
        module_rows.append({
            "code": m["code"], "title": m["title"], "hours": float(hours), "line": m["line"],
            "competences": sorted(trained, key=natural_key), "activities": sorted(_split(m["activities"]), key=natural_key),
            "trains_nothing": not trained and not _split(m["activities"]),
        })

    def group(key_fn, keys):
        out = []
        for key in keys:
            members = [c for c in competences if key_fn(c) == key]
            done = [c["code"] for c in members if covered[c["code"]]]
            out.append({
                "key": key,
                "total": len(members), "covered": len(done), "percent": _ratio(len(done), len(members)),
                "uncovered": [c["code"] for c in members if not covered[c["code"]]],
                "hours": round(float(sum(hours_per_competence[c["code"]] for c in members)), 2),
            })
        return out

    by_block = group(lambda c: c["block"], [b["code"] for b in blocks])
    for row, block in zip(by_block, blocks):
        row.update(label=block["label"], domain=block["domain"],
                   fully_prepared=row["total"] > 0 and row["covered"] == row["total"])
    by_domain = group(lambda c: c["domain"], [d["code"] for d in domains])
    for row, domain in zip(by_domain, domains):
        row["label"] = domain["label"]
    by_kind = group(lambda c: c["kind"], sorted({c["kind"] for c in competences}, key=["C", "SF", "A"].index))

    required = run_named(store, referential.get("requirements"), {}, settings.base).rows
    needs = defaultdict(list)
    for r in required:
        needs[r["mission"]].append(r["competence"])
    trained_activities = {a for m in module_rows for a in m["activities"]}
    by_mission = []
    for mission in missions:
        codes = needs[mission["code"]]
        done = [c for c in codes if covered.get(c)]
        by_mission.append({
            "key": mission["code"], "label": mission["label"], "total": len(codes), "covered": len(done),
            "percent": _ratio(len(done), len(codes)), "uncovered": [c for c in codes if not covered.get(c)],
            "activities_trained": sorted(a for a in trained_activities if a.startswith(mission["code"] + "A")),
        })

    coded = [c for c in competences if c["kind"] != "A"]
    return {
        "programme": str(programme),
        "title": title.object.value if title else "",
        "summary": {
            "modules": len(module_rows),
            "hours": float(sum(Decimal(str(m["hours"])) for m in module_rows)),
            "competences": len(competences),
            "covered": sum(covered.values()),
            "coded_competences": len(coded),
            "coded_covered": sum(1 for c in coded if covered[c["code"]]),
            "percent": _ratio(sum(covered.values()), len(competences)),
            "unallocated_hours": float(unallocated),
        },
        "competences": [{
            "code": c["code"], "label": c["label"], "kind": c["kind"], "domain": c["domain"], "block": c["block"],
            "covered": covered[c["code"]], "modules": _split(c["module_codes"]),
            "hours": round(float(hours_per_competence[c["code"]]), 2),
        } for c in competences],
        "uncovered": [c["code"] for c in competences if not covered[c["code"]]],
        "by_block": by_block,
        "by_mission": by_mission,
        "by_domain": by_domain,
        "by_kind": by_kind,
        "modules": module_rows,
        "modules_training_nothing": [m["code"] for m in module_rows if m["trains_nothing"]],
        "blocks_fully_prepared": [b["key"] for b in by_block if b["fully_prepared"]],
        "hours_rule": HOURS_RULE,
    }


def coverage_of_file(path: Path, settings: Settings, referential_graph: Graph, referential: str | None = None,
                     text: str | None = None, fmt: str | None = None) -> dict:
    """Load, check and measure a programme file against the built referential graph."""
    from cqp_graph.graph.assemble import load_input_shapes, referential_folders
    from cqp_graph.inputs.programme import load_programme
    from cqp_graph.query.store import store_from_graph

    if referential is None:
        folders = referential_folders(settings)
        referential = folders[0].name if len(folders) == 1 else None
    from cqp_graph.inputs.files import InputLimits

    graph, programme = load_programme(path, referential_graph, load_input_shapes(settings, "programme"),
                                      settings.base, referential, text=text, fmt=fmt, limits=InputLimits.of(settings))
    store = store_from_graph(referential_graph + graph)
    return programme_coverage(store, programme, settings)
