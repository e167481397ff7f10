"""A training programme: read from YAML or CSV, turned into RDF, checked by its SHACL shape.

YAML:

    title: Parcours AGC
    referential: agc-alimentaire        # optional when data/ holds one referential
    modules:
      - code: MOD01
        title: Relation client au téléphone
        hours: 21
        competences: [RC2, RC4, RSF2]
        activities: [M2A2]
        activities_stand_for_mission: false   # optional, default false

CSV: columns code, title, hours, competences, activities, activities_stand_for_mission
(lists separated by |); the programme's title is the file's name.

Lives here: the programme's schema (`ProgrammeIn`), its RDF form (`programme_graph`) and `load_programme`, which
reads and checks it against the referential it is for (through the knowledge layer). Not here: what it covers
(`cqp_graph.analyses.coverage`), line-numbered reading (`cqp_graph.inputs.files`).
"""

from __future__ import annotations

import hashlib
import re
from pathlib import Path
from urllib.parse import quote

from decimal import Decimal
from typing import Annotated, Optional

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field
from rdflib import Graph, Literal, URIRef
from rdflib.namespace import DCTERMS, RDF, XSD

from cqp_graph.inputs.files import (InputError, InputLimits, LineDict, LineList, Located, check_with_shapes,
                                    choose_referential, lined, load_yaml, number_literal, read_csv_records, read_text,
                                    strict_number, strict_text, validate)
from cqp_graph.namespaces import Minter, ontology_ns
from cqp_graph.query.knowledge import Knowledge, Referential

MODULE_KEYS = {"code", "title", "hours", "competences", "activities", "activities_stand_for_mission"}
PROGRAMME_KEYS = {"title", "referential", "modules"}


def _code_list(value, info):
    """A list of codes; in a CSV cell, codes separated by | (or ,)."""
    if isinstance(value, str) and (info.context or {}).get("csv"):
        return [v.strip() for v in re.split(r"[|,]", value) if v.strip()]
    return value


def _flag(value, info):
    if isinstance(value, str) and (info.context or {}).get("csv"):
        text = value.strip().lower()
        if text in ("true", "yes", "oui", "1"):
            return True
        if text in ("false", "no", "non", "0", ""):
            return False
    return value


Text = Annotated[str, BeforeValidator(strict_text), Field(min_length=1)]
Hours = Annotated[Decimal, BeforeValidator(strict_number), Field(ge=0, lt=Decimal("1e15"), allow_inf_nan=False,
                                                                  description="hours of the module (≥ 0)")]
Codes = Annotated[list[Annotated[str, BeforeValidator(strict_text)]], BeforeValidator(_code_list)]
Flag = Annotated[bool, BeforeValidator(_flag), Field(strict=True)]


class ModuleIn(BaseModel):
    """A module of a training programme, as the file gives it (codes are checked against the referential
    by shapes/inputs/programme.ttl afterwards)."""

    model_config = ConfigDict(extra="forbid")
    code: Text = Field(description="the module's code")
    title: Text = Field(description="the module's title")
    hours: Hours
    competences: Codes = Field(default_factory=list, description="competence codes the module trains")
    activities: Codes = Field(default_factory=list, description="activity codes the module trains")
    activities_stand_for_mission: Flag = Field(
        False, description="true: a trained activity covers the competences its mission needs")


class ProgrammeIn(BaseModel):
    """A training programme (YAML or JSON; CSV holds its modules, one a row)."""

    model_config = ConfigDict(extra="forbid")
    title: Text
    referential: Optional[Text] = Field(None, description="referential folder (optional when there is one)")
    modules: list[ModuleIn] = Field(min_length=1)


PROGRAMME_MESSAGES = {("greater_than_equal", "hours"): "« hours » ne peut pas être négatif",
                      "extra_forbidden": "clé inconnue '{last}' (attendu : " + ", ".join(sorted(MODULE_KEYS)) + ")"}


def _module_label(modules):
    def label(loc):
        if len(loc) >= 2 and loc[0] == "modules" and isinstance(loc[1], int):
            module = modules[loc[1]] if isinstance(modules, list) and loc[1] < len(modules) else None
            code = module.get("code") if isinstance(module, dict) else None
            return f"module {code if isinstance(code, str) and code else '#' + str(loc[1] + 1)}", 2
        return "programme", 0
    return label


def _as_list(value) -> list[str]:
    if value is None:
        return []
    if isinstance(value, str):
        return [v.strip() for v in re.split(r"[|,]", value) if v.strip()]
    if isinstance(value, list):
        return [str(v).strip() for v in value if str(v).strip()]
    return [str(value)]


def _as_bool(value, path, line) -> bool:
    if isinstance(value, bool):
        return value
    text = str(value).strip().lower()
    if text in ("true", "yes", "oui", "1"):
        return True
    if text in ("false", "no", "non", "0", ""):
        return False
    raise InputError(path, [(line, f"activities_stand_for_mission : « {value} » ne vaut ni true ni false")])


def _header(data: LineDict) -> LineDict:
    """The programme's keys but its modules, each still with its line."""
    header = LineDict((k, v) for k, v in data.items() if k != "modules")
    header.line, header.key_lines = data.line, dict(getattr(data, "key_lines", {}))
    return header


def parse_programme(text: str | dict, path: str | Path, fmt: str | None = None,
                    limits: InputLimits | None = None) -> tuple[dict, list[LineDict]]:
    """The programme's header and its modules, each a LineDict carrying its line; checked by ProgrammeIn.

    `text` is the file's text (YAML — JSON included — or CSV, after `fmt` or the file's extension), or the
    programme already parsed (a dict: its lines are unknown, errors name line 1)."""
    fmt = fmt or ("csv" if str(path).lower().endswith(".csv") else "yaml")
    if isinstance(text, dict):
        data = text if isinstance(text, LineDict) else lined(text)
        validate(ProgrammeIn, data, path, label=_module_label(data.get("modules")), overrides=PROGRAMME_MESSAGES)
        return _header(data), data["modules"]
    if fmt == "csv":
        modules = LineList(read_csv_records(text, path, limits))
        modules.line, modules.item_lines = 1, [m.line for m in modules]  # errors name each record's line
        for m in modules:
            unknown = set(m) - MODULE_KEYS
            if unknown:
                raise InputError(path, [(1, f"colonne(s) inconnue(s) : {', '.join(sorted(unknown))} "
                                            f"(attendu : {', '.join(sorted(MODULE_KEYS))})")])
        data = LineDict(title=Path(str(path)).stem or "programme", modules=modules)
        data.line, data.key_lines = 1, {}
        validate(ProgrammeIn, data, path, context={"csv": True}, label=_module_label(modules),
                 overrides=PROGRAMME_MESSAGES)
        return {"title": data["title"]}, modules
    data = load_yaml(text, path, limits)
    if not isinstance(data, dict):
        raise InputError(path, [(1, "un programme est une table avec « title » et « modules »")])
    validate(ProgrammeIn, data, path, label=_module_label(data.get("modules")), overrides=PROGRAMME_MESSAGES)
    return _header(data), data["modules"]


def programme_graph(header: dict, modules: list[LineDict], path, base: str, referential: str) -> tuple[Graph, URIRef, dict]:
    cqp = ontology_ns(base)
    minter = Minter(base, quote(referential, safe=""))

    def iri(kind, code=None):  # codes from the file are escaped: an odd code makes an unknown IRI, not an error
        return minter(kind, None if code is None else quote(code, safe=""))
    digest = hashlib.sha256(str(path).encode("utf-8", "surrogatepass")).hexdigest()[:8]
    programme = URIRef(f"{base}programme/{quote(Path(str(path)).stem, safe='')}-{digest}")
    graph = Graph()
    graph.add((programme, RDF.type, cqp.TrainingProgramme))
    if header.get("title"):
        graph.add((programme, DCTERMS.title, Literal(str(header["title"]), lang="fr")))
    graph.add((programme, cqp.forCertification, iri("certification")))
    where: dict[URIRef, Located] = {programme: Located(1, "programme")}
    for index, module in enumerate(modules):
        code = str(module.get("code") or f"#{index + 1}")
        node = URIRef(f"{programme}/module/{index + 1}")
        where[node] = Located(module.line, f"module {code}")
        graph.add((programme, cqp.hasModule, node))
        graph.add((node, RDF.type, cqp.TrainingModule))
        graph.add((node, cqp.sourceLine, Literal(module.line)))
        graph.add((node, cqp.order, Literal(index + 1)))
        if module.get("code") not in (None, ""):
            graph.add((node, cqp.code, Literal(code)))
        if module.get("title") not in (None, ""):
            graph.add((node, DCTERMS.title, Literal(str(module["title"]), lang="fr")))
        if module.get("hours") not in (None, ""):
            graph.add((node, cqp.hours, number_literal(module["hours"])))
        for competence in _as_list(module.get("competences")):
            graph.add((node, cqp.trains, iri("competence", competence)))
        for activity in _as_list(module.get("activities")):
            graph.add((node, cqp.trainsActivity, iri("activity", activity)))
        stands = _as_bool(module.get("activities_stand_for_mission", False), path, module.line_of(
            "activities_stand_for_mission"))
        graph.add((node, cqp.activityStandsForMission, Literal(stands, datatype=XSD.boolean)))
    return graph, programme, where


def load_programme(path: Path | str, knowledge: Knowledge, shapes: Graph, referential: str | None = None,
                   text: str | dict | None = None, fmt: str | None = None,
                   limits: InputLimits | None = None) -> tuple[Graph, URIRef, Referential]:
    """Read, convert and check a programme (the file at `path`, or its `text`, or the parsed programme) for the
    referential it declares or `referential` (None: the only one); raise InputError (file, line, module) on
    any problem. Returns the programme as RDF, its IRI and the referential it is for."""
    text = read_text(Path(path), limits) if text is None else text
    header, modules = parse_programme(text, path, fmt, limits)
    line = header.line_of("referential") if isinstance(header, LineDict) else 1
    chosen = choose_referential(knowledge, header.get("referential"), referential, path, line)
    graph, programme, where = programme_graph(header, modules, path, knowledge.base, chosen.name)
    check_with_shapes(graph, knowledge, shapes, path, knowledge.base,
                      lambda node: where.get(node, Located(None, str(node))))
    return graph, programme, chosen
