"""Coverage of one referential by a training programme: what it trains, per block, mission, domain and kind.

The facts come from SPARQL, through the knowledge layer (`Knowledge.including`): the programme's triples are
loaded into a named graph of their own (a fresh name per call), the programme queries (queries/programme/) run
over the referential and that graph alone, and the graph is removed when the figures are read. On the
in-memory store nothing copies the referential graph; on a read-only or remote store the named graph lives in
an in-memory copy of the validated referentials, made once. Two calls at once each see their own programme. This module adds the figures up
per block, mission, domain and kind, and splits hours: a module's hours are split equally among the
referential competences it covers (a declared choice, stated in every report); hours of a module that covers
none are counted apart.

Lives here: `coverage_of_file` (a programme file), `coverage_of_data` (a programme sent as text or already
parsed, for the API) and `programme_coverage` (a programme graph already checked). Not here: reading and
checking the programme (`cqp_graph.inputs.programme`), writing the report (`cqp_graph.present.render`).
"""

from __future__ import annotations

from collections import defaultdict
from decimal import Decimal
from pathlib import Path

from rdflib import Graph, URIRef
from rdflib.namespace import DCTERMS

from cqp_graph.analyses.network import competence_kinds, named_rows
from cqp_graph.config import Settings
from cqp_graph.namespaces import ontology_ns
from cqp_graph.numbers import natural_key
from cqp_graph.query.knowledge import Knowledge, Referential

HOURS_RULE = ("Les heures d'un module sont réparties à parts égales entre les compétences du référentiel "
              "qu'il couvre ; celles d'un module qui n'en couvre aucune sont comptées à part.")

#: the names of the named graphs a programme is loaded into while it is measured (never published)
SCRATCH_GRAPH_PREFIX = "urn:cqp-graph:programme-under-measure:"


def _split(value: str | None) -> list[str]:
    return [v for v in (value or "").split("|") if v]


def _ratio(covered: int, total: int) -> float:
    return round(100 * covered / total, 1) if total else 0.0


def _programme_loaded(knowledge: Knowledge, graph: Graph):
    """A knowledge layer over the referential and `graph`, for the time of the `with` (`Knowledge.including`:
    a named graph of a fresh name, removed afterwards whatever happens)."""
    return knowledge.including(graph, scratch=SCRATCH_GRAPH_PREFIX)


def _certification_of(knowledge: Knowledge, graph: Graph, programme: URIRef) -> Referential:
    target = str(graph.value(programme, ontology_ns(knowledge.base).forCertification) or "")
    for referential in knowledge.referentials():
        if referential.iri == target:
            return referential
    return knowledge.referential(None)


def programme_coverage(knowledge: Knowledge, graph: Graph, programme: URIRef,
                       referential: Referential | None = None) -> dict:
    """The coverage report of the programme `programme` (its triples: `graph`, already checked) against
    `referential` (default: the certification the programme names)."""
    chosen = referential or _certification_of(knowledge, graph, programme)
    with _programme_loaded(knowledge, graph) as scoped:
        params = {"programme": str(programme)}
        competences = scoped.rows("competence-coverage", "programme", **params)
        modules = scoped.rows("modules", "programme", **params)
    return _figures(knowledge, chosen, programme, graph.value(programme, DCTERMS.title), competences, modules)


def _figures(knowledge: Knowledge, chosen: Referential, programme: URIRef, title, competences: list[dict],
             modules: list[dict]) -> dict:
    def rows(name, **params):
        return named_rows(knowledge, chosen, name, **params)

    missions = rows("missions")
    blocks = rows("blocks")
    domains = rows("domains")
    kinds = competence_kinds(knowledge)
    aptitudes = {k["code"] for k in kinds if k["aptitude"]}
    kind_order = [k["code"] for k in kinds]

    covered = {c["code"]: c["modules"] > 0 for c in competences}
    by_code = {c["code"]: c for c in competences}
    position: dict[str, int] = {}
    for index, m in enumerate(modules):
        position.setdefault(m["code"], index)

    def in_programme_order(codes: list[str]) -> list[str]:
        return sorted(codes, key=lambda code: (position.get(code, len(position)), code))

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
    present = {c["kind"] for c in competences}
    by_kind = group(lambda c: c["kind"], [k for k in kind_order if k in present]
                    + sorted(present - set(kind_order)))

    needs = defaultdict(list)
    for r in rows("requirements"):
        needs[r["mission"]].append(r["competence"])
    trained_activities = {a for m in module_rows for a in m["activities"]}
    by_mission = []
    for mission in missions:
        codes = needs[mission["code"]]
        done = [c for c in codes if covered.get(c)]
        own = {a["code"] for a in rows("activities-of-mission", mission=mission["code"])}
        by_mission.append({
            "key": mission["code"], "label": mission["label"], "total": len(codes), "covered": len(done),
            "percent": _ratio(len(done), len(codes)), "uncovered": [c for c in codes if not covered.get(c)],
            "activities_trained": sorted(trained_activities & own, key=natural_key),
        })

    coded = [c for c in competences if c["kind"] not in aptitudes]
    return {
        "programme": str(programme),
        "referential": chosen.name,
        "title": str(title) if title is not None else "",
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
            "covered": covered[c["code"]], "modules": in_programme_order(_split(c["module_codes"])),
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


def coverage_of_data(data: str | bytes | dict, settings: Settings, knowledge: Knowledge,
                     referential: str | None = None, *, fmt: str = "yaml", source: str | None = None) -> dict:
    """Check and measure a programme sent as text (`fmt` "yaml" — JSON included — or "csv"), as an .xlsx
    workbook's bytes (`fmt` "xlsx") or already parsed (a dict), for the referential it declares or
    `referential` (None: the only one of the graph).

    `source` names the programme in error messages (default « programme.<fmt> »). Raises InputError for a bad
    programme, UnknownReferential when no referential is named and the graph holds several.
    """
    return _measured(source or f"programme.{fmt}", data, fmt, settings, knowledge, referential)


def coverage_of_file(path: Path | str, settings: Settings, knowledge: Knowledge,
                     referential: str | None = None) -> dict:
    """Read, check and measure a programme file (YAML, JSON, CSV or Excel .xlsx, after its extension), under the
    settings' input limits."""
    return _measured(str(path), None, None, settings, knowledge, referential)


def _measured(source: str, data, fmt: str | None, settings: Settings, knowledge: Knowledge,
              referential: str | None) -> dict:
    """The programme `data` (None: the file `source`, read after its format) loaded, checked and measured."""
    from cqp_graph.graph.assemble import load_input_shapes
    from cqp_graph.inputs.files import InputLimits
    from cqp_graph.inputs.programme import load_programme

    graph, programme, chosen = load_programme(source, knowledge, load_input_shapes(settings, "programme"),
                                              referential, text=data, fmt=fmt, limits=InputLimits.of(settings))
    return programme_coverage(knowledge, graph, programme, chosen)
