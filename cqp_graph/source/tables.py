"""The data files of a referential: which tables exist, their columns, and how they are read.

A referential is a folder of CSV files (UTF-8, comma-separated, one header row, one
row per fact). This module checks what a spreadsheet can get wrong -- a missing
file or column, an empty required cell, a value of the wrong type, a duplicated
key -- and names the file, the line and the column, in French (« missions.csv:4: colonne « order » :
« deux » n'est pas un nombre entier »); an unknown column gets the close match of `cqp_graph.suggest`
(« vouliez-vous dire label ? »). Everything about meaning (does this mission exist? is 120 % a threshold?) is
checked by the SHACL shapes.

Lives here: the tables and their columns (`TABLES`), `read_table` / `read_referential`, `DataError`, and the
French wording of what a CSV file gets wrong that `cqp_graph.inputs` shares (`csv_syntax`, `unknown_columns`).
Not here: turning rows into triples (`cqp_graph.source.referential`), the files people upload
(`cqp_graph.inputs`).
"""

from __future__ import annotations

import csv
import re
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from pathlib import Path

from cqp_graph.suggest import did_you_mean


class DataError(ValueError):
    """A malformed data file: names the file, the line and what is wrong."""

    def __init__(self, path: Path, line: int | None, message: str):  # message: French, for a person
        self.path = Path(path)
        self.line = line
        self.message = message
        where = f"{path}:{line}" if line else f"{path}"  # as given: a store's URL keeps its "//"
        super().__init__(f"{where}: {message}")


@dataclass(frozen=True)
class Column:
    name: str
    doc: str
    required: bool = True
    type: str = "str"  # str | int | decimal | bool | list
    pattern: str | None = None


@dataclass(frozen=True)
class Table:
    file: str
    doc: str
    columns: tuple[Column, ...]
    key: tuple[str, ...] = ("code",)
    required: bool = True


@dataclass
class Row:
    """One row of a table: its values (typed) and the line it came from."""

    table: Table
    path: Path
    line: int
    values: dict = field(default_factory=dict)

    def __getitem__(self, name: str):
        return self.values[name]

    def get(self, name: str, default=None):
        value = self.values.get(name)
        return default if value in (None, "", []) else value

    def error(self, message: str) -> DataError:
        return DataError(self.path, self.line, message)


def _source_columns() -> tuple[Column, ...]:
    return (
        Column("source_section", "section of the source document the fact comes from (provenance)"),
        Column("source_lines", "lines of the source's extracted text, e.g. 403 or 825, 868-869", required=False,
               pattern=r"^[0-9]+(-[0-9]+)?(, ?[0-9]+(-[0-9]+)?)*$"),
    )


SRC = _source_columns()
CODE = r"^[A-Za-z0-9][A-Za-z0-9_.-]*$"

TABLES: tuple[Table, ...] = (
    Table("certification.csv", "facts about the certification, one property a row", key=("property",), columns=(
        Column("property", "title, type, abbreviation, sector, rncp_number, nsf_code, certifier, language or "
                           "source_document",
               pattern=r"^(title|type|abbreviation|sector|rncp_number|nsf_code|certifier|language|source_document)$"),
        Column("value", "the value as the source gives it"),
        Column("lang", "language tag of the value (fr) or empty for a code", required=False),
        *SRC,
    )),
    Table("job-profile.csv", "facts about the job, one property a row", key=("property",), columns=(
        Column("property", "title, purpose or hierarchical_position",
               pattern=r"^(title|purpose|hierarchical_position)$"),
        Column("value", "the value as the source gives it"),
        Column("lang", "language tag of the value", required=False),
        *SRC,
    )),
    Table("functional-relations.csv", "the parties the post works with", columns=(
        Column("code", "stable code of the relation (minted)", pattern=CODE),
        Column("party", "the party as written"),
        Column("role", "pilot, supplier, client or resource -- only where certain", required=False,
               pattern=r"^(pilot|supplier|client|resource)$"),
        Column("role_status", "certain or unreadable", pattern=r"^(certain|unreadable)$"),
        Column("unreadable_in", "code of the source gap (source-gaps.csv) that hides the role, when unreadable",
               required=False, pattern=CODE),
        *SRC,
        Column("note", "why the role is or is not asserted", required=False),
    )),
    Table("missions.csv", "the missions of the job", columns=(
        Column("code", "mission code (M1...)", pattern=CODE),
        Column("label", "French label as written"),
        Column("order", "rank of the mission", type="int"),
        *SRC,
    )),
    Table("activities.csv", "the activities, each in one mission", columns=(
        Column("code", "activity code (M1A1...)", pattern=CODE),
        Column("mission", "code of its mission", pattern=CODE),
        Column("label", "French label as written"),
        *SRC,
    )),
    Table("domains.csv", "the competence domains", columns=(
        Column("code", "domain code (R, PO, OT...)", pattern=CODE),
        Column("label", "French label as written"),
        Column("order", "rank of the domain", type="int"),
        *SRC,
    )),
    Table("competences.csv", "the coded competences with their reference wording", columns=(
        Column("code", "competence code as the source gives it (RC1, POSF3...)", pattern=CODE),
        Column("kind", "C (knowledge) or SF (know-how)"),
        Column("domain", "code of its domain", pattern=CODE),
        Column("label", "reference wording (French)"),
        *SRC,
    )),
    Table("aptitudes.csv", "the aptitudes the job requires; the source gives them no code, so codes are minted",
          columns=(
        Column("code", "minted code (A1...)", pattern=CODE),
        Column("label", "French label as written"),
        Column("order", "rank in the source's list", type="int"),
        Column("minted", "true where the code was minted by cqp-graph, not given by the source", required=False, type="bool"),
        *SRC,
        Column("note", "remark", required=False),
    )),
    Table("requirements.csv", "which mission needs which competence, with the code and wording as written on the mission's page",
          key=("mission", "competence"), columns=(
        Column("mission", "mission code", pattern=CODE),
        Column("competence", "competence code it resolves to", pattern=CODE),
        Column("code_as_written", "the code exactly as written on the page"),
        Column("label_as_written", "the wording exactly as written on the page"),
        *SRC,
    )),
    Table("variants.csv", "other wordings of activities, domains or the certification, where they appear",
          key=("item_type", "item_code", "label_as_written", "source_lines"), required=False, columns=(
        Column("item_type", "activity, domain, mission, competence or certification",
               pattern=r"^(activity|domain|mission|competence|certification)$"),
        Column("item_code", "code of the item (empty for the certification)", required=False),
        Column("code_as_written", "the code as written, if any", required=False),
        Column("label_as_written", "the wording as written"),
        *SRC,
    )),
    Table("blocks.csv", "the competence blocks", columns=(
        Column("code", "block code (minted where the source gives none)", pattern=CODE),
        Column("label", "French title as written"),
        Column("domain", "code of the domain the block certifies", pattern=CODE),
        Column("order", "rank of the block", type="int"),
        Column("minted", "true where the code was minted by cqp-graph, not given by the source", required=False, type="bool"),
        *SRC,
        Column("note", "remark", required=False),
    )),
    Table("units.csv", "the certification units (UC)", columns=(
        Column("code", "unit code (minted where the source gives none)", pattern=CODE),
        Column("label", "French title as written"),
        Column("block", "code of its block; empty where the source does not say", required=False, pattern=CODE),
        Column("order", "rank of the unit", type="int"),
        Column("minted", "true where the code was minted by cqp-graph, not given by the source", required=False, type="bool"),
        Column("unreadable_in", "code of the source gap that hides the block", required=False, pattern=CODE),
        *SRC,
        Column("note", "remark", required=False),
    )),
    Table("routes.csv", "the assessment routes", columns=(
        Column("code", "route code (formation, blocs, vae)", pattern=CODE),
        Column("label", "French label as written"),
        Column("order", "rank of the route", type="int"),
        Column("description", "what the source says of it", required=False),
        Column("attestation_validity", "validity of a block attestation, as written", required=False),
        Column("validity_unlimited", "true when that validity has no time limit", required=False, type="bool"),
        Column("rncp_jury", "the element of France Compétences' export (flux 4.1) that describes this route's jury "
               "(e.g. SI_JURY_VAE), where the register has one; not in the source, a mapping", required=False,
               pattern=r"^SI_JURY_[A-Z_]+$"),
        *SRC,
    )),
    Table("evaluators.csv", "the evaluator types", columns=(
        Column("code", "evaluator code (trainer, tutor, professional)", pattern=CODE),
        Column("label", "French label"),
        Column("heading", "the source's heading for this evaluation", required=False),
        Column("description", "what the source says of it", required=False),
        Column("order", "rank", type="int"),
        *SRC,
    )),
    Table("rules.csv", "the threshold rules of every route", columns=(
        Column("code", "rule code", pattern=CODE),
        Column("route", "route code", pattern=CODE),
        Column("scope", "what is measured: block, block-evaluator, know-how or unit",
               pattern=r"^(block|block-evaluator|know-how|unit)$"),
        Column("gates", "what the rule decides: block (its acquisition), unit, or certification (the whole CQP only)",
               pattern=r"^(block|unit|certification)$"),
        Column("evaluator", "evaluator code, where the rule is for one evaluator type", required=False, pattern=CODE),
        Column("min_percent", "minimum result in %", type="decimal"),
        Column("basis", "stated (the source says so) or declared-choice (the source leaves it open)",
               pattern=r"^(stated|declared-choice)$"),
        Column("label", "the rule in French"),
        *SRC,
    )),
    Table("settings.csv", "values the source leaves open, fixed here with their justification", required=False, columns=(
        Column("code", "setting code", pattern=CODE),
        Column("value", "the chosen value"),
        Column("allowed_values", "values allowed, separated by |", type="list"),
        Column("basis", "declared-choice", pattern=r"^(stated|declared-choice)$"),
        Column("label", "what the setting means, in French"),
        *SRC,
    )),
    Table("publication.csv", "values publishing needs (levels, ISCED-F, language, data licence, rights statement); "
          "empty where nobody knows them yet", required=False, columns=(
        Column("code", "setting code (rncp-level, eqf-level, nqf-level, isced-f, language, data-licence: the IRI of "
               "the licence the graph is republished under, rights: the rights statement, in French)", pattern=CODE),
        Column("value", "the value, or empty when unknown", required=False),
        Column("basis", "stated, declared-choice or unknown", pattern=r"^(stated|declared-choice|unknown)$"),
        Column("label", "what it is and where it comes from, in French"),
        *SRC,
    )),
    Table("vae-steps.csv", "the steps of the VAE route", required=False, columns=(
        Column("code", "step code", pattern=CODE),
        Column("route", "code of the route the step belongs to", pattern=CODE),
        Column("order", "rank", type="int"),
        Column("label", "French label as written"),
        Column("evaluator", "evaluator code, if the step is an evaluation", required=False, pattern=CODE),
        Column("evaluator_count", "how many evaluators", required=False, type="int"),
        Column("booklets", "booklet codes, separated by |", required=False, type="list"),
        *SRC,
    )),
    Table("booklets.csv", "the booklets of the VAE file", required=False, columns=(
        Column("code", "booklet code", pattern=CODE),
        Column("label", "French label"),
        Column("presence", "always or sometimes", pattern=r"^(always|sometimes)$"),
        *SRC,
        Column("note", "remark", required=False),
    )),
    Table("rome-mappings.csv", "reviewed alignments to ROME 4.0 (SSSOM-style): one mapping a row",
          key=("subject_id", "predicate_id", "object_id"), required=False, columns=(
        Column("subject_id", "competence code, or JOB for the job profile", pattern=CODE),
        Column("predicate_id", "skos:exactMatch, skos:closeMatch, skos:relatedMatch, skos:broadMatch or skos:narrowMatch",
               pattern=r"^skos:(exactMatch|closeMatch|relatedMatch|broadMatch|narrowMatch)$"),
        Column("object_id", "ROME code (job sheet, e.g. D1409) or OGR code (competence or knowledge item)",
               pattern=r"^([A-N][0-9]{4}|[0-9]+)$"),
        Column("object_label", "the ROME label, as ROME writes it"),
        Column("object_type", "job, competence or knowledge", pattern=r"^(job|competence|knowledge)$"),
        Column("object_source", "ROME release the item comes from"),
        Column("confidence", "0 to 1", type="decimal"),
        Column("author", "who reviewed the mapping"),
        Column("mapping_date", "when (YYYY-MM-DD)", pattern=r"^[0-9]{4}-[0-9]{2}-[0-9]{2}$"),
        Column("mapping_justification", "SEMAPV justification, e.g. semapv:ManualMappingCuration",
               pattern=r"^semapv:[A-Za-z]+$"),
        Column("comment", "why", required=False),
    )),
    Table("source-gaps.csv", "parts of the source whose layout was lost, and what is therefore not asserted",
          required=False, columns=(
        Column("code", "gap code", pattern=CODE),
        Column("label", "what was lost, in French"),
        *SRC,
        Column("consequence", "what the data does not assert because of it"),
    )),
)

TABLES_BY_FILE = {t.file: t for t in TABLES}


#: the words a yes/no cell may hold (any case)
YES = ("true", "yes", "oui", "1")
NO = ("false", "no", "non", "0")
_CHOICES = re.compile(r"^\^\(([\w-]+(?:\|[\w-]+)*)\)\$$")  # a pattern that only lists values: ^(a|b|c)$
#: the reference a person reads for what each file and column holds (generated by `cqp-graph docs`)
FORMAT_DOC = "docs/data-format.md"


def shown(raw: str) -> str:
    """A cell's text between French quotes, what cannot be seen written out: « M\\u00a01 » for a no-break space."""
    text = "".join(c if c == " " or (c.isprintable() and not c.isspace()) else f"\\u{ord(c):04x}" for c in raw)
    return f"« {text} »"


def _expected(pattern: str) -> str:
    """What a pattern accepts, for a person: the values it lists (« valeurs admises : pilot, client »), or the
    pattern itself."""
    choices = _CHOICES.match(pattern)
    if choices:
        return "valeurs admises : " + ", ".join(choices.group(1).split("|"))
    return f"forme attendue : {pattern}"


def _convert(column: Column, raw: str, path: Path, line: int):
    cell = f"colonne « {column.name} » : {shown(raw)}"
    if column.pattern and not re.match(column.pattern, raw):
        raise DataError(path, line, f"{cell} ne convient pas ({_expected(column.pattern)})")
    if column.type == "int":
        try:
            return int(raw)
        except ValueError:
            raise DataError(path, line, f"{cell} n'est pas un nombre entier") from None
    if column.type == "decimal":
        try:
            value = Decimal(raw.replace(",", "."))
        except InvalidOperation:
            raise DataError(path, line, f"{cell} n'est pas un nombre") from None
        if not value.is_finite():
            raise DataError(path, line, f"{cell} n'est pas un nombre fini")
        return value
    if column.type == "bool":
        lowered = raw.lower()
        if lowered in YES:
            return True
        if lowered in NO:
            return False
        raise DataError(path, line, f"{cell} ne vaut ni oui ni non (oui : {', '.join(YES)} ; "
                                    f"non : {', '.join(NO)})")
    if column.type == "list":
        return [part.strip() for part in raw.split("|") if part.strip()]
    return raw


#: the csv module's errors as French sentences
CSV_PROBLEMS = [
    (r"unexpected end of data", "fin de fichier dans une valeur entre guillemets (guillemet non fermé ?)"),
    (r"'(.)' expected after '\"'", "« {0} » attendu après un guillemet fermant (un guillemet dans une valeur "
                                   "s'écrit \"\")"),
    (r"field larger than field limit \((\d+)\)", "valeur de plus de {0} caractères"),
    (r"new-line character seen in unquoted field.*", "fin de ligne dans une valeur sans guillemets"),
    (r"line contains NUL", "caractère NUL dans la ligne"),
]


def csv_syntax(exc) -> str:
    """The csv module's error as a French sentence: « syntaxe CSV : … » (its own words quoted when no
    translation is known)."""
    problem = str(exc)
    for pattern, french in CSV_PROBLEMS:
        match = re.fullmatch(pattern, problem)
        if match:
            return "syntaxe CSV : " + french.format(*match.groups())
    return f"syntaxe CSV incorrecte (message du module csv : « {problem} »)"


def close_columns(unknown: list[str], known, header) -> str:
    """« ; « lable » : vouliez-vous dire label ? » for each unknown column that is close to a known column the
    header lacks; "" when none is."""
    free = [k for k in known if k not in set(header)]
    hints = [f"« {h} » : {text}" for h in unknown if (text := did_you_mean(h, free))]
    return "".join(f" ; {hint}" for hint in hints)


def unknown_columns(unknown: list[str], known, header) -> str:
    """« colonne(s) inconnue(s) : lable, couleur (attendu : code, label, …) ; « lable » : vouliez-vous dire
    label ? »"""
    return (f"colonne(s) inconnue(s) : {', '.join(unknown)} (attendu : {', '.join(sorted(known))})"
            + close_columns(unknown, known, header))


def read_table(folder: Path, table: Table) -> list[Row]:
    """Read one table of a referential folder, checking its form."""
    path = Path(folder) / table.file
    if not path.exists():
        if table.required:
            raise DataError(path, None, f"fichier obligatoire absent (ce qu'il contient : {FORMAT_DOC})")
        return []
    raw_bytes = path.read_bytes()
    try:
        text = raw_bytes.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise DataError(path, raw_bytes[:exc.start].count(b"\n") + 1,
                        f"ce n'est pas du texte UTF-8 (octet 0x{raw_bytes[exc.start:exc.start + 1].hex()} invalide "
                        f"à la position {exc.start}) : depuis Excel, enregistrez-le au format « CSV UTF-8 "
                        "(délimité par des virgules) »") from None
    reader = csv.reader(text.splitlines(keepends=True), strict=True)
    try:
        header = next(reader)
    except StopIteration:
        raise DataError(path, 1, "fichier vide : une ligne d'en-tête est attendue") from None
    except csv.Error as exc:
        raise DataError(path, 1, csv_syntax(exc)) from None
    header = [h.strip() for h in header]
    known = [c.name for c in table.columns]
    unknown = [h for h in header if h not in known]
    missing = [c.name for c in table.columns if c.required and c.name not in header]
    if missing:
        raise DataError(path, 1, f"colonne(s) obligatoire(s) absente(s) : {', '.join(missing)}"
                                 + close_columns(unknown, missing, header))
    if unknown:
        raise DataError(path, 1, unknown_columns(unknown, known, header))
    rows: list[Row] = []
    seen: dict[tuple, int] = {}
    while True:
        line = reader.line_num + 1  # where this record starts (a quoted cell may span lines)
        try:
            cells = next(reader)
        except StopIteration:
            break
        except csv.Error as exc:
            raise DataError(path, line, f"{csv_syntax(exc)} (dans l'enregistrement qui commence à cette ligne)") \
                from None
        if not any(c.strip() for c in cells):
            continue
        if len(cells) != len(header):
            raise DataError(path, line, f"{len(cells)} cellules alors que l'en-tête en a {len(header)}")
        raw = dict(zip(header, cells))
        values = {}
        for column in table.columns:
            cell = raw.get(column.name, "")
            cell = cell.strip() if column.type != "str" else cell.strip(" \t\r\n")
            if cell == "":
                if column.required:
                    raise DataError(path, line, f"colonne « {column.name} » vide : elle est obligatoire (ce qu'elle "
                                                f"contient : {FORMAT_DOC}, {table.file})")
                values[column.name] = None
                continue
            values[column.name] = _convert(column, cell, path, line)
        key = tuple(values.get(k) for k in table.key)
        if key in seen:
            written = ", ".join(f"{k} {'vide' if v is None else shown(str(v))}" for k, v in zip(table.key, key))
            raise DataError(path, line, f"{written} en double (déjà à la ligne {seen[key]})")
        seen[key] = line
        rows.append(Row(table, path, line, values))
    return rows


def read_referential(folder: Path) -> dict[str, list[Row]]:
    """Read every table of a referential folder."""
    folder = Path(folder)
    if not folder.is_dir():
        raise DataError(folder, None, "ce n'est pas un dossier")
    extra = sorted(p.name for p in folder.glob("*.csv") if p.name not in TABLES_BY_FILE)
    if extra:
        hint = did_you_mean(extra[0], [f for f in TABLES_BY_FILE if not (folder / f).exists()])
        raise DataError(folder / extra[0], None,
                        f"fichier de données inconnu (fichiers connus : {', '.join(sorted(TABLES_BY_FILE))})"
                        + (f" ; {hint}" if hint else ""))
    return {t.file: read_table(folder, t) for t in TABLES}
