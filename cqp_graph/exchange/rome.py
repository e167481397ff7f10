"""ROME 4.0 alignment: suggest the ROME competences and knowledge items closest to each competence.

Lives here: reading ROME 4.0's open-data files (`load_rome`), which job sheets to search for a referential
(`candidate_sheets`, from the graph and ROME's own sheet hierarchy), the similarity and the suggestions, the
columns of a reviewed mapping. Not here: the reviewed mappings as triples (`cqp_graph.source.referential`) or
as SSSOM (`sssom`).

The job sheets searched are not a constant: they are the sheets the referential's job is aligned with in its
reviewed mappings (data/<referential>/rome-mappings.csv, rows `JOB` of object_type `job`), and the parent
sheet ROME gives each of them (`code_rome_parent`): for agc-alimentaire, D1409 and D1432, and D1401.

The similarity is reproducible and local: TF-IDF weighted cosine over the French labels,
with accents, case and a few French function words removed and a light suffix stripping.
No network, no model. Suggestions are written for review; the reviewed mappings live in
data/<referential>/rome-mappings.csv (SSSOM-style) and become triples at build time.
"""

from __future__ import annotations

import csv
import math
import re
import unicodedata
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

STOPWORDS = set("""a au aux avec ce ces dans de des du en et la le les leur leurs l d un une ou par pour sa se ses son
sur qui que en y ne pas plus son sa ses entre afin selon lors tout tous toute toutes etc est sont etre
""".split())
JOB_KIND = "job"
#: ROME's item kinds (cqp:romeKind, rome-mappings.csv's object_type) and the open-data file each is read from
ROME_FILES = {JOB_KIND: "unix_referentiel_code_rome", "competence": "unix_referentiel_competence",
              "knowledge": "unix_referentiel_savoir"}
LINKS_FILE = "unix_coherence_item"
#: how the named query `rome-alignments` names the job profile as a mapping's subject
JOB_SUBJECT = "JOB"


@dataclass(frozen=True)
class RomeItem:
    code: str        # code_ogr, or the ROME code for a job sheet
    label: str
    kind: str        # job | competence | knowledge
    sheets: tuple[str, ...] = ()
    core: bool = False


def _read(path: Path) -> list[dict]:
    with open(path, encoding="utf-8", newline="") as handle:
        return list(csv.DictReader(handle))


def _file(folder: Path, stem: str) -> Path:
    matches = sorted(Path(folder).glob(f"{stem}_v*_utf8.csv"))
    if not matches:
        raise FileNotFoundError(f"{folder}: no {stem}_v…_utf8.csv (ROME 4.0 open data)")
    return matches[-1]


def load_rome(folder: Path, sheets: tuple[str, ...] | None) -> list[RomeItem]:
    """The job sheets `sheets` and their competence / knowledge items; every sheet and item when sheets is None."""
    folder = Path(folder)
    jobs = {r["code_rome"]: r["libelle_rome"] for r in _read(_file(folder, ROME_FILES[JOB_KIND]))}
    competences = {r["code_ogr"]: r["libelle_competence"] for r in _read(_file(folder, ROME_FILES["competence"]))}
    knowledge = {r["code_ogr_savoir"]: r["libelle_savoir"] for r in _read(_file(folder, ROME_FILES["knowledge"]))}
    links: dict[str, set[str]] = {}
    core: set[str] = set()
    for row in _read(_file(folder, LINKS_FILE)):
        if sheets is None or row["code_rome"] in sheets:
            links.setdefault(row["code_ogr"], set()).add(row["code_rome"])
            if row.get("coeur_metier"):
                core.add(row["code_ogr"])
    wanted = sorted(jobs) if sheets is None else sheets
    items = [RomeItem(code, jobs[code], JOB_KIND) for code in wanted if code in jobs]
    for kind, labels in (("competence", competences), ("knowledge", knowledge)):
        for code, label in sorted(labels.items()):
            if sheets is None or code in links:
                items.append(RomeItem(code, label, kind, tuple(sorted(links.get(code, ()))), code in core))
    return items


def job_alignments(knowledge, referential: str | None = None) -> list[dict]:
    """The reviewed alignments of the referential's job with ROME job sheets (`rome-alignments` rows)."""
    knowledge.referential(referential)  # UnknownReferential: none named among several, or an unknown name
    return [r for r in knowledge.rows("rome-alignments", referential=referential)
            if r["subject"] == JOB_SUBJECT and r["rome_kind"] == JOB_KIND]


def aligned_job_sheets(knowledge, referential: str | None = None) -> tuple[str, ...]:
    """The ROME job sheets the referential's job is aligned with in its reviewed mappings, sorted."""
    return tuple(sorted({r["rome_code"] for r in job_alignments(knowledge, referential)}))


def candidate_sheets(knowledge, folder: Path, referential: str | None = None) -> tuple[str, ...] | None:
    """The job sheets to search for `referential`: its aligned sheets and their ROME parents, sorted.

    None (search every ROME item) while the referential's job is aligned with no job sheet yet: there is then
    nothing to narrow the search with.
    """
    aligned = aligned_job_sheets(knowledge, referential)
    if not aligned:
        return None
    parents = {r["code_rome"]: r.get("code_rome_parent") or ""
               for r in _read(_file(Path(folder), ROME_FILES[JOB_KIND]))}
    return tuple(sorted(set(aligned) | {parents[c] for c in aligned if parents.get(c)}))


def tokens(text: str) -> list[str]:
    text = unicodedata.normalize("NFKD", text)
    text = "".join(ch for ch in text if not unicodedata.combining(ch)).lower().replace("’", "'")
    out = []
    for word in re.findall(r"[a-z]+", text):
        if word in STOPWORDS or len(word) < 3:
            continue
        for suffix in ("ements", "ement", "ations", "ation", "ions", "ion", "euses", "euse", "eurs", "eur", "es", "s"):
            if word.endswith(suffix) and len(word) - len(suffix) >= 4:
                word = word[: -len(suffix)]
                break
        out.append(word)
    return out


class Similarity:
    """TF-IDF cosine over a fixed corpus of labels."""

    def __init__(self, documents: list[str]):
        counts = [Counter(tokens(d)) for d in documents]
        df = Counter(t for c in counts for t in c)
        n = len(documents)
        self.idf = {t: math.log((1 + n) / (1 + d)) + 1 for t, d in df.items()}

    def vector(self, text: str) -> dict[str, float]:
        counts = Counter(tokens(text))
        vec = {t: c * self.idf.get(t, 1.0) for t, c in counts.items()}
        norm = math.sqrt(sum(v * v for v in vec.values())) or 1.0
        return {t: v / norm for t, v in vec.items()}

    @staticmethod
    def cosine(a: dict[str, float], b: dict[str, float]) -> float:
        if len(a) > len(b):
            a, b = b, a
        return sum(v * b.get(t, 0.0) for t, v in a.items())


def suggest(competences: list[dict], items: list[RomeItem], top: int = 3, minimum: float = 0.15) -> list[dict]:
    """For each competence (dicts with code, label), its `top` closest ROME items above `minimum`."""
    pool = [i for i in items if i.kind != JOB_KIND]
    similarity = Similarity([c["label"] for c in competences] + [i.label for i in pool])
    vectors = [(i, similarity.vector(i.label)) for i in pool]
    rows = []
    for competence in competences:
        vector = similarity.vector(competence["label"])
        scored = sorted(((Similarity.cosine(vector, v), i) for i, v in vectors), key=lambda x: (-x[0], x[1].code))
        for score, item in scored[:top]:
            if score < minimum:
                continue
            rows.append({
                "subject_id": competence["code"], "subject_label": competence["label"],
                "predicate_id": "skos:closeMatch" if score >= 0.5 else "skos:relatedMatch",
                "object_id": item.code, "object_label": item.label, "object_type": item.kind,
                "rome_sheets": " ".join(item.sheets), "similarity": round(score, 3),
            })
    return rows


MAPPING_COLUMNS = ("subject_id", "predicate_id", "object_id", "object_label", "object_type", "confidence",
                   "author", "mapping_date", "mapping_justification", "comment")
PREDICATES = {"skos:exactMatch", "skos:closeMatch", "skos:relatedMatch", "skos:broadMatch", "skos:narrowMatch"}
