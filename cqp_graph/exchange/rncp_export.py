"""Write the certification as an RNCP fiche, in the shape of France Compétences' export (flux 4.1).

Elements keep the export's names and order. Only what the graph knows is written: the level
(NOMENCLATURE_EUROPE) only where a level is known, the NSF code without a label the data does not
give, the certifier without a SIRET. Block codes follow the register's scheme: block Bn of the
referential is RNCP<number>BC0n. Each block's competence list is the competences of the domain it
certifies, one dash item each; its assessment modalities are the rules of the routes, written from
the graph.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from pathlib import Path

import pyoxigraph as ox

from cqp_graph.config import Settings
from cqp_graph.analyses.decisions import pct
from cqp_graph.query.catalogue import load_catalogue, run_named

ROUTE_JURIES = {"vae": "SI_JURY_VAE"}  # only routes whose register counterpart is certain


def block_code(rncp_number: str, order: int) -> str:
    return f"RNCP{rncp_number}BC{order:02d}"


def _sub(parent, tag: str, text: str | None = None):
    element = ET.SubElement(parent, tag)
    if text is not None:
        element.text = text
    return element


def fiche_element(store: ox.Store, settings: Settings) -> ET.Element:
    catalogue = load_catalogue(settings.queries_dir)

    def rows(name, **params):
        return run_named(store, catalogue.get(name), params, settings.base).rows

    summary = rows("certification-summary")[0]
    number = summary["rncp"]
    if not number:
        raise ValueError("the certification has no RNCP number (certification.csv: rncp_number)")
    details = next(iter(store.query(
        """SELECT ?abbr ?type ?purpose ?lang WHERE { ?c a cqp:Certification ; cqp:jobProfile ?job .
           OPTIONAL { ?c cqp:abbreviation ?abbr } OPTIONAL { ?c dct:type ?type }
           OPTIONAL { ?job cqp:purpose ?purpose } OPTIONAL { ?c dct:language ?lang } }""",
        prefixes={"cqp": settings.base + "ontology#", "dct": "http://purl.org/dc/terms/"})), None)
    level = rows("publication-settings")
    known = {r["code"]: r["value"] for r in level if r["value"]}

    fiche = ET.Element("FICHE")
    _sub(fiche, "NUMERO_FICHE", f"RNCP{number}")
    _sub(fiche, "INTITULE", summary["title"])
    if details is not None and details["abbr"] is not None:
        abbr = _sub(fiche, "ABREGE")
        _sub(abbr, "CODE", details["abbr"].value)
        if details["type"] is not None:
            _sub(abbr, "LIBELLE", details["type"].value)
    if known.get("rncp-level"):
        nomenclature = _sub(fiche, "NOMENCLATURE_EUROPE")
        _sub(nomenclature, "NIVEAU", known["rncp-level"])
    if summary["nsf"]:
        nsf = _sub(_sub(fiche, "CODES_NSF"), "NSF")
        _sub(nsf, "CODE", summary["nsf"])
    if summary["certifier"]:
        certifier = _sub(_sub(fiche, "CERTIFICATEURS"), "CERTIFICATEUR")
        _sub(certifier, "NOM_CERTIFICATEUR", summary["certifier"])
    missions = rows("missions")
    if details is not None and details["purpose"] is not None:
        activities = details["purpose"].value + " " + " ".join(f"{m['code']} : {m['label']}." for m in missions)
        _sub(fiche, "ACTIVITES_VISEES", activities)
    jobs = [r for r in rows("rome-alignments") if r["rome_kind"] == "job" and r["subject"] == "JOB"]
    if jobs:
        codes = _sub(fiche, "CODES_ROME")
        for job in jobs:
            rome = _sub(codes, "ROME")
            _sub(rome, "CODE", job["rome_code"])
            _sub(rome, "LIBELLE", job["rome_label"])
    routes = {r["code"]: r for r in rows("routes")}
    for code, element in ROUTE_JURIES.items():
        if code in routes:
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
            raise ValueError(f"block {block['code']} has no number to build its RNCP code from")
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


def export_rncp(store: ox.Store, settings: Settings, output: Path) -> Path:
    from cqp_graph.publish.atomic import write_bytes

    root = ET.Element("FICHES")
    _sub(root, "VERSION_FLUX", "4.1")
    root.append(fiche_element(store, settings))
    ET.indent(root, space="  ")
    data = b'<?xml version="1.0" encoding="UTF-8" standalone="no"?>\n' + ET.tostring(root, encoding="utf-8") + b"\n"
    write_bytes(output, data)
    return Path(output)
