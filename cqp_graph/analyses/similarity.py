"""Which texts of the RNCP / RS register are closest to a referential's blocks: a reproducible French TF-IDF.

Lives here: the tokenisation of French text (`tokens`), the TF-IDF index over the register's competence texts
(`RegisterIndex`, built from the named query `register-texts`), the text of a referential's block
(`referential_blocks`, from the named queries `blocks` and `block-contents`) and the two questions:
`closest` (for each block of a referential, the top-k RNCP blocks, or the top-k RS fiches, with their scores).
Not here: the ROME suggestions (`cqp_graph.exchange.rome`, a label-sized TF-IDF of its own), the pages and the
API (`cqp_graph.web.register_routes`).

The suggestions are for a person to review, like `align-rome --suggest`'s: nothing is asserted in the graph.
Everything is deterministic and documented, so that the same register gives the same scores anywhere:

- **Tokens.** The text is lower-cased (`str.casefold`); words are the runs of letters (`\\w` without digits or
  `_`), so an apostrophe or a hyphen splits (« l'entreprise » → « l », « entreprise »); words of one letter and
  French stop words (the Snowball project's French stop-word list, below, compared without accents) are
  dropped; each word is stemmed with the Snowball French stemmer (the `snowballstemmer` package, the Snowball
  project's own Python port) and the stem is then folded to ASCII (Unicode NFKD, combining marks removed):
  « Réclamations » and « réclamation » give « reclam ». Stemming runs before the accent folding because the
  French rules read accents.
- **Weights.** A document's term weight is its raw count × the smoothed inverse document frequency
  `ln((1 + N) / (1 + df)) + 1` (N: documents of the register's corpus, RNCP blocks and RS fiches together; df:
  those holding the term; a term no document holds gets df = 0). Vectors are L2-normalised; the score is their
  cosine, summed term by term in sorted term order (in float64), rounded to 4 decimals.
- **Ranking.** Score descending, then the candidate's code ascending (ties are broken by code); a score of 0
  (no word in common) is never suggested; at most `top` per block.
- **Corpus.** Fixed by the register alone (the import beside the referentials), so adding a referential to the
  graph does not change another's scores. An RNCP block's text is its title and its competence list; an RS
  fiche's, its title and its attested capacities when the import keeps them; a referential block's, its title,
  the title of the domain it certifies and the wording of each competence of that domain.
"""

from __future__ import annotations

import math
import re
import threading
import unicodedata
from collections import Counter
from dataclasses import dataclass

import numpy as np
import snowballstemmer

#: The Snowball project's French stop-word list (snowballstem.org, algorithms/french/stop.txt, BSD licence),
#: the forms of « être » and « avoir » included; compared after accent folding.
SNOWBALL_FRENCH_STOP_WORDS = """
au aux avec ce ces dans de des du elle en et eux il ils je la le les leur lui ma mais me même mes moi mon ne nos
notre nous on ou par pas pour qu que qui sa se ses son sur ta te tes toi ton tu un une vos votre vous c d j l à m n
s t y été étée étées étés étant étante étants étantes suis es est sommes êtes sont serai seras sera serons serez
seront serais serait serions seriez seraient étais était étions étiez étaient fus fut fûmes fûtes furent sois
soit soyons soyez soient fusse fusses fût fussions fussiez fussent ayant ayante ayantes ayants eu eue eues eus ai
as avons avez ont aurai auras aura aurons aurez auront aurais aurait aurions auriez auraient avais avait avions
aviez avaient eut eûmes eûtes eurent aie aies ait ayons ayez aient eusse eusses eût eussions eussiez eussent
""".split()

WORD = re.compile(r"[^\W\d_]+")
SCORE_DIGITS = 4


def fold(text: str) -> str:
    """`text` without accents or other combining marks (NFKD), lower-cased."""
    decomposed = unicodedata.normalize("NFKD", text.casefold())
    return "".join(ch for ch in decomposed if not unicodedata.combining(ch))


STOP_WORDS = frozenset(fold(w) for w in SNOWBALL_FRENCH_STOP_WORDS)


class _Terms:
    """Word → term, cached (the Snowball stemmer is pure Python, about 0.25 ms a word; a register's vocabulary is a
    few tens of thousands of words): the empty string for a stop word or a word of one letter."""

    def __init__(self):
        self._stemmer = snowballstemmer.stemmer("french")
        self._cache: dict[str, str] = {}
        self._lock = threading.Lock()

    def __call__(self, word: str) -> str:
        term = self._cache.get(word)
        if term is None:
            if len(word) < 2 or fold(word) in STOP_WORDS:
                term = ""
            else:
                with self._lock:  # the Snowball stemmer object keeps state between calls
                    term = fold(self._stemmer.stemWord(word))
            self._cache[word] = term
        return term


_TERM = _Terms()


def tokens(text: str | None) -> list[str]:
    """The terms of a French text, in order (see the module's documentation for the rules)."""
    known = _TERM._cache  # the fast path: a dictionary look-up per word already seen
    out = []
    for word in WORD.findall((text or "").casefold()):
        term = known.get(word)
        if term is None:
            term = _TERM(word)
        if term:
            out.append(term)
    return out


@dataclass(frozen=True)
class Candidate:
    """A text of the register: an RNCP block (kind RNCP, code RNCP…BC…) or an RS fiche (kind RS, code RS…)."""

    code: str
    kind: str
    label: str | None
    fiche: str
    fiche_title: str | None
    active: bool | None

    def as_dict(self) -> dict:
        return {"code": self.code, "kind": self.kind, "label": self.label, "fiche": self.fiche,
                "fiche_title": self.fiche_title, "active": self.active}


class RegisterIndex:
    """A TF-IDF index over the register's texts, as an inverted index per kind (term → the documents holding it and
    their normalised weights, numpy arrays): memory grows with the words of the register, not with documents ×
    vocabulary, and a block is scored against every candidate with one vector operation per term."""

    def __init__(self, rows: list[dict]):
        rows = sorted(rows, key=lambda r: (r["kind"], r["code"]))
        counts_of = [Counter(tokens(" ".join(t for t in (r.get("label"), r.get("text")) if t))) for r in rows]
        df: Counter = Counter()
        for counts in counts_of:
            df.update(counts.keys())
        self.size = len(rows)
        self.idf = {term: self._idf(n) for term, n in df.items()}
        #: the candidates of each kind, in code order (a candidate's position is its index in the postings)
        self.candidates: dict[str, list[Candidate]] = {}
        postings: dict[tuple[str, str], tuple[list[int], list[float]]] = {}
        for row, counts in zip(rows, counts_of):
            same = self.candidates.setdefault(row["kind"], [])
            position = len(same)
            same.append(Candidate(row["code"], row["kind"], row.get("label"), row["fiche"], row.get("fiche_title"),
                                  _boolean(row.get("active"))))
            weights = {term: count * self.idf[term] for term, count in sorted(counts.items())}
            norm = math.sqrt(sum(w * w for w in weights.values())) or 1.0
            for term, weight in weights.items():
                docs, values = postings.setdefault((row["kind"], term), ([], []))
                docs.append(position)
                values.append(weight / norm)
        self.postings = {key: (np.array(docs, dtype=np.int64), np.array(values, dtype=np.float64))
                         for key, (docs, values) in postings.items()}

    def _idf(self, df: int) -> float:
        return math.log((1 + self.size) / (1 + df)) + 1

    def vector(self, text: str) -> dict[str, float]:
        """The L2-normalised TF-IDF vector of a text outside the corpus (a referential's block)."""
        counts = Counter(tokens(text))
        weights = {t: c * self.idf.get(t, self._idf(0)) for t, c in sorted(counts.items())}
        norm = math.sqrt(sum(w * w for w in weights.values())) or 1.0
        return {t: w / norm for t, w in weights.items()}

    def closest(self, text: str, kind: str, top: int) -> list[tuple[Candidate, float]]:
        """The `top` candidates of `kind` (RNCP or RS) closest to `text`, with their scores (see the module)."""
        candidates = self.candidates.get(kind, [])
        scores = np.zeros(len(candidates), dtype=np.float64)
        for term, weight in sorted(self.vector(text).items()):  # a fixed order of additions: the same sums
            entry = self.postings.get((kind, term))
            if entry is not None:
                scores[entry[0]] += weight * entry[1]
        rounded = np.round(scores, SCORE_DIGITS)
        positive = np.nonzero(rounded > 0)[0]
        order = positive[np.lexsort((positive, -rounded[positive]))][:max(0, top)]  # score down, then code
        return [(candidates[i], float(rounded[i])) for i in order]


def _boolean(value) -> bool | None:
    if value is None or isinstance(value, bool):
        return value
    return str(value).lower() == "true"


def register_index(knowledge) -> RegisterIndex:
    """The index of the register the graph holds (the named query `register-texts`)."""
    return RegisterIndex(knowledge.rows("register-texts"))


def referential_blocks(knowledge, referential: str | None = None) -> list[dict]:
    """Each block of the referential(s) with the text it is compared by: its title, the title of the domain it
    certifies and the wording of each competence of that domain (named queries `blocks`, `block-contents`)."""
    out = []
    for block in knowledge.rows("blocks", referential=referential):
        contents = knowledge.rows("block-contents", block=block["code"], referential=block["referential"])
        words = [block["label"]] + [c["label"] for c in contents if c["item_type"] in ("domain", "competence")]
        out.append({"referential": block["referential"], "code": block["code"], "label": block["label"],
                    "iri": block["iri"], "text": "\n".join(words),
                    "competences": sum(1 for c in contents if c["item_type"] == "competence")})
    return out


def closest(index: RegisterIndex, blocks: list[dict], kind: str, top: int) -> list[dict]:
    """For each referential block, its `top` closest register texts of `kind` (RNCP blocks or RS fiches)."""
    return [{**{k: b[k] for k in ("referential", "code", "label", "iri", "competences")},
             "matches": [{**c.as_dict(), "score": score} for c, score in index.closest(b["text"], kind, top)]}
            for b in blocks]
