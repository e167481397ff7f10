"""The whole register beside the referential, on each store: import, load, startup, memory, queries and pages.

    .venv/bin/python bench/bench_register.py                                  # 1 000, 5 000 and 25 000 fiches
    .venv/bin/python bench/bench_register.py --fiches 200 --repeat 5          # a quick look
    nice -n 5 .venv/bin/python bench/bench_register.py --output bench/results/2026-11-28-register.md

For each size, in one run (so that the machine's load weighs on a figure and on its peer alike):

1. an export is generated (`cqp-graph generate-rncp --fiches N --seed 1`), then imported (`cqp-graph
   import-rncp`, validation included, in its own process: wall time and peak RSS); the peer is Python's own
   `xml.etree.ElementTree.iterparse` over the same file (`bench_rncp.FLOOR`, in a fresh interpreter);
2. "one store": a bare Python process holding one in-memory pyoxigraph store of the same triples (the shipped
   referential's `graph.nt` + the import), its whole RSS (`bench_stores.one_store`);
3. each store serves those triples: `memory` (`serve --graph graph.nt --merge import.nt`: its load is the
   server's own startup), the on-disk `folder` (`cqp-graph load --dump graph.nt --file import.nt`, then `serve`
   with 1, 2 and 4 SPARQL workers) and `remote` (an Oxigraph server, `oxigraph serve --location DIR --bind
   127.0.0.1:PORT`, started and stopped here on loopback; `cqp-graph load` publishes into it with the Graph
   Store Protocol, then `serve` reads it). Startup is the time from starting `serve` to /health reporting every
   SPARQL worker ready and the API answering; memory is the total RSS and PSS of the server and every process
   it started (for `remote`, the Oxigraph server's own RSS is added, and shown apart);
4. latency, sequentially over one keep-alive connection, server started with `--no-cache` (otherwise the second
   request is a cache hit): every named query of queries/*.rq with the example parameters of its header
   (`/api/queries/NAME?…`), and a few pages. The peer is the same SPARQL run raw on pyoxigraph in this process
   (`Store.query` on an in-memory store of the same triples, every solution read): for a named query, its own
   SPARQL with its parameters bound; for a page, every SPARQL query and quad pattern the page's route runs,
   recorded once by serving the page in-process (the application over that store, cache off), then replayed
   raw. Served and raw are measured one after the other for each line. Two more peers for each named query: the
   knowledge layer in process (`Knowledge.table`, what the CLI, pages and API call) against the raw query, and,
   on the remote store, the same SPARQL (parameters as the remote store's VALUES block, same dataset) POSTed
   straight to the Oxigraph server's /query against our served API (raw pyoxigraph behind HTTP).

Prints progress on stderr and the tables (markdown, French) on stdout; `--output FILE` writes them there too
(temp file + rename), with the date and the machine. Everything else lives in a temporary folder, deleted at
the end (`--keep` keeps it). Figures are printed beside their goals, never asserted.

Lives here: that run and its tables. Not here: the helpers it reuses (`bench_rncp`: parse floor, French
numbers; `bench_stores`: process tree, RSS/PSS, one store, free port; `bench_server`: stopping a process
group; `bench_search`: percentile), the product itself.
"""

from __future__ import annotations

import argparse
import contextlib
import gc
import hashlib
import json
import os
import platform
import shlex
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.parse
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(ROOT))

import httpx  # noqa: E402

import bench_rncp  # noqa: E402
import bench_search  # noqa: E402
import bench_server  # noqa: E402
import bench_stores  # noqa: E402

PY = sys.executable
STARTED = time.perf_counter()
#: pages measured besides the named queries (path, what it is); the mission and referential are the shipped ones
PAGES = [("/", "accueil"),
         ("/agc-alimentaire/mission/M3.html", "page d'une mission (M3)"),
         ("/register", "registre (codes partagés)"),
         ("/register/blocks", "registre : blocs proches (TF-IDF)"),
         ("/search?q=" + urllib.parse.quote("réclamations clients"), "recherche « réclamations clients »")]
#: besides each named query with its example parameters: the lineage of the whole register (no `fiche`)
EXTRA_QUERIES = [("register-lineage", {}, "register-lineage (tout le registre)")]
GOAL_IMPORT, GOAL_MEMORY, GOAL_QUERY = 5.0, 1.5, 1.5


def say(message: str) -> None:
    print(f"[{time.perf_counter() - STARTED:6.0f} s] {message}", file=sys.stderr, flush=True)


fr = bench_rncp.fr


def ms(seconds: float | None) -> str:
    return "–" if seconds is None else fr(seconds * 1000, 2 if seconds < 0.01 else 1)


def mib(n: float | None) -> str:
    return "–" if n is None else fr(n / 2**20, 0)


def ratio(value: float | None, goal: float | None = None) -> str:
    if value is None:
        return "–"
    text = fr(value, 2) + " ×"
    return text if goal is None else text + (" ✓" if value <= goal else " ✗")


# -- processes ----------------------------------------------------------------------------------------------

def timed(command: list[str], env: dict | None = None, log: Path | None = None) -> dict:
    """Run `command` to its end: wall seconds, its peak RSS (its own rusage, `wait4`), exit code, output's tail."""
    if log is None:
        fd, name = tempfile.mkstemp(prefix="bench-register-", suffix=".log")
        os.close(fd)
    out = log or Path(name)
    with open(out, "wb") as handle:
        started = time.perf_counter()
        process = subprocess.Popen(command, cwd=ROOT, env=env, stdout=handle, stderr=subprocess.STDOUT)
        _, status, usage = os.wait4(process.pid, 0)
        process.returncode = os.waitstatus_to_exitcode(status)
        seconds = time.perf_counter() - started
    text = out.read_text(errors="replace")
    if log is None:
        out.unlink()
    return {"seconds": seconds, "rss": usage.ru_maxrss * 1024, "code": process.returncode,
            "tail": " / ".join(text.strip().splitlines()[-4:])[-600:]}


def cqp(*args: str) -> list[str]:
    return [PY, "-m", "cqp_graph", *args]


@dataclass
class Served:
    url: str = ""
    process: subprocess.Popen | None = None
    startup: float | None = None
    failed: str | None = None
    log: Path | None = None

    def memory(self) -> dict:
        """Total RSS and PSS of the server and every process it started, and how many there are."""
        pids = bench_stores.tree(self.process.pid)
        rss, pss = bench_stores.memory_of(pids)
        return {"rss": rss, "pss": pss, "processes": len(pids)}


def log_tail(path: Path, lines: int = 4) -> str:
    try:
        return " / ".join(path.read_text(errors="replace").strip().splitlines()[-lines:])[-800:]
    except OSError:
        return ""


@contextlib.contextmanager
def serving(args: list[str], env: dict, workers: int, work: Path, wait_seconds: float):
    """`cqp-graph serve --no-cache` on a free loopback port, until every worker is ready and the API answers."""
    port = bench_stores.free_port()
    url = f"http://127.0.0.1:{port}"
    log = work / f"serve-{port}.log"
    served = Served(url=url, log=log)
    with open(log, "wb") as handle:
        started = time.perf_counter()
        served.process = subprocess.Popen(cqp("serve", "--port", str(port), "--workers", str(workers), "--no-cache",
                                              *args), cwd=ROOT, env=env, stdout=handle, stderr=subprocess.STDOUT,
                                          start_new_session=True)
    try:
        with httpx.Client(timeout=5) as client:
            while True:
                try:
                    health = client.get(url + "/health").json()
                    if health["workers"]["ready"] == workers and client.get(url + "/api/queries").status_code == 200:
                        served.startup = time.perf_counter() - started
                        break
                    if health.get("failed_starts", 0) >= max(3, workers):  # workers that cannot start: a finding
                        served.failed = (f"workers pas prêts après {time.perf_counter() - started:.0f} s, "
                                         f"{health['failed_starts']} démarrages échoués : "
                                         f"{str(health.get('last_failure'))[:400]}")
                        break
                except (httpx.HTTPError, ValueError, KeyError):
                    pass
                if served.process.poll() is not None:
                    served.failed = f"serve s'est arrêté (code {served.process.returncode}) : {log_tail(log)}"
                    break
                if time.perf_counter() - started > wait_seconds:
                    served.failed = f"pas prêt en {wait_seconds:.0f} s : {log_tail(log)}"
                    break
                time.sleep(0.2)
        yield served
    finally:
        bench_server.stop(served.process)


@contextlib.contextmanager
def oxigraph_server(binary: str, location: Path, work: Path):
    """An Oxigraph server on a free loopback port (its own process group), stopped at the end."""
    port = bench_stores.free_port()
    with open(work / "oxigraph.log", "ab") as log:
        process = subprocess.Popen([binary, "serve", "--location", str(location), "--bind", f"127.0.0.1:{port}"],
                                   stdout=subprocess.DEVNULL, stderr=log, start_new_session=True)
    try:
        bench_server.wait_for(f"http://127.0.0.1:{port}/query?query=ASK%7B%7D", 60)
        yield port, process
    finally:
        bench_server.stop(process)


# -- latency ------------------------------------------------------------------------------------------------

def sample(call, repeat: int, budget: float) -> dict:
    """Time `call` once cold, then up to `repeat` times: fewer when the budget (seconds) is spent, but at least 3
    (at least 1 when the cold call alone took longer than the budget)."""
    started = time.perf_counter()
    first = call()
    cold = time.perf_counter() - started
    times = []
    spent = 0.0
    least = 3 if cold < budget else 1  # a line slower than the budget once is timed once more, not three times
    while len(times) < repeat and (len(times) < least or spent < budget):
        started = time.perf_counter()
        call()
        took = time.perf_counter() - started
        times.append(took)
        spent += took
    return {"cold": cold, "p50": statistics.median(times), "p99": bench_search.percentile(times, 99),
            "n": len(times), "first": first}


def consume(result) -> int:
    """Every solution (or triple, or quad) of a pyoxigraph answer read: the raw engine's whole work."""
    if hasattr(result, "__iter__") and not isinstance(result, (bool,)):
        try:
            return sum(1 for _ in result)
        except TypeError:
            pass
    return 1


class Recorder:
    """A store that runs everything on the store it wraps and, while `log` is a list, records each call."""

    def __init__(self, store):
        self._store = store
        self.log: list | None = None

    def query(self, sparql, **options):
        if self.log is not None:
            self.log.append(("query", sparql, options))
        return self._store.query(sparql, **options)

    def quads_for_pattern(self, *args, **options):
        if self.log is not None:
            self.log.append(("quads", args, options))
        return self._store.quads_for_pattern(*args, **options)

    def __len__(self):
        return len(self._store)

    def __getattr__(self, name):
        return getattr(self._store, name)


def replay(store, calls: list) -> int:
    total = 0
    for kind, what, options in calls:
        if kind == "query":
            total += consume(store.query(what, **options))
        else:
            total += consume(store.quads_for_pattern(*what, **options))
    return total


class Raw:
    """The peer: the application in this process over one in-memory pyoxigraph store of the same triples (no
    worker started, cache off), used to run the named queries raw and to record what each page runs."""

    def __init__(self, graph: Path, imported: Path, dist: Path):
        from cqp_graph.config import Settings
        from cqp_graph.namespaces import prefixes
        from cqp_graph.web.app import create_app
        try:
            from cqp_graph.web.worker import Source
        except ImportError:  # before the lean worker module
            from cqp_graph.web.executor import Source

        settings = Settings.from_env(dist_dir=dist)
        self.app = create_app(settings, graph_file=graph, extra_sources=[Source(str(imported))], workers=1,
                              cache=False)
        self.state = self.app.state.cqp
        self.store = self.state.knowledge.store
        from cqp_graph.query.knowledge import Knowledge

        self.knowledge = Knowledge.over(self.store, settings)  # what the CLI, pages and API call, in process
        self.prefixes = prefixes(self.state.base)
        self.recorder = Recorder(self.store)
        self.state.knowledge.store = self.recorder  # the routes run through it; the raw runs use `self.store`

    def named(self, query, params: dict):
        bindings = query.bindings(params)
        return lambda: consume(self.store.query(query.sparql, prefixes=self.prefixes, substitutions=bindings or None))

    def page_calls(self, path: str) -> tuple[list, int]:
        """The SPARQL queries and quad patterns serving `path` runs (recorded on a second, warm request): for a
        page, what is replayed raw; for a named query's URL, how many queries one call runs."""
        import asyncio

        async def get():
            transport = httpx.ASGITransport(app=self.app)
            async with httpx.AsyncClient(transport=transport, base_url="http://bench") as client:
                response = await client.get(path, headers={"Accept": "text/html"})
                self.recorder.log = []
                try:
                    response = await client.get(path, headers={"Accept": "text/html"})
                    return list(self.recorder.log), response.status_code
                finally:
                    self.recorder.log = None

        return asyncio.run(get())


# -- one size -----------------------------------------------------------------------------------------------

@dataclass
class SizeResult:
    fiches: int
    xml_bytes: int = 0
    generated: float = 0.0
    triples: int = 0
    floor: float | None = None
    imported: float | None = None
    import_rss: int | None = None
    import_problems: str = ""
    one_store: int | None = None
    one_store_graph: int | None = None
    stores: list = field(default_factory=list)      # dicts: store, workers, load, startup, rss, pss, …
    lines: dict = field(default_factory=dict)       # (label) -> {store: served, "raw:store": raw, "rows:…"}
    failures: list = field(default_factory=list)


def measure_latencies(result: SizeResult, store: str, served: Served, raw: Raw | None, catalogue, options,
                      disk=None, http_peer=None) -> None:
    """p50/p99 of every named query and page served, each followed by its raw peer (and, given `disk`, by the
    named query run raw on that read-only on-disk store too)."""
    targets = []
    for query in catalogue:
        params = {p.name: p.example for p in query.params if p.example is not None}
        targets.append((query.name, query, params))
    for name, params, label in EXTRA_QUERIES:
        targets.append((label, catalogue.get(name), params))
    with httpx.Client(base_url=served.url, timeout=options.request_timeout) as client:
        floor = result.lines.setdefault("plancher HTTP", {"kind": "floor", "path": "/health"})
        floor[store] = sample(lambda: client.get("/health"), options.repeat, options.budget)
        floor[store].pop("first")
        for label, query, params in targets:
            started = time.perf_counter()
            url = f"/api/queries/{query.name}" + ("?" + urllib.parse.urlencode(params) if params else "")

            def call(url=url):
                response = client.get(url)
                if response.status_code != 200:
                    raise RuntimeError(f"{url} : HTTP {response.status_code} {response.text[:300]}")
                return response

            line = result.lines.setdefault(label, {"kind": "query"})
            try:
                got = sample(call, options.repeat, options.budget)
                got["rows"] = len(got.pop("first").json())
                line[store] = got
            except Exception as exc:  # noqa: BLE001 — a failure is a finding: recorded, shown, the run goes on
                line[store] = {"error": str(exc)[:300]}
                result.failures.append(f"{result.fiches} fiches, {store}, {label} : {str(exc)[:300]}")
            if raw is not None:
                run = raw.named(query, params)
                got = sample(run, options.repeat, options.budget)
                got["rows"] = got.pop("first")
                line["raw:" + store] = got
                if "calls" not in line:
                    line["calls"], _ = raw.page_calls(url)
            if raw is not None and store == "memory":
                got = sample(lambda: raw.knowledge.table(query.name, params), options.repeat, options.budget)
                got["rows"] = len(got.pop("first").rows)
                line["knowledge"] = got
            if http_peer is not None and raw is not None:
                got = sample(lambda: http_peer(query, params), options.repeat, options.budget)
                got["rows"] = got.pop("first")
                line["http"] = got
            if disk is not None:
                got = sample(lambda: consume(disk.query(query.sparql, prefixes=raw.prefixes,
                                                        substitutions=query.bindings(params) or None)),
                             options.repeat, options.budget)
                got["rows"] = got.pop("first")
                line["disk"] = got
            if time.perf_counter() - started > 10:
                say(f"{result.fiches} fiches, {store} : {label} {time.perf_counter() - started:.0f} s")
        for path, label in PAGES:
            def call(path=path):
                response = client.get(path, headers={"Accept": "text/html"})
                if response.status_code != 200:
                    raise RuntimeError(f"{path} : HTTP {response.status_code} {response.text[:200]}")
                return response

            line = result.lines.setdefault(label, {"kind": "page", "path": path})
            try:
                got = sample(call, options.repeat, options.budget)
                got.pop("first")
                line[store] = got
            except Exception as exc:  # noqa: BLE001
                line[store] = {"error": str(exc)[:300]}
                result.failures.append(f"{result.fiches} fiches, {store}, {path} : {str(exc)[:300]}")
            if raw is not None and line.get("calls"):
                got = sample(lambda calls=line["calls"]: replay(raw.store, calls), options.repeat, options.budget)
                got.pop("first")
                line["raw:" + store] = got


def query_files() -> dict[str, str]:
    """Each query file's digest: a query rewritten while a size runs makes its served and raw figures differ in
    what they ran (the server reads the files when it starts, the raw peer when the size starts)."""
    return {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted((ROOT / "queries").rglob("*.rq"))}


def run_size(fiches: int, options, work: Path, graph: Path, dist: Path) -> SizeResult:
    from cqp_graph.query.catalogue import load_catalogue

    result = SizeResult(fiches)
    before = query_files()
    catalogue = load_catalogue(ROOT / "queries")  # read again for each size: the peer runs the server's text
    folder = work / f"n{fiches}"
    folder.mkdir()
    export, imported = folder / "export.xml", folder / "import.nt"
    say(f"{fiches} fiches : génération de l'export")
    gen = timed(cqp("generate-rncp", "--fiches", str(fiches), "--seed", str(options.seed), "-o", str(export)))
    if gen["code"]:
        result.failures.append(f"{fiches} fiches, generate-rncp : {gen['tail']}")
        return result
    result.generated, result.xml_bytes = gen["seconds"], export.stat().st_size
    say(f"{fiches} fiches : plancher iterparse ({result.xml_bytes / 1e6:.0f} Mo)")
    result.floor = bench_rncp.run(bench_rncp.FLOOR, str(export))["seconds"]
    say(f"{fiches} fiches : import-rncp (plancher {result.floor:.1f} s)")
    done = timed(cqp("import-rncp", str(export), "-o", str(imported), "--report", str(folder / "report.json")))
    if done["code"]:
        result.failures.append(f"{fiches} fiches, import-rncp (code {done['code']}, RSS max "
                               f"{mib(done['rss'])} Mio) : {done['tail']}")
        return result
    result.imported, result.import_rss = done["seconds"], done["rss"]
    with contextlib.suppress(OSError, ValueError):
        report = json.loads((folder / "report.json").read_text(encoding="utf-8"))
        result.import_problems = str(len(report.get("problems", [])))
    with open(imported, "rb") as handle:
        result.triples = sum(1 for _ in handle)
    if not options.keep:
        export.unlink()
    say(f"{fiches} fiches : import {result.imported:.1f} s, {result.triples} triplets ; un magasin")
    result.one_store_graph, result.one_store = bench_stores.one_store([graph, imported])

    raw = None
    try:
        say(f"{fiches} fiches : pair brut (l'application en processus sur un magasin pyoxigraph)")
        raw = Raw(graph, imported, dist)
        for path, label in PAGES:
            calls, status = raw.page_calls(path)
            line = result.lines.setdefault(label, {"kind": "page", "path": path})
            line["calls"], line["raw_status"] = calls, status
    except Exception as exc:  # noqa: BLE001
        result.failures.append(f"{fiches} fiches, pair brut en processus : {str(exc)[:300]}")

    env = dict(os.environ, CQP_GRAPH_DIST=str(dist))
    for store in options.stores:
        try:
            if store == "memory":
                measure_memory_store(result, options, work, graph, imported, env, raw, catalogue)
            elif store == "folder":
                measure_folder_store(result, options, folder, graph, imported, env, raw, catalogue)
            elif store == "remote":
                measure_remote_store(result, options, folder, graph, imported, env, raw, catalogue)
        except Exception as exc:  # noqa: BLE001
            result.failures.append(f"{fiches} fiches, {store} : {type(exc).__name__}: {str(exc)[:300]}")
    del raw
    changed = sorted(name for name, digest in query_files().items() if before.get(name) != digest)
    if changed:
        result.failures.append(f"{fiches} fiches : requêtes modifiées pendant la mesure ({', '.join(changed)}) : "
                               "servi et brut n'ont pas exécuté le même texte, leurs rapports ne valent rien")
    if not options.keep:
        shutil.rmtree(folder, ignore_errors=True)
    return result


def record_server(result: SizeResult, store: str, workers: int, load: float | None, served: Served,
                  extra: dict | None = None) -> dict:
    row = {"store": store, "workers": workers, "load": load, "startup": served.startup, "failed": served.failed}
    if served.failed:
        result.failures.append(f"{result.fiches} fiches, {store}, serve --workers {workers} : {served.failed}")
    else:
        row.update(served.memory())
        row.update(extra or {})
    result.stores.append(row)
    state = "échec" if served.failed else f"{served.startup:.1f} s, RSS {mib(row.get('rss'))} Mio"
    say(f"{result.fiches} fiches : {store}, {workers} worker(s) : démarrage {state}")
    return row


def measure_memory_store(result, options, work, graph, imported, env, raw, catalogue) -> None:
    say(f"{result.fiches} fiches : magasin en mémoire (serve --merge)")
    with serving(["--graph", str(graph), "--merge", str(imported)], dict(env, CQP_GRAPH_STORE="memory"),
                 options.default_workers, work, options.wait) as served:
        row = record_server(result, "memory", options.default_workers, served.startup, served)
        if not served.failed:
            measure_latencies(result, "memory", served, raw, catalogue, options)
            row["rss_after"] = served.memory()["rss"]


def measure_folder_store(result, options, folder, graph, imported, env, raw, catalogue) -> None:
    location = folder / "store"
    store_env = dict(env, CQP_GRAPH_STORE=str(location))
    say(f"{result.fiches} fiches : cqp-graph load dans un dossier")
    done = timed(cqp("load", "--dump", str(graph), "--file", str(imported)), env=store_env)
    if done["code"]:
        result.failures.append(f"{result.fiches} fiches, load (dossier) : {done['tail']}")
        return
    from cqp_graph.query import folder_store

    disk = folder_store.current(location).open() if raw is not None else None  # read-only, beside the server
    for workers in options.workers:
        with serving([], store_env, workers, folder, options.wait) as served:
            row = record_server(result, "folder", workers, done["seconds"], served)
            if not served.failed and workers == options.workers[-1]:
                measure_latencies(result, "folder", served, raw, catalogue, options, disk)
                row["rss_after"] = served.memory()["rss"]


def measure_remote_store(result, options, folder, graph, imported, env, raw, catalogue) -> None:
    say(f"{result.fiches} fiches : serveur Oxigraph, puis cqp-graph load par le Graph Store Protocol")
    with oxigraph_server(options.oxigraph, folder / "oxigraph", folder) as (port, oxigraph):
        store_env = dict(env, CQP_GRAPH_STORE=f"http://127.0.0.1:{port}/query")
        done = timed(cqp("load", "--dump", str(graph), "--file", str(imported)), env=store_env)
        if done["code"]:
            result.failures.append(f"{result.fiches} fiches, load (Oxigraph serveur) : {done['tail']}")
            return
        http_peer = oxigraph_peer(store_env["CQP_GRAPH_STORE"], env["CQP_GRAPH_DIST"], options) \
            if raw is not None else None
        with serving([], store_env, options.default_workers, folder, options.wait) as served:
            own = bench_stores.memory_of(bench_stores.tree(oxigraph.pid))
            row = record_server(result, "remote", options.default_workers, done["seconds"], served,
                                {"oxigraph_rss": own[0]})
            if not served.failed:
                row["rss"] += own[0]
                row["pss"] += own[1]
                measure_latencies(result, "remote", served, raw, catalogue, options, http_peer=http_peer)
                row["rss_after"] = served.memory()["rss"] + bench_stores.memory_of(bench_stores.tree(oxigraph.pid))[0]


def oxigraph_peer(endpoint: str, dist: str, options):
    """The named query's SPARQL POSTed straight to the Oxigraph server's /query (kept-alive connection), with the
    same prologue, the parameters as the VALUES block cqp-graph's remote store writes (`remote_store.bind`) and the
    same dataset (default-graph-uri / named-graph-uri of the published graphs); the JSON answer read whole."""
    from cqp_graph.config import Settings
    from cqp_graph.namespaces import prefixes
    from cqp_graph.query import remote_store

    settings = Settings.from_env(store=endpoint, dist_dir=Path(dist))
    remote = remote_store.RemoteStore.from_settings(settings)
    dataset = remote._dataset()  # the graphs cqp-graph published (its manifest), as the server asks them
    head = remote_store.prologue(None, prefixes(settings.base))
    client = httpx.Client(timeout=options.request_timeout)

    def run(query, params: dict) -> int:
        text = head + remote_store.bind(query.sparql, query.bindings(params))
        response = client.post(endpoint, content=urllib.parse.urlencode([("query", text)] + dataset),
                               headers={"Accept": "application/sparql-results+json",
                                        "Content-Type": "application/x-www-form-urlencoded"})
        response.raise_for_status()
        return len(response.json()["results"]["bindings"])

    return run


# -- report -------------------------------------------------------------------------------------------------

STORE_NAMES = {"memory": "mémoire", "folder": "dossier (sur disque)", "remote": "Oxigraph serveur (distant)"}


def machine() -> str:
    cpu = next((line.split(":", 1)[1].strip() for line in Path("/proc/cpuinfo").read_text().splitlines()
                if line.startswith("model name")), platform.processor() or "?")
    ram = next((int(line.split()[1]) * 1024 for line in Path("/proc/meminfo").read_text().splitlines()
                if line.startswith("MemTotal:")), 0)
    import pyoxigraph

    return (f"{cpu}, {os.cpu_count()} cœurs, {ram / 2**30:.1f} Gio de RAM, {platform.system()} {platform.release()}, "
            f"Python {platform.python_version()}, pyoxigraph {pyoxigraph.__version__}")


def table(headers: list[str], rows: list[list[str]], align: str = "---:") -> list[str]:
    out = ["| " + " | ".join(headers) + " |", "| " + " | ".join(["---"] + [align] * (len(headers) - 1)) + " |"]
    out += ["| " + " | ".join(row) + " |" for row in rows]
    return out


def report(results: list[SizeResult], options, started: datetime, loads: tuple) -> str:
    lines = [f"# Registre RNCP sur chaque magasin — {started:%Y-%m-%d %H:%M} UTC", "",
             f"Machine : {machine()}. Charge moyenne au début {loads[0]}, à la fin {loads[1]} (machine partagée : les "
             "temps absolus varient, les rapports, mesurés dans la même exécution, moins).", "",
             f"Commande : `{' '.join(shlex.quote(a) for a in sys.argv)}` (répétitions : jusqu'à {options.repeat} "
             f"par mesure après une première froide, moins quand elles dépassent {fr(options.budget, 1)} s en tout, "
             "au moins 3 (1 quand la froide seule dépasse ce temps : p50 = p99) ; export généré avec "
             f"la graine {options.seed} ; serveurs lancés avec `--no-cache`).", "",
             f"Objectifs : import ≤ {fr(GOAL_IMPORT, 0)} × le plancher `iterparse` ; mémoire totale du serveur ≤ "
             f"{fr(GOAL_MEMORY, 1)} × un magasin ; chaque requête nommée ≤ {fr(GOAL_QUERY, 1)} × la même requête "
             "brute sur pyoxigraph (p50). ✓ atteint, ✗ manqué.", "", "## Import", ""]
    lines += table(["fiches", "XML (Mo)", "triplets", "génération (s)", "plancher iterparse (s)",
                    "import-rncp (s)", f"import / plancher (≤ {fr(GOAL_IMPORT, 0)} ×)", "RSS max import (Mio)",
                    "problèmes"],
                   [[fr(r.fiches, 0), fr(r.xml_bytes / 1e6, 1), fr(r.triples, 0), fr(r.generated, 1),
                     fr(r.floor, 2) if r.floor else "–", fr(r.imported, 2) if r.imported else "–",
                     ratio(r.imported / r.floor if r.imported and r.floor else None, GOAL_IMPORT),
                     mib(r.import_rss), r.import_problems or "–"] for r in results])
    lines += ["", "`import-rncp` est mesuré de bout en bout (interpréteur, validation SHACL incluse, écriture du "
                  "N-Triples) ; le plancher est la seule lecture `iterparse` du même fichier dans un interpréteur "
                  "neuf.",
              "", "## Chargement, démarrage, mémoire", ""]
    rows = []
    for r in results:
        for s in r.stores:
            failed = s.get("failed")
            rows.append([fr(r.fiches, 0), STORE_NAMES[s["store"]], str(s["workers"]),
                         fr(s["load"], 1) if s["load"] is not None else "–",
                         "échec" if failed else fr(s["startup"], 1), str(s.get("processes", "–")),
                         mib(s.get("rss")), mib(s.get("pss")), mib(r.one_store),
                         ratio(s["rss"] / r.one_store if s.get("rss") and r.one_store else None, GOAL_MEMORY),
                         mib(s.get("rss_after")), mib(s.get("oxigraph_rss")) if s["store"] == "remote" else ""])
    lines += table(["fiches", "magasin", "workers", "chargement (s)", "démarrage (s)", "processus",
                    "RSS totale (Mio)", "PSS totale (Mio)", "un magasin (Mio)",
                    f"RSS / un magasin (≤ {fr(GOAL_MEMORY, 1)} ×)", "RSS après les requêtes (Mio)",
                    "dont serveur Oxigraph (Mio)"], rows)
    lines += ["", "Chargement : pour la mémoire, le démarrage du serveur lui-même (il charge le graphe) ; pour le "
                  "dossier et le serveur Oxigraph, `cqp-graph load --dump graph.nt --file import.nt` (graphe "
                  "revalidé). "
                  "Démarrage : de `serve` lancé à /health comptant tous les workers prêts et l'API répondant. "
                  "« Un magasin » : un processus Python nu tenant un magasin pyoxigraph en mémoire des mêmes "
                  "triplets (RSS du processus entier). Pour le serveur Oxigraph, sa RSS est comptée dans le total.", ""]
    for r in results:
        if not r.lines:
            continue
        stores = [s for s in options.stores if any(s in line for line in r.lines.values())]
        lines += [f"## Requêtes nommées et pages, {fr(r.fiches, 0)} fiches (ms : p50 / p99 ; × = p50 servi / p50 brut)",
                  ""]
        headers = ["requête ou page", "lignes", "SPARQL par appel"]
        for s in stores:
            headers += [f"{STORE_NAMES[s]} : servi", "brut", f"× (≤ {fr(GOAL_QUERY, 1)})"]
            if s == "memory":
                headers += ["couche de connaissances en processus", "× brut"]
            if s == "folder":
                headers += ["brut sur le disque"]
            if s == "remote":
                headers += ["même SPARQL POSTé à Oxigraph /query", "× servi / POST"]
        rows = []
        for label, line in r.lines.items():
            counts = sorted({str(line[s]["rows"]) for s in stores if "rows" in line.get(s, {})}
                            | {str(line[k]["rows"]) for k in ["disk", "knowledge", "http"] + ["raw:" + s for s in stores]
                               if "rows" in line.get(k, {})})
            if line["kind"] == "query":
                name = f"`{label}`"
            elif line["kind"] == "floor":
                name = f"{label} (`{line['path']}`, ne calcule rien)"
            else:
                name = f"{label} (`{line['path'][:40]}`)"
            row = [name, " ≠ ".join(counts) if counts else "–",
                   str(len(line["calls"])) if "calls" in line else "–"]
            for s in stores:
                got, peer = line.get(s), line.get("raw:" + s)
                disk = []
                if s == "folder":
                    disk = [f"{ms(line['disk']['p50'])} / {ms(line['disk']['p99'])}" if "disk" in line else "–"]
                if s == "memory":
                    k, peer0 = line.get("knowledge"), line.get("raw:memory")
                    disk = [f"{ms(k['p50'])} / {ms(k['p99'])}", ratio(k["p50"] / peer0["p50"], GOAL_QUERY)] \
                        if k and peer0 and peer0["p50"] else ["–", "–"]
                if s == "remote":
                    h = line.get("http")
                    disk = [f"{ms(h['p50'])} / {ms(h['p99'])}",
                            ratio(got["p50"] / h["p50"], GOAL_QUERY) if got and "p50" in got else "–"] \
                        if h and h["p50"] else ["–", "–"]
                if got is None or "error" in got:
                    row += ["–" if got is None else "échec", "–", "–"] + disk
                    continue
                cold = f" (1re : {ms(got['cold'])})" if line["kind"] == "page" else ""
                row.append(f"{ms(got['p50'])} / {ms(got['p99'])}{cold}")
                if peer and peer["p50"] > 0:
                    row += [f"{ms(peer['p50'])} / {ms(peer['p99'])}",
                            ratio(got["p50"] / peer["p50"], GOAL_QUERY if line["kind"] == "query" else None)]
                else:
                    row += ["–", "–"]
                row += disk
            rows.append(row)
        lines += table(headers, rows) + [""]
        lines += ["Servi : `GET` sur le serveur (`/api/queries/NOM?paramètres d'exemple` pour une requête nommée), "
                  "l'une après l'autre sur une connexion gardée ouverte ; pour une page, « 1re » est la première "
                  "requête (froide). Brut : la requête nommée seule, paramètres liés, sur un magasin pyoxigraph en "
                  "mémoire de ce processus, chaque solution lue ; pour une page, toutes les requêtes SPARQL et motifs "
                  "de quads que sa route exécute (enregistrés en servant la page dans ce processus), rejoués. "
                  "« SPARQL par appel » : combien un appel en exécute (contrôle des valeurs des paramètres compris) ; "
                  "une page à 0 ne lit que des index en mémoire (TF-IDF, FTS5) : pas de pair brut. "
                  "« Brut sur le disque » : la requête nommée seule sur le magasin sur disque lui-même, ouvert en "
                  "lecture seule dans ce processus (le moteur RocksDB, sans le serveur). Lignes : celles de la "
                  "réponse servie, de la requête brute et de la brute sur disque (« ≠ » si elles diffèrent). "
                  "« Couche de connaissances en processus » : `Knowledge.table(nom, paramètres)` (ce qu'appellent la "
                  "CLI, les pages et l'API) sur le même magasin en mémoire que le brut : le surcoût de cqp-graph sans "
                  "HTTP (objectif ≤ 1,5 × brut). « Même SPARQL POSTé à Oxigraph /query » : le texte de la requête, "
                  "paramètres écrits en bloc VALUES comme le fait le magasin distant, POSTé au serveur Oxigraph des "
                  "mêmes triplets sur une connexion gardée ouverte : pyoxigraph brut derrière HTTP ; « × servi / "
                  "POST » compare notre API servie à lui (objectif ≤ 1,5 ×). L'issue dit « within 1.5× of raw "
                  "pyoxigraph » : en processus, c'est la colonne couche / brut ; au travers de HTTP, servi / POST.", ""]
    failures = [f for r in results for f in r.failures]
    lines += ["## Échecs", ""] + ([f"- {f}" for f in failures] or ["Aucun."]) + [""]
    misses = []
    for r in results:
        if r.imported and r.floor and r.imported / r.floor > GOAL_IMPORT:
            misses.append(f"{fr(r.fiches, 0)} fiches : import {fr(r.imported / r.floor, 2)} × le plancher")
        for s in r.stores:
            if s.get("rss") and r.one_store and s["rss"] / r.one_store > GOAL_MEMORY:
                misses.append(f"{fr(r.fiches, 0)} fiches, {STORE_NAMES[s['store']]}, {s['workers']} worker(s) : "
                              f"mémoire {fr(s['rss'] / r.one_store, 2)} × un magasin")
        for label, line in r.lines.items():
            if line["kind"] != "query":
                continue
            for s in options.stores:
                got, peer = line.get(s), line.get("raw:" + s)
                k = line.get("knowledge") if s == "memory" else None
                if k and peer and peer["p50"] and k["p50"] / peer["p50"] > GOAL_QUERY:
                    misses.append(f"{fr(r.fiches, 0)} fiches, couche de connaissances en processus, `{label}` : "
                                  f"{fr(k['p50'] / peer['p50'], 2)} × brut ({ms(k['p50'])} ms contre "
                                  f"{ms(peer['p50'])} ms)")
                h = line.get("http") if s == "remote" else None
                if h and got and "p50" in got and h["p50"] and got["p50"] / h["p50"] > GOAL_QUERY:
                    misses.append(f"{fr(r.fiches, 0)} fiches, API servie sur Oxigraph, `{label}` : "
                                  f"{fr(got['p50'] / h['p50'], 2)} × le même SPARQL POSTé à Oxigraph "
                                  f"({ms(got['p50'])} ms contre {ms(h['p50'])} ms)")
                if got and peer and "p50" in got and peer["p50"] and got["p50"] / peer["p50"] > GOAL_QUERY:
                    misses.append(f"{fr(r.fiches, 0)} fiches, {STORE_NAMES[s]}, `{label}` : "
                                  f"{fr(got['p50'] / peer['p50'], 2)} × brut ({ms(got['p50'])} ms contre "
                                  f"{ms(peer['p50'])} ms)")
    lines += ["## Objectifs manqués", ""] + ([f"- {m}" for m in misses] or ["Aucun."]) + [""]
    return "\n".join(lines)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--fiches", default="1000,5000,25000", help="export sizes, comma-separated")
    parser.add_argument("--stores", default="memory,folder,remote", help="memory, folder, remote (comma-separated)")
    parser.add_argument("--workers", default="1,2,4", help="SPARQL workers of the on-disk store's servers")
    parser.add_argument("--default-workers", type=int, default=None,
                        help="workers of the memory and remote servers (default: CQP_GRAPH_WORKERS' default)")
    parser.add_argument("--repeat", type=int, default=20, help="timed requests per query or page (after one cold)")
    parser.add_argument("--budget", type=float, default=1.0,
                        help="seconds after which a line stops repeating (at least 3 timed requests; 1 when the cold "
                             "one alone took longer)")
    parser.add_argument("--request-timeout", type=float, default=300.0)
    parser.add_argument("--wait", type=float, default=900.0, help="seconds a server may take to start")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--oxigraph", default=str(Path(PY).with_name("oxigraph")), help="the oxigraph binary")
    parser.add_argument("--output", type=Path, help="also write the tables to this markdown file")
    parser.add_argument("--keep", action="store_true", help="keep the temporary folder (its path is printed)")
    options = parser.parse_args()
    options.fiches = [int(n) for n in options.fiches.replace(" ", "").split(",") if n]
    options.stores = [s for s in options.stores.split(",") if s]
    options.workers = [int(w) for w in options.workers.split(",") if w]
    unknown = set(options.stores) - set(STORE_NAMES)
    if unknown:
        parser.error(f"unknown store(s): {', '.join(sorted(unknown))}")
    if "remote" in options.stores and not Path(options.oxigraph).is_file():
        parser.error(f"{options.oxigraph}: no oxigraph binary (pip install oxigraph), or leave out --stores remote")
    if options.default_workers is None:
        from cqp_graph.config import Settings

        options.default_workers = Settings.from_env().workers

    from cqp_graph.publish.atomic import write_text

    started = datetime.now(timezone.utc)
    loads = [" ".join(f"{x:.1f}" for x in os.getloadavg())]
    work = Path(tempfile.mkdtemp(prefix="bench-register-"))
    results = []
    try:
        say(f"graphe du référentiel (cqp-graph build) dans {work}")
        dist = work / "dist"
        built = timed(cqp("build", "-o", str(dist)))
        if built["code"]:
            raise SystemExit(f"cqp-graph build a échoué : {built['tail']}")
        graph = dist / "graph.nt"
        for fiches in options.fiches:
            results.append(run_size(fiches, options, work, graph, dist))
            gc.collect()  # this size's in-process store is not kept for the next
            if options.output:  # what is measured so far, should a larger size not finish
                write_text(options.output, report(results, options, started, (loads[0], "(en cours)")) + "\n")
    finally:
        if options.keep:
            say(f"dossier gardé : {work}")
        else:
            shutil.rmtree(work, ignore_errors=True)
    loads.append(" ".join(f"{x:.1f}" for x in os.getloadavg()))
    text = report(results, options, started, tuple(loads))
    print(text)
    if options.output:
        write_text(options.output, text + "\n")
        say(f"écrit : {options.output}")
    say("fini")
    return 0


if __name__ == "__main__":
    sys.exit(main())
