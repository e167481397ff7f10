"""Helpers shared by the test modules: where the reference material is, data copies to break, and an
independent reading of the seed.

Lives here: everything a test imports (no test module imports another test module, nothing imports
conftest):
- where the reference material is (`../shared`, or `CQP_GRAPH_SHARED`), and `need()`, which skips locally
  but fails under `CI=true` when something a test needs is absent;
- editing a copy of a referential's CSV files; a data folder holding the shipped referential and the second,
  small one written for the tests (`two_referentials`, `SECOND`), or that one alone (`small_referential`), which
  builds and validates quickly where the data are not the point;
- an independent reader of the seed text: codes, each code's wording on its own line, mission pages,
  domain pages, aptitudes, activities and the thresholds stated in the evaluation rules. It reads the text
  only, never the data files or the program.
Not here: fixtures (tests/conftest.py), the live server (tests/server.py), the browser (tests/browser.py).
"""

from __future__ import annotations

import csv
import os
import re
import shutil
import unicodedata
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
SHARED = Path(os.environ.get("CQP_GRAPH_SHARED") or ROOT.parent / "shared")
SEED = SHARED / "seed" / "000_196c8280fc185893.txt"
REFERENTIAL = ROOT / "data" / "agc-alimentaire"
FIRST = REFERENTIAL.name
# A second, small referential written for the tests (tests/fixtures/referentials/): other title, RNCP number,
# missions, domains, competences, blocks, routes, evaluators and thresholds, all in French.
SECOND = "cqp-demo-logistique"
SECOND_REFERENTIAL = ROOT / "tests" / "fixtures" / "referentials" / SECOND


#: the named queries about the imported RNCP / RS register (queries/register-*.rq): the shipped data hold no register,
#: so they answer nothing there; tests/test_register.py runs them on an RNCP import merged beside the referential
REGISTER_QUERY = "register-"


def in_ci() -> bool:
    return os.environ.get("CI", "").strip().lower() in ("true", "1", "yes")


def need(condition: bool | Path, reason: str):
    """Skip (locally) or fail (under CI=true) with `reason` when `condition` is false or the path is absent."""
    ok = condition.exists() if isinstance(condition, Path) else bool(condition)
    if not ok:
        if in_ci():
            pytest.fail(f"CI=true: {reason}", pytrace=False)
        pytest.skip(reason)


def need_shared(path: Path) -> Path:
    need(path, f"{path} not found: ../shared is absent (set CQP_GRAPH_SHARED to its location)")
    return path


# -- editing a copy of the data ------------------------------------------------------------------------------

def edit_csv(folder: Path, name: str, change, referential: str = "agc-alimentaire"):
    """Rewrite one CSV of a referential of the data copy `folder`; `change(rows)` edits the list of dicts in place."""
    path = folder / referential / name
    with path.open(encoding="utf-8") as handle:
        reader = csv.DictReader(handle)
        fields, rows = reader.fieldnames, list(reader)
    rows = change(rows) or rows
    with path.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=fields, lineterminator="\n")
        writer.writeheader()
        writer.writerows(rows)


def two_referentials(tmp_path: Path) -> Path:
    """A data folder under `tmp_path` holding copies of the shipped referential and of the second one."""
    data = tmp_path / "data-two"
    data.mkdir(parents=True, exist_ok=True)
    for folder in (REFERENTIAL, SECOND_REFERENTIAL):
        shutil.copytree(folder, data / folder.name)
    return data


def small_referential(tmp_path: Path) -> Path:
    """A data folder under `tmp_path` holding only a copy of the second referential: a valid graph that builds and
    validates in a fraction of the shipped one's time, for tests about files and processes rather than the data."""
    data = tmp_path / "data-small"
    data.mkdir(parents=True, exist_ok=True)
    shutil.copytree(SECOND_REFERENTIAL, data / SECOND)
    return data


def set_cell(key_column, key, column, value):
    def change(rows):
        hits = [r for r in rows if r[key_column] == key]
        assert hits, f"no row {key_column}={key}"
        for r in hits:
            r[column] = value
    return change


def csv_rows(name: str, folder: Path = REFERENTIAL) -> list[dict]:
    with (folder / name).open(encoding="utf-8") as handle:
        return list(csv.DictReader(handle))


# -- an independent reading of the seed ----------------------------------------------------------------------

CODE_LINE = re.compile(r"^\uf06c?\s*(?P<code>(?:R|PO|OT)\s?(?:C|SF|FS)\s?\d+)\s*[–-]\s*(?P<text>.*)$")
ACTIVITY_LINE = re.compile(r"^(?P<code>M[1-5]A\d+)\s*[–-]\s*(?P<text>.*)$")
MISSION_HEADING = re.compile(r"^(M[1-5]) \S")
PAGE_BREAK = "Le\xa0référentiel\xa0de\xa0compétences"


def plain(line: str) -> str:
    """A line without the PDF's private-use glyphs and non-breaking spaces, stripped."""
    line = "".join(c for c in line if unicodedata.category(c) != "Co").replace("\xa0", " ")
    return " ".join(line.split())


def normalise_code(code: str) -> str:
    code = code.replace(" ", "")
    return re.sub(r"^(R|PO|OT)FS", r"\1SF", code)


@dataclass(frozen=True)
class Item:
    code: str          # normalised (RSF10)
    written: str       # as on its line (RFS10, OTSF 8)
    text: str          # the wording, its lines joined by one space
    first: int         # 1-based line numbers
    last: int

    @property
    def lines(self) -> str:
        return str(self.first) if self.first == self.last else f"{self.first}-{self.last}"


def _stops(line: str) -> bool:
    """A line that ends an item's wording: a heading, a mission, the aptitudes, a legend."""
    return (not line[:1].strip() and bool(line.strip())) or bool(MISSION_HEADING.match(line)) \
        or line.startswith(("Écoute", "Codage", "COMPETENCES", "CONNAISSANCES", "*", "Légende"))


def read_items(lines: list[str], start: int, end: int, pattern: re.Pattern, normalise=lambda c: c) -> list[Item]:
    """Items (code line + continuation lines) between 0-based line indexes start and end."""
    items, current = [], None
    for index in range(start, end):
        line = lines[index].rstrip()
        match = pattern.match(line)
        if match:
            if current:
                items.append(current)
            current = [match.group("code"), [match.group("text").strip()], index + 1, index + 1]
        elif current and line.strip() and not _stops(line):
            current[1].append(line.strip())
            current[3] = index + 1
        elif current and line.strip():
            items.append(current)
            current = None
    if current:
        items.append(current)
    return [Item(normalise(c), c, " ".join(t for t in texts if t), a, b) for c, texts, a, b in items]


@dataclass
class Seed:
    text: str

    def __post_init__(self):
        self.lines = self.text.split("\n")

    def index(self, needle: str, after: int = 0) -> int:
        """0-based index of the first line at or after `after` that contains `needle` (spacing aside)."""
        return next(i for i in range(after, len(self.lines)) if needle in plain(self.lines[i]))

    # pages
    def mission_page_spans(self) -> dict[str, tuple[int, int]]:
        starts = [i for i, line in enumerate(self.lines) if plain(line) == "Le référentiel de compétences"]
        domain_start = self.index("RELATION CLIENT / ARGUMENTATION")
        out = {}
        for a, b in zip(starts, starts[1:] + [domain_start]):
            missions = {m.group(1) for line in self.lines[a:b] if (m := MISSION_HEADING.match(line))}
            assert len(missions) == 1, f"a competence page names one mission, found {missions}"
            out[missions.pop()] = (a, b)
        return out

    def mission_items(self) -> dict[str, list[Item]]:
        return {m: read_items(self.lines, a, b, CODE_LINE, normalise_code)
                for m, (a, b) in self.mission_page_spans().items()}

    def domain_items(self) -> list[Item]:
        start = self.index("RELATION CLIENT / ARGUMENTATION")
        end = self.index("Référentiel de certification")
        return read_items(self.lines, start, end, CODE_LINE, normalise_code)

    def reference_labels(self) -> dict[str, Item]:
        items = self.domain_items()
        out = {i.code: i for i in items}
        assert len(out) == len(items), "each code once on the domain pages"
        return out

    def aptitudes(self) -> list[str]:
        line = next(line for line in self.lines if line.startswith("Écoute, courtoisie"))
        return [a.strip() for a in line.split(",")]

    def job_activities(self) -> dict[str, Item]:
        start = self.index("Le référentiel emploi")
        end = self.index("Le référentiel emploi", start + 1)
        return {i.code: i for i in read_items(self.lines, start, end, ACTIVITY_LINE)}

    def page_activities(self) -> dict[str, list[Item]]:
        return {m: read_items(self.lines, a, b, ACTIVITY_LINE) for m, (a, b) in self.mission_page_spans().items()}

    # thresholds, from the sentences of the evaluation rules
    def section(self, heading: str, until: str | None) -> str:
        start = self.text.index(heading)
        end = self.text.index(until, start) if until else len(self.text)
        return re.sub(r"\s+", " ", self.text[start:end])

    def thresholds(self) -> dict[str, int]:
        formation = self.section("Par la voie de la formation", "Par la voie des blocs")
        blocs = self.section("Par la voie des blocs", "Par la voie de la Validation")
        vae = self.section("Par la voie de la Validation", None)

        def one(pattern, text):
            found = re.findall(pattern, text)
            assert len(found) == 1, (pattern, found)
            return int(found[0])

        return {
            "formation-block": one(r"seuil d’évaluation de (\d+) ?%", formation),
            "formation-evaluator": one(r"inférieur à (\d+) ?% par type d’évaluateur", formation),
            "formation-know-how-tutor": one(r"savoir-faire par le tuteur, aucun savoir-faire ne peut être inférieur à "
                                            r"(\d+) ?%", formation),
            "blocs-block": one(r"bloc de compétences soit acquis, il faut que le niveau d’obtention des résultats "
                               r"soit au moins égal à (\d+) ?%", blocs),
            "blocs-unit": one(r"unité de compétence est acquise si le niveau des résultats est au moins égal à "
                              r"(\d+) ?%", blocs),
            "vae-block": one(r"seuil d’évaluation de (\d+) ?%", vae),
        }


def seed_or_skip() -> Seed:
    need_shared(SEED)
    return Seed(SEED.read_text(encoding="utf-8"))


def typographic_key(text: str) -> str:
    """What is left of a wording once case, accents of capitals, apostrophes, spacing, ellipses and
    punctuation are set aside: two wordings with the same key differ only typographically."""
    text = text.replace("’", "'").replace("…", "...")
    text = "".join(c for c in unicodedata.normalize("NFD", text) if unicodedata.category(c) != "Mn")
    text = re.sub(r"[^\w']+", " ", text.lower())
    return " ".join(text.split())


# -- a mission page's codes, read from the seed (shared by the seed-reading and server tests) --

SEED_CODE_LINE = re.compile(r"^\uf06c?\s*(?P<code>(?:R|PO|OT)\s?(?:C|SF|FS)\s?\d+)\s*[–-]")


def normalise(code: str) -> str:
    code = code.replace(" ", "")
    return re.sub(r"^(R|PO|OT)FS", r"\1SF", code)


def mission_pages(seed: str) -> dict[str, set[str]]:
    pages = seed.split(PAGE_BREAK)[1:]
    out: dict[str, set[str]] = {}
    for page in pages:
        page = page.split(" RELATION CLIENT / ARGUMENTATION")[0]
        missions = set(re.findall(r"^(M[1-5]) ", page, flags=re.M))
        assert len(missions) == 1, f"a competence page names one mission, found {missions}"
        codes = {normalise(m.group("code")) for line in page.splitlines() if (m := SEED_CODE_LINE.match(line))}
        out[missions.pop()] = codes
    return out


def settings_for(data_dir: Path, tmp_path: Path, **kw):
    """Settings reading `data_dir` and writing under `tmp_path` (the project's ontology, shapes and queries)."""
    from cqp_graph.config import Settings

    return Settings.from_env(root=ROOT, data_dir=data_dir, dist_dir=tmp_path / "dist", **kw)
