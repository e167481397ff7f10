"""Import France Compétences' RNCP / RS export (flux 4.1) into the graph, streaming.

Lives here: reading the export fiche by fiche (`iter_fiches`), turning each into triples (`RecordConverter`),
splitting competence lists (`split_competences`), and `import_rncp`, which streams the Turtle to its output
file (written beside it, then renamed: the one exchange module that writes, because the export is too large to
hold). Not here: the RNCP export of a referential (`rncp_export`), the import's shapes (shapes/rncp/).

The real export is hundreds of MB: the file is read with iterparse and each <FICHE> is
converted, written out and dropped before the next, so memory stays bounded whatever the
file size. A malformed fiche (no number, a date that is not a date, a block code that is
not its fiche's) is reported with its position and number, and the rest goes on; the parts
of it that are well-formed are kept.

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

from rdflib import Graph, Literal, URIRef
from rdflib.namespace import DCTERMS, FOAF, RDF, SKOS, XSD

from cqp_graph.namespaces import bind_prefixes, ontology_ns

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
        self.cqp = ontology_ns(base)

    def record_iri(self, number: str) -> URIRef:
        return URIRef(f"{self.base}rncp/{number}")

    def block_iri(self, code: str) -> URIRef:
        return URIRef(f"{self.base}rncp/block/{code}")

    def convert(self, fiche, position: int, report: ImportReport) -> Graph | None:
        cqp = self.cqp
        number = _text(fiche, "NUMERO_FICHE")
        problems = report.problems

        def problem(message: str):
            problems.append(Problem(position, number, message))

        match = NUMBER.match(number or "")
        if not match:
            problem(f"NUMERO_FICHE « {number or ''} » n'est pas RNCP… ou RS… suivi de chiffres : fiche écartée")
            report.skipped += 1
            return None
        graph = Graph()
        record = self.record_iri(number)
        add = graph.add
        add((record, RDF.type, cqp.RegisterRecord))
        add((record, cqp.recordNumber, Literal(number)))
        add((record, cqp.rncpNumber if match.group(1) == "RNCP" else cqp.rsNumber, Literal(match.group(2))))
        if _text(fiche, "ID_FICHE"):
            add((record, cqp.recordId, Literal(_text(fiche, "ID_FICHE"))))
        title = _text(fiche, "INTITULE")
        if title:
            add((record, DCTERMS.title, Literal(title, lang="fr")))
            add((record, SKOS.prefLabel, Literal(title, lang="fr")))
        else:
            problem("INTITULE manquant")
        for path, prop in (("ABREGE/CODE", cqp.abbreviation), ("ABREGE/LIBELLE", cqp.abbreviationLabel),
                           ("NOMENCLATURE_EUROPE/NIVEAU", cqp.levelCode),
                           ("NOMENCLATURE_EUROPE/LIBELLE", cqp.levelLabel), ("ETAT_FICHE", cqp.recordState),
                           ("TYPE_ENREGISTREMENT", cqp.registrationType)):
            value = _text(fiche, path)
            if value:
                add((record, prop, Literal(value, lang="fr") if prop in (cqp.abbreviationLabel, cqp.levelLabel)
                     else Literal(value)))
        level = _text(fiche, "NOMENCLATURE_EUROPE/NIVEAU")
        if level and not re.match(r"^NIV[1-8]$", level):
            problem(f"NOMENCLATURE_EUROPE/NIVEAU « {level} » n'est pas NIV1…NIV8")
        active = _text(fiche, "ACTIF")
        if active in ("Oui", "Non"):
            add((record, cqp.active, Literal(active == "Oui")))
        elif active is not None:
            problem(f"ACTIF « {active} » ne vaut ni Oui ni Non")
        for element, prop in DATES.items():
            value = _text(fiche, element)
            if value:
                try:
                    add((record, cqp[prop], Literal(_date(value).isoformat(), datatype=XSD.date)))
                except ValueError:
                    problem(f"{element} « {value} » n'est pas une date (jj/mm/aaaa)")
        for path, prop in (("CODES_ROME/ROME", cqp.romeCode), ("CODES_NSF/NSF", cqp.nsfCode),
                           ("FORMACODES/FORMACODE", cqp.formacode)):
            for item in fiche.findall(path):
                code = _text(item, "CODE")
                if code:
                    add((record, prop, Literal(code)))
        for certifier in fiche.findall("CERTIFICATEURS/CERTIFICATEUR"):
            name = _text(certifier, "NOM_CERTIFICATEUR")
            siret = _text(certifier, "SIRET_CERTIFICATEUR")
            if siret and not re.match(r"^\d{14}$", siret):
                problem(f"SIRET_CERTIFICATEUR « {siret} » n'a pas 14 chiffres")
            key = siret if siret and re.match(r"^\d{14}$", siret) else \
                "name-" + re.sub(r"[^a-z0-9]+", "-", (name or "unknown").lower()).strip("-")
            node = URIRef(f"{self.base}organisation/{key}")
            add((record, cqp.certifier, node))
            add((node, RDF.type, cqp.Certifier))
            if name:
                add((node, FOAF.name, Literal(name)))
                add((node, SKOS.prefLabel, Literal(name)))
            if siret:
                add((node, cqp.siret, Literal(siret)))
            state = _text(certifier, "ETAT_CERTIFICATEUR")
            if state:
                add((node, cqp.certifierState, Literal(state)))
        for element, (code, label) in ROUTES.items():
            jury = fiche.find(element)
            if jury is None:
                continue
            node = URIRef(f"{record}/route/{code}")
            add((record, cqp.hasAccessRoute, node))
            add((node, RDF.type, cqp.AccessRoute))
            add((node, cqp.routeCode, Literal(code)))
            add((node, SKOS.prefLabel, Literal(label, lang="fr")))
            open_ = _text(jury, "ACTIF")
            if open_ in ("Oui", "Non"):
                add((node, cqp.open, Literal(open_ == "Oui")))
            composition = _text(jury, "COMPOSITION")
            if composition:
                add((node, cqp.juryComposition, Literal(composition, lang="fr")))
        for new in fiche.findall("NOUVELLES_CERTIFICATIONS/NOUVELLE_CERTIFICATION"):
            other = _text(new, "ID_FICHE_NOUVELLE_CERTIFICATION")
            if other and NUMBER.match(other):
                add((record, DCTERMS.isReplacedBy, self.record_iri(other)))
        for old in fiche.findall("ANCIENNES_CERTIFICATIONS/ANCIENNE_CERTIFICATION"):
            other = _text(old, "ID_FICHE_ANCIENNE_CERTIFICATION")
            if other and NUMBER.match(other):
                add((record, DCTERMS.replaces, self.record_iri(other)))
        for index, block in enumerate(fiche.findall("BLOCS_COMPETENCES/BLOC_COMPETENCES"), start=1):
            code = _text(block, "CODE")
            code_match = BLOCK_CODE.match(code or "")
            if not code_match:
                problem(f"bloc #{index} : CODE « {code or ''} » n'est pas RNCP…BC… : bloc écarté")
                continue
            if code_match.group(1) != number:
                problem(f"le bloc {code} n'appartient pas à la fiche {number}")
            node = self.block_iri(code)
            report.blocks += 1
            add((record, cqp.hasBlock, node))
            add((node, RDF.type, cqp.CompetenceBlock))
            add((node, cqp.code, Literal(code)))
            add((node, cqp.order, Literal(int(code_match.group(2)))))
            label = _text(block, "LIBELLE")
            if label:
                add((node, SKOS.prefLabel, Literal(label, lang="fr")))
            else:
                problem(f"bloc {code} : LIBELLE manquant")
            competences = block.findtext("LISTE_COMPETENCES")
            if competences and competences.strip():
                add((node, cqp.competenceListText, Literal(competences, lang="fr")))
                method, items, preamble = split_competences(competences)
                add((node, cqp.itemisation, Literal(method)))
                if preamble:
                    add((node, cqp.itemPreamble, Literal(preamble, lang="fr")))
                report.itemisation[method] = report.itemisation.get(method, 0) + 1
                for rank, item in enumerate(items, start=1):
                    item_node = URIRef(f"{node}/item/{rank}")
                    add((node, cqp.hasItem, item_node))
                    add((item_node, RDF.type, cqp.BlockCompetenceItem))
                    add((item_node, cqp.order, Literal(rank)))
                    add((item_node, cqp.itemText, Literal(item, lang="fr")))
                    report.items += 1
            modalities = block.findtext("MODALITES_EVALUATION")
            if modalities and modalities.strip():
                add((node, cqp.assessmentText, Literal(modalities, lang="fr")))
        for index, correspondence in enumerate(fiche.findall("CORRESPONDANCES/CORRESPONDANCE"), start=1):
            node = URIRef(f"{record}/correspondence/{index}")
            add((record, cqp.hasCorrespondence, node))
            add((node, RDF.type, cqp.BlockCorrespondence))
            for source in correspondence.findall("SOURCE/BLOC_COMPETENCES"):
                if _text(source, "CODE"):
                    add((node, cqp.sourceBlock, self.block_iri(_text(source, "CODE"))))
            target_number = _text(correspondence, "DESTINATION/NUMERO_FICHE")
            if target_number and NUMBER.match(target_number):
                add((node, cqp.targetRecord, self.record_iri(target_number)))
            for target in correspondence.findall("DESTINATION/BLOC_COMPETENCES"):
                if _text(target, "CODE"):
                    add((node, cqp.targetBlock, self.block_iri(_text(target, "CODE"))))
        report.fiches += 1
        if match.group(1) == "RNCP":
            report.rncp += 1
        else:
            report.rs += 1
        return graph


def _check(graph: Graph, shapes: Graph, report: ImportReport, cqp) -> None:
    from cqp_graph.graph.validate import validate_graph

    numbers = {str(s): str(o) for s, o in graph.subject_objects(cqp.recordNumber)}
    for finding in validate_graph(graph, shapes).violations:
        record = next((n for iri, n in numbers.items() if finding.focus.startswith(iri)), None)
        report.problems.append(Problem(0, record, f"forme non respectée (SHACL) sur {finding.focus} : {finding.message}"))


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
                shapes: Graph | None = None, batch: int = 200) -> ImportReport:
    """Convert an export file to Turtle at `output` (written to a temporary file, then renamed).

    With `shapes`, the converted fiches are validated batch by batch (memory stays bounded) and
    each violation is reported with its fiche.
    """
    import os
    import tempfile

    from cqp_graph.publish.atomic import file_mode, fsync_folder

    report = ImportReport()
    converter = RecordConverter(base)
    output = Path(output)
    output.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{output.name}.", dir=output.parent)
    try:
        os.fchmod(fd, file_mode())  # mkstemp makes 0600; the output gets the usual mode, umask respected
        with os.fdopen(fd, "w", encoding="utf-8") as out:
            header = bind_prefixes(Graph(), base)
            out.write("".join(f"@prefix {p}: <{ns}> .\n" for p, ns in header.namespaces()))
            out.write("\n")
            pending = Graph()
            try:
                for position, fiche in iter_fiches(path, on_read):
                    graph = converter.convert(fiche, position, report)
                    if graph is None:
                        continue
                    text = bind_prefixes(graph, base).serialize(format="turtle")
                    out.write("\n".join(line for line in text.splitlines() if not line.startswith("@prefix")))
                    out.write("\n")
                    if shapes is not None:
                        pending += graph
                        if report.fiches % batch == 0:
                            _check(pending, shapes, report, converter.cqp)
                            pending = Graph()
            except ET.ParseError as exc:
                line, column = exc.position
                report.problems.append(Problem(report.fiches + report.skipped + 1, None,
                                               f"erreur de syntaxe XML ligne {line}, colonne {column} "
                                               f"(message d'expat : « {exc} ») ; les fiches qui précèdent "
                                               "sont gardées"))
            if shapes is not None and len(pending):
                _check(pending, shapes, report, converter.cqp)
            out.flush()
            os.fsync(out.fileno())
        os.replace(tmp, output)
        fsync_folder(output.parent)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return report
