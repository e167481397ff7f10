"""What runs inside a SPARQL worker process, and nothing heavier: the checks a query passes before any engine
sees it, running it on pyoxigraph, writing its answer in the format asked for, and the worker's main loop.

A worker is started by the server's pool (`cqp_graph.web.executor`) as `python -c` with this module's `main`,
not through `multiprocessing`'s spawn, which would import the parent's `__main__` (the whole command line and
web application) into every worker: this module imports only the standard library, pyoxigraph and the small
result writers (`sparql_results`, `formats`, `negotiation`), so that a worker costs the interpreter, pyoxigraph
and its store, not rdflib or FastAPI (checked by `tests/test_stores.py`). rdflib is imported in a worker only
to check a query that mentions SERVICE; the remote store's result types only where such a result is written.

Lives here: `Source`, `WorkerConfig`, `QueryRequest`, `Reply`; `refusal` (NUL, nesting, chains, SERVICE),
`execute`, `serialise`, `main`. Not here: the pool, its admission and its limits (`executor`), the protocol
(`sparql`).
"""

from __future__ import annotations

import ctypes
import os
import re
import resource
import signal
import sys
from dataclasses import dataclass, field

import pyoxigraph as ox

from cqp_graph.web import sparql_results
from cqp_graph.web.formats import GRAPHS, RESULTS, format_for
from cqp_graph.web.negotiation import choose

MEMORY_EXIT = 86  # exit status of a worker that ran out of its memory allowance in Python code


@dataclass(frozen=True)
class Source:
    """An RDF file to load into every worker, into the default graph or a named graph; or (`store=True`) the
    folder of an on-disk Oxigraph store every worker opens read-only instead of loading anything."""

    path: str
    graph: str | None = None
    store: bool = False


@dataclass(frozen=True)
class WorkerConfig:
    """What bounds a worker process (see the module docstring)."""

    memory: int = 512 * 2**20          # bytes of address space past the loaded graph; 0: unbounded
    service_allow: tuple[str, ...] = ()  # SERVICE endpoint IRIs a query may call
    max_depth: int = 128                # deepest nesting of { } ( ) [ ] in a query
    max_chain: int = 500                # longest chain the engine's parser nests (see `_chain`)
    start_timeout: float = 600.0        # seconds a worker may take to load its graph and say it is ready


@dataclass
class QueryRequest:
    query: str
    accept: str | None
    default_graphs: list[str] = field(default_factory=list)
    named_graphs: list[str] = field(default_factory=list)
    max_rows: int = 10000
    base_iri: str | None = None
    prefixes: dict | None = None
    format: str | None = None  # the `format` parameter: json, xml, csv, tsv, turtle, nt, jsonld or a media type
    max_bytes: int = 16 * 2**20  # results stop before this many bytes of terms


@dataclass
class Reply:
    status: int
    media_type: str
    body: bytes
    headers: dict = field(default_factory=dict)


# -- inside a worker ---------------------------------------------------------------------

def _load(sources: list[Source]) -> ox.Store:
    on_disk = [s for s in sources if s.store]
    if on_disk:
        return ox.Store.read_only(on_disk[0].path)
    store = ox.Store()
    for source in sources:
        fmt = ox.RdfFormat.from_extension(source.path.rsplit(".", 1)[-1])
        to_graph = ox.NamedNode(source.graph) if source.graph else ox.DefaultGraph()
        store.bulk_load(path=source.path, format=fmt, to_graph=to_graph)
    return store


def _isolate_network() -> bool:
    """Move this (single-threaded) process into a new user and network namespace: no route anywhere.

    Returns False where the kernel refuses (then the parsed-query check is the only guard).
    """
    if not sys.platform.startswith("linux"):
        return False
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        uid, gid = os.getuid(), os.getgid()
        if libc.unshare(0x10000000 | 0x40000000) != 0:  # CLONE_NEWUSER | CLONE_NEWNET
            return False
        # keep the same identity inside, so that files stay readable as before
        for name, text in (("setgroups", "deny"), ("uid_map", f"{uid} {uid} 1"), ("gid_map", f"{gid} {gid} 1")):
            with open(f"/proc/self/{name}", "w") as handle:
                handle.write(text)
        return True
    except OSError:
        return False


def _limit_memory(extra: int) -> None:
    """Cap the address space at what the process uses now plus `extra` bytes."""
    if extra <= 0:
        return
    with open("/proc/self/status") as handle:
        size = next(int(line.split()[1]) * 1024 for line in handle if line.startswith("VmSize:"))
    resource.setrlimit(resource.RLIMIT_AS, (size + extra, size + extra))


def _bad(message: str, status: int = 400) -> Reply:
    return Reply(status, "text/plain", message.encode("utf-8"))


def _nesting(query: str, limit: int) -> bool:
    """Whether brackets nest deeper than `limit` outside strings and comments (the engine's parser
    recurses on each level and would overflow its stack long before the body size limit)."""
    depth = 0
    quote = None
    i, n = 0, len(query)
    while i < n:
        c = query[i]
        if quote:
            if c == "\\":
                i += 2
                continue
            if query.startswith(quote, i):
                i += len(quote)
                quote = None
                continue
        elif c in "\"'":
            quote = c * 3 if query.startswith(c * 3, i) else c
            i += len(quote)
            continue
        elif c == "#":
            end = query.find("\n", i)
            i = n if end < 0 else end
            continue
        elif c in "{([":
            depth += 1
            if depth > limit:
                return True
        elif c in "})]":
            depth -= 1
        i += 1
    return False


_NUMBER = re.compile(r"(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?")
_NAME = re.compile(r"[?$A-Za-z_:\u00b7\u00c0-\U000effff][\w\-.:%\\\u00b7\u00c0-\U000effff]*")
_IRI = re.compile(r"<[^<>\"{}|^`\\\x00-\x20]*>")
_OPERATORS = ("&&", "||", "!=", "<=", ">=", "!", "+", "-", "*", "/", "|", "^", "=", "<", ">")
_GROUP_KEYWORDS = {"UNION", "OPTIONAL", "MINUS", "FILTER", "BIND", "GRAPH", "SERVICE", "VALUES"}


def _chain(query: str, limit: int) -> bool:
    """Whether the query nests deeper than `limit` in the engine's parser, counted without parsing.

    Oxigraph's parser and evaluator recurse once per unary or binary operator of a chain
    (`!!!…`, `1+1+…`, `a && b && …`), per property-path step (`/`, `|`, `^`), and per element of
    a group pattern (`.`, `;`, `,`, UNION, OPTIONAL, FILTER, BIND…, juxtaposed groups): a 10 KB
    query of such a chain overflows the worker's stack (SIGSEGV). This counts those steps along
    each bracket level, each bracket adding one to the count of the level it opens from; an
    argument list or a VALUES block adds nothing per item (they do not nest).
    """
    stack = [["", 0]]  # [bracket, steps counted so far along this level (including the levels above)]
    i, n = 0, len(query)
    after_literal = False
    while i < n:
        c = query[i]
        if c.isspace():
            i += 1
            continue
        if c == "#":
            end = query.find("\n", i)
            i = n if end < 0 else end
            continue
        if c in "\"'":
            quote = c * 3 if query.startswith(c * 3, i) else c
            j = i + len(quote)
            while j < n and not query.startswith(quote, j):
                j += 2 if query[j] == "\\" else 1
            i = j + len(quote)
            after_literal = True
            continue
        if after_literal and query.startswith("^^", i):
            i += 2
            continue
        if after_literal and c == "@":
            match = _NAME.match(query, i + 1)
            i = match.end() if match else i + 1
            continue
        after_literal = False
        level = stack[-1]
        if c in "{([":
            if c == "{" and level[0] == "{":
                level[1] += 1  # groups side by side are joined, one more element of this level
            stack.append([c, level[1] + 1])
            i += 1
        elif c in "})]":
            if len(stack) > 1:
                stack.pop()
            i += 1
            continue
        elif c == "<" and (match := _IRI.match(query, i)):
            i = match.end()
            continue
        elif match := _NUMBER.match(query, i):
            i = match.end()
            continue
        elif match := _NAME.match(query, i):
            i = match.end()
            if level[0] == "{" and match.group().upper() in _GROUP_KEYWORDS:
                level[1] += 1
            continue
        elif c in ".;,":
            if level[0] != "(":  # a separator of triples or of group elements, not of arguments
                level[1] += 1
            i += 1
        else:
            op = next((o for o in _OPERATORS if query.startswith(o, i)), None)
            if op is not None:
                level[1] += 1
            i += len(op) if op else 1
        if stack[-1][1] > limit:
            return True
    return False


def _unescape(query: str) -> str:
    """SPARQL's \\uXXXX and \\UXXXXXXXX escapes apply to the whole query text before parsing."""
    if "\\u" not in query and "\\U" not in query:
        return query
    import re

    def repl(match):
        try:
            return chr(int(match.group(1) or match.group(2), 16))
        except (ValueError, OverflowError):
            return match.group(0)
    return re.sub(r"\\u([0-9A-Fa-f]{4})|\\U([0-9A-Fa-f]{8})", repl, query)


def check_services(request: QueryRequest, config: WorkerConfig, isolated: bool) -> Reply | None:
    """Refuse a query whose parsed algebra holds a SERVICE to an endpoint that is not allow-listed."""
    text = _unescape(request.query)
    if "service" not in text.lower():  # no SERVICE keyword can be in the query: nothing to parse
        return None
    from rdflib.plugins.sparql.algebra import translateQuery, traverse
    from rdflib.plugins.sparql.parser import parseQuery

    try:
        algebra = translateQuery(parseQuery(text), base=request.base_iri, initNs=request.prefixes or {})
    except Exception as exc:  # a parse error, or syntax this parser lacks
        if isolated:
            return None  # the engine decides; this worker cannot reach any network anyway
        return _bad("Requête refusée : elle mentionne SERVICE et n'a pas pu être analysée pour vérifier "
                    f"le service appelé ({type(exc).__name__}: {str(exc)[:300]}).")
    endpoints = []

    def visit(node):
        if getattr(node, "name", None) == "ServiceGraphPattern":
            endpoints.append(node.get("term"))
    traverse(algebra.algebra, visitPre=visit)
    for endpoint in endpoints:
        from rdflib import URIRef

        if not isinstance(endpoint, URIRef):
            return _bad(f"Requête refusée : SERVICE avec un point d'accès variable ({endpoint.n3()}) n'est pas "
                        "permis ; ce serveur n'interroge pas d'autres services.")
        if str(endpoint) not in config.service_allow:
            return _bad(f"Requête refusée : SERVICE <{endpoint}> n'est pas permis ; ce serveur n'interroge que les "
                        "services listés par son exploitant (CQP_GRAPH_SERVICE_ALLOW).")
    return None


_UNSUPPORTED = re.compile(r"The custom function (\S+) is not supported|is not supported")


def _engine_error(exc: Exception) -> Reply:
    """An engine failure caused by the query itself (an unknown function) is the client's: 400."""
    match = _UNSUPPORTED.search(str(exc))
    if match and match.group(1):
        return _bad(f"Requête refusée : la fonction {match.group(1)} n'existe pas dans ce moteur SPARQL "
                    "(seules les fonctions de SPARQL 1.1 y sont disponibles).")
    if match:
        return _bad(f"Requête refusée : ce moteur SPARQL ne prend pas en charge ce qu'elle demande ({str(exc)[:300]}).")
    return _bad(f"La requête a échoué : {type(exc).__name__}: {str(exc)[:500]}", 500)


def _size(term) -> int:
    return len(str(term)) + 16


def refusal(request: QueryRequest, config: WorkerConfig, isolated: bool = False) -> Reply | None:
    """The 400 a query gets before any engine sees it (NUL, nesting, chains, SERVICE), or None."""
    if "\x00" in request.query:
        return _bad("Requête refusée : le texte contient un caractère NUL.")
    text = _unescape(request.query)  # \uXXXX escapes could hide brackets or operators
    if _nesting(text, config.max_depth):
        return _bad(f"Requête refusée : accolades, parenthèses ou crochets imbriqués sur plus de {config.max_depth} "
                    "niveaux (CQP_GRAPH_MAX_QUERY_DEPTH).")
    if _chain(text, config.max_chain):
        return _bad(f"Requête refusée : chaîne d'opérateurs, d'étapes de chemin ou d'éléments de groupe de plus de "
                    f"{config.max_chain} maillons (CQP_GRAPH_MAX_QUERY_CHAIN) ; l'analyseur SPARQL ne peut pas "
                    "l'imbriquer sans risque. Scindez la requête ou utilisez VALUES / IN.")
    return check_services(request, config, isolated)


def execute(store: ox.Store, request: QueryRequest, config: WorkerConfig | None = None,
            isolated: bool = False) -> Reply:
    """Run one query against `store` and serialise it as the client asked (also used in-process)."""
    config = config or WorkerConfig()
    refused = refusal(request, config, isolated)
    if refused is not None:
        return refused
    kwargs = {}
    if request.default_graphs or request.named_graphs:
        try:
            kwargs["default_graph"] = [ox.NamedNode(g) for g in request.default_graphs]
            kwargs["named_graphs"] = [ox.NamedNode(g) for g in request.named_graphs]
        except ValueError as exc:
            return _bad(f"Paramètre default-graph-uri ou named-graph-uri refusé : ce n'est pas une IRI absolue ({exc}).")
    try:
        result = store.query(request.query, base_iri=request.base_iri, prefixes=request.prefixes, **kwargs)
    except SyntaxError as exc:
        return Reply(400, "text/plain", f"Erreur de syntaxe SPARQL : {exc}".encode("utf-8"))
    except ValueError as exc:
        return Reply(400, "text/plain", f"Requête invalide : {exc}".encode("utf-8"))
    except RuntimeError as exc:
        return _engine_error(exc)
    return serialise(result, request)


def _remote(result, kind: str) -> bool:
    """Whether `result` is a remote store's parsed answer of that kind (imported only when it may be one: a
    worker's results are pyoxigraph's own)."""
    if isinstance(result, (ox.QuerySolutions, ox.QueryTriples, ox.QueryBoolean)):
        return False
    from cqp_graph.query import remote_store

    return isinstance(result, getattr(remote_store, kind))


def serialise(result, request: QueryRequest, headers: dict | None = None) -> Reply:
    """A query's result (pyoxigraph's, or a remote store's parsed by pyoxigraph) in the format the client asked,
    cut at the request's rows and bytes."""
    headers = dict(headers or {})
    graph_result = isinstance(result, ox.QueryTriples) or _remote(result, "GraphResult")
    accept = format_for(request.format, graph_result) or request.accept
    if isinstance(result, ox.QueryBoolean):
        media = choose(accept, [m for m in RESULTS if m != "text/tab-separated-values"] +
                       ["text/tab-separated-values"])
        if media is None:
            return Reply(406, "text/plain", "Aucun format acceptable pour un résultat ASK (JSON, XML, CSV, TSV)."
                         .encode("utf-8"))
        return Reply(200, media, sparql_results.ask(bool(result), media))
    if isinstance(result, ox.QuerySolutions) or _remote(result, "SelectResult"):
        media = choose(accept, list(RESULTS))
        if media is None:
            return Reply(406, "text/plain", "Aucun format acceptable pour des résultats SELECT (JSON, XML, CSV, "
                         "TSV).".encode("utf-8"))
        variables = [v.value for v in result.variables]
        rows, size = [], 0
        for solution in result:
            row = [solution[v] for v in variables]
            size += sum(_size(t) for t in row if t is not None)
            if len(rows) == request.max_rows or size > request.max_bytes:
                headers["X-CQP-Truncated"] = "true"
                break
            rows.append(row)
        headers["X-CQP-Row-Limit"] = str(request.max_rows)
        headers["X-CQP-Byte-Limit"] = str(request.max_bytes)
        return Reply(200, media, sparql_results.select(variables, rows, media), headers)
    media = choose(accept, list(GRAPHS))
    if media is None:
        return Reply(406, "text/plain", "Aucun format RDF acceptable (Turtle, N-Triples, JSON-LD, RDF/XML)."
                     .encode("utf-8"))
    triples, size = [], 0
    for triple in result:
        size += _size(triple)
        if len(triples) == request.max_rows or size > request.max_bytes:
            headers["X-CQP-Truncated"] = "true"
            break
        triples.append(triple)
    body = ox.serialize(triples, format=GRAPHS[media], prefixes=request.prefixes or {})
    return Reply(200, media, body, headers)


def main(fd: int) -> None:
    """A worker's life: its connection is the socket `fd` the pool passed; the first message is (sources, config);
    it answers "ready", then one reply per request until None or the connection closes."""
    from multiprocessing.connection import Connection

    conn = Connection(fd)
    try:
        sources, config = conn.recv()
    except EOFError:
        return
    _serve(conn, sources, config)


def _serve(conn, sources: list[Source], config: WorkerConfig) -> None:
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the server stops its workers itself
    try:  # runaway queries must not take the CPU from the server's own event loop (pages, REST)
        os.nice(10)
    except OSError:
        pass
    isolated = False if config.service_allow else _isolate_network()
    store = _load(sources)
    sys.setrecursionlimit(20000)  # the SERVICE check's parser recurses per nesting level (bounded above)
    _limit_memory(config.memory)
    conn.send(("ready", os.getpid(), isolated))
    while True:
        try:
            request = conn.recv()
        except EOFError:
            return
        if request is None:
            return
        try:
            reply = execute(store, request, config, isolated)
            conn.send(reply)
        except MemoryError:
            os._exit(MEMORY_EXIT)
        except Exception as exc:  # an engine failure must not kill the worker silently
            # the message may carry what a remote SERVICE answered: never pass it on
            if isinstance(exc, OSError):  # what the engine reports of I/O, SERVICE calls included
                conn.send(_bad("La requête a échoué : un service qu'elle appelle n'a pas répondu comme attendu "
                               "(sa réponse n'est pas transmise).", 502))
            elif isinstance(exc, RuntimeError) and _UNSUPPORTED.search(str(exc)):
                conn.send(_engine_error(exc))
            else:
                conn.send(_bad(f"La requête a échoué : {type(exc).__name__}: {str(exc)[:500]}", 500))


