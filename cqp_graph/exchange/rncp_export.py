"""The RNCP fiche export: one referential as France Compétences' export shape (flux 4.1), as XML bytes.

Lives here: `export_rncp` (the whole `FICHES` document) and `fiche_element` (one `FICHE`), built from named
queries through a `Knowledge`. Not here: writing the file (the caller, through `cqp_graph.publish.atomic`, or
a release), importing the register's exports (`rncp_import`).

Elements keep the export's names and order. Only what the graph knows is written: the level
(NOMENCLATURE_EUROPE) only where a level is known, the NSF code without a label the data does not
give, the certifier without a SIRET. Block codes follow the register's scheme: block Bn of the
referential is RNCP<number>BC0n. Each block's competence list is the competences of the domain it
certifies, one dash item each; its assessment modalities are the rules of the routes, written from
the graph. With several referentials in the graph the caller names one (`referential`); with one, it
may leave it out.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET

import pyoxigraph as ox

from cqp_graph.config import Settings
from cqp_graph.exchange.rome import job_alignments
from cqp_graph.numbers import pct
from cqp_graph.query.knowledge import Knowledge

FLUX_VERSION = "4.1"
XML_DECLARATION = b'<?xml version="1.0" encoding="UTF-8" standalone="no"?>\n'

_DETAILS = """
SELECT ?cert ?abbr ?type ?purpose WHERE {
  ?cert a cqp:Certification .
  OPTIONAL { ?cert cqp:abbreviation ?abbr }
  OPTIONAL { ?cert dct:type ?type }
  OPTIONAL { ?cert cqp:jobProfile/cqp:purpose ?purpose }
}
"""


class MissingRncpNumber(ValueError):
    """The referential has no RNCP number: its fiche cannot be numbered."""

    def __init__(self, referential: str):
        self.referential = referential
        super().__init__(f"le référentiel « {referential} » n'a pas de numéro RNCP (certification.csv : "
                         "rncp_number) : sa fiche RNCP ne peut pas être numérotée")


def block_code(rncp_number: str, order: int) -> str:
    return f"RNCP{rncp_number}BC{order:02d}"


def _sub(parent, tag: str, text: str | None = None):
    element = ET.SubElement(parent, tag)
    if text is not None:
        element.text = text
    return element


def fiche_element(knowledge: Knowledge, settings: Settings, referential: str | None = None) -> ET.Element:
    """The `FICHE` element of one referential (UnknownReferential when it is not named among several)."""
    chosen = knowledge.referential(referential)

    def rows(name, **params):  # `referential` as given: None is the only referential, every row is its own
        return knowledge.rows(name, referential=referential, **params)

    summary = knowledge.one("certification-summary", referential=referential)
    number = summary["rncp"]
    if not number:
        raise MissingRncpNumber(chosen.name)
    details = next(iter(knowledge.select(_DETAILS, {"cert": ox.NamedNode(chosen.iri)}).rows), {})
    known = {r["code"]: r["value"] for r in rows("publication-settings") if r["value"]}

    fiche = ET.Element("FICHE")
    _sub(fiche, "NUMERO_FICHE", f"RNCP{number}")
    _sub(fiche, "INTITULE", summary["title"])
    if details.get("abbr") is not None:
        abbr = _sub(fiche, "ABREGE")
        _sub(abbr, "CODE", details["abbr"])
        if details.get("type") is not None:
            _sub(abbr, "LIBELLE", details["type"])
    if known.get("rncp-level"):
        nomenclature = _sub(fiche, "NOMENCLATURE_EUROPE")
        _sub(nomenclature, "NIVEAU", str(known["rncp-level"]))
    if summary["nsf"]:
        nsf = _sub(_sub(fiche, "CODES_NSF"), "NSF")
        _sub(nsf, "CODE", summary["nsf"])
    if summary["certifier"]:
        certifier = _sub(_sub(fiche, "CERTIFICATEURS"), "CERTIFICATEUR")
        _sub(certifier, "NOM_CERTIFICATEUR", summary["certifier"])
    missions = rows("missions")
    if details.get("purpose") is not None:
        activities = details["purpose"] + " " + " ".join(f"{m['code']} : {m['label']}." for m in missions)
        _sub(fiche, "ACTIVITES_VISEES", activities)
    jobs = job_alignments(knowledge, referential)
    if jobs:
        codes = _sub(fiche, "CODES_ROME")
        for job in jobs:
            rome = _sub(codes, "ROME")
            _sub(rome, "CODE", job["rome_code"])
            _sub(rome, "LIBELLE", job["rome_label"])
    routes = {r["code"]: r for r in rows("routes")}
    for code, route in routes.items():
        element = route.get("rncp_jury")
        if element:
            jury = _sub(fiche, element)
            _sub(jury, "ACTIF", "Oui")
            text = " ; ".join(s["label"] for s in rows("route-steps", route=code))
            if text:
                _sub(jury, "COMPOSITION", text)
    blocks = _sub(fiche, "BLOCS_COMPETENCES")
    all_rules = {route: rows("evaluation-rules", route=route) for route in routes}
    for block in rows("blocks"):
        order = int(block["code"].lstrip("B")) if block["code"].lstrip("B").isdigit() else None
        if order is None:
            raise ValueError(f"le bloc {block['code']} du référentiel « {chosen.name} » n'a pas de numéro "
                             "d'où tirer son code RNCP (B1, B2…)")
        element = _sub(blocks, "BLOC_COMPETENCES")
        _sub(element, "CODE", block_code(number, order))
        _sub(element, "LIBELLE", block["label"])
        content = [r for r in rows("block-contents", block=block["code"]) if r["item_type"] == "competence"]
        _sub(element, "LISTE_COMPETENCES", "  ".join(f"- {c['code']} {c['label']}" for c in content))
        modalities = []
        for route, rules in all_rules.items():
            texts = [f"{r['label']} (seuil {pct(r['min_percent'])})" for r in rules]
            if texts:
                modalities.append(f"{routes[route]['label']} : " + " ".join(texts))
        _sub(element, "MODALITES_EVALUATION", "  ".join(modalities))
    return fiche


def export_rncp(knowledge: Knowledge, settings: Settings, referential: str | None = None) -> bytes:
    """The referential's fiche as a whole RNCP export document (XML, UTF-8). Writes nothing."""
    root = ET.Element("FICHES")
    _sub(root, "VERSION_FLUX", FLUX_VERSION)
    root.append(fiche_element(knowledge, settings, referential))
    ET.indent(root, space="  ")
    return XML_DECLARATION + ET.tostring(root, encoding="utf-8") + b"\n"
