"""Full-text search over the graph: an embedded SQLite FTS5 index built from the knowledge layer.

`SearchIndex.build(knowledge)` asks the named query `search-documents` (queries/search-documents.rq) for every
resource a person looks for — missions, activities, blocks, domains, competences and aptitudes, units,
certifications, and the RNCP fiches and blocks imported into the graph — with the texts that find each one:
its code, its label, its other labels (skos:altLabel), the wordings and codes as the source writes them
elsewhere. They go into an in-memory SQLite database (the standard library's `sqlite3`, FTS5 table,
tokenizer `unicode61 remove_diacritics 2`); `search(q, …)` answers ranked hits.

Matching. The text indexed and the text asked are both *folded* (`fold`): lower case, accents and other marks
removed, ligatures spelt out (œ → oe), every character that is neither a letter nor a digit a space. So
« reclamation », « RÉCLAMATION » and « réclamation, » find « Gérer les réclamations clients ». Each word of
two characters or more matches as a prefix (« reclam » finds it too; a one-letter word matches whole), and a
final s or x of a word of four letters or more is dropped first (« clients » finds « client »). Every word
must match; when no resource has them all, the resources that have some of them are answered, ranked. Codes:
the query with its spaces and punctuation removed is compared with each code (« m4 », « M 4 » and « m-4 » are
M4).

Ranking, best first: the resource whose code is the query (score 2000), then those whose code starts with it
(score 1000, in the order of their codes), then the others by BM25 (SQLite's `bm25`: code weighted 10, label 4,
other wordings 2, the class's French name 1; the score is that relevance, below 1000), so the list is sorted by
`score`.

Lives here: folding, the index and its queries, its bytes for `dist/search.sqlite`. Not here: what is indexed
(the named query), the HTTP routes (`cqp_graph.web.search_routes`), the bounds of a request (the settings).
"""

from __future__ import annotations

import re
import sqlite3
import threading
import unicodedata
from dataclasses import dataclass

#: the named query that lists what is indexed
DOCUMENTS_QUERY = "search-documents"
#: the index as `build` publishes it in dist/ (an SQLite database: tables `docs` and `search`, FTS5)
SEARCH_FILE = "search.sqlite"
TOKENIZER = "unicode61 remove_diacritics 2"
#: bm25 weights of the FTS columns (code, label, variants, kind)
WEIGHTS = (10.0, 4.0, 2.0, 1.0)
EXACT_CODE, CODE_PREFIX, TEXT = 0, 1, 2
BONUS = {EXACT_CODE: 2000.0, CODE_PREFIX: 1000.0, TEXT: 0.0}
#: letters NFKD does not split (ß is casefolded to ss)
_LIGATURES = (("œ", "oe"), ("æ", "ae"), ("ø", "o"), ("đ", "d"), ("ł", "l"))
_NOT_WORD = re.compile(r"[\W_]+")
#: the combining marks of the Latin, Greek and Cyrillic scripts' accents (what NFKD splits off é, ç, ñ, ü…)
_MARKS = re.compile("[\u0300-\u036f\u0483-\u0489\u1ab0-\u1aff\u1dc0-\u1dff\u20d0-\u20ff\ufe20-\ufe2f]")


def bare(text: str | None) -> str:
    """`text` lower case, without accents and other marks, ligatures spelt out (punctuation left as it is)."""
    if not text:
        return ""
    text = str(text).casefold()
    if text.isascii():
        return text
    text = unicodedata.normalize("NFKD", text)  # é → e + ◌́, ﬁ → fi, ² → 2
    for ligature, spelt in _LIGATURES:
        if ligature in text:
            text = text.replace(ligature, spelt)
    return _MARKS.sub("", text)


def fold(text: str | None) -> str:
    """`text` for matching: `bare`, and every run of characters that are neither letters nor digits one space."""
    return _NOT_WORD.sub(" ", bare(text)).strip()


def code_key(text: str | None) -> str:
    """A code (or a query) as codes are compared: folded, without spaces (« M 4 » → « m4 »)."""
    return fold(text).replace(" ", "")


#: French elisions at the start of a word: l', d', j', m', n', s', t', c', qu', jusqu', lorsqu', puisqu' (' or ’)
_ELISION = re.compile(r"(?i)\b(?:[cdjlmnst]|qu|jusqu|lorsqu|puisqu)['\u2019]")


def query_words(q: str) -> list[str]:
    """The words of a query as FTS5 prefix terms' stems (a final s/x of a word of 4+ letters dropped)."""
    words = []
    # a French elided article or pronoun (l', d', j', qu'…) would be a word of its own once the apostrophe is a
    # space: « l'écoute » must also find « écoute » written without it, so the elision is dropped from the query
    folded = fold(_ELISION.sub("", q)).split() or fold(q).split()
    for word in folded:
        if len(word) >= 4 and word[-1] in "sx" and not word[-2].isdigit():
            word = word[:-1]
        if word not in words:
            words.append(word)
    return words


@dataclass(frozen=True)
class Hit:
    """One resource found: its IRI, code, label, class (local name and French label), referential and score."""

    iri: str
    code: str
    label: str
    type: str
    type_label: str
    referential: str | None
    score: float

    def as_dict(self) -> dict:
        return {"iri": self.iri, "code": self.code, "label": self.label, "type": self.type,
                "type_label": self.type_label, "referential": self.referential, "score": self.score}


class SearchIndex:
    """An FTS5 index of the graph's resources, in memory; thread-safe (one connection behind a lock)."""

    def __init__(self, connection: sqlite3.Connection):
        self.connection = connection
        self._lock = threading.Lock()
        self.size = connection.execute("SELECT COUNT(*) FROM docs").fetchone()[0]

    # -- building -------------------------------------------------------------------------------------------
    @classmethod
    def build(cls, knowledge, referential: str | None = None) -> "SearchIndex":
        """The index of what `search-documents` lists (for one referential, or all and the unowned RNCP fiches)."""
        params = {"referential": referential} if referential else {}
        return cls.from_rows(knowledge.table(DOCUMENTS_QUERY, params).rows)

    @classmethod
    def from_rows(cls, rows: list[dict]) -> "SearchIndex":
        """The index of `search-documents` rows (one per resource; should one come twice, the first wins).

        `variants` and `codes` are lists joined by « | », as the query gathers them."""
        docs: dict[str, dict] = {}
        for row in rows:
            docs.setdefault(row["iri"], row)
        connection = sqlite3.connect(":memory:", check_same_thread=False)
        connection.executescript(f"""
            CREATE TABLE docs (id INTEGER PRIMARY KEY, iri TEXT NOT NULL UNIQUE, code TEXT NOT NULL,
                               code_key TEXT NOT NULL, label TEXT NOT NULL, type TEXT NOT NULL,
                               type_label TEXT NOT NULL, referential TEXT);
            CREATE INDEX docs_code_key ON docs (code_key);
            CREATE VIRTUAL TABLE search USING fts5(code, label, variants, kind, tokenize = '{TOKENIZER}');
        """)
        entries, texts = [], []
        for number, doc in enumerate(docs.values(), start=1):
            code, label = doc["code"] or "", doc["label"] or ""
            entries.append((number, doc["iri"], code, code_key(code), label, doc["type"],
                            doc["type_label"] or doc["type"], doc["referential"]))
            # GROUP_CONCAT's order is the store's (it varies from one build to the next): sorted, so that the
            # same graph gives the same index bytes
            codes = [code] + sorted({c for c in (doc.get("codes") or "").split(" | ") if c and c != code})
            variants = " | ".join(sorted({v for v in (doc.get("variants") or "").split(" | ") if v}))
            # the tokenizer splits on what is neither a letter nor a digit, as `fold` does for a query
            texts.append((number, bare(" ".join(codes)), bare(label), bare(variants),
                          bare(doc["type_label"] or doc["type"])))
        with connection:
            connection.executemany("INSERT INTO docs VALUES (?, ?, ?, ?, ?, ?, ?, ?)", entries)
            connection.executemany("INSERT INTO search (rowid, code, label, variants, kind) VALUES (?, ?, ?, ?, ?)",
                                   texts)
            connection.execute("INSERT INTO search (search) VALUES ('optimize')")
            connection.execute("INSERT INTO search (search, rank) VALUES ('rank', ?)",
                               (f"bm25({', '.join(str(w) for w in WEIGHTS)})",))
        return cls(connection)

    @classmethod
    def from_bytes(cls, data: bytes) -> "SearchIndex":
        """An index written by `to_bytes` (such as dist/search.sqlite)."""
        connection = sqlite3.connect(":memory:", check_same_thread=False)
        connection.deserialize(data)
        return cls(connection)

    def to_bytes(self) -> bytes:
        """The index as an SQLite database file."""
        with self._lock:
            return self.connection.serialize()

    # -- asking ---------------------------------------------------------------------------------------------
    def search(self, q: str, limit: int = 10, offset: int = 0, referential: str | None = None,
               types: tuple[str, ...] = (), fallback: bool = True) -> list[Hit]:
        """The resources `q` finds, best first (see the module's docstring), `offset` skipped, at most `limit`.

        `referential` keeps one referential's resources (the RNCP fiches belong to none); `types` keeps those
        classes (local names such as "Competence"); `fallback`: when no resource has every word, answer those
        with some of them. A query without a letter or digit finds nothing."""
        words = query_words(q)
        if not words or limit <= 0:
            return []
        key = code_key(q)
        hits = self._ask(words, key, " AND ", limit, offset, referential, types)
        if fallback and not hits and len(words) > 1 and \
                (offset == 0 or not self._ask(words, key, " AND ", 1, 0, referential, types)):
            hits = self._ask(words, key, " OR ", limit, offset, referential, types)  # none has every word
        return hits

    def all_matches(self, q: str, referential: str | None = None, types: tuple[str, ...] = ()) -> list[Hit]:
        """Every resource that has every word of `q` (or whose code starts with it): a filter, no fallback."""
        return self.search(q, limit=max(self.size, 1), referential=referential, types=types, fallback=False)

    def _ask(self, words, key, join, limit, offset, referential, types) -> list[Hit]:
        """One page of the ranking: the code matches (exact, then by code: the index on `code_key` walks them
        in order), then the text matches that are not code matches, by BM25 (`rank`)."""
        match = join.join(f'"{word}"*' if len(word) > 1 else f'"{word}"' for word in words)
        where, params = [], {"match": match, "key": key, "key_end": key + "\U0010ffff"}
        if referential is not None:
            where.append("d.referential = :referential")
            params["referential"] = referential
        if types:
            names = {f"type{i}": t for i, t in enumerate(types)}
            where.append(f"d.type IN ({', '.join(':' + n for n in names)})")
            params.update(names)
        also = "".join(f" AND {w}" for w in where)
        in_codes = ":key != '' AND d.code_key >= :key AND d.code_key < :key_end"
        columns = "d.iri, d.code, d.label, d.type, d.type_label, d.referential"
        with self._lock:
            run = self.connection.execute
            coded = run(f"SELECT COUNT(*) FROM docs d WHERE {in_codes}{also}", params).fetchone()[0]
            rows = []
            if offset < coded:
                rows = [(*row[:-1], BONUS[EXACT_CODE] if row[-1] == key else BONUS[CODE_PREFIX]) for row in run(
                    f"SELECT {columns}, d.code_key FROM docs d WHERE {in_codes}{also} ORDER BY d.code_key, d.id "
                    "LIMIT :limit OFFSET :offset", {**params, "limit": limit, "offset": offset})]
            wanted = limit - len(rows)
            if wanted > 0:
                rows += [(*row[:-1], round(min(-row[-1], BONUS[CODE_PREFIX] - 1), 4)) for row in run(
                    f"SELECT {columns}, s.rank FROM search s JOIN docs d ON d.id = s.rowid "
                    f"WHERE search MATCH :match AND NOT ({in_codes}){also} ORDER BY s.rank, d.id "
                    "LIMIT :limit OFFSET :offset",
                    {**params, "limit": wanted, "offset": max(0, offset - coded)})]
        return [Hit(*row) for row in rows]
