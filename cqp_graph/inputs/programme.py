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

Excel (.xlsx): the same columns, header on the first non-empty row, in the sheet « Programme » (else the
first sheet); read with openpyxl in read-only mode, values only (a formula counts by the value Excel last
computed and saved; one never computed reads as an empty cell). The archive is checked before any part
is read: its size (CQP_GRAPH_INPUT_MAX_BYTES), the total size of its parts once unzipped
(CQP_GRAPH_INPUT_MAX_UNZIPPED_BYTES), the XML elements, shared texts and sheets of its parts (in
proportion to CQP_GRAPH_INPUT_MAX_ENTRIES: openpyxl's time grows with them); then, while the sheet is
read, rows and filled cells (CQP_GRAPH_INPUT_MAX_ENTRIES) and text length (CQP_GRAPH_INPUT_MAX_STRING);
only the first XLSX_MAX_COLUMNS columns are read, and the sheet's declared dimension is not trusted. Errors name
the file, the sheet, the row (as Excel numbers it) and the module, as for CSV.

Lives here: the programme's schema (`ProgrammeIn`), its RDF form (`programme_graph`) and `load_programme`, which
reads and checks it against the referential it is for (through the knowledge layer). Not here: what it covers
(`cqp_graph.analyses.coverage`), line-numbered reading (`cqp_graph.inputs.files`).
"""

from __future__ import annotations

import datetime
import hashlib
import io
import math
import re
import zipfile
from pathlib import Path
from urllib.parse import quote

from decimal import Decimal
from typing import Annotated, Optional

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field
from rdflib import Graph, Literal, URIRef
from rdflib.namespace import DCTERMS, RDF, XSD

from cqp_graph.inputs.files import (CONTROL, InputError, InputLimits, LineDict, LineList, Located, check_with_shapes,
                                    choose_referential, code_hints, lined, load_yaml, number_literal, read_bytes,
                                    read_csv_records, read_text,
                                    strict_number, strict_text, validate)
from cqp_graph.namespaces import Minter, ontology_ns
from cqp_graph.source.tables import unknown_columns
from cqp_graph.suggest import did_you_mean
from cqp_graph.query.knowledge import Knowledge, Referential

#: what a programme file may be, for the message on a file that is not one (a PDF, an image…)
PROGRAMME_FILES = "un programme est un classeur .xlsx, un .csv ou un .yaml"
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


def _unknown_key(loc) -> str:
    """« clé inconnue « x » (attendu : …) » listing the keys of where it is: a module's or the programme's, and
    « ; vouliez-vous dire hours ? » when one is close."""
    keys = MODULE_KEYS if len(loc) > 2 and loc[0] == "modules" else PROGRAMME_KEYS
    hint = did_you_mean(str(loc[-1]), sorted(keys)) if loc else ""  # a known key: no brace for format()
    return "clé inconnue « {last} » (attendu : " + ", ".join(sorted(keys)) + ")" + (f" ; {hint}" if hint else "")


PROGRAMME_MESSAGES = {("greater_than_equal", "hours"): "« hours » ne peut pas être négatif",
                      "extra_forbidden": _unknown_key}


def _module_label(modules):
    def label(loc):
        if len(loc) >= 2 and loc[0] == "modules" and isinstance(loc[1], int):
            module = modules[loc[1]] if isinstance(modules, list) and loc[1] < len(modules) else None
            code = module.get("code") if isinstance(module, dict) else None
            named = isinstance(code, str) and code and not CONTROL.search(code)  # a code never echoes one
            return f"module {code if named else '#' + str(loc[1] + 1)}", 2
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
    fmt = fmt or programme_format(path)
    if fmt == "xlsx":
        sheet, records = read_xlsx_records(text, path, limits)
        with _SheetNamed(path, sheet):
            header, modules = _tabular(records, path, records.line)
        return {**header, "sheet": sheet}, modules
    if isinstance(text, dict):
        data = text if isinstance(text, LineDict) else lined(text)
        validate(ProgrammeIn, data, path, label=_module_label(data.get("modules")), overrides=PROGRAMME_MESSAGES)
        return _header(data), data["modules"]
    if fmt == "csv":
        return _tabular(read_csv_records(text, path, limits), path)
    data = load_yaml(text, path, limits)
    if not isinstance(data, dict):
        raise InputError(path, [(1, "un programme est une table avec « title » et « modules »")])
    validate(ProgrammeIn, data, path, label=_module_label(data.get("modules")), overrides=PROGRAMME_MESSAGES)
    return _header(data), data["modules"]


def _tabular(records: list[LineDict], path, header_line: int = 1) -> tuple[dict, list[LineDict]]:
    """A programme given as a table (CSV or a spreadsheet's sheet): one module a record, the title the file's
    name; checked by ProgrammeIn as CSV text (« 21,5 » is a number, « RC2|RC4 » a list)."""
    modules = LineList(records)
    modules.line, modules.item_lines = header_line, [m.line for m in modules]  # errors name each record's line
    columns = set().union(*modules)  # the columns that hold a value somewhere (an empty cell is not kept)
    unknown = sorted(columns - MODULE_KEYS)
    if unknown:  # « hour » for hours: the close known column the file lacks is suggested
        raise InputError(path, [(header_line, unknown_columns(unknown, sorted(MODULE_KEYS), columns))])
    data = LineDict(title=Path(str(path)).stem or "programme", modules=modules)
    data.line, data.key_lines = header_line, {}
    validate(ProgrammeIn, data, path, context={"csv": True}, label=_module_label(modules),
             overrides=PROGRAMME_MESSAGES)
    return {"title": data["title"]}, modules


#: names of workbooks: read as .xlsx, whose checks say what to do with the others (.xls, .ods: save as .xlsx)
WORKBOOK_NAMES = (".xlsx", ".xls", ".xlsm", ".ods")


def programme_format(path, raw: bytes | None = None) -> str:
    """The format a programme file is read in: "xlsx" for a workbook (its name, or its first bytes when given: a
    ZIP archive or an old Office file), "csv" for a .csv, else "yaml" (JSON included)."""
    name = str(path).lower()
    if name.endswith(WORKBOOK_NAMES) or (raw is not None and raw.startswith((b"PK", _OLE_MAGIC))):
        return "xlsx"
    return "csv" if name.endswith(".csv") else "yaml"


# -- Excel (.xlsx) ---------------------------------------------------------------------------

#: columns of a sheet that are read (a value further right is not read): the programme has six
XLSX_MAX_COLUMNS = 32
_XLSX_MAX_PARTS = 1000  # files inside the archive: a workbook has a dozen or two
_OLE_MAGIC = b"\xd0\xcf\x11\xe0"


class _SheetNamed:
    """Re-raise an InputError raised inside the `with` with the sheet named in each message."""

    def __init__(self, path, sheet: str):
        self.path, self.sheet = path, sheet

    def __enter__(self):
        return self

    def __exit__(self, kind, exc, tb):
        if isinstance(exc, InputError) and not getattr(exc, "sheet_named", False):
            error = InputError(exc.path, [(line, f"feuille « {self.sheet} », {msg}") for line, msg in exc.problems])
            error.sheet_named = True
            raise error from None
        return False


def _xlsx_text(value) -> str:
    """A cell's value as the text a CSV cell would hold (21 -> "21", 3.5 -> "3.5", True -> "true")."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        if math.isfinite(value) and value.is_integer() and abs(value) < 1e15:
            return str(int(value))
        return repr(value)
    if isinstance(value, (datetime.datetime, datetime.date, datetime.time)):
        return value.isoformat()
    return str(value)


def _xlsx_refuse(path, message: str, line: int | None = None):
    raise InputError(path, [(line, message)])


def check_xlsx_archive(raw: bytes, path, limits: InputLimits) -> None:
    """Refuse, before any part is read, what is not an .xlsx archive or would unzip past the limits."""
    if len(raw) > limits.max_bytes:
        _xlsx_refuse(path, f"fichier de {len(raw)} octets : au plus {limits.max_bytes} (CQP_GRAPH_INPUT_MAX_BYTES)")
    if raw.startswith(_OLE_MAGIC):
        _xlsx_refuse(path, "classeur Excel à l'ancien format (.xls) ou protégé par un mot de passe : l'enregistrer "
                           "au format .xlsx (Classeur Excel), sans mot de passe")
    if not raw.startswith(b"PK"):
        _xlsx_refuse(path, "ce n'est pas un classeur Excel .xlsx (une archive ZIP est attendue)")
    try:
        with zipfile.ZipFile(io.BytesIO(raw)) as archive:
            parts = archive.infolist()
    except (zipfile.BadZipFile, zipfile.LargeZipFile, ValueError, OSError, EOFError, NotImplementedError):
        _xlsx_refuse(path, "archive .xlsx illisible (fichier tronqué ou abîmé ?)")
    if len(parts) > _XLSX_MAX_PARTS:
        _xlsx_refuse(path, f"archive de {len(parts)} parties : un classeur .xlsx en a au plus {_XLSX_MAX_PARTS}")
    odd = next((p for p in parts if p.compress_type not in (zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED)), None)
    if odd is not None:  # Excel deflates; bzip2 or lzma would unpack unbounded chunks
        _xlsx_refuse(path, f"partie « {odd.filename[:80]} » compressée autrement que par Excel (méthode "
                           f"{odd.compress_type}) : enregistrer le fichier depuis Excel ou LibreOffice")
    unzipped = sum(p.file_size for p in parts)
    if unzipped > limits.max_unzipped:
        _xlsx_refuse(path, f"classeur de {unzipped} octets une fois décompressé : au plus {limits.max_unzipped} "
                           "(CQP_GRAPH_INPUT_MAX_UNZIPPED_BYTES)")
    names = {p.filename for p in parts}
    if "xl/workbook.xml" not in names:
        _xlsx_refuse(path, "archive ZIP qui n'est pas un classeur Excel .xlsx (xl/workbook.xml manque ; un "
                           "fichier .ods s'enregistre au format .xlsx depuis LibreOffice)")
    _check_xml_elements(raw, parts, path, limits)


#: XML elements a workbook may hold per CQP_GRAPH_INPUT_MAX_ENTRIES, in its sheets and in its other parts, and
#: shared texts: openpyxl spends up to ~150 µs on some elements (a style, a defined name, a shared text), so these
#: bound the reading time to a second or two; a programme's workbook holds a few hundred, the template with the
#: referential's sheets a few thousand (sheets are read lazily: only the programme's is parsed)
XLSX_SHEET_ELEMENTS_PER_ENTRY = 4
XLSX_OTHER_ELEMENTS_PER_ENTRY = 2
XLSX_SHARED_TEXTS_PER_ENTRY = 1
#: sheets a workbook may list (openpyxl's cost grows faster than their number)
XLSX_MAX_SHEETS = 256
_SHARED_TEXT = re.compile(rb"<(?:[A-Za-z_][\w.-]*:)?si[\s/>]")
_SHEET = re.compile(rb"<(?:[A-Za-z_][\w.-]*:)?sheet[\s/>]")


def _check_xml_elements(raw: bytes, parts, path, limits: InputLimits) -> None:
    """Count the elements of every part (already bounded in size) before openpyxl parses any."""
    in_sheets = elsewhere = shared = sheets = 0
    most = {True: XLSX_SHEET_ELEMENTS_PER_ENTRY * limits.max_entries,
            False: XLSX_OTHER_ELEMENTS_PER_ENTRY * limits.max_entries}
    most_shared = XLSX_SHARED_TEXTS_PER_ENTRY * limits.max_entries
    keep_alone = "garder dans le fichier la feuille du programme seule"
    try:
        with zipfile.ZipFile(io.BytesIO(raw)) as archive:
            for part in parts:
                if part.is_dir():
                    continue
                data = archive.read(part)
                count = data.count(b"<") - data.count(b"</") - data.count(b"<?") - data.count(b"<!")
                sheet_part = part.filename.startswith("xl/worksheets/")
                if sheet_part:
                    in_sheets += count
                else:
                    elsewhere += count
                shared += len(_SHARED_TEXT.findall(data))
                sheets += len(_SHEET.findall(data))
                if sheets > XLSX_MAX_SHEETS:
                    _xlsx_refuse(path, f"classeur de plus de {XLSX_MAX_SHEETS} feuilles")
                if (in_sheets if sheet_part else elsewhere) > most[sheet_part]:
                    where, factor = (("ses feuilles", XLSX_SHEET_ELEMENTS_PER_ENTRY) if sheet_part
                                     else ("ses styles, noms et autres parties", XLSX_OTHER_ELEMENTS_PER_ENTRY))
                    _xlsx_refuse(path, f"classeur de plus de {most[sheet_part]} éléments XML dans {where} (au plus "
                                       f"{factor} × CQP_GRAPH_INPUT_MAX_ENTRIES) : {keep_alone}")
                if shared > most_shared:
                    _xlsx_refuse(path, f"classeur de plus de {most_shared} textes partagés (au plus "
                                       f"{XLSX_SHARED_TEXTS_PER_ENTRY} × CQP_GRAPH_INPUT_MAX_ENTRIES) : {keep_alone}")
    except InputError:
        raise
    except (zipfile.BadZipFile, ValueError, OSError, EOFError, NotImplementedError, RuntimeError):
        _xlsx_refuse(path, "archive .xlsx illisible (partie abîmée, chiffrée ou tronquée)")


def read_xlsx_records(raw, path, limits: InputLimits | None = None) -> tuple[str, LineList]:
    """(the sheet read, its rows as LineDicts keyed by the header row, each with its Excel row number; the
    list's `line` is the header's row)."""
    from openpyxl import load_workbook

    limits = limits or InputLimits()
    if not isinstance(raw, (bytes, bytearray, memoryview)):
        _xlsx_refuse(path, "un classeur .xlsx se lit en octets (le fichier tel quel), pas en texte")
    raw = bytes(raw)
    check_xlsx_archive(raw, path, limits)
    try:
        workbook = load_workbook(io.BytesIO(raw), read_only=True, data_only=True, keep_links=False)
    except InputError:
        raise
    except Exception as exc:  # noqa: BLE001 - openpyxl's errors on a damaged archive are of many kinds
        _xlsx_refuse(path, f"classeur .xlsx illisible ({type(exc).__name__})")
    try:
        sheets = [ws for ws in workbook.worksheets if hasattr(ws, "iter_rows")]
        if not sheets:
            _xlsx_refuse(path, "le classeur n'a aucune feuille de calcul")
        sheet = next((ws for ws in sheets if ws.title.strip().lower() == "programme"), sheets[0])
        sheet.reset_dimensions()  # the <dimension> a file declares may be stale: read every row, within the limits
        with _SheetNamed(path, sheet.title):
            return sheet.title, _sheet_records(sheet, path, limits)
    except InputError:
        raise
    except Exception as exc:  # noqa: BLE001 - a part of the archive that openpyxl cannot parse
        _xlsx_refuse(path, f"classeur .xlsx illisible ({type(exc).__name__})")
    finally:
        workbook.close()


def _sheet_records(sheet, path, limits: InputLimits) -> LineList:
    """The sheet's rows under its header row (a LineList whose `line` is the header's row)."""
    header: list[str] | None = None
    header_line = 1
    records = LineList()
    entries = 0
    for line, row in enumerate(sheet.iter_rows(min_row=1, max_col=XLSX_MAX_COLUMNS, values_only=True), start=1):
        if line > limits.max_entries:
            _xlsx_refuse(path, f"plus de {limits.max_entries} lignes (CQP_GRAPH_INPUT_MAX_ENTRIES)", line)
        cells = [_xlsx_text(v).strip() for v in row]
        filled = [(i, c) for i, c in enumerate(cells) if c]
        if not filled:
            continue
        entries += len(filled)
        if entries > limits.max_entries:
            _xlsx_refuse(path, f"plus de {limits.max_entries} cellules remplies (CQP_GRAPH_INPUT_MAX_ENTRIES)", line)
        long = next((c for _i, c in filled if len(c) > limits.max_string), None)
        if long is not None:
            _xlsx_refuse(path, f"valeur de {len(long)} caractères : au plus {limits.max_string} "
                               "(CQP_GRAPH_INPUT_MAX_STRING)", line)
        if header is None:
            header, header_line = cells, line
            while header and not header[-1]:
                header.pop()
            blank = [i for i, h in enumerate(header) if not h]
            if blank:
                _xlsx_refuse(path, f"ligne d'en-tête : la colonne {blank[0] + 1} n'a pas de nom", line)
            seen = set()
            for h in header:
                if h in seen:
                    _xlsx_refuse(path, f"ligne d'en-tête : colonne « {h} » en double", line)
                seen.add(h)
            continue
        beyond = [i for i, _c in filled if i >= len(header)]
        if beyond:
            _xlsx_refuse(path, f"valeur dans la colonne {beyond[0] + 1}, qui n'a pas d'en-tête", line)
        record = LineDict((h, c) for h, c in zip(header, cells) if c != "")
        record.line, record.key_lines = line, {}
        records.append(record)
    if header is None:
        _xlsx_refuse(path, "feuille vide : une ligne d'en-tête est attendue", 1)
    records.line, records.item_lines = header_line, [r.line for r in records]
    return records


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


def read_xlsx_file(path: Path, limits: InputLimits | None = None) -> bytes:
    """An .xlsx file's bytes, at most `max_bytes` read: the same reading and checks as any input file
    (`cqp_graph.inputs.files.read_bytes`); the archive itself is checked by `check_xlsx_archive`."""
    return read_bytes(path, limits)


def load_programme(path: Path | str, knowledge: Knowledge, shapes: Graph, referential: str | None = None,
                   text: str | dict | None = None, fmt: str | None = None,
                   limits: InputLimits | None = None) -> tuple[Graph, URIRef, Referential]:
    """Read, convert and check a programme (the file at `path`, or its `text`, or the parsed programme) for the
    referential it declares or `referential` (None: the only one); raise InputError (file, line, module) on
    any problem. Returns the programme as RDF, its IRI and the referential it is for."""
    fmt = fmt or programme_format(path)
    if text is None:
        text = read_xlsx_file(Path(path), limits) if fmt == "xlsx" else read_text(Path(path), limits, PROGRAMME_FILES)
    header, modules = parse_programme(text, path, fmt, limits)
    line = header.line_of("referential") if isinstance(header, LineDict) else 1
    chosen = choose_referential(knowledge, header.get("referential"), referential, path, line)
    graph, programme, where = programme_graph(header, modules, path, knowledge.base, chosen.name)
    hint = code_hints(knowledge, chosen.name)
    if header.get("sheet"):
        with _SheetNamed(path, header["sheet"]):
            check_with_shapes(graph, knowledge, shapes, path, knowledge.base,
                              lambda node: where.get(node, Located(None, str(node))), hint)
    else:
        check_with_shapes(graph, knowledge, shapes, path, knowledge.base,
                          lambda node: where.get(node, Located(None, str(node))), hint)
    return graph, programme, chosen
