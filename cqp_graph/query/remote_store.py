"""A remote SPARQL 1.1 store seen as a pyoxigraph store: SPARQL Protocol to ask, Graph Store Protocol to publish.

`RemoteStore` answers what the knowledge layer asks of a store (`query(sparql, prefixes=, substitutions=, …)`,
`quads_for_pattern`, `len`, `named_graphs`) over HTTP, so that `Knowledge`, the pages and `/sparql` run
unchanged on a triple store someone else runs (Oxigraph server, Fuseki, GraphDB, Virtuoso, QLever…):

* a query is sent with POST (`application/x-www-form-urlencoded`), its dataset fixed by `default-graph-uri`
  and `named-graph-uri` to the graphs cqp-graph published (listed in its manifest graph, below): a client
  cannot see another graph of that store; results come back as SPARQL TSV (or JSON for ASK, N-Triples for
  CONSTRUCT/DESCRIBE) and are parsed by pyoxigraph into the same terms, hence the same typed rows;
* parameters are bound, never pasted: the values of `substitutions` are RDF terms serialised by pyoxigraph
  as N-Triples terms (quotes, backslashes and line breaks escaped; IRIs checked) in a `VALUES` block placed
  at the end of the query's outermost WHERE group; user text never becomes query syntax;
* the time limit and the size of an answer are enforced here (`timeout`, `max_bytes`, `max_rows`): the time
  limit covers the whole exchange (connection, headers, every byte of the answer: at the deadline the socket is
  shut down), not each read; past the bytes or rows an error is raised, or, for `/sparql` (`truncate=True`),
  the answer is cut at the last whole row and marked truncated; an answer is read in full where it arrives, so
  that a malformed one is a `StoreError` (French), never a parser error later in a page;
* only the configured URLs are ever contacted: no redirect is followed, no proxy from the environment used.

Publishing (`publish`): every graph is PUT under a fresh name, then the manifest graph naming them is PUT
(the commit point: a reader sees the old publication or the new one, never half of one) — except the named
graphs asked for (`--graph-data`, e.g. an RNCP import kept apart), written in place under their own IRI: a
reader may see such a graph's new content before the manifest, and a graph of that IRI that no manifest of
ours names (not written by cqp-graph) is refused before anything is written. The graphs: one
named graph per load (a release) for the validated referentials; those named graphs; and, when imports are merged into the default graph
(`--file`), one graph per load holding the referentials and those imports together — not one graph per
import unioned by `default-graph-uri`, because a union of graphs keeps a triple twice when two graphs hold
it (measured: the shipped referential and the RNCP/RS extracts share 5 triples, and COUNT(*) then differed
from the in-memory store's), where a default graph is a set. Then the graphs of the publication before the
previous one are deleted (only graphs a manifest of ours names: nothing cqp-graph did not write). The previous
publication is kept so that a server started on it keeps answering until it moves to the new one.

Lives here: that client and the manifest. Not here: choosing the store (`store`), the on-disk store
(`folder_store`), the SPARQL checks of `/sparql` (`cqp_graph.web.executor`).
"""

from __future__ import annotations

import functools
import hashlib
import http.client
import json
import re
import secrets
import socket
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path

import pyoxigraph as ox

#: vocabulary of the manifest graph (internal to cqp-graph: not the ontology)
VOCAB = "urn:cqp-graph:store#"
TSV = "text/tab-separated-values"
FORM = "application/x-www-form-urlencoded"
ACCEPT = f"{TSV}, application/sparql-results+json;q=0.9, application/n-triples;q=0.8"
_RESULTS = {TSV: ox.QueryResultsFormat.TSV, "application/sparql-results+json": ox.QueryResultsFormat.JSON,
            "application/sparql-results+xml": ox.QueryResultsFormat.XML, "text/csv": None}
_GRAPHS = {"application/n-triples": ox.RdfFormat.N_TRIPLES, "text/turtle": ox.RdfFormat.TURTLE,
           "application/n-quads": ox.RdfFormat.N_QUADS, "application/rdf+xml": ox.RdfFormat.RDF_XML}
CHUNK = 1 << 16


class StoreError(RuntimeError):
    """The remote store did not answer as expected (unreachable, too slow, too big, an error status)."""

    def __init__(self, message: str, status: int | None = None):
        super().__init__(message)
        self.status = status


class StoreTimeout(StoreError):
    pass


class StoreRefused(StoreError):
    """The store refused the query itself (HTTP 400): the query's fault, not the store's."""


def gsp_url(endpoint: str, explicit: str = "") -> str | None:
    """The Graph Store Protocol URL: the one given, else Oxigraph's layout (…/query → …/store), else None."""
    if explicit:
        return explicit
    parts = urllib.parse.urlsplit(endpoint)
    if parts.path.endswith("/query"):
        return urllib.parse.urlunsplit(parts._replace(path=parts.path[: -len("query")] + "store"))
    return None


def manifest_iri(base: str) -> str:
    """The manifest graph of the publications made under `base` (several bases may share one store)."""
    return f"urn:cqp-graph:manifest:{hashlib.sha256(base.encode('utf-8')).hexdigest()[:16]}"


# -- binding values ------------------------------------------------------------------------------------------

_IRI = re.compile(r"<[^<>\"{}|^`\\\x00-\x20]*>")
_WORD = re.compile(r"[A-Za-z_]+")
_VARIABLE = re.compile(r"[?$]\w+")


def _past_literal(sparql: str, i: int) -> int | None:
    """The index just past the comment, string or IRI starting at `i` (None when none starts there)."""
    c, n = sparql[i], len(sparql)
    if c == "#":
        end = sparql.find("\n", i)
        return n if end < 0 else end
    if c in "\"'":
        quote = c * 3 if sparql.startswith(c * 3, i) else c
        j = i + len(quote)
        while j < n and not sparql.startswith(quote, j):
            j += 2 if sparql[j] == "\\" else 1
        return j + len(quote)
    if c == "<" and (match := _IRI.match(sparql, i)):
        return match.end()
    return None


def _outer_group(sparql: str) -> int:
    """The index just past the `{` opening the outermost WHERE group (a CONSTRUCT template is skipped).
    Comments, strings and IRIs are skipped; ValueError when there is none."""
    i, n = 0, len(sparql)
    depth = 0  # parentheses, at brace depth 0
    construct = False
    template_seen = False
    after_where = False
    while i < n:
        c = sparql[i]
        skipped = _past_literal(sparql, i)
        if skipped is not None:  # a comment, a string or an IRI
            i = skipped
            continue
        if c.isalpha() or c == "_":
            match = _WORD.match(sparql, i)
            word = match.group().upper()
            if depth == 0 and word == "CONSTRUCT":
                construct = True
            elif depth == 0 and word == "WHERE":
                after_where = True
            i = match.end()
            continue
        if c in "?$":  # a variable: skip its name
            match = _VARIABLE.match(sparql, i)
            i = match.end() if match else i + 1
            continue
        if c == "(":
            depth += 1
        elif c == ")":
            depth -= 1
        elif c == "{" and depth == 0:
            if construct and not after_where and not template_seen:
                template_seen = True
                i = _closing(sparql, i) + 1
                continue
            return i + 1
        i += 1
    raise ValueError("no WHERE group in the query")


def _closing(sparql: str, start: int) -> int:
    """The index of the `}` closing the `{` at `start` (strings, comments and IRIs skipped)."""
    depth, i, n = 0, start, len(sparql)
    while i < n:
        c = sparql[i]
        skipped = _past_literal(sparql, i)
        if skipped is not None:  # a comment, a string or an IRI
            i = skipped
            continue
        if c == "{":
            depth += 1
        elif c == "}":
            depth -= 1
            if depth == 0:
                return i
        i += 1
    raise ValueError("unbalanced braces")


def term_text(term) -> str:
    """An RDF term as SPARQL text: pyoxigraph's N-Triples serialisation (escaped, IRIs validated)."""
    if not isinstance(term, (ox.NamedNode, ox.Literal)):
        raise TypeError(f"only IRIs and literals can be bound, not {type(term).__name__}")
    return str(term)


def bind(sparql: str, substitutions: dict | None) -> str:
    """`sparql` with `substitutions` (Variable → term) as a VALUES block closing its outermost WHERE group.

    At the end of the group, the block joins what the group found (a variable a BIND of the group sets may
    be bound too, which a block opening the group would forbid); pyoxigraph's substitutions, which the local
    stores use, give the same rows for the named queries (tests/test_stores.py compares every one)."""
    if not substitutions:
        return sparql
    names = " ".join(f"?{variable.value}" for variable in substitutions)
    values = " ".join(term_text(term) for term in substitutions.values())
    at = _closing(sparql, _outer_group(sparql) - 1)
    return f"{sparql[:at]}\n  VALUES ({names}) {{ ({values}) }}\n{sparql[at:]}"


def prologue(base_iri: str | None, prefixes: dict | None) -> str:
    lines = [f"BASE {term_text(ox.NamedNode(base_iri))}"] if base_iri else []
    lines += [f"PREFIX {name}: {term_text(ox.NamedNode(iri))}" for name, iri in (prefixes or {}).items()]
    return "\n".join(lines) + ("\n" if lines else "")


# -- results ------------------------------------------------------------------------------------------------

class GraphResult(list):
    """The triples of a CONSTRUCT or DESCRIBE answer (what pyoxigraph's `QueryTriples` holds)."""

    truncated = False


class SelectResult(list):
    """The solutions of a SELECT answer, read in full (a malformed answer fails while reading, here, not later
    in a page), with its `variables` as pyoxigraph's `QuerySolutions` has them."""

    truncated = False

    def __init__(self, variables, rows=()):
        super().__init__(rows)
        self.variables = variables


@dataclass
class Answer:
    """A raw answer: its media type, body and whether it was cut at `max_bytes`."""

    media: str
    body: bytes
    truncated: bool = False


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, req, fp, code, msg, headers, newurl):
        return None  # a redirect is an error: only the configured URLs are contacted


class _Deadline:
    """The end of one exchange with the store: when it passes, the connection is shut down, so that a store
    sending its headers or its answer a byte at a time is cut at the time limit (a socket timeout is per read)."""

    def __init__(self, seconds: float):
        self.at = time.monotonic() + seconds
        self.expired = False
        self._timer: threading.Timer | None = None

    def arm(self, sock) -> None:
        def expire():
            self.expired = True
            try:  # the plain socket's shutdown (an SSL socket's would drop its state under the reading thread)
                socket.socket.shutdown(sock, socket.SHUT_RDWR)
            except (OSError, ValueError):
                pass
        self._timer = threading.Timer(max(0.0, self.at - time.monotonic()), expire)
        self._timer.daemon = True
        self._timer.start()

    def cancel(self) -> None:
        if self._timer is not None:
            self._timer.cancel()


class _Watched:
    """A connection whose socket is shut down at the request's deadline (set by `_send` on the request)."""

    def __init__(self, *args, deadline: _Deadline | None = None, **kwargs):
        super().__init__(*args, **kwargs)
        self._deadline = deadline

    def connect(self):
        super().connect()
        if self._deadline is not None:
            self._deadline.arm(self.sock)


class _HTTPConnection(_Watched, http.client.HTTPConnection):
    pass


class _HTTPSConnection(_Watched, http.client.HTTPSConnection):
    pass


class _HTTPHandler(urllib.request.HTTPHandler):
    def http_open(self, req):
        return self.do_open(functools.partial(_HTTPConnection, deadline=getattr(req, "deadline", None)), req)


class _HTTPSHandler(urllib.request.HTTPSHandler):
    def https_open(self, req):
        return self.do_open(functools.partial(_HTTPSConnection, deadline=getattr(req, "deadline", None)), req,
                            context=self._context)


_OPENER = urllib.request.build_opener(urllib.request.ProxyHandler({}), _NoRedirect(), _HTTPHandler(),
                                      _HTTPSHandler())


@dataclass
class Publication:
    """What the manifest graph says: the graphs of the default graph, the named graphs, when, the findings."""

    default: list[str] = field(default_factory=list)
    named: list[str] = field(default_factory=list)
    previous: list[str] = field(default_factory=list)
    build: str | None = None
    loaded_at: str = ""
    findings: str = "[]"
    load_id: str = ""


class RemoteStore:
    """A SPARQL 1.1 endpoint (and its Graph Store Protocol URL) answering as a pyoxigraph store would."""

    def __init__(self, endpoint: str, gsp: str | None, base: str, timeout: float = 30.0,
                 max_bytes: int = 256 * 2**20, publication: Publication | None = None, max_rows: int = 500_000):
        self.endpoint = endpoint
        self.gsp = gsp
        self.base = base
        self.timeout = timeout
        self.max_bytes = max_bytes
        self.max_rows = max_rows
        self.publication = publication if publication is not None else self.read_manifest()

    @classmethod
    def from_settings(cls, settings, read: bool = True) -> "RemoteStore":
        return cls(settings.store, gsp_url(settings.store, settings.store_gsp), settings.base,
                   settings.store_timeout, settings.store_max_bytes, None if read else Publication(),
                   settings.store_max_rows)

    # -- HTTP --------------------------------------------------------------------------------------------
    def _send(self, request: urllib.request.Request, timeout: float, max_bytes: int,
              truncate: bool = False) -> Answer:
        """One exchange, within `timeout` seconds in all (connection, headers and the whole answer)."""
        deadline = _Deadline(timeout)
        request.deadline = deadline
        late = f"le magasin {request.full_url} n'a pas répondu en {timeout:g} s"
        try:
            try:
                response = _OPENER.open(request, timeout=max(0.001, timeout))
            except urllib.error.HTTPError as exc:
                if exc.code == 400:  # the store's reason for refusing the query: shown to whoever wrote it
                    detail = exc.read(2000).decode("utf-8", "replace").strip()
                    raise StoreRefused(f"le magasin {request.full_url} a répondu 400 : {detail[:500]}", 400) from None
                exc.close()  # any other status: the store's own text is not passed on (it may be anything)
                raise StoreError(f"le magasin {request.full_url} a répondu {exc.code}", exc.code) from None
            except (TimeoutError, OSError, http.client.HTTPException) as exc:
                if deadline.expired or isinstance(exc, TimeoutError) or "timed out" in str(exc):
                    raise StoreTimeout(late) from None
                raise StoreError(f"le magasin {request.full_url} est injoignable ({exc})") from None
            chunks, size, truncated = [], 0, False
            with response:
                media = (response.headers.get("Content-Type") or "").split(";")[0].strip().lower()
                while True:
                    if deadline.expired or time.monotonic() > deadline.at:
                        raise StoreTimeout(late)
                    try:
                        chunk = response.read1(CHUNK)
                    except (TimeoutError, OSError, ValueError, http.client.HTTPException) as exc:
                        if deadline.expired or isinstance(exc, TimeoutError):
                            raise StoreTimeout(late) from None
                        raise StoreError(f"la réponse du magasin {request.full_url} a été interrompue") from None
                    if not chunk:
                        break
                    size += len(chunk)
                    chunks.append(chunk)
                    if size > max_bytes:
                        if not truncate:
                            raise StoreError(f"la réponse du magasin dépasse {max_bytes} octets "
                                             "(CQP_GRAPH_STORE_MAX_BYTES)")
                        truncated = True
                        break
            if deadline.expired:  # the end of the answer may be the shutdown at the deadline: not a whole answer
                raise StoreTimeout(late)
        finally:
            deadline.cancel()
        body = b"".join(chunks)
        if truncated:  # line-based formats (TSV, N-Triples): keep whole lines only
            body = body[: body.rfind(b"\n", 0, max_bytes) + 1]
        return Answer(media, body, truncated)

    def _dataset(self, default_graph=None, named_graphs=None) -> list[tuple[str, str]]:
        """The protocol's dataset: the graphs of ours asked for (a graph not ours is an empty graph), else all
        of ours. A named-graph-uri is always sent, so that GRAPH ?g never sees another graph of the store."""
        ours = set(self.publication.default) | set(self.publication.named)
        nowhere = f"urn:cqp-graph:no-graph:{secrets.token_hex(8)}"

        def pick(graphs):
            kept = []
            for graph in graphs:
                if isinstance(graph, ox.DefaultGraph):
                    kept += self.publication.default
                elif graph.value in ours:
                    kept.append(graph.value)
            return kept or [nowhere]
        if default_graph is None and not named_graphs:
            default, named = self.publication.default or [nowhere], self.publication.named or [nowhere]
        else:
            given = default_graph if isinstance(default_graph, (list, tuple)) else \
                ([default_graph] if default_graph is not None else [ox.DefaultGraph()])
            default = pick(given)
            named = pick(named_graphs or []) if named_graphs else [nowhere]
        return [("default-graph-uri", g) for g in default] + [("named-graph-uri", g) for g in named]

    def answer(self, sparql: str, *, prefixes: dict | None = None, substitutions: dict | None = None,
               base_iri: str | None = None, default_graph=None, named_graphs=None, timeout: float | None = None,
               max_bytes: int | None = None, truncate: bool = False, **_ignored) -> Answer:
        """The raw answer of the store to a query (bound, with our prologue and our dataset)."""
        text = prologue(base_iri, prefixes) + bind(sparql, substitutions)
        params = [("query", text)] + self._dataset(default_graph, named_graphs)
        request = urllib.request.Request(self.endpoint, data=urllib.parse.urlencode(params).encode("utf-8"),
                                         headers={"Content-Type": FORM, "Accept": ACCEPT}, method="POST")
        return self._send(request, self.timeout if timeout is None else timeout,
                          self.max_bytes if max_bytes is None else max_bytes, truncate)

    def query(self, sparql: str, **options):
        """Like `pyoxigraph.Store.query`: QuerySolutions, QueryBoolean, or the triples (a `GraphResult`)."""
        return parse_answer(self.answer(sparql, **options), self.max_rows)

    # -- what pyoxigraph's store also offers ----------------------------------------------------------------
    def quads_for_pattern(self, subject, predicate, obj, graph_name=None):
        terms = {"s": subject, "p": predicate, "o": obj}
        bound = {ox.Variable(k): v for k, v in terms.items() if v is not None}
        if graph_name is None or isinstance(graph_name, ox.DefaultGraph):
            sparql = "SELECT ?s ?p ?o WHERE { ?s ?p ?o }"
            graphs = [ox.DefaultGraph()] if graph_name is not None else [ox.DefaultGraph()]
            result = self.query(sparql, substitutions=bound, default_graph=graphs)
            quads = [ox.Quad(r["s"], r["p"], r["o"], ox.DefaultGraph()) for r in result]
            if graph_name is None:
                for name in self.publication.named:
                    quads += self.quads_for_pattern(subject, predicate, obj, ox.NamedNode(name))
            return iter(quads)
        result = self.query("SELECT ?s ?p ?o WHERE { GRAPH ?g { ?s ?p ?o } }",
                            substitutions={**bound, ox.Variable("g"): graph_name}, named_graphs=[graph_name])
        return iter([ox.Quad(r["s"], r["p"], r["o"], graph_name) for r in result])

    def __len__(self) -> int:
        result = self.query("SELECT (COUNT(*) AS ?n) WHERE { { ?s ?p ?o } UNION { GRAPH ?g { ?s ?p ?o } } }",
                            default_graph=[ox.DefaultGraph()],
                            named_graphs=[ox.NamedNode(g) for g in self.publication.named] or None)
        return int(next(iter(result))["n"].value)

    def named_graphs(self):
        return iter(ox.NamedNode(g) for g in self.publication.named)

    # -- Graph Store Protocol -------------------------------------------------------------------------------
    def _graph_url(self, graph: str) -> str:
        if not self.gsp:
            raise StoreError(f"aucune URL Graph Store Protocol pour {self.endpoint} : réglez CQP_GRAPH_STORE_GSP")
        return f"{self.gsp}?{urllib.parse.urlencode({'graph': graph})}"

    def get_graph(self, graph: str) -> bytes | None:
        """A named graph as N-Triples (None when the store does not hold it)."""
        request = urllib.request.Request(self._graph_url(graph), headers={"Accept": "application/n-triples"})
        try:
            return self._send(request, self.timeout, self.max_bytes).body
        except StoreError as exc:
            if exc.status == 404:
                return None
            raise

    def has_graph(self, graph: str) -> bool:
        """Whether the store holds the named graph `graph` (a Graph Store Protocol HEAD: nothing is downloaded)."""
        request = urllib.request.Request(self._graph_url(graph), method="HEAD")
        try:
            self._send(request, self.timeout, 1 << 16)
        except StoreError as exc:
            if exc.status == 404:
                return False
            raise
        return True

    def put_graph(self, graph: str, data: bytes | Path, method: str = "PUT") -> None:
        """Replace (PUT) or add to (POST) the named graph `graph`: `data` N-Triples bytes, or an N-Triples or
        Turtle file (streamed)."""
        media = "application/n-triples"
        if isinstance(data, Path):
            media = "text/turtle" if data.suffix == ".ttl" else media
            size = data.stat().st_size
            with open(data, "rb") as handle:
                request = urllib.request.Request(self._graph_url(graph), data=handle, method=method,
                                                 headers={"Content-Type": media, "Content-Length": str(size)})
                self._send(request, max(self.timeout, 600.0), 1 << 20)
            return
        request = urllib.request.Request(self._graph_url(graph), data=data, method=method,
                                         headers={"Content-Type": media})
        self._send(request, max(self.timeout, 600.0), 1 << 20)

    def delete_graph(self, graph: str) -> None:
        try:
            self._send(urllib.request.Request(self._graph_url(graph), method="DELETE"), self.timeout, 1 << 20)
        except StoreError as exc:
            if exc.status != 404:
                raise

    # -- the manifest ------------------------------------------------------------------------------------------
    def read_manifest(self) -> Publication:
        """The current publication (an empty one when nothing was published under this base)."""
        body = self.get_graph(manifest_iri(self.base)) if self.gsp else self._manifest_by_query()
        publication = Publication()
        if not body:
            return publication
        try:
            triples = list(ox.parse(body, format=ox.RdfFormat.N_TRIPLES))
        except (SyntaxError, ValueError) as exc:
            raise StoreError(f"manifeste illisible dans le magasin {self.endpoint} ({str(exc)[:200]}) : est-ce bien "
                             "un point d'accès SPARQL (CQP_GRAPH_STORE, CQP_GRAPH_STORE_GSP) ?") from None
        for triple in triples:
            key = triple.predicate.value[len(VOCAB):]
            value = triple.object.value
            if key in ("default", "named", "previous"):
                getattr(publication, key).append(value)
            elif key in ("build", "loaded_at", "findings", "load_id"):
                setattr(publication, key, value)
        for key in ("default", "named", "previous"):
            getattr(publication, key).sort()
        return publication

    def _manifest_by_query(self) -> bytes:
        """The manifest through the query endpoint (for a store given without its Graph Store Protocol URL)."""
        manifest = ox.NamedNode(manifest_iri(self.base))
        request = urllib.request.Request(self.endpoint, headers={"Content-Type": FORM,
                                                                 "Accept": "application/n-triples"},
                                         data=urllib.parse.urlencode([
                                             ("query", "CONSTRUCT WHERE { ?s ?p ?o }"),
                                             ("default-graph-uri", manifest.value)]).encode("utf-8"), method="POST")
        return self._send(request, self.timeout, self.max_bytes).body

    def write_manifest(self, publication: Publication) -> None:
        subject = ox.NamedNode(manifest_iri(self.base))
        triples = []
        for key in ("default", "named", "previous"):
            triples += [ox.Triple(subject, ox.NamedNode(VOCAB + key), ox.NamedNode(g))
                        for g in getattr(publication, key)]
        for key in ("build", "loaded_at", "findings", "load_id"):
            value = getattr(publication, key)
            if value:
                term = ox.NamedNode(value) if key == "build" else ox.Literal(value)
                triples.append(ox.Triple(subject, ox.NamedNode(VOCAB + key), term))
        self.put_graph(subject.value, ox.serialize(triples, format=ox.RdfFormat.N_TRIPLES))
        self.publication = publication


def parse_answer(answer: Answer, max_rows: int | None = None, truncate: bool = False):
    """pyoxigraph's reading of a raw answer, read in full here: QueryBoolean, a `SelectResult` of solutions or a
    `GraphResult` of triples. An unreadable answer is a StoreError; past `max_rows` rows (or triples), a
    StoreError, or with `truncate` (`/sparql`) the rows read so far, marked truncated. A truncated answer
    of a format that is not line-based (JSON, XML) keeps the rows read before the cut."""
    parsed = result = None
    try:
        if answer.media in _GRAPHS:
            result = GraphResult()
            parsed = ox.parse(answer.body, format=_GRAPHS[answer.media])
        else:
            fmt = _RESULTS.get(answer.media)
            if fmt is None:
                raise StoreError(f"le magasin a répondu dans un format inattendu ({answer.media or 'aucun'})")
            parsed = ox.parse_query_results(answer.body, format=fmt)
            if isinstance(parsed, ox.QueryBoolean):
                return parsed
            result = SelectResult(list(parsed.variables))
        for item in parsed:
            if max_rows is not None and len(result) >= max_rows:
                if not truncate:
                    raise StoreError(f"la réponse du magasin dépasse {max_rows} lignes (CQP_GRAPH_STORE_MAX_ROWS)")
                result.truncated = True
                break
            result.append(item)
    except (SyntaxError, ValueError) as exc:
        if not (answer.truncated and result):
            raise StoreError(f"réponse du magasin illisible ({str(exc)[:200]})") from None
        result.truncated = True  # the cut fell inside a row of a JSON or XML answer: the rows before it stand
    finally:
        del parsed  # pyoxigraph's parser is dropped in the thread that made it
    result.truncated = result.truncated or answer.truncated
    return result


def publish(store: RemoteStore, build_nt: bytes, findings: bytes, merged: list[Path],
            named: list[tuple[str, Path]], progress=lambda _m: None) -> Publication:
    """Publish a validated build (N-Triples), merged imports and named graphs; the manifest PUT last."""
    load_id = datetime.now(timezone.utc).strftime("%Y%m%dT%H%M%SZ") + "-" + secrets.token_hex(4)
    old = store.read_manifest()
    ours = set(old.default) | set(old.named) | set(old.previous) | ({old.build} if old.build else set())
    for iri, _path in named:  # a named graph is written in place: never over a graph cqp-graph did not write
        if iri not in ours and store.has_graph(iri):
            raise StoreError(f"le magasin {store.endpoint} contient déjà un graphe <{iri}> qu'aucune publication de "
                             "cqp-graph n'a écrit : choisissez une autre IRI pour --graph-data (rien n'a été publié)")
    build = f"urn:cqp-graph:graph:{load_id}:referentials"
    progress(f"graphe des référentiels → <{build}>")
    store.put_graph(build, build_nt)
    default = [build]
    if merged:  # the default graph is a set: one graph holds the referentials and the merged imports alike
        whole = f"urn:cqp-graph:graph:{load_id}:default"
        store.put_graph(whole, build_nt)
        for path in merged:
            progress(f"{Path(path).name} → <{whole}>")
            store.put_graph(whole, Path(path), method="POST")
        default = [whole]
    for iri, path in named:
        progress(f"{Path(path).name} → <{iri}>")
        store.put_graph(iri, Path(path))
    current = set(default) | {build} | {iri for iri, _ in named}
    before = set(old.default) | set(old.named) | ({old.build} if old.build else set())
    publication = Publication(sorted(default), sorted(iri for iri, _ in named), sorted(before - current), build,
                              datetime.now(timezone.utc).isoformat(timespec="seconds"),
                              findings.decode("utf-8"), load_id)
    store.write_manifest(publication)  # the commit point
    for graph in sorted(set(old.previous) - current - set(publication.previous)):
        store.delete_graph(graph)  # named by a manifest of ours: written by cqp-graph
    return publication


def findings_of(publication: Publication) -> list[dict]:
    return json.loads(publication.findings or "[]")
