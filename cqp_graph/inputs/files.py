"""Reading the files people write (programmes, candidate results) with line numbers, and checking them
against the referential they are for, with errors that name the file and the line.

Lives here: safe YAML/CSV reading with line numbers and limits (`load_yaml`, `read_csv_records`, `InputLimits`),
typed validation in French (`validate`), choosing the referential an input is for (`choose_referential`) and
the SHACL check of an input graph against the few referential resources it points to (`check_with_shapes`,
through the knowledge layer: the referential graph is never copied). Not here: what a programme or a
candidate's results contain (`cqp_graph.inputs.programme`, `cqp_graph.inputs.candidates`), what is computed
from them (`cqp_graph.analyses`).
"""

from __future__ import annotations

import csv
import math
import re
import io
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from pathlib import Path
from urllib.parse import unquote

import pyoxigraph as ox
import yaml
from rdflib import Graph, Literal, URIRef
from rdflib.namespace import RDF, RDFS, XSD

from cqp_graph.graph.validate import validate_graph
from cqp_graph.namespaces import ontology_ns
from cqp_graph.numbers import canonical_decimal
from cqp_graph.suggest import did_you_mean, fold
from cqp_graph.query.knowledge import Knowledge, Referential, UnknownReferential
from cqp_graph.source.tables import csv_syntax


class InputError(ValueError):
    """One or more problems in an input file, each with its line."""

    def __init__(self, path: str | Path, problems: list[tuple[int | None, str]]):
        self.path = str(path)
        self.problems = sorted(problems, key=lambda p: (p[0] or 0, p[1]))
        super().__init__("\n".join(f"{self.path}:{line}: {msg}" if line else f"{self.path}: {msg}"
                                   for line, msg in self.problems))

    def as_dict(self) -> dict:
        return {"file": self.path, "errors": [{"line": line, "message": msg} for line, msg in self.problems]}


class LineDict(dict):
    """A mapping from YAML that remembers its line and the line of each key."""

    line: int = 0
    key_lines: dict

    def line_of(self, key) -> int:
        return self.key_lines.get(key, self.line)


class LineList(list):
    """A sequence from YAML that remembers its line and the line of each item."""

    line: int = 0
    item_lines: list


@dataclass(frozen=True)
class InputLimits:
    """Bounds on a file people send (settings CQP_GRAPH_INPUT_*; see config.py and the README)."""

    max_bytes: int = 262_144
    max_entries: int = 5_000
    max_depth: int = 16
    max_string: int = 2_000
    max_unzipped: int = 8 * 2**20  # an .xlsx file's parts, unzipped

    @classmethod
    def of(cls, settings) -> "InputLimits":
        if settings is None:
            return cls()
        return cls(settings.input_max_bytes, settings.input_max_entries, settings.input_max_depth,
                   settings.input_max_string, settings.input_max_unzipped_bytes)


class _LineLoader(yaml.SafeLoader):
    """SafeLoader that refuses aliases and complex keys, and bounds depth, entries and scalar length."""

    def __init__(self, stream, path, limits: InputLimits):
        super().__init__(stream)
        self.cqp_path = path
        self.cqp_limits = limits
        self.cqp_depth = 0
        self.cqp_entries = 0

    def _refuse(self, mark, message):
        raise InputError(self.cqp_path, [(mark.line + 1 if mark else None, message)])

    def compose_node(self, parent, index):
        event = self.peek_event()
        limits = self.cqp_limits
        if isinstance(event, yaml.AliasEvent):
            self._refuse(event.start_mark, f"alias YAML « *{event.anchor} » refusé : les ancres et alias ne sont "
                                           "pas acceptés (écrire chaque valeur en entier)")
        if isinstance(event, yaml.ScalarEvent) and len(event.value) > limits.max_string:
            self._refuse(event.start_mark, f"valeur de {len(event.value)} caractères : au plus {limits.max_string} "
                                           "(CQP_GRAPH_INPUT_MAX_STRING)")
        if isinstance(event, yaml.ScalarEvent) and SURROGATE.search(event.value):
            # JSON writes a character beyond U+FFFF as a pair of escapes ("\ud83d\ude00"), which PyYAML leaves as two
            # halves: each pair is joined into its character; a half written alone ("\ud800") is no character
            event.value = event.value.encode("utf-16-le", "surrogatepass").decode("utf-16-le", "surrogatepass")
            half = SURROGATE.search(event.value)
            if half:
                self._refuse(event.start_mark, f"caractère U+{ord(half.group()):04X} interdit dans un texte YAML ou "
                                               "JSON (moitié d'une paire UTF-16, écrite seule)")
        self.cqp_entries += 1
        if self.cqp_entries > limits.max_entries:
            self._refuse(event.start_mark, f"plus de {limits.max_entries} éléments dans le fichier "
                                           "(CQP_GRAPH_INPUT_MAX_ENTRIES)")
        if isinstance(event, (yaml.SequenceStartEvent, yaml.MappingStartEvent)):
            if self.cqp_depth >= limits.max_depth:
                self._refuse(event.start_mark, f"imbrication trop profonde : au plus {limits.max_depth} niveaux "
                                               "(CQP_GRAPH_INPUT_MAX_DEPTH)")
        self.cqp_depth += 1
        try:
            return super().compose_node(parent, index)
        finally:
            self.cqp_depth -= 1


def _construct_mapping(loader, node, deep=False):
    loader.flatten_mapping(node)
    out = LineDict()
    out.line = node.start_mark.line + 1
    out.key_lines = {}
    for key_node, value_node in node.value:
        if not isinstance(key_node, yaml.ScalarNode):
            loader._refuse(key_node.start_mark, "clé complexe refusée : une clé est un simple texte")
        key = key_node.value  # keys are text as written: `1:` is the key "1"
        if key in out:
            loader._refuse(key_node.start_mark, f"clé « {key} » en double")
        out[key] = loader.construct_object(value_node, deep=True)
        out.key_lines[key] = key_node.start_mark.line + 1
    return out


def _construct_sequence(loader, node, deep=False):
    out = LineList(loader.construct_object(child, deep=True) for child in node.value)
    out.line = node.start_mark.line + 1
    out.item_lines = [child.start_mark.line + 1 for child in node.value]
    return out


_LineLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _construct_mapping)
_LineLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_SEQUENCE_TAG, _construct_sequence)
# Numbers as JSON and YAML 1.2 read them, not as YAML 1.1 did: « 1:30 » is not 90 (base 60), « 070 » is 70, not
# 56 (octal), « 1_000 » is text; a number with an exponent and no dot (5e-324, 1e400) is a number.
_INT, _FLOAT = "tag:yaml.org,2002:int", "tag:yaml.org,2002:float"
_LineLoader.yaml_implicit_resolvers = {
    first: [(tag, pattern) for tag, pattern in resolvers if tag not in (_INT, _FLOAT)]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()}
_LineLoader.add_implicit_resolver(_INT, re.compile(r"^[-+]?[0-9]+$"), list("-+0123456789"))
_LineLoader.add_implicit_resolver(
    _FLOAT, re.compile(r"^(?:[-+]?(?:\.[0-9]+|[0-9]+(?:\.[0-9]*)?)(?:[eE][-+]?[0-9]+)?"  # after the int one:
                       r"|[-+]?\.(?:inf|Inf|INF)|\.(?:nan|NaN|NAN))$"), list("-+0123456789."))  # « 12 » is an int
_LineLoader.add_constructor(_INT, lambda loader, node: int(loader.construct_scalar(node), 10))


def check_size(text: str, path, limits: InputLimits) -> str:
    """The text without a leading BOM; InputError when it is over the size limit."""
    size = len(text.encode("utf-8", "surrogatepass"))
    if size > limits.max_bytes:
        raise InputError(path, [(None, f"fichier de {size} octets : au plus {limits.max_bytes} "
                                       "(CQP_GRAPH_INPUT_MAX_BYTES)")])
    if "\x00" in text:
        raise InputError(path, [(None, "caractère NUL dans le texte : ce n'est pas un fichier texte")])
    return text.removeprefix("\ufeff")


def load_yaml(text: str, path: str | Path, limits: InputLimits | None = None):
    """Parse YAML (or JSON) safely: no aliases, bounded size, depth, entries and scalars; lines kept."""
    limits = limits or InputLimits()
    text = check_size(text, path, limits)
    try:
        loader = _LineLoader(text, path, limits)
    except yaml.reader.ReaderError as exc:  # a character YAML does not allow (a control character...): refused here
        line = text.count("\n", 0, exc.position) + 1
        raise InputError(path, [(line, f"caractère U+{exc.character:04X} interdit dans un texte YAML ou JSON "
                                       "(caractère de contrôle ou non imprimable)")]) from None
    try:
        return loader.get_single_data()
    except InputError:
        raise
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        raise InputError(path, [(mark.line + 1 if mark else None, yaml_problem(exc))]) from None
    except (ValueError, TypeError, OverflowError) as exc:  # a scalar YAML cannot convert (e.g. a bad date)
        raise InputError(path, [(None, f"valeur illisible (une date ou un nombre impossible ; message de "
                                       f"Python : {exc})")]) from None
    finally:
        loader.dispose()


def read_text(path: Path, limits: InputLimits | None = None, accepted: str | None = None) -> str:
    """A file people wrote, as text: UTF-8 (a BOM is accepted), at most `max_bytes` read."""
    return decode_text(read_bytes(path, limits), path, accepted or TEXT_FILES)


def read_bytes(path: Path, limits: InputLimits | None = None) -> bytes:
    """A file people sent, as bytes: at most `max_bytes` read (CQP_GRAPH_INPUT_MAX_BYTES), a missing file, a
    folder or a refused read told in French."""
    limits = limits or InputLimits()
    try:
        with Path(path).open("rb") as handle:
            raw = handle.read(limits.max_bytes + 1)
    except FileNotFoundError:
        raise InputError(path, [(None, "fichier introuvable")]) from None
    except IsADirectoryError:
        raise InputError(path, [(None, "c'est un dossier, pas un fichier")]) from None
    except PermissionError:
        raise InputError(path, [(None, "lecture refusée (droits du fichier)")]) from None
    except OSError as exc:
        raise InputError(path, [(None, f"lecture impossible ({exc.strerror or exc})")]) from None
    if len(raw) > limits.max_bytes:
        raise InputError(path, [(None, f"fichier de plus de {limits.max_bytes} octets "
                                       "(CQP_GRAPH_INPUT_MAX_BYTES)")])
    return raw


#: the first bytes of files people send by mistake instead of a text file: (magic, extension, what it is)
BINARY_MAGIC = [(b"%PDF", ".pdf", "document PDF"), (b"\x89PNG", ".png", "image PNG"),
                (b"\xff\xd8\xff", ".jpg", "image JPEG"), (b"GIF8", ".gif", "image GIF"),
                (b"PK\x03\x04", ".xlsx", "archive ZIP : classeur .xlsx, .ods, .docx…"),
                (b"\xd0\xcf\x11\xe0", ".xls", "document Office à l'ancien format (.xls, .doc)"),
                (b"{\\rtf", ".rtf", "document RTF")]
TEXT_FILES = "un fichier texte est attendu (YAML, JSON ou CSV, en UTF-8)"


def binary_kind(raw: bytes) -> tuple[str, str] | None:
    """(extension, what it is) when `raw` starts as a PDF, an image, a ZIP archive, an old Office file…"""
    for magic, ext, what in BINARY_MAGIC:
        if raw.startswith(magic):
            return ext, what
    return None


def refuse_binary(raw: bytes, path, accepted: str = TEXT_FILES) -> None:
    """InputError « fichier .pdf (document PDF) : format non pris en charge ; déposez … » for a file that is
    not text, told by its first bytes (not its name)."""
    kind = binary_kind(raw)
    if kind is not None:
        raise InputError(path, [(None, f"fichier {kind[0]} ({kind[1]}) : format non pris en charge ; {accepted}")])


def decode_text(raw: bytes, path, accepted: str = TEXT_FILES) -> str:
    """UTF-8 bytes as text (a leading BOM dropped); InputError for a binary file (PDF, image, archive…) or
    naming the line of an invalid byte, with how to save the file in UTF-8.

    Windows-1252 (what Excel's « CSV (séparateur : point-virgule) » writes) is not guessed: most byte strings
    decode as Windows-1252, so a guess would turn another encoding's accents into wrong letters silently."""
    refuse_binary(raw, path, accepted)
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = raw[:exc.start].count(b"\n") + 1
        bad = raw[exc.start:exc.start + 1].hex()
        how = ("depuis Excel, enregistrez-le au format « CSV UTF-8 (délimité par des virgules) »"
               if str(path).lower().endswith(".csv") else "enregistrez-le en UTF-8 (l'encodage par défaut des "
               "éditeurs de texte récents)")
        raise InputError(path, [(line, f"ce n'est pas du texte UTF-8 (octet 0x{bad} invalide à la position "
                                       f"{exc.start}) : {how}")]) from None


def csv_delimiter(text: str) -> str:
    """« ; » when the header line holds more semicolons than commas (Excel's French « CSV (séparateur :
    point-virgule) »), else « , »."""
    header = text.lstrip("\ufeff").split("\n", 1)[0]
    return ";" if header.count(";") > header.count(",") else ","


YAML_PROBLEMS = [  # PyYAML's English problems, as a French sentence
    (r"could not determine a constructor for the tag '(.*)'", "étiquette YAML « {0} » non acceptée (écrire la valeur "
                                                              "sans étiquette « ! »)"),
    (r"mapping values are not allowed here", "« : » inattendu (une valeur qui contient « : » s'écrit entre "
                                             "guillemets)"),
    (r"found character '\\t' that cannot start any token", "tabulation : YAML indente avec des espaces"),
    (r"found character (.*) that cannot start any token", "caractère {0} inattendu"),
    (r"expected the node content, but found '<stream end>'", "fin de fichier inattendue (liste ou table non "
                                                             "fermée ?)"),
    (r"expected ',' or '[\]}]', but got '<stream end>'", "fin de fichier inattendue (« ] » ou « }} » manquant)"),
    (r"expected ',' or '([\]}])', but got (.*)", "« , » ou « {0} » attendu, trouvé {1}"),
    (r"expected <block end>, but found (.*)", "indentation incohérente ({0} inattendu)"),
    (r"found unexpected end of stream", "fin de fichier inattendue (guillemet non fermé ?)"),
]


def yaml_problem(exc) -> str:
    """PyYAML's error as a French sentence (its own words kept, quoted, when no translation is known)."""
    problem = getattr(exc, "problem", None) or str(exc)
    for pattern, french in YAML_PROBLEMS:
        match = re.fullmatch(pattern, problem)
        if match:
            return "syntaxe YAML : " + french.format(*match.groups())
    return f"syntaxe YAML incorrecte (message de PyYAML : « {problem} »)"


def csv_problem(exc, limits: InputLimits) -> str:
    """The csv module's error as a French sentence (`cqp_graph.source.tables.csv_syntax`), a value over the
    field limit naming the setting that bounds it."""
    text = csv_syntax(exc)
    if str(exc).startswith("field larger than field limit"):
        text = (f"syntaxe CSV : valeur trop longue : au plus {limits.max_string} caractères "
                "(CQP_GRAPH_INPUT_MAX_STRING)")
    return text


def read_csv_records(text: str, path: str | Path, limits: InputLimits | None = None) -> list[LineDict]:
    """CSV rows as LineDicts (line = the record's first line); cells separated by « , » or, when the header
    line says so, « ; » (`csv_delimiter`)."""
    limits = limits or InputLimits()
    text = check_size(text, path, limits)
    reader = csv.reader(io.StringIO(text), strict=True, delimiter=csv_delimiter(text))
    try:
        header = [h.strip() for h in next(reader)]
    except StopIteration:
        raise InputError(path, [(1, "fichier vide : une ligne d'en-tête est attendue")]) from None
    except csv.Error as exc:
        raise InputError(path, [(1, csv_problem(exc, limits))]) from None
    rows = []
    while True:
        line = reader.line_num + 1
        try:
            cells = next(reader)
        except StopIteration:
            break
        except csv.Error as exc:
            raise InputError(path, [(line, csv_problem(exc, limits))]) from None
        if not any(c.strip() for c in cells):
            continue
        if len(cells) != len(header):
            raise InputError(path, [(line, f"{len(cells)} cellules alors que l'en-tête en a {len(header)}")])
        if len(rows) * len(header) > limits.max_entries:
            raise InputError(path, [(line, f"plus de {limits.max_entries} éléments dans le fichier "
                                           "(CQP_GRAPH_INPUT_MAX_ENTRIES)")])
        long = next((c for c in cells if len(c) > limits.max_string), None)
        if long is not None:
            raise InputError(path, [(line, f"valeur de {len(long)} caractères : au plus {limits.max_string} "
                                           "(CQP_GRAPH_INPUT_MAX_STRING)")])
        row = LineDict((h, c.strip()) for h, c in zip(header, cells) if c.strip() != "")
        row.line = line
        row.key_lines = {}
        rows.append(row)
    return rows


def number_literal(value) -> Literal:
    """A decimal literal for a number; anything else stays a string, for the shapes to reject."""
    if isinstance(value, bool) or value is None:
        return Literal(str(value))
    try:
        number = Decimal(str(value).strip().replace(",", "."))
    except InvalidOperation:
        return Literal(str(value))
    if not number.is_finite():
        return Literal(str(value))
    return Literal(canonical_decimal(number), datatype=XSD.decimal)


@dataclass
class Located:
    """What an error message should say about a node of an input graph."""

    line: int | None
    label: str


def lined(value, line: int = 1):
    """Data given as plain dicts and lists (not read from a file), as LineDict / LineList: every line is `line`."""
    if isinstance(value, dict):
        out = LineDict((k, lined(v, line)) for k, v in value.items())
        out.line, out.key_lines = line, {}
        return out
    if isinstance(value, list):
        items = LineList(lined(v, line) for v in value)
        items.line, items.item_lines = line, [line] * len(items)
        return items
    return value


def choose_referential(knowledge: Knowledge, declared, asked: str | None, path, line: int | None) -> Referential:
    """The referential an input is for: the one the file declares (« referential: … », at `line`), else the one
    the caller asks for, else the only one of the graph.

    A file and a caller that disagree, or a file naming a referential the graph lacks, are InputErrors (the
    file is wrong); no name where the graph holds several is UnknownReferential, listing the names.
    """
    if declared is not None and not isinstance(declared, str):
        raise InputError(path, [(line, "« referential » : le nom d'un référentiel est un texte")])
    if declared and asked and declared != asked:
        raise InputError(path, [(line, f"le fichier est écrit pour le référentiel « {declared} », "
                                       f"la demande porte sur « {asked} »")])
    if declared:
        try:
            return knowledge.referential(declared)
        except UnknownReferential as exc:
            raise InputError(path, [(line, f"référentiel « {declared} » inconnu (connus : "
                                           f"{', '.join(exc.known) or 'aucun'})")]) from None
    try:
        return knowledge.referential(asked)
    except UnknownReferential as exc:
        if asked:
            raise
        raise UnknownReferential(f"{exc} ; ou écrire « referential: NOM » dans le fichier", exc.known) from None


_TRIPLES_OF = """
SELECT ?s ?p ?value ?nature ?datatype ?lang WHERE {
  ?s ?p ?o .
  BIND (STR(?o) AS ?value)
  BIND (IF(isIRI(?o), "iri", IF(isBLANK(?o), "blank", "literal")) AS ?nature)
  BIND (STR(DATATYPE(?o)) AS ?datatype)
  BIND (LANG(?o) AS ?lang)
}
"""
_SUPERCLASSES = "SELECT ?class ?super WHERE { ?class rdfs:subClassOf+ ?super FILTER (isIRI(?super)) }"


def referential_context(knowledge: Knowledge, data: Graph) -> Graph:
    """What the shapes need to know of the referential about `data`: every statement about each resource
    `data` points to (its type, kind, code…), and the superclasses of their types. A few triples per
    reference, read through the knowledge layer, instead of a copy of the whole referential."""
    context = Graph()
    own = set(data.subjects())
    targets = {o for o in data.objects() if isinstance(o, URIRef) and o not in own}
    types = set()
    for target in sorted(targets):
        for row in knowledge.select(_TRIPLES_OF, {"s": ox.NamedNode(str(target))}).rows:
            if row["nature"] == "blank":
                continue
            if row["nature"] == "iri":
                value = URIRef(row["value"])
            elif row["lang"]:
                value = Literal(row["value"], lang=row["lang"])
            else:
                value = Literal(row["value"], datatype=URIRef(row["datatype"]) if row["datatype"] else None)
            context.add((target, URIRef(row["p"]), value))
            if row["p"] == str(RDF.type) and isinstance(value, URIRef):
                types.add(value)
    for cls in sorted(types):
        for row in knowledge.select(_SUPERCLASSES, {"class": ox.NamedNode(str(cls))}).rows:
            context.add((cls, RDFS.subClassOf, URIRef(row["super"])))
    return context


#: the IRI segment of each kind of code a file may name, and the class whose codes it takes
CODE_KINDS = {"competence": "Competence", "activity": "Activity", "block": "CompetenceBlock",
              "evaluator": "EvaluatorType", "unit": "CertificationUnit"}
_CODES_OF = """
SELECT ?code ?label ?written ?class ?referential WHERE {
  ?x a ?class ; cqp:code ?code ; cqp:inReferential/cqp:referentialName ?referential .
  OPTIONAL { ?x skos:prefLabel ?label }
  OPTIONAL { ?mention cqp:mentionOf ?x ; cqp:codeAsWritten ?written FILTER (STR(?written) != STR(?code)) }
}
"""


@dataclass(frozen=True)
class KnownCodes:
    """The codes of one kind in a referential, with their other names: the French label (« tuteur » for
    tutor) and the spellings the source itself uses on a mission page (« RFS10 » for RSF10). Those names are
    never accepted in place of the code (the graph, the exports and the queries know one code); they only
    make the error say which code was meant."""

    codes: tuple[str, ...]
    aliases: dict
    notes: dict

    def hint(self, value: str) -> str:
        """« ; vouliez-vous dire RSF10 ? » or ""."""
        text = did_you_mean(value, self.codes, self.aliases, self.notes)
        return f" ; {text}" if text else ""


def known_codes(knowledge: Knowledge, kind: str, referential: str) -> KnownCodes:
    """The codes of `kind` (a key of CODE_KINDS) in `referential`, read through the knowledge layer (bound)."""
    cls = ox.NamedNode(str(ontology_ns(knowledge.base)[CODE_KINDS[kind]]))
    rows = knowledge.select(_CODES_OF, {"class": cls, "referential": str(referential)}).rows
    codes, aliases, notes = {}, {}, {}
    for row in rows:
        code = str(row["code"])
        codes[code] = None
        if row.get("label"):
            label = str(row["label"])
            aliases.setdefault(label, code)
            notes.setdefault(fold(label), f"« {label[:60]} » est son libellé")
        if row.get("written"):
            written = str(row["written"])
            aliases.setdefault(written, code)
            notes.setdefault(fold(written),
                             f"« {written} » est une graphie de la source ; le code du référentiel est {code}")
    return KnownCodes(tuple(codes), aliases, notes)


def code_hints(knowledge: Knowledge, referential: str):
    """`hint(kind, code)` → « ; vouliez-vous dire … ? » or "", the codes of each kind read once."""
    cache: dict[str, KnownCodes] = {}

    def hint(kind: str, code: str) -> str:
        if kind not in CODE_KINDS:
            return ""
        if kind not in cache:
            cache[kind] = known_codes(knowledge, kind, referential)
        return cache[kind].hint(code)
    return hint


#: problems of a file that get a « vouliez-vous dire … ? » (the first ones, by line)
HINTED = 50


def check_with_shapes(data: Graph, knowledge: Knowledge, shapes: Graph, path, base: str,
                      describe, hint=None) -> None:
    """Validate `data` together with what the referential says of the resources it points to; raise
    InputError naming the line of each violation.

    `describe(node)` returns a Located (line and a short label such as "module MOD03") for a focus node.
    A value that is a code of the file is shown as written (not as its IRI's escaped segment), followed by
    `hint(kind, code)` (« ; vouliez-vous dire RSF10 ? ») when given.
    """
    report = validate_graph(data + referential_context(knowledge, data), shapes)
    problems = []
    seen = set()
    cqp = ontology_ns(base)
    for finding in report.violations:
        focus = URIRef(finding.focus)
        where = describe(focus)
        value, coded = "", None
        if finding.value and cqp not in finding.value:
            parts = finding.value.rsplit("/", 2)
            value = f" ({unquote(parts[-1])})"
            if len(parts) == 3 and finding.value.startswith(base):
                coded = (parts[-2], unquote(parts[-1]))
        key = (where.line, where.label, finding.message, value)
        if key in seen:
            continue
        seen.add(key)
        problems.append((where.line, f"{where.label} : {finding.message.rstrip('.')}{value}", coded))
    if problems:
        problems.sort(key=lambda p: (p[0] or 0, p[1]))
        # the close match is looked for in the first HINTED problems only: a file of thousands of unknown
        # codes costs no more than a few difflib comparisons each
        raise InputError(path, [(line, text + (hint(*coded) if hint and coded and i < HINTED else ""))
                                for i, (line, text, coded) in enumerate(problems)])


# -- typed validation (pydantic), before any work on the referential ---------------------

def strict_number(value, info):
    """A number as YAML/JSON gives it; in a CSV file (context csv=True) also text such as « 21,5 »."""
    if isinstance(value, bool) or value is None:
        raise ValueError("doit être un nombre")
    if isinstance(value, str):
        if not (info.context or {}).get("csv"):
            raise ValueError(f"doit être un nombre (« {value[:40]} » est lu comme un texte ; "
                             "un exposant s'écrit 1.5e3)")
        value = value.strip().replace(",", ".")
    if isinstance(value, float) and not math.isfinite(value):
        raise ValueError("doit être un nombre fini")
    return value


#: half of a UTF-16 surrogate pair, which a JSON or YAML escape (« \\ud800 ») can write alone
SURROGATE = re.compile("[\ud800-\udfff]")
#: control characters a text may not hold (tab and line ends may): no page, spreadsheet or export can show them
CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]")
#: the same rule as a JSON Schema `pattern` (ECMA-262), for the API's description of a text field
TEXT_PATTERN = "^[^" + CONTROL.pattern[1:-1] + "]*$"


def strict_text(value, info):
    """A text as written: not a number or a list read as one, and without control characters."""
    if not isinstance(value, str):
        raise ValueError("doit être un texte (entre guillemets s'il ressemble à un nombre)")
    control = CONTROL.search(value)
    if control:
        raise ValueError(f"contient un caractère de contrôle (U+{ord(control.group()):04X}, position "
                         f"{control.start() + 1}) : un texte n'en contient pas")
    return value


def _where(data, loc) -> int | None:
    """The line of the value at `loc` (a pydantic error location) in data read by load_yaml."""
    node, line = data, getattr(data, "line", None) or 1
    for part in loc:
        if isinstance(node, LineDict) and isinstance(part, str) and part in node:
            line, node = node.line_of(part), node[part]
        elif isinstance(node, LineList) and isinstance(part, int) and 0 <= part < len(node):
            line, node = node.item_lines[part], node[part]
    return line


def _field(loc) -> str:
    return ".".join(str(p) for p in loc if not (isinstance(p, str) and ("[" in p or "-" in p)))


MESSAGES = {
    "missing": "champ « {last} » manquant",
    "extra_forbidden": "clé inconnue « {last} »",
    "string_type": "« {field} » doit être un texte",
    "list_type": "« {field} » doit être une liste",
    "dict_type": "« {field} » doit être une table (clé : valeur)",
    "model_type": "« {field} » doit être une table (clé : valeur)",
    "model_attributes_type": "« {field} » doit être une table (clé : valeur)",
    "bool_type": "« {field} » vaut true ou false",
    "bool_parsing": "« {field} » vaut true ou false",
    "decimal_type": "« {field} » doit être un nombre",
    "decimal_parsing": "« {field} » doit être un nombre",
    "finite_number": "« {field} » doit être un nombre fini",
    "decimal_max_digits": "« {field} » a trop de chiffres (au plus {max_digits})",
    "decimal_max_places": "« {field} » a trop de décimales (au plus {decimal_places})",
    "greater_than_equal": "« {field} » doit être supérieur ou égal à {ge}",
    "less_than_equal": "« {field} » doit être inférieur ou égal à {le}",
    "less_than": "« {field} » doit être inférieur à {lt}",
    "too_long": "« {field} » : trop d'éléments (au plus {max_length})",
    "too_short": "« {field} » : au moins {min_length} élément(s)",
    "string_too_long": "« {field} » : texte trop long (au plus {max_length} caractères)",
    "string_too_short": "« {field} » ne peut pas être vide",
    "literal_error": "« {field} » : valeur inattendue (attendu : {expected})",
}


def _plain(value) -> str:
    """A bound from a pydantic error context as a person writes it: 1000000000000000, not Decimal('1E+15')."""
    text = str(value)
    match = re.fullmatch(r"Decimal\('([^']*)'\)", text)
    if match or isinstance(value, Decimal):
        number = Decimal(match.group(1) if match else text)
        return format(number, "f") if number.is_finite() else text
    return text


def validate(model, data, path, *, context: dict | None = None, label=None, overrides: dict | None = None):
    """`model` validated from `data` (read by load_yaml or read_csv_records): the model instance, or an
    InputError whose messages are in French, each naming its line and field.

    `label(loc)` gives the prefix naming the element (e.g. « module MOD03 ») for an error location;
    `overrides` maps (error type, last field name) or an error type to a message of its own (or to a function
    of the error's location that returns it).
    """
    from pydantic import ValidationError

    try:
        return model.model_validate(data, context=context or {})
    except ValidationError as exc:
        problems = []
        for error in exc.errors(include_url=False):
            loc = tuple(error["loc"])
            names = [p for p in loc if isinstance(p, str) and "[" not in p and "-" not in p]
            last = names[-1] if names else ""
            ctx = {k: v for k, v in (error.get("ctx") or {}).items()}
            overrides = overrides or {}
            first = loc[0] if loc else ""
            template = (overrides.get((error["type"], last)) or overrides.get((error["type"], first))
                        or overrides.get(error["type"]) or MESSAGES.get(error["type"]))
            if callable(template):  # a message that depends on where the error is
                template = template(loc)
            if error["type"] == "value_error":
                text = f"« {_field(loc)} » {ctx.get('error', error['msg'])}"
            elif template:
                text = template.format(field=_field(loc), last=last, **{k: _plain(v) for k, v in ctx.items()})
            else:
                text = f"« {_field(loc)} » : {error['msg']}"
            prefix = label(loc) if label else None
            if isinstance(prefix, tuple):  # (prefix, how many parts of loc it names): the field is the rest
                prefix, consumed = prefix
                text = text.replace(f"« {_field(loc)} »", f"« {_field(loc[consumed:]) or _field(loc)} »")
            problems.append((_where(data, loc), f"{prefix} : {text}" if prefix else text))
            if len(problems) >= 50:
                problems.append((problems[-1][0], "… (au plus 50 erreurs signalées)"))
                break
        raise InputError(path, problems) from None
