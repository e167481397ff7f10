"""Import France Compétences' RNCP / RS export (flux 4.1) into the graph, streaming.

Lives here: reading the export fiche by fiche (`iter_fiches`), turning each into triples (`RecordConverter`),
splitting competence lists (`split_competences`), checking the triples of each batch of fiches against the
import's shapes (`ShapeChecks`, the shapes compiled to Python), and `import_rncp`, which streams N-Triples to its
output file (written beside it, then renamed: the one exchange module that writes, because the export is too
large to hold). Not here: the RNCP export of a referential (`rncp_export`), the import's shapes (shapes/rncp/),
the generator of exports for tests and benchmarks (`rncp_generate`).

The real export is hundreds of MB: the file is read with iterparse and each <FICHE> is
converted, written out and dropped before the next, so memory stays bounded whatever the
file size. A malformed fiche (no number, a date that is not a date, a block code that is
not its fiche's) is reported with its position and number, and the rest goes on; the parts
of it that are well-formed are kept.

The output is N-Triples (one triple a line, every IRI written whole), which is also Turtle: any Turtle reader
and the stores' bulk loaders read it. Triples are written as text directly, with N-Triples escaping, not
through an RDF library's graph and serialiser (they were most of the time of an import).

Validation (`shapes`): the shapes are read once and compiled into checks of the constraints they use (targets
by class, by subject or object of a property, or by node; property shapes on a predicate path with min / max
count, pattern, datatype, class, node kind, allowed values, required value, languages). Each batch of fiches is
checked as pyshacl would check the batch's graph, and each violation names the fiche that made the resource.
Shapes using anything else are checked by pyshacl on the batch's graph instead (slower, same findings).

Texts are kept verbatim. A block's competence list is split into items only where the text
marks them unambiguously (item codes such as "A1C1." or "C.1.", or dash / asterisk bullets);
otherwise the list stays whole and the block says so (cqp:itemisation "none").
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Callable, Iterator
from urllib.parse import quote

ROUTES = {"SI_JURY_FI": ("FI", "formation initiale"), "SI_JURY_CA": ("CA", "apprentissage"),
          "SI_JURY_FC": ("FC", "formation continue"), "SI_JURY_CQ": ("CQ", "contrat de professionnalisation"),
          "SI_JURY_CL": ("CL", "candidature individuelle"), "SI_JURY_VAE": ("VAE", "VAE")}
DATES = {"DATE_FIN_ENREGISTREMENT": "registrationEnd", "DATE_EFFET": "effectiveDate",
         "DATE_DECISION": "decisionDate", "DATE_DE_PUBLICATION": "publicationDate",
         "DATE_LIMITE_DELIVRANCE": "deliveryDeadline"}
NUMBER = re.compile(r"^(RNCP|RS)(\d+)$")
BLOCK_CODE = re.compile(r"^(RNCP\d+)BC(\d+)$")
CODED_ITEM = re.compile(r"(?:^|\s)((?:[A-Z]\d+\.?C\d+|C\.\d+)\.?)\s*(?=\S)")
BULLET = re.compile(r"(?:^|\s{2,})[-*•]\s+")
LEVEL = re.compile(r"^NIV[1-8]$")
SIRET = re.compile(r"^\d{14}$")

RDF_TYPE = "http://www.w3.org/1999/02/22-rdf-syntax-ns#type"
XSD = "http://www.w3.org/2001/XMLSchema#"
XSD_STRING = XSD + "string"
LANG_STRING = "http://www.w3.org/1999/02/22-rdf-syntax-ns#langString"
DCT = "http://purl.org/dc/terms/"
SKOS_LABEL = "http://www.w3.org/2004/02/skos/core#prefLabel"
FOAF_NAME = "http://xmlns.com/foaf/0.1/name"
SH = "http://www.w3.org/ns/shacl#"

# A term is a tuple: ("I", iri) for an IRI, ("L", lexical form, language or None, datatype or None) for a
# literal (a plain literal has neither: it is an xsd:string). A triple is (subject IRI, predicate IRI, term).
TRUE, FALSE = ("L", "true", None, XSD + "boolean"), ("L", "false", None, XSD + "boolean")


def iri(value: str) -> tuple:
    return ("I", value)


def text_literal(value: str, lang: str | None = None) -> tuple:
    return ("L", value, lang, None)


def integer(value: int) -> tuple:
    return ("L", str(value), None, XSD + "integer")


def nt_term(term: tuple) -> str:
    """The N-Triples form of a term."""
    if term[0] == "I":
        return f"<{term[1]}>"
    text = '"' + term[1].replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n").replace("\r", "\\r") + '"'
    if term[2]:
        return f"{text}@{term[2]}"
    if term[3]:
        return f"{text}^^<{term[3]}>"
    return text


def nt_lines(triples) -> str:
    """N-Triples lines of `triples` (each once, in their first order)."""
    return "".join(f"<{s}> <{p}> {nt_term(o)} .\n" for s, p, o in dict.fromkeys(triples))


def safe_segment(code: str) -> str:
    """A code from the export as one segment of an IRI (RFC 3986's pchar): "/" and characters an IRI may not hold
    are percent-encoded, "%" too (a code's « % » is text, not an encoding: « A%20B » and « A B » stay distinct)."""
    return quote(code, safe="!$&'()*+,;=:@-._~")


@dataclass
class Problem:
    position: int
    number: str | None
    message: str

    def __str__(self) -> str:
        return f"fiche #{self.position}" + (f" ({self.number})" if self.number else "") + f": {self.message}"


@dataclass
class ImportReport:
    fiches: int = 0
    rncp: int = 0
    rs: int = 0
    blocks: int = 0
    items: int = 0
    skipped: int = 0
    problems: list[Problem] = field(default_factory=list)
    itemisation: dict = field(default_factory=dict)

    def as_dict(self) -> dict:
        return {"fiches": self.fiches, "rncp": self.rncp, "rs": self.rs, "blocks": self.blocks,
                "items": self.items, "skipped": self.skipped, "itemisation": self.itemisation,
                "problems": [str(p) for p in self.problems]}


def _text(element, path: str) -> str | None:
    value = element.findtext(path)
    if value is None:
        return None
    value = value.strip()
    return value or None


def _date(value: str) -> date:
    day, month, year = value.split("/")
    return date(int(year), int(month), int(day))


def split_competences(text: str) -> tuple[str, list[str], str | None]:
    """(method, items, preamble): method 'codes' | 'bullets' | 'none'; items only where the text marks them
    unambiguously; preamble, the text before the first item (an introduction, not a competence)."""
    stripped = text.strip()
    codes = list(CODED_ITEM.finditer(stripped))
    if len(codes) >= 2 and stripped.find(codes[0].group(1)) <= max(300, len(stripped) * 0.3):
        starts = [m.start(1) for m in codes]
        items = [stripped[a:b].strip() for a, b in zip(starts, starts[1:] + [len(stripped)])]
        preamble = stripped[:starts[0]].strip() or None
        return "codes", [re.sub(r"\s+", " ", i) for i in items], preamble
    if re.match(r"^[-*•]\s", stripped):
        parts = [p.strip() for p in BULLET.split(stripped) if p.strip()]
        if len(parts) >= 2 or len(BULLET.findall(stripped)) == 1:
            return "bullets", [re.sub(r"\s+", " ", p) for p in parts], None
    return "none", [], None


class RecordConverter:
    """Turns one <FICHE> element into triples, collecting problems."""

    def __init__(self, base: str):
        self.base = base
        cqp = f"{base}ontology#"
        self.p = {name: cqp + name for name in (
            "RegisterRecord", "recordNumber", "rncpNumber", "rsNumber", "recordId", "abbreviation", "attestedCapacities",
            "abbreviationLabel", "levelCode", "levelLabel", "recordState", "registrationType", "active", "romeCode",
            "nsfCode", "formacode", "certifier", "Certifier", "siret", "certifierState", "hasAccessRoute",
            "AccessRoute", "routeCode", "open", "juryComposition", "hasBlock", "CompetenceBlock", "code", "order",
            "competenceListText", "itemisation", "itemPreamble", "hasItem", "BlockCompetenceItem", "itemText",
            "assessmentText", "hasCorrespondence", "BlockCorrespondence", "sourceBlock", "targetRecord",
            "targetBlock", *DATES.values())}

    def record_iri(self, number: str) -> str:
        return f"{self.base}rncp/{number}"

    def block_iri(self, code: str) -> str:
        return f"{self.base}rncp/block/{safe_segment(code)}"

    def convert(self, fiche, position: int, report: ImportReport) -> list[tuple] | None:
        """The triples of one fiche (None when it has no usable number: it is skipped); problems go to `report`."""
        number = _text(fiche, "NUMERO_FICHE")
        problems = report.problems

        def problem(message: str):
            problems.append(Problem(position, number, message))

        match = NUMBER.match(number or "")
        if not match:
            problem(f"NUMERO_FICHE « {number or ''} » n'est pas RNCP… ou RS… suivi de chiffres : fiche écartée")
            report.skipped += 1
            return None
        triples: list[tuple] = []

        def add(s, predicate, o):
            triples.append((s, predicate, o))

        record = self.record_iri(number)
        self._record(fiche, record, match, add, problem)
        self._certifiers(fiche, record, add, problem)
        self._routes(fiche, record, add)
        self._lineage(fiche, record, add)
        self._blocks(fiche, record, number, add, problem, report)
        self._correspondences(fiche, record, add)
        report.fiches += 1
        if match.group(1) == "RNCP":
            report.rncp += 1
        else:
            report.rs += 1
        return triples

    def _record(self, fiche, record: str, match, add, problem) -> None:
        """The fiche's own fields: number, title, abbreviation, level, state, type, active flag, dates, codes."""
        p = self.p
        add(record, RDF_TYPE, iri(p["RegisterRecord"]))
        add(record, p["recordNumber"], text_literal(match.group(0)))
        add(record, p["rncpNumber"] if match.group(1) == "RNCP" else p["rsNumber"], text_literal(match.group(2)))
        if _text(fiche, "ID_FICHE"):
            add(record, p["recordId"], text_literal(_text(fiche, "ID_FICHE")))
        title = _text(fiche, "INTITULE")
        if title:
            add(record, DCT + "title", text_literal(title, "fr"))
            add(record, SKOS_LABEL, text_literal(title, "fr"))
        else:
            problem("INTITULE manquant")
        for path, prop, lang in (("ABREGE/CODE", "abbreviation", None), ("ABREGE/LIBELLE", "abbreviationLabel", "fr"),
                                 ("CAPACITES_ATTESTEES", "attestedCapacities", "fr"),
                                 ("NOMENCLATURE_EUROPE/NIVEAU", "levelCode", None),
                                 ("NOMENCLATURE_EUROPE/LIBELLE", "levelLabel", "fr"),
                                 ("ETAT_FICHE", "recordState", None),
                                 ("TYPE_ENREGISTREMENT", "registrationType", None)):
            value = _text(fiche, path)
            if value:
                add(record, p[prop], text_literal(value, lang))
        level = _text(fiche, "NOMENCLATURE_EUROPE/NIVEAU")
        if level and not LEVEL.match(level):
            problem(f"NOMENCLATURE_EUROPE/NIVEAU « {level} » n'est pas NIV1…NIV8")
        active = _text(fiche, "ACTIF")
        if active in ("Oui", "Non"):
            add(record, p["active"], TRUE if active == "Oui" else FALSE)
        elif active is not None:
            problem(f"ACTIF « {active} » ne vaut ni Oui ni Non")
        for element, prop in DATES.items():
            value = _text(fiche, element)
            if value:
                try:
                    add(record, p[prop], ("L", _date(value).isoformat(), None, XSD + "date"))
                except ValueError:
                    problem(f"{element} « {value} » n'est pas une date (jj/mm/aaaa)")
        for path, prop in (("CODES_ROME/ROME", "romeCode"), ("CODES_NSF/NSF", "nsfCode"),
                           ("FORMACODES/FORMACODE", "formacode")):
            for item in fiche.iterfind(path):
                code = _text(item, "CODE")
                if code:
                    add(record, p[prop], text_literal(code))

    def _certifiers(self, fiche, record: str, add, problem) -> None:
        """Each certifier: an organisation named by its SIRET (14 digits), else by its name."""
        p = self.p
        for certifier in fiche.iterfind("CERTIFICATEURS/CERTIFICATEUR"):
            name = _text(certifier, "NOM_CERTIFICATEUR")
            siret = _text(certifier, "SIRET_CERTIFICATEUR")
            valid = bool(siret and SIRET.match(siret))
            if siret and not valid:
                problem(f"SIRET_CERTIFICATEUR « {siret} » n'a pas 14 chiffres")
            key = siret if valid else \
                "name-" + re.sub(r"[^a-z0-9]+", "-", (name or "unknown").lower()).strip("-")
            node = f"{self.base}organisation/{key}"
            add(record, p["certifier"], iri(node))
            add(node, RDF_TYPE, iri(p["Certifier"]))
            if name:
                add(node, FOAF_NAME, text_literal(name))
                add(node, SKOS_LABEL, text_literal(name))
            if siret:
                add(node, p["siret"], text_literal(siret))
            state = _text(certifier, "ETAT_CERTIFICATEUR")
            if state:
                add(node, p["certifierState"], text_literal(state))

    def _routes(self, fiche, record: str, add) -> None:
        """The access routes, one for each jury element (SI_JURY_FI …) the fiche has."""
        p = self.p
        for element, (code, label) in ROUTES.items():
            jury = fiche.find(element)
            if jury is None:
                continue
            node = f"{record}/route/{code}"
            add(record, p["hasAccessRoute"], iri(node))
            add(node, RDF_TYPE, iri(p["AccessRoute"]))
            add(node, p["routeCode"], text_literal(code))
            add(node, SKOS_LABEL, text_literal(label, "fr"))
            open_ = _text(jury, "ACTIF")
            if open_ in ("Oui", "Non"):
                add(node, p["open"], TRUE if open_ == "Oui" else FALSE)
            composition = _text(jury, "COMPOSITION")
            if composition:
                add(node, p["juryComposition"], text_literal(composition, "fr"))

    def _lineage(self, fiche, record: str, add) -> None:
        """The fiches that replace this one and those it replaces (only where their number is one)."""
        for new in fiche.iterfind("NOUVELLES_CERTIFICATIONS/NOUVELLE_CERTIFICATION"):
            other = _text(new, "ID_FICHE_NOUVELLE_CERTIFICATION")
            if other and NUMBER.match(other):
                add(record, DCT + "isReplacedBy", iri(self.record_iri(other)))
        for old in fiche.iterfind("ANCIENNES_CERTIFICATIONS/ANCIENNE_CERTIFICATION"):
            other = _text(old, "ID_FICHE_ANCIENNE_CERTIFICATION")
            if other and NUMBER.match(other):
                add(record, DCT + "replaces", iri(self.record_iri(other)))

    def _blocks(self, fiche, record: str, number: str, add, problem, report: ImportReport) -> None:
        """The competence blocks, with their lists kept verbatim and split into items where unambiguous."""
        p = self.p
        for index, block in enumerate(fiche.iterfind("BLOCS_COMPETENCES/BLOC_COMPETENCES"), start=1):
            code = _text(block, "CODE")
            code_match = BLOCK_CODE.match(code or "")
            if not code_match:
                problem(f"bloc #{index} : CODE « {code or ''} » n'est pas RNCP…BC… : bloc écarté")
                continue
            if code_match.group(1) != number:
                problem(f"le bloc {code} n'appartient pas à la fiche {number}")
            node = self.block_iri(code)
            report.blocks += 1
            add(record, p["hasBlock"], iri(node))
            add(node, RDF_TYPE, iri(p["CompetenceBlock"]))
            add(node, p["code"], text_literal(code))
            add(node, p["order"], integer(int(code_match.group(2))))
            label = _text(block, "LIBELLE")
            if label:
                add(node, SKOS_LABEL, text_literal(label, "fr"))
            else:
                problem(f"bloc {code} : LIBELLE manquant")
            competences = block.findtext("LISTE_COMPETENCES")
            if competences and competences.strip():
                add(node, p["competenceListText"], text_literal(competences, "fr"))
                self._items(node, competences, add, report)
            modalities = block.findtext("MODALITES_EVALUATION")
            if modalities and modalities.strip():
                add(node, p["assessmentText"], text_literal(modalities, "fr"))

    def _items(self, node: str, competences: str, add, report: ImportReport) -> None:
        p = self.p
        method, items, preamble = split_competences(competences)
        add(node, p["itemisation"], text_literal(method))
        if preamble:
            add(node, p["itemPreamble"], text_literal(preamble, "fr"))
        report.itemisation[method] = report.itemisation.get(method, 0) + 1
        for rank, item in enumerate(items, start=1):
            item_node = f"{node}/item/{rank}"
            add(node, p["hasItem"], iri(item_node))
            add(item_node, RDF_TYPE, iri(p["BlockCompetenceItem"]))
            add(item_node, p["order"], integer(rank))
            add(item_node, p["itemText"], text_literal(item, "fr"))
            report.items += 1

    def _correspondences(self, fiche, record: str, add) -> None:
        """Block correspondences: this fiche's blocks and the fiche and blocks they correspond to."""
        p = self.p
        for index, correspondence in enumerate(fiche.iterfind("CORRESPONDANCES/CORRESPONDANCE"), start=1):
            node = f"{record}/correspondence/{index}"
            add(record, p["hasCorrespondence"], iri(node))
            add(node, RDF_TYPE, iri(p["BlockCorrespondence"]))
            for source in correspondence.iterfind("SOURCE/BLOC_COMPETENCES"):
                if _text(source, "CODE"):
                    add(node, p["sourceBlock"], iri(self.block_iri(_text(source, "CODE"))))
            target_number = _text(correspondence, "DESTINATION/NUMERO_FICHE")
            if target_number and NUMBER.match(target_number):
                add(node, p["targetRecord"], iri(self.record_iri(target_number)))
            for target in correspondence.iterfind("DESTINATION/BLOC_COMPETENCES"):
                if _text(target, "CODE"):
                    add(node, p["targetBlock"], iri(self.block_iri(_text(target, "CODE"))))


# -- the import's shapes, compiled to checks of a batch of triples ------------------------------------------

class Unsupported(Exception):
    """The shapes use something `ShapeChecks` does not compile: they are checked by pyshacl instead."""


#: what a node shape or a property shape may hold besides what is checked: names, messages, documentation
DESCRIPTIVE = {SH + "message", SH + "name", SH + "description", SH + "order", SH + "group", SH + "severity",
               SH + "deactivated", SH + "flags", RDF_TYPE, "http://www.w3.org/2000/01/rdf-schema#label",
               "http://www.w3.org/2000/01/rdf-schema#comment"}
TARGETS = {SH + "targetClass": "class", SH + "targetObjectsOf": "objectsOf", SH + "targetSubjectsOf": "subjectsOf",
           SH + "targetNode": "node"}
CONSTRAINTS = {SH + name: name for name in ("minCount", "maxCount", "pattern", "datatype", "class", "nodeKind", "in",
                                            "hasValue", "languageIn")}
NODE_KINDS = {"IRI": {"I"}, "Literal": {"L"}, "BlankNode": set(), "BlankNodeOrIRI": {"I"},
              "BlankNodeOrLiteral": {"L"}, "IRIOrLiteral": {"I", "L"}}


def as_term(node) -> tuple:
    """A term of the shapes graph (rdflib) as this module's tuple."""
    from rdflib import Literal, URIRef

    if isinstance(node, URIRef):
        return iri(str(node))
    if isinstance(node, Literal):  # "x"^^xsd:string stays apart from "x", as in rdflib (and so in pyshacl)
        return ("L", str(node), node.language, str(node.datatype) if node.datatype else None)
    raise Unsupported(f"nœud anonyme {node} comme valeur")


def shown(term: tuple):
    """A value as the French message shows it (an IRI by its name, a literal by its text only)."""
    from rdflib import Literal, URIRef

    return URIRef(term[1]) if term[0] == "I" else Literal(term[1])


@dataclass
class Constraint:
    kind: str           # minCount, maxCount, pattern, datatype, class, nodeKind, in, hasValue, languageIn
    value: object       # its parameter, ready to compare
    shape: object       # the property shape (rdflib node), for the French message
    message: str | None  # its sh:message@fr


@dataclass
class PropertyCheck:
    path: str
    constraints: list[Constraint]


@dataclass
class NodeCheck:
    targets: list[tuple[str, tuple]]  # (class | objectsOf | subjectsOf | node, term)
    properties: list[PropertyCheck]


class ShapeChecks:
    """The import's shapes as checks of the triples of a batch: the violations pyshacl would report on the
    batch's graph (no inference; sh:Violation only, as the import reports)."""

    def __init__(self, shapes):
        from rdflib import URIRef

        self.shapes = shapes
        # a shape checks something only through its targets (sh:node, which would reach others, is not compiled)
        targeted = {shape for target in TARGETS for shape in shapes.subjects(URIRef(target), None)}
        self.nodes = [node for node in map(self._node, targeted) if node is not None]

    def _active(self, shape, severity: bool) -> bool:
        """False for a deactivated shape and, with `severity`, for one whose results are not violations (a node
        shape's own severity is that of its node constraints only, which are not compiled)."""
        from rdflib import URIRef

        deactivated = self.shapes.value(shape, URIRef(SH + "deactivated"))
        if deactivated is not None and deactivated.toPython() is True:
            return False
        return not severity or str(self.shapes.value(shape, URIRef(SH + "severity")) or SH + "Violation") == \
            SH + "Violation"

    def _node(self, shape) -> NodeCheck | None:
        targets, properties = [], []
        for predicate, value in self.shapes.predicate_objects(shape):
            predicate = str(predicate)
            if predicate in TARGETS:
                targets.append((TARGETS[predicate], as_term(value)))
            elif predicate == SH + "property":
                check = self._property(value)
                if check is not None:
                    properties.append(check)
            elif predicate not in DESCRIPTIVE:  # sh:path too: a property shape with targets of its own
                raise Unsupported(f"{predicate} sur la forme {shape}")
        if not self._active(shape, severity=False):
            return None
        return NodeCheck(targets, properties)

    def _property(self, shape) -> PropertyCheck | None:
        from rdflib import Literal, URIRef
        from rdflib.collection import Collection

        shapes = self.shapes
        path = shapes.value(shape, URIRef(SH + "path"))
        if not isinstance(path, URIRef):
            raise Unsupported(f"chemin {path} qui n'est pas une propriété")
        messages = [m for m in shapes.objects(shape, URIRef(SH + "message"))
                    if isinstance(m, Literal) and m.language == "fr"]
        message = str(messages[0]) if messages else None
        constraints = []
        for predicate, value in shapes.predicate_objects(shape):
            predicate = str(predicate)
            kind = CONSTRAINTS.get(predicate)
            if kind in ("minCount", "maxCount"):
                param = int(value)
            elif kind == "pattern":
                flags = shapes.value(shape, URIRef(SH + "flags"))
                param = re.compile(str(value), re.IGNORECASE if flags is not None and "i" in str(flags) else 0)
            elif kind in ("datatype", "class"):
                param = str(value)
            elif kind == "nodeKind":
                param = NODE_KINDS.get(str(value).removeprefix(SH))
                if param is None:
                    raise Unsupported(f"sh:nodeKind {value}")
            elif kind == "in":
                param = {as_term(v) for v in Collection(shapes, value)}
            elif kind == "hasValue":
                param = as_term(value)
            elif kind == "languageIn":
                param = [str(v).lower() for v in Collection(shapes, value)]
            elif predicate == SH + "path" or predicate in DESCRIPTIVE:
                continue
            else:
                raise Unsupported(f"{predicate} sur une forme de propriété")
            constraints.append(Constraint(kind, param, shape, message))
        if not self._active(shape, severity=True):
            return None
        return PropertyCheck(str(path), constraints)

    def violations(self, index: dict) -> list[tuple[str, str]]:
        """(focus IRI or value, French message) of every violation in a batch: `index` maps each subject to
        its predicates, each to its objects (a dict used as an ordered set)."""
        found = []
        for node in self.nodes:
            for focus in self._focus_nodes(node, index):
                values_of = index.get(focus[1], {}) if focus[0] == "I" else {}
                for check in node.properties:
                    values = list(values_of.get(check.path, ()))
                    for constraint in check.constraints:
                        for value in self._failures(constraint, values, index):
                            found.append((focus[1], self._message(constraint, value)))
        return found

    @staticmethod
    def _focus_nodes(node: NodeCheck, index: dict) -> list[tuple]:
        focus: dict[tuple, None] = {}
        for kind, term in node.targets:
            if kind == "node":
                focus[term] = None
            elif kind == "class":
                for subject, predicates in index.items():
                    if term in predicates.get(RDF_TYPE, ()):
                        focus[iri(subject)] = None
            elif kind == "subjectsOf":
                for subject, predicates in index.items():
                    if term[1] in predicates:
                        focus[iri(subject)] = None
            else:  # objectsOf
                for predicates in index.values():
                    for value in predicates.get(term[1], ()):
                        focus[value] = None
        return list(focus)

    @staticmethod
    def _failures(constraint: Constraint, values: list[tuple], index: dict) -> list:
        """The values that fail `constraint` (None for a failure about the node, not one value)."""
        kind, param = constraint.kind, constraint.value
        if kind == "minCount":
            return [None] if len(values) < param else []
        if kind == "maxCount":
            return [None] if len(values) > param else []
        if kind == "hasValue":
            return [] if param in values else [None]
        failed = []
        for value in values:
            if kind == "pattern":
                ok = param.search(value[1]) is not None
            elif kind == "datatype":
                datatype = value[3] or (LANG_STRING if value[2] else XSD_STRING) if value[0] == "L" else None
                ok = datatype == param
            elif kind == "class":
                ok = value[0] == "I" and iri(param) in index.get(value[1], {}).get(RDF_TYPE, ())
            elif kind == "nodeKind":
                ok = value[0] in param
            elif kind == "in":
                ok = value in param
            else:  # languageIn
                lang = (value[2] or "").lower() if value[0] == "L" else ""
                # SPARQL's langMatches, as SHACL says: "*" matches any tag, a range matches itself and its subtags
                ok = bool(lang) and any(r == "*" or lang == r or lang.startswith(r + "-") for r in param)
            if not ok:
                failed.append(value)
        return failed

    def _message(self, constraint: Constraint, value) -> str:
        if constraint.message:
            return constraint.message
        from rdflib import Graph, URIRef

        from cqp_graph.graph.validate import french_message

        component = URIRef(f"{SH}{constraint.kind[0].upper()}{constraint.kind[1:]}ConstraintComponent")
        return french_message(component, constraint.shape, None if value is None else shown(value), None,
                              self.shapes, Graph())


class BatchChecker:
    """Collects the triples of a batch of fiches, then reports each violation with the fiche that made it."""

    def __init__(self, shapes, report: ImportReport):
        self.report = report
        try:
            self.checks: ShapeChecks | None = ShapeChecks(shapes)
        except Unsupported:
            self.checks = None  # pyshacl on the batch's graph
        self.shapes = shapes
        self.clear()

    def clear(self):
        self.index: dict[str, dict[str, dict]] = {}
        self.owners: dict[str, tuple[int, str]] = {}
        self.lines: list[str] = []

    def add(self, position: int, number: str, triples: list[tuple], lines: str):
        index, owners = self.index, self.owners
        for s, p, o in triples:
            index.setdefault(s, {}).setdefault(p, {})[o] = None
            owners.setdefault(s, (position, number))
        if self.checks is None:
            self.lines.append(lines)

    def check(self):
        if not self.index:
            return
        if self.checks is not None:
            found = self.checks.violations(self.index)
        else:
            from rdflib import Graph

            from cqp_graph.graph.validate import validate_graph

            graph = Graph().parse(data="".join(self.lines), format="nt")
            found = [(f.focus, f.message) for f in validate_graph(graph, self.shapes).violations]
        for focus, message in sorted(found, key=lambda f: (self.owners.get(f[0], (0, ""))[0], f[0], f[1])):
            position, number = self.owners.get(focus, (0, None))
            self.report.problems.append(Problem(position, number,
                                                f"forme non respectée (SHACL) sur {focus} : {message}"))
        self.clear()


# -- reading and writing --------------------------------------------------------------------------------------

class _CountingReader:
    """A binary file that tells how many bytes were read (for progress)."""

    def __init__(self, handle, on_read: Callable[[int], None] | None):
        self.handle = handle
        self.on_read = on_read

    def read(self, size: int = -1) -> bytes:
        data = self.handle.read(size)
        if self.on_read:
            self.on_read(len(data))
        return data


def iter_fiches(path: Path, on_read: Callable[[int], None] | None = None) -> Iterator[tuple[int, object]]:
    """(position, <FICHE> element) for each fiche; each element is freed once the caller is done with it."""
    with open(path, "rb") as handle:
        context = ET.iterparse(_CountingReader(handle, on_read), events=("start", "end"))
        root = None
        position = 0
        for event, element in context:
            if event == "start" and root is None:
                root = element
                if root.tag != "FICHES":
                    raise ValueError(f"{path} : l'élément racine est <{root.tag}>, pas <FICHES>")
            elif event == "end" and element.tag == "FICHE":
                position += 1
                yield position, element
                element.clear()
                root.remove(element)


def import_rncp(path: Path, output: Path, base: str, on_read: Callable[[int], None] | None = None,
                shapes=None, batch: int = 200) -> ImportReport:
    """Convert an export file to N-Triples (also Turtle) at `output` (written to a temporary file, then renamed).

    With `shapes` (an rdflib graph: shapes/rncp/rncp.ttl), the converted fiches are checked batch by batch
    (memory stays bounded) and each violation is reported with its fiche.
    """
    import os
    import tempfile

    from cqp_graph.publish.atomic import file_mode, fsync_folder

    report = ImportReport()
    converter = RecordConverter(base)
    checker = BatchChecker(shapes, report) if shapes is not None else None
    output = Path(output)
    output.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{output.name}.", dir=output.parent)
    try:
        os.fchmod(fd, file_mode())  # mkstemp makes 0600; the output gets the usual mode, umask respected
        with os.fdopen(fd, "w", encoding="utf-8") as out:
            pending = 0
            try:
                for position, fiche in iter_fiches(path, on_read):
                    triples = converter.convert(fiche, position, report)
                    if triples is None:
                        continue
                    lines = nt_lines(triples)
                    out.write(lines)
                    if checker is not None:
                        checker.add(position, _text(fiche, "NUMERO_FICHE"), triples, lines)
                        pending += 1
                        if pending == batch:
                            checker.check()
                            pending = 0
            except ET.ParseError as exc:
                line, column = exc.position
                report.problems.append(Problem(report.fiches + report.skipped + 1, None,
                                               f"erreur de syntaxe XML ligne {line}, colonne {column} "
                                               f"(message d'expat : « {exc} ») ; les fiches qui précèdent "
                                               "sont gardées"))
            if checker is not None:
                checker.check()
            out.flush()
            os.fsync(out.fileno())
        os.replace(tmp, output)
        fsync_folder(output.parent)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return report
