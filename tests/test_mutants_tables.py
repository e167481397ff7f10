"""Tests written for the mutants of the data-file reader that the other tests let survive.

The reader's contract (its docstring and docs/data-format.md): a referential is a folder of UTF-8 CSV files,
one header row, one record a row; what a spreadsheet can get wrong -- a missing file or column, an unknown
column or file, an empty required cell, a value of the wrong type, a duplicated key, broken CSV syntax -- is
refused with a `DataError` naming the file, the line (where there is one) and the column or value at fault,
in French (a person reads it); an unknown column or file gets « vouliez-vous dire … ? » when one is close.
Values are typed (whole numbers, decimals with a comma or a point, yes/no in English or French, lists split
on `|`); labels are kept as written (only spaces, tabs and line ends trimmed at their edges).

Every file here is written by the test from the shipped one (data/agc-alimentaire), so the lines, values and
columns expected are the test's own; each test reads through `read_table` / `read_referential` only.
"""

from __future__ import annotations

import csv
import re
import shutil
from decimal import Decimal
from pathlib import Path

import pytest

from cqp_graph.source.tables import NO, YES, TABLES_BY_FILE, DataError, Row, read_referential, read_table

from .support import REFERENTIAL, ROOT, csv_rows


def shipped(name: str) -> tuple[list[str], list[dict]]:
    with (REFERENTIAL / name).open(encoding="utf-8") as handle:
        reader = csv.DictReader(handle)
        return list(reader.fieldnames), list(reader)


def write(folder: Path, name: str, header: list[str], rows: list[dict | list]) -> Path:
    """Write a CSV, one record a line (the test's rows hold no line break unless it says so)."""
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / name
    with path.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle, lineterminator="\n")
        writer.writerow(header)
        for row in rows:
            writer.writerow([row.get(h, "") for h in header] if isinstance(row, dict) else row)
    return path


def read(folder: Path, name: str):
    return read_table(folder, TABLES_BY_FILE[name])


def refused(folder: Path, name: str) -> DataError:
    with pytest.raises(DataError) as caught:
        read(folder, name)
    return caught.value


def says(message: str, *words: str):
    """Each phrase appears in the message as words of its own (not glued to other letters)."""
    for w in words:
        assert re.search(r"(?<!\w)" + re.escape(w) + r"(?!\w)", message), (w, message)


def names(error: DataError, path: Path, line: int | None):
    """The error names the file and the line, in its fields and in its text."""
    assert error.path == path
    assert error.line == line
    where = f"{path}:{line}: " if line else f"{path}: "
    assert str(error) == where + error.message


def missions_with(tmp_path, index: int, column: str, value: str) -> tuple[Path, int]:
    """The shipped missions.csv with one cell changed; returns the file and that record's line."""
    header, rows = shipped("missions.csv")
    rows[index][column] = value
    return write(tmp_path, "missions.csv", header, rows), index + 2


# -- typed values -------------------------------------------------------------------------------------------

def test_the_shipped_missions_are_read_with_their_lines_and_types(tmp_path):
    header, rows = shipped("missions.csv")
    path = write(tmp_path, "missions.csv", header, rows)
    got = read(tmp_path, "missions.csv")
    assert [r.line for r in got] == list(range(2, len(rows) + 2))
    assert all(r.path == path and r.table is TABLES_BY_FILE["missions.csv"] for r in got)
    assert [r["code"] for r in got] == [r["code"] for r in rows]
    assert [r["order"] for r in got] == [int(r["order"]) for r in rows]
    assert all(type(r["order"]) is int for r in got)


def test_decimals_take_a_comma_or_a_point(tmp_path):
    header, rows = shipped("rules.csv")
    rows = rows[:3]
    rows[0]["min_percent"], rows[1]["min_percent"], rows[2]["min_percent"] = "70,5", "12.25", "30"
    write(tmp_path, "rules.csv", header, rows)
    got = read(tmp_path, "rules.csv")
    assert [r["min_percent"] for r in got] == [Decimal("70.5"), Decimal("12.25"), Decimal(30)]
    assert all(isinstance(r["min_percent"], Decimal) for r in got)


YES_WRITTEN = ["true", "yes", "oui", "1", "TRUE", "Oui", "YES"]
NO_WRITTEN = ["false", "no", "non", "0", "False", "NON", "No"]


def test_yes_and_no_in_english_and_french(tmp_path):
    # the words the reader lists (and names in its message) are the documented ones, English and French
    assert set(YES) == {w.lower() for w in YES_WRITTEN} and set(NO) == {w.lower() for w in NO_WRITTEN}
    header, rows = shipped("aptitudes.csv")
    model = rows[0]
    table = [dict(model, code=f"A{i + 1}", order=str(i + 1), minted=v)
             for i, v in enumerate(YES_WRITTEN + NO_WRITTEN)]
    write(tmp_path, "aptitudes.csv", header, table)
    got = read(tmp_path, "aptitudes.csv")
    assert [r["minted"] for r in got] == [True] * len(YES_WRITTEN) + [False] * len(NO_WRITTEN)


def test_lists_are_split_on_bars_and_trimmed(tmp_path):
    header, rows = shipped("settings.csv")
    rows = rows[:1]
    rows[0]["allowed_values"] = " mean |min|| max "
    write(tmp_path, "settings.csv", header, rows)
    assert read(tmp_path, "settings.csv")[0]["allowed_values"] == ["mean", "min", "max"]


def test_labels_are_kept_as_written_typed_cells_trimmed_of_any_space(tmp_path):
    header, rows = shipped("missions.csv")
    label = "\xa0Xérès et « XXL », tel quel\xa0X"  # non-breaking spaces and X at the edges are part of it
    rows[0]["label"] = "  " + label + "\t"
    rows[0]["code"] = " " + rows[0]["code"] + "\t"
    rows[0]["order"] = "\xa0" + rows[0]["order"] + " "
    write(tmp_path, "missions.csv", header, rows)
    first = read(tmp_path, "missions.csv")[0]
    assert first["label"] == label
    assert first["code"] == rows[0]["code"].strip()
    assert first["order"] == int(rows[0]["order"].strip())
    # a yes/no cell typed with non-breaking or em spaces around it
    header, rows = shipped("aptitudes.csv")
    rows = rows[:2]
    rows[0]["minted"], rows[1]["minted"] = "\xa0oui\u2003", "\u2003non\xa0"
    write(tmp_path, "aptitudes.csv", header, rows)
    assert [r["minted"] for r in read(tmp_path, "aptitudes.csv")] == [True, False]


def test_an_empty_optional_cell_is_none_and_get_gives_the_default(tmp_path):
    header, rows = shipped("aptitudes.csv")
    rows = rows[:2]
    rows[0]["note"], rows[0]["minted"], rows[0]["source_lines"] = "", "", "  "
    write(tmp_path, "aptitudes.csv", header, rows)
    first = read(tmp_path, "aptitudes.csv")[0]
    assert first["note"] is None and first["minted"] is None and first["source_lines"] is None
    assert first.get("note", "rien") == "rien" and first.get("minted", "?") == "?"
    assert first.get("label") == rows[0]["label"]


def test_an_optional_column_may_be_left_out(tmp_path):
    header, rows = shipped("missions.csv")
    assert "source_lines" in header
    header = [h for h in header if h != "source_lines"]
    write(tmp_path, "missions.csv", header, rows)
    got = read(tmp_path, "missions.csv")
    assert len(got) == len(rows) and all(r["source_lines"] is None for r in got)


def test_row_get_treats_empty_values_as_absent():
    row = Row(TABLES_BY_FILE["settings.csv"], Path("x.csv"), 7, {"a": "", "b": [], "c": None, "d": "v", "e": 0})
    assert [row.get(k, "défaut") for k in "abcde"] == ["défaut", "défaut", "défaut", "v", 0]


def test_row_error_names_the_rows_file_and_line(tmp_path):
    header, rows = shipped("missions.csv")
    path = write(tmp_path, "missions.csv", header, rows)
    third = read(tmp_path, "missions.csv")[2]
    error = third.error("la mission manque")
    assert isinstance(error, DataError) and error.message == "la mission manque"
    names(error, path, 4)


def test_a_blank_record_is_skipped_and_reading_goes_on(tmp_path):
    header, rows = shipped("missions.csv")
    path = tmp_path / "missions.csv"
    write(tmp_path, "missions.csv", header, [rows[0], [""] * len(header), rows[1], rows[2]])
    got = read(tmp_path, "missions.csv")
    assert [r["code"] for r in got] == [rows[0]["code"], rows[1]["code"], rows[2]["code"]]
    assert [r.line for r in got] == [2, 4, 5] and got[0].path == path


def test_a_quoted_cell_may_span_lines_and_the_next_record_keeps_its_line(tmp_path):
    header, rows = shipped("missions.csv")
    rows[0]["label"] = "première ligne\nseconde ligne"
    rows[1]["order"] = "deux"  # the error is on the record after the two-line one
    path = write(tmp_path, "missions.csv", header, rows)
    error = refused(tmp_path, "missions.csv")
    names(error, path, 4)  # header 1, the two-line record 2-3, the bad one 4
    rows[1]["order"] = "2"
    write(tmp_path, "missions.csv", header, rows)
    got = read(tmp_path, "missions.csv")
    assert got[0]["label"] == "première ligne\nseconde ligne"
    assert [r.line for r in got[:3]] == [2, 4, 5]


def test_a_byte_order_mark_is_not_part_of_the_first_column(tmp_path):
    header, rows = shipped("missions.csv")
    path = write(tmp_path, "missions.csv", header, rows)
    path.write_bytes(b"\xef\xbb\xbf" + path.read_bytes())
    assert [r["code"] for r in read(tmp_path, "missions.csv")] == [r["code"] for r in rows]


# -- what is refused, and where -----------------------------------------------------------------------------

def pattern_of(file: str, column: str) -> str:
    return next(c.pattern for c in TABLES_BY_FILE[file].columns if c.name == column)


@pytest.mark.parametrize("file, column, value, words", [
    ("missions.csv", "code", "M 1",
     ["« M 1 »", "ne convient pas", f"forme attendue : {pattern_of('missions.csv', 'code')}"]),
    ("missions.csv", "order", "deux", ["« deux »", "n'est pas un nombre entier"]),
    ("missions.csv", "source_lines", "ligne 12", ["« ligne 12 »", "ne convient pas"]),
    ("rules.csv", "min_percent", "beaucoup", ["« beaucoup »", "n'est pas un nombre"]),
    ("rules.csv", "min_percent", "Infinity", ["« Infinity »", "n'est pas un nombre fini"]),
    ("rules.csv", "min_percent", "NaN", ["« NaN »", "n'est pas un nombre fini"]),
    ("aptitudes.csv", "minted", "peut-être", ["« peut-être »", "ne vaut ni oui ni non",
                                              "oui : true, yes, oui, 1", "non : false, no, non, 0"]),
    # a pattern that only lists values names them, as the table's doc gives them
    ("rules.csv", "scope", "bloc", ["« bloc »", "valeurs admises : block, block-evaluator, know-how, unit"]),
])
def test_a_bad_value_names_file_line_column_and_value(tmp_path, file, column, value, words):
    header, rows = shipped(file)
    index = min(2, len(rows) - 1)
    rows[index][column] = value
    path = write(tmp_path, file, header, rows)
    error = refused(tmp_path, file)
    names(error, path, index + 2)
    assert error.message.startswith(f"colonne « {column} » : "), error.message
    says(error.message, *words)


def test_a_value_shows_what_cannot_be_seen(tmp_path):
    # a no-break space, a tab or a zero-width space (neither printable nor a space) inside a code is written out,
    # so the cell can be found and fixed; an ordinary space stays a space
    path, line = missions_with(tmp_path, 1, "code", "M\xa02\t3\u200b4 5")
    error = refused(tmp_path, "missions.csv")
    names(error, path, line)
    assert error.message.startswith(
        "colonne « code » : « M" + "\\u00a0" + "2" + "\\u0009" + "3" + "\\u200b" + "4 5 » ne convient pas")


def test_an_empty_required_cell_names_the_column_and_what_it_holds(tmp_path):
    path, line = missions_with(tmp_path, 3, "label", "  ")
    error = refused(tmp_path, "missions.csv")
    names(error, path, line)
    table = TABLES_BY_FILE["missions.csv"]
    doc = next(c.doc for c in table.columns if c.name == "label")
    assert error.message == ("colonne « label » vide : elle est obligatoire (ce qu'elle contient : "
                             "docs/data-format.md, missions.csv)")
    assert doc in (ROOT / "docs" / "data-format.md").read_text(encoding="utf-8")  # the reference named describes it


def test_a_missing_file_is_named_with_what_it_should_hold(tmp_path):
    tmp_path.mkdir(exist_ok=True)
    error = refused(tmp_path, "missions.csv")
    names(error, tmp_path / "missions.csv", None)
    assert error.message == "fichier obligatoire absent (ce qu'il contient : docs/data-format.md)"
    doc = TABLES_BY_FILE["missions.csv"].doc
    assert doc[0].upper() + doc[1:] in (ROOT / "docs" / "data-format.md").read_text(encoding="utf-8")
    # an optional table may be absent
    assert read(tmp_path, "variants.csv") == []


def test_text_that_is_not_utf8_is_refused(tmp_path):
    header, rows = shipped("missions.csv")
    path = write(tmp_path, "missions.csv", header, rows)
    text = path.read_text(encoding="utf-8")
    raw = text.encode("latin-1", errors="replace")
    path.write_bytes(raw)
    first = next(i for i, c in enumerate(text) if ord(c) > 127)  # the first letter latin-1 writes as one odd byte
    error = refused(tmp_path, "missions.csv")
    names(error, path, text[:first].count("\n") + 1)
    says(error.message, "ce n'est pas du texte UTF-8", f"octet 0x{raw[first]:02x}", f"position {first}",
         "« CSV UTF-8 (délimité par des virgules) »")


def test_an_empty_file_is_refused_on_line_one(tmp_path):
    path = tmp_path / "missions.csv"
    path.write_text("", encoding="utf-8")
    error = refused(tmp_path, "missions.csv")
    names(error, path, 1)
    assert error.message == "fichier vide : une ligne d'en-tête est attendue"


def test_broken_quoting_in_the_header_is_refused_on_line_one(tmp_path):
    header, rows = shipped("missions.csv")
    path = write(tmp_path, "missions.csv", header, rows)
    text = path.read_text(encoding="utf-8").split("\n", 1)
    path.write_text(f'"{header[0]}"x,' + text[0].split(",", 1)[1] + "\n" + text[1], encoding="utf-8")
    error = refused(tmp_path, "missions.csv")
    names(error, path, 1)
    # the csv module's « ',' expected after '"' », in French
    assert error.message == "syntaxe CSV : « , » attendu après un guillemet fermant (un guillemet dans une valeur " \
                            "s'écrit \"\")"


def test_broken_quoting_in_a_record_is_refused_on_its_line(tmp_path):
    header, rows = shipped("missions.csv")
    path = write(tmp_path, "missions.csv", header, rows)
    lines = path.read_text(encoding="utf-8").split("\n")
    code = rows[2]["code"]
    assert lines[3].startswith(code + ",")
    lines[3] = f'"{code}"x' + lines[3][len(code):]
    path.write_text("\n".join(lines), encoding="utf-8")
    error = refused(tmp_path, "missions.csv")
    names(error, path, 4)
    assert error.message == "syntaxe CSV : « , » attendu après un guillemet fermant (un guillemet dans une valeur " \
                            "s'écrit \"\") (dans l'enregistrement qui commence à cette ligne)"


def test_missing_columns_are_all_named_on_line_one(tmp_path):
    header, rows = shipped("missions.csv")
    gone = ["label", "order"]
    path = write(tmp_path, "missions.csv", [h for h in header if h not in gone], rows)
    error = refused(tmp_path, "missions.csv")
    names(error, path, 1)
    assert error.message == f"colonne(s) obligatoire(s) absente(s) : {', '.join(gone)}"


def test_unknown_columns_are_named_with_the_expected_ones(tmp_path):
    header, rows = shipped("missions.csv")
    path = write(tmp_path, "missions.csv", header + ["couleur", "taille"], [r | {"couleur": "bleu"} for r in rows])
    error = refused(tmp_path, "missions.csv")
    names(error, path, 1)
    # the columns the table knows are the shipped file's (it uses every one), listed in alphabetical order;
    # nothing is suggested: no column the header lacks is close to « couleur » or « taille »
    assert error.message == f"colonne(s) inconnue(s) : couleur, taille (attendu : {', '.join(sorted(header))})"


def test_an_unknown_column_close_to_a_missing_one_is_suggested(tmp_path):
    header, rows = shipped("missions.csv")
    # « lable » for label: a required column is missing, and the header's odd name is what was meant
    typo = ["lable" if h == "label" else h for h in header]
    path = write(tmp_path, "missions.csv", typo, [{("lable" if k == "label" else k): v for k, v in r.items()}
                                                  for r in rows])
    error = refused(tmp_path, "missions.csv")
    names(error, path, 1)
    assert error.message == "colonne(s) obligatoire(s) absente(s) : label ; « lable » : vouliez-vous dire label ?"
    # an optional column written in capitals: every required one is there, the odd one is unknown
    capital = ["Source_Lines" if h == "source_lines" else h for h in header]
    path = write(tmp_path, "missions.csv", capital,
                 [{("Source_Lines" if k == "source_lines" else k): v for k, v in r.items()} for r in rows])
    error = refused(tmp_path, "missions.csv")
    names(error, path, 1)
    assert error.message == (f"colonne(s) inconnue(s) : Source_Lines (attendu : {', '.join(sorted(header))}) ; "
                             "« Source_Lines » : vouliez-vous dire source_lines ?")
    # a column the header already has is not suggested for another: « labels » beside « label »
    path = write(tmp_path, "missions.csv", header + ["labels"], rows)
    assert refused(tmp_path, "missions.csv").message == \
        f"colonne(s) inconnue(s) : labels (attendu : {', '.join(sorted(header))})"


def test_each_unknown_column_close_to_a_missing_one_gets_its_own_suggestion(tmp_path):
    header, rows = shipped("missions.csv")
    typos = {"code": "cdoe", "label": "lable"}
    path = write(tmp_path, "missions.csv", [typos.get(h, h) for h in header],
                 [{typos.get(k, k): v for k, v in r.items()} for r in rows])
    error = refused(tmp_path, "missions.csv")
    names(error, path, 1)
    # one « ; « typo » : vouliez-vous dire column ? » after the other, in the header's order
    hints = "".join(f" ; « {typos[h]} » : vouliez-vous dire {h} ?" for h in header if h in typos)
    assert error.message == f"colonne(s) obligatoire(s) absente(s) : {', '.join(sorted(typos))}{hints}"


def test_a_record_with_too_few_cells_is_refused(tmp_path):
    header, rows = shipped("missions.csv")
    records = [[r[h] for h in header] for r in rows]
    records[1] = records[1][:2]
    path = write(tmp_path, "missions.csv", header, records)
    error = refused(tmp_path, "missions.csv")
    names(error, path, 3)
    assert error.message == f"2 cellules alors que l'en-tête en a {len(header)}"


def test_a_duplicated_key_names_the_first_line(tmp_path):
    header, rows = shipped("missions.csv")
    rows[3]["code"] = rows[0]["code"]
    path = write(tmp_path, "missions.csv", header, rows)
    error = refused(tmp_path, "missions.csv")
    names(error, path, 5)
    assert error.message == f"code « {rows[0]['code']} » en double (déjà à la ligne 2)"


def test_a_duplicated_pair_names_both_columns_of_the_key(tmp_path):
    header, rows = shipped("requirements.csv")
    rows = rows[:4] + [dict(rows[1])]
    path = write(tmp_path, "requirements.csv", header, rows)
    error = refused(tmp_path, "requirements.csv")
    names(error, path, 6)
    assert error.message == (f"mission « {rows[1]['mission']} », competence « {rows[1]['competence']} » en double "
                             "(déjà à la ligne 3)")


def test_a_duplicated_key_with_empty_cells_says_they_are_empty(tmp_path):
    """variants.csv's key has optional columns (item_code, source_lines): a duplicate where they are empty says
    « vide » for each, the other columns shown as written."""
    header, rows = shipped("variants.csv")
    twice = dict(rows[0], item_code="", source_lines="")
    path = write(tmp_path, "variants.csv", header, rows + [twice, dict(twice)])
    error = refused(tmp_path, "variants.csv")
    names(error, path, len(rows) + 3)
    assert error.message == (f"item_type « {twice['item_type']} », item_code vide, label_as_written "
                             f"« {twice['label_as_written']} », source_lines vide en double "
                             f"(déjà à la ligne {len(rows) + 2})")


# -- the folder ---------------------------------------------------------------------------------------------

def test_the_shipped_folder_is_read_whole():
    tables = read_referential(REFERENTIAL)
    for path in sorted(REFERENTIAL.glob("*.csv")):
        assert len(tables[path.name]) == len(csv_rows(path.name)), path.name


def test_a_referential_that_is_not_a_folder(tmp_path):
    path = tmp_path / "absent"
    with pytest.raises(DataError) as caught:
        read_referential(path)
    names(caught.value, path, None)
    assert caught.value.message == "ce n'est pas un dossier"


def test_an_unknown_data_file_is_named_first_in_order(tmp_path):
    folder = tmp_path / "ref"
    shutil.copytree(REFERENTIAL, folder)
    (folder / "notes.csv").write_text("a\n1\n", encoding="utf-8")
    (folder / "brouillon.csv").write_text("a\n1\n", encoding="utf-8")
    with pytest.raises(DataError) as caught:
        read_referential(folder)
    error = caught.value
    names(error, folder / "brouillon.csv", None)
    listed = re.fullmatch(r"fichier de données inconnu \(fichiers connus : (.*)\)", error.message).group(1).split(", ")
    assert listed == sorted(listed)
    assert {p.name for p in REFERENTIAL.glob("*.csv")} <= set(listed)


def test_an_unknown_data_file_close_to_an_absent_one_is_suggested(tmp_path):
    folder = tmp_path / "ref"
    shutil.copytree(REFERENTIAL, folder)
    (folder / "missions.csv").rename(folder / "mission.csv")
    with pytest.raises(DataError) as caught:
        read_referential(folder)
    names(caught.value, folder / "mission.csv", None)
    assert caught.value.message.endswith(") ; vouliez-vous dire missions.csv ?"), caught.value.message
    # a close name that is already there is not suggested: both files present, mission.csv is only unknown
    shutil.copy(REFERENTIAL / "missions.csv", folder / "missions.csv")
    with pytest.raises(DataError) as caught:
        read_referential(folder)
    assert caught.value.message.endswith(")"), caught.value.message


# -- the provenance columns every table shares ----------------------------------------------------------------
# `SRC = _source_columns()` is evaluated once, when the module is imported, so a change inside the function
# reaches the tables only through a new import; the test calls the function itself and checks what it gives
# against the committed reference (docs/data-format.md) and the shipped files, then reads with it.

def test_the_source_columns_are_the_ones_the_format_doc_and_the_shipped_files_give(tmp_path):
    from cqp_graph.source.tables import Table, _source_columns

    from .support import ROOT

    src = _source_columns()
    # the reference's row for each source_* column (the same row under every table that has it)
    documented = {}
    for line in (ROOT / "docs" / "data-format.md").read_text(encoding="utf-8").splitlines():
        cells = re.match(r"^\| `(source_[a-z_]+)` \| (yes|no) \| (.*) \| (.*) \|$", line)
        if cells:
            documented.setdefault(cells.group(1), set()).add(cells.groups()[1:])
    assert documented and all(len(rows) == 1 for rows in documented.values()), documented
    given = {}
    for column in src:
        kind = (column.type + (f" matching `{column.pattern}`" if column.pattern else "")).replace("|", "\\|")
        given[column.name] = {("yes" if column.required else "no", kind, column.doc)}
    assert given == documented
    # the shipped files' provenance columns, in their order
    header, rows = shipped("missions.csv")
    assert [c.name for c in src] == [h for h in header if h.startswith("source_")]
    # read with them: the shipped values pass, a value that is not line numbers is refused, source_lines may be
    # left out (optional), source_section may not (required)
    own = tuple(c for c in TABLES_BY_FILE["missions.csv"].columns if not c.name.startswith("source_"))
    table = Table("missions.csv", "the missions of the job", columns=own + src)
    write(tmp_path, "missions.csv", header, rows)
    got = read_table(tmp_path, table)
    assert [(r["source_section"], r["source_lines"]) for r in got] == \
        [(r["source_section"], r["source_lines"] or None) for r in rows]
    bad = [dict(r) for r in rows]
    bad[1]["source_lines"] = "ligne 12"
    path = write(tmp_path, "missions.csv", header, bad)
    with pytest.raises(DataError) as caught:
        read_table(tmp_path, table)
    names(caught.value, path, 3)
    says(caught.value.message, "colonne « source_lines »", "« ligne 12 »")
    for left_out, refused_for in (("source_lines", None), ("source_section", "colonne(s) obligatoire(s) absente(s) :")):
        path = write(tmp_path, "missions.csv", [h for h in header if h != left_out], rows)
        if refused_for is None:
            assert [r["source_lines"] for r in read_table(tmp_path, table)] == [None] * len(rows)
        else:
            with pytest.raises(DataError) as caught:
                read_table(tmp_path, table)
            names(caught.value, path, 1)
            says(caught.value.message, refused_for, left_out)
