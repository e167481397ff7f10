"""Every setting, defined once (name, default, help): where things live, the base IRI, the server's limits.

Every setting can be given by an environment variable; each one is listed in
SETTINGS and documented in the README (a test checks that it is).
"""

from __future__ import annotations

import math
import os
from dataclasses import dataclass, field, fields
from pathlib import Path

DEFAULT_BASE = "https://w3id.org/cqp-graph/"

def _checkout_root() -> Path | None:
    """The repository this module runs from (a checkout or an editable install), if any."""
    here = Path(__file__).resolve().parent.parent
    return here if (here / "ontology").is_dir() and (here / "pyproject.toml").is_file() else None


def _packaged_root() -> Path | None:
    """The resources an installed wheel carries (`cqp_graph/_resources/`), if any."""
    from importlib.resources import files

    packaged = Path(str(files("cqp_graph") / "_resources"))
    return packaged if (packaged / "ontology").is_dir() else None


def _locate() -> tuple[Path, bool]:
    """(folder holding ontology/, shapes/, queries/ and data/; whether it is a project folder).

    `CQP_GRAPH_HOME` wins, then the checkout this code runs from, then the resources of the
    installed package. A project folder keeps its `dist/` inside it; an installed package writes
    `dist/` in the current folder, never inside site-packages.
    """
    env = os.environ.get("CQP_GRAPH_HOME")
    if env:
        return Path(env).resolve(), True
    checkout = _checkout_root()
    if checkout is not None:
        return checkout, True
    packaged = _packaged_root()
    if packaged is not None:
        return packaged, False
    return Path.cwd(), True


class SettingsError(ValueError):
    """A setting (environment variable) whose value cannot be used; its message names the variable, in French."""


def _env(name: str, kind, default):
    """A numeric setting from the environment; a malformed, non-finite or negative value is a SettingsError
    naming the variable."""
    raw = os.environ.get(name, "").strip()
    if not raw:
        return default
    if kind is str:
        return raw
    expected = "un nombre entier" if kind is int else "un nombre"
    try:
        value = kind(raw)
    except (ValueError, OverflowError):
        raise SettingsError(f"réglage {name}=« {raw} » : {expected} est attendu") from None
    if kind is float and not math.isfinite(value):
        raise SettingsError(f"réglage {name}=« {raw} » : un nombre fini est attendu (ni nan ni inf)")
    if value < 0:
        raise SettingsError(f"réglage {name}=« {raw} » : une valeur positive ou nulle est attendue")
    return value


def _setting(env: str, default, help: str, kind=None):
    """A setting read from the environment variable `env`: its default and its help, said once."""
    return field(default=default, metadata={"env": env, "help": help,
                                            "kind": kind or (type(default) if default != () else "list")})


@dataclass(frozen=True)
class Settings:
    base: str = field(metadata={"env": "CQP_GRAPH_BASE",
                                "help": "base IRI under which every IRI of the graph is minted"})
    root: Path = field(metadata={"env": "CQP_GRAPH_HOME",
                                 "help": "project folder holding ontology/, shapes/, queries/ and data/"})
    data_dir: Path = field(metadata={"env": "CQP_GRAPH_DATA", "help": "folder of referentials (one sub-folder each)"})
    dist_dir: Path = field(metadata={"env": "CQP_GRAPH_DIST", "help": "folder the build writes the graph dumps to"})
    query_timeout: float = _setting("CQP_GRAPH_QUERY_TIMEOUT", 10.0,
                                    "seconds a SPARQL query may run on the server before it is stopped")
    max_rows: int = _setting("CQP_GRAPH_MAX_ROWS", 10000, "most rows the server returns for one SELECT")
    cors_origins: tuple[str, ...] = _setting("CQP_GRAPH_CORS_ORIGINS", (),
                                             "comma-separated origins allowed by CORS on the server (empty: none)")
    input_max_bytes: int = _setting("CQP_GRAPH_INPUT_MAX_BYTES", 262_144,
                                    "largest programme or results file read, in bytes")
    input_max_entries: int = _setting("CQP_GRAPH_INPUT_MAX_ENTRIES", 5_000,
                                      "most YAML nodes (keys, values, list items) or CSV cells in one programme "
                                      "or results file")
    input_max_depth: int = _setting("CQP_GRAPH_INPUT_MAX_DEPTH", 16,
                                    "deepest nesting of lists and mappings in a programme or results file")
    input_max_string: int = _setting("CQP_GRAPH_INPUT_MAX_STRING", 2_000,
                                     "longest value (characters) in a programme or results file")
    input_max_unzipped_bytes: int = _setting("CQP_GRAPH_INPUT_MAX_UNZIPPED_BYTES", 8 * 2**20,
                                             "largest total size, in bytes once unzipped, of the parts of an "
                                             "uploaded .xlsx programme (zip bombs are refused before any reading)")
    input_timeout: float = _setting("CQP_GRAPH_INPUT_TIMEOUT", 10.0,
                                    "seconds a coverage or decision request may take on the server (then 503)")
    input_concurrency: int = _setting("CQP_GRAPH_INPUT_CONCURRENCY", 2,
                                      "coverage and decision requests the server runs at once (past it: 503)")
    input_client_concurrency: int = _setting("CQP_GRAPH_INPUT_CLIENT_CONCURRENCY", 1,
                                             "coverage and decision requests one client address may have running "
                                             "at once (past it: 429)")
    store: str = _setting("CQP_GRAPH_STORE", "memory",
                          "where the graph is held: memory (built at start), a folder (an on-disk Oxigraph store "
                          "written by `cqp-graph load`, opened read-only) or a SPARQL 1.1 query endpoint URL")
    store_gsp: str = _setting("CQP_GRAPH_STORE_GSP", "",
                              "Graph Store Protocol URL of a remote store (default: its query URL with /query "
                              "replaced by /store, as Oxigraph serves it)")
    store_timeout: float = _setting("CQP_GRAPH_STORE_TIMEOUT", 30.0,
                                    "seconds one request of cqp-graph to a remote store may take (then an error)")
    store_max_bytes: int = _setting("CQP_GRAPH_STORE_MAX_BYTES", 256 * 2**20,
                                    "largest answer read from a remote store for one request of the knowledge layer")
    store_refresh: float = _setting("CQP_GRAPH_STORE_REFRESH", 10.0,
                                    "seconds between two checks, by a running server, of whether `cqp-graph load` "
                                    "published a new version in the configured store (then served without a "
                                    "restart); 0: never")
    store_max_rows: int = _setting("CQP_GRAPH_STORE_MAX_ROWS", 500_000,
                                   "most rows (or triples) read from a remote store for one request of the "
                                   "knowledge layer (past it: an error)")
    workers: int = _setting("CQP_GRAPH_WORKERS", 3,
                            "SPARQL worker processes of the server (each holds a copy of the graph)")
    worker_memory: int = _setting("CQP_GRAPH_WORKER_MEMORY", 512 * 2**20,
                                  "bytes of memory a SPARQL worker may use past its copy of the graph (0: unbounded)")
    worker_start_timeout: float = _setting("CQP_GRAPH_WORKER_START_TIMEOUT", 600.0,
                                           "seconds a SPARQL worker may take to load its copy of the graph (in "
                                           "memory: grows with the graph) and say it is ready")
    max_result_bytes: int = _setting("CQP_GRAPH_MAX_RESULT_BYTES", 16 * 2**20,
                                     "bytes of RDF terms one SPARQL result may hold before it is truncated")
    max_query_depth: int = _setting("CQP_GRAPH_MAX_QUERY_DEPTH", 128, "deepest nesting of brackets in a SPARQL query")
    service_allow: tuple[str, ...] = _setting("CQP_GRAPH_SERVICE_ALLOW", (),
                                              "comma-separated SERVICE endpoint IRIs a SPARQL query may call "
                                              "(empty: none)")
    client_concurrency: int = _setting("CQP_GRAPH_CLIENT_CONCURRENCY", 2,
                                       "SPARQL queries one client address may have in flight")
    queue_limit: int = _setting("CQP_GRAPH_QUEUE_LIMIT", 16,
                                "SPARQL queries that may wait for a free worker, all clients together")
    cache_bytes: int = _setting("CQP_GRAPH_CACHE_BYTES", 64 * 2**20, "bytes the server's response cache may hold")
    max_body_bytes: int = _setting("CQP_GRAPH_MAX_BODY_BYTES", 1_000_000, "largest request body the server accepts")
    max_header_bytes: int = _setting("CQP_GRAPH_MAX_HEADER_BYTES", 16 * 1024,
                                     "largest request line and headers the server accepts")
    header_timeout: float = _setting("CQP_GRAPH_HEADER_TIMEOUT", 10.0,
                                     "seconds a client has to send a request's line and headers")
    keep_alive: float = _setting("CQP_GRAPH_KEEP_ALIVE", 5.0, "seconds an idle connection is kept open")
    max_connections: int = _setting("CQP_GRAPH_MAX_CONNECTIONS", 512,
                                    "concurrent connections the server accepts before answering 503")
    body_timeout: float = _setting("CQP_GRAPH_BODY_TIMEOUT", 30.0,
                                   "seconds a client has to send a request's body once its headers are in (408 past it)")
    client_connections: int = _setting("CQP_GRAPH_CLIENT_CONNECTIONS", 32,
                                       "open connections one client address may hold (past it: 429)")
    max_query_chain: int = _setting("CQP_GRAPH_MAX_QUERY_CHAIN", 500,
                                    "longest chain of operators, property-path steps or group elements in a SPARQL "
                                    "query, counted with the brackets around it (past it: 400)")
    search_max_query: int = _setting("CQP_GRAPH_SEARCH_MAX_QUERY", 500,
                                     "longest search text, in characters, of /search and /api/search (400 past it)")
    search_max_limit: int = _setting("CQP_GRAPH_SEARCH_MAX_LIMIT", 50,
                                     "most results one page of /search or /api/search lists (largest `limit`; "
                                     "400 past it)")
    page_max: int = _setting("CQP_GRAPH_PAGE_MAX", 1000,
                             "most items one page of a list API answers (/api/missions, /api/competences…): the "
                             "largest `limit`, and the page size when none is given (400 past it)")
    max_offset: int = _setting("CQP_GRAPH_MAX_OFFSET", 100_000,
                               "largest `offset` of a list API or search page (400 past it)")
    register_top_k: int = _setting("CQP_GRAPH_REGISTER_TOP_K", 5,
                                   "RNCP blocks or RS fiches suggested per block of a referential when `top` is not "
                                   "given (/register/blocks, /api/register/blocks, /api/register/rs)")
    register_max_top_k: int = _setting("CQP_GRAPH_REGISTER_MAX_TOP_K", 50,
                                       "largest `top` a request may ask on the register's pages and API (422 past it)")
    register_max_rows: int = _setting("CQP_GRAPH_REGISTER_MAX_ROWS", 500,
                                      "most fiches or successions one register page or answer lists (`limit`, "
                                      "default and maximum; `offset` pages on)")
    generate_max_fiches: int = _setting("CQP_GRAPH_GENERATE_MAX_FICHES", 200_000,
                                        "most fiches `generate-rncp` writes in one export")
    generate_max_missions: int = _setting("CQP_GRAPH_GENERATE_MAX_MISSIONS", 200,
                                          "most missions `generate-referential` gives one referential")
    compare_max_missions: int = _setting("CQP_GRAPH_COMPARE_MAX_MISSIONS", 10,
                                         "most missions the /compare page compares at once")

    @property
    def ontology_dir(self) -> Path:
        return self.root / "ontology"

    @property
    def shapes_dir(self) -> Path:
        return self.root / "shapes"

    @property
    def queries_dir(self) -> Path:
        return self.root / "queries"

    @classmethod
    def from_env(cls, **overrides) -> "Settings":
        root, project = _locate()
        base = os.environ.get("CQP_GRAPH_BASE", DEFAULT_BASE)
        values = dict(
            base=base if base.endswith(("/", "#")) else base + "/",
            root=root,
            data_dir=Path(os.environ.get("CQP_GRAPH_DATA", root / "data")),
            dist_dir=Path(os.environ.get("CQP_GRAPH_DIST", (root if project else Path.cwd()) / "dist")),
        )
        for f in fields(cls):
            kind = f.metadata.get("kind")
            if kind is None:
                continue
            if kind == "list":
                raw = os.environ.get(f.metadata["env"], "")
                values[f.name] = tuple(item.strip() for item in raw.split(",") if item.strip())
            else:
                values[f.name] = _env(f.metadata["env"], kind, f.default)
        values.update({k: v for k, v in overrides.items() if v is not None})
        return cls(**values)


#: environment variable -> what it sets (the README documents each one): derived from the fields above
SETTINGS: dict[str, str] = {f.metadata["env"]: f.metadata["help"] for f in fields(Settings)}
