"""The three stores behind the knowledge layer answer alike: in memory, on disk (read-only), a real Oxigraph server.

The same validated graph (the session's build) and the same RNCP import (the shared extract, through
`import_rncp`, merged into the default graph as `serve --merge` / `load --file` do) are put into each store;
then every named query, each with the example values its header gives, must give the same rows on each.
The Oxigraph server is the `oxigraph` binary the `oxigraph` package installs, started here on loopback on a
free port with a temporary folder, unless `CQP_GRAPH_TEST_OXIGRAPH_URL` names one already running (`.ci/run`).
Without the binary the remote tests skip locally and fail under CI=true.
"""

from __future__ import annotations

import dataclasses
import http.server
import json
import os
import shutil
import subprocess
import sys
import threading
import time
from pathlib import Path

import httpx
import pyoxigraph as ox
import pytest

from cqp_graph.analyses.coverage import SCRATCH_GRAPH_PREFIX, coverage_of_file
from cqp_graph.config import Settings
from cqp_graph.graph.pipeline import open_published
from cqp_graph.publish.store_load import publish_to_store
from cqp_graph.query import folder_store, remote_store
from cqp_graph.query.catalogue import QueryError
from cqp_graph.query.knowledge import Knowledge
from cqp_graph.query.store import store_from_graph

from .server import free_port
from .support import ROOT, SHARED, need, need_shared

RNCP = SHARED / "rncp" / "export_fiches_RNCP_fixture.xml"
RS = SHARED / "rncp" / "export_fiches_RS_fixture.xml"
PROGRAMME = ROOT / "examples" / "programme-lacunaire.yaml"
STRANGER = "http://example.org/not-published-by-cqp-graph"


# -- the three stores -------------------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def imports(tmp_path_factory) -> list[Path]:
    """The shared RNCP and RS extracts imported (two files: on a remote store, two named graphs)."""
    from cqp_graph.exchange.rncp_import import import_rncp

    folder = tmp_path_factory.mktemp("rncp")
    out = []
    for export in (RNCP, RS):
        need_shared(export)
        out.append(folder / f"{export.stem}.ttl")
        report = import_rncp(export, out[-1], Settings.from_env().base)
        assert not report.problems
    return out


@pytest.fixture(scope="module")
def memory(built, settings, imports) -> Knowledge:
    store = store_from_graph(built.graph)
    for path in imports:  # as `serve --merge` does
        store.bulk_load(path=str(path), format=ox.RdfFormat.TURTLE)
    return Knowledge.over(store, settings)


@pytest.fixture(scope="module")
def folder_settings(built, settings, imports, tmp_path_factory) -> Settings:
    on_disk = dataclasses.replace(settings, store=str(tmp_path_factory.mktemp("store") / "graph"))
    publish_to_store(on_disk, built, imports)
    return on_disk


@pytest.fixture(scope="module")
def on_disk(folder_settings):
    return open_published(folder_settings)


def _oxigraph_binary() -> str | None:
    beside = Path(sys.executable).parent / "oxigraph"
    return str(beside) if beside.exists() else shutil.which("oxigraph")


def _up(url: str) -> bool:
    try:
        return httpx.get(url + "/query", params={"query": "ASK {}"}, timeout=1).status_code == 200
    except httpx.HTTPError:
        return False


@pytest.fixture(scope="module")
def oxigraph(tmp_path_factory):
    """The root URL of a running Oxigraph server: CQP_GRAPH_TEST_OXIGRAPH_URL, or one started here."""
    given = os.environ.get("CQP_GRAPH_TEST_OXIGRAPH_URL", "").rstrip("/")
    if given:
        need(_up(given), f"CQP_GRAPH_TEST_OXIGRAPH_URL={given} does not answer SPARQL")
        yield given
        return
    yield from _oxigraph_server(tmp_path_factory.mktemp("oxigraph"), "--timeout-s", "5")


def _oxigraph_server(folder: Path, *options: str):
    """Start `oxigraph serve` on a free loopback port with its data in `folder`; yield its root URL; stop it."""
    binary = _oxigraph_binary()
    need(binary is not None, "the oxigraph server binary is not installed (pip install oxigraph, in the test extra)")
    port = free_port()
    log = open(folder / "server.log", "wb")
    process = subprocess.Popen([binary, "serve", "--location", str(folder / "data"), "--bind", f"127.0.0.1:{port}",
                                *options], stdout=log, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    deadline = time.time() + 30
    while not _up(url):
        if process.poll() is not None or time.time() > deadline:
            process.kill()
            pytest.fail(f"oxigraph did not start: {(folder / 'server.log').read_text(errors='replace')}")
        time.sleep(0.1)
    yield url
    process.terminate()
    process.wait(10)
    log.close()


@pytest.fixture(scope="module")
def remote_settings(built, settings, imports, oxigraph) -> Settings:
    # a base of its own, so that a server shared with other runs holds this run's publication apart
    remote = dataclasses.replace(settings, store=f"{oxigraph}/query", store_gsp="", store_timeout=30.0)
    store = remote_store.RemoteStore.from_settings(remote, read=False)
    store.put_graph(STRANGER, b'<http://example.org/s> <http://example.org/p> "not ours" .\n')
    publish_to_store(remote, built, imports)
    return remote


@pytest.fixture(scope="module")
def remote(remote_settings):
    return open_published(remote_settings)


def _examples(query, optional: bool) -> dict:
    return {p.name: p.example for p in query.params if p.example is not None and (optional or p.required)}


def _rows(knowledge: Knowledge, name: str, params: dict):
    try:
        table = knowledge.table(name, params)
    except QueryError as exc:  # an UnknownReferential is an answer too: it must be the same everywhere
        return ("error", type(exc).__name__, str(exc))
    # the lists joined with GROUP_CONCAT are compared as they come: `Knowledge.table` puts them in one order
    return table.columns, sorted(json.dumps(r, sort_keys=True, ensure_ascii=False) for r in table.rows)


def _every_question(catalogue):
    return [(q.name, optional) for q in catalogue for optional in (False, True)
            if optional is False or any(not p.required and p.example for p in q.params)]


def test_every_named_query_answers_the_same_in_memory_and_on_disk(memory, on_disk, catalogue, imports):
    empty = []
    for name, optional in _every_question(catalogue):
        params = _examples(catalogue.get(name), optional)
        expected = _rows(memory, name, params)
        assert _rows(on_disk.knowledge, name, params) == expected, (name, params)
        if expected[0] == "error" or not expected[1]:
            empty.append(params)
    # not a comparison of empty answers: a query answers nothing only when its example names something the
    # shipped data and the import do not hold (e.g. a fiche absent from the extract)
    text = "".join(p.read_text(encoding="utf-8") for p in [RNCP, RS, *imports])
    for params in empty:
        assert any(str(v) not in text for k, v in params.items() if k != "referential"), params
    assert len(empty) < len(_every_question(catalogue)) / 10


def test_every_named_query_answers_the_same_on_an_oxigraph_server(memory, remote, catalogue):
    for name, optional in _every_question(catalogue):
        params = _examples(catalogue.get(name), optional)
        assert _rows(remote.knowledge, name, params) == _rows(memory, name, params), (name, params)


def test_joined_lists_come_in_natural_order(memory, catalogue):
    """Every list a named query joins with GROUP_CONCAT is in natural order (M2 before M10), whatever order the
    engine joined it in; the lists checked are those the queries' own text declares, and some hold several values."""
    from cqp_graph.numbers import natural_key
    from cqp_graph.query.knowledge import joined_lists

    checked = 0
    for query in catalogue:
        lists = joined_lists(query.sparql)
        if not lists or query.name.startswith("register-"):
            continue
        for row in memory.table(query.name, _examples(query, False)).rows:
            for name, separator in lists.items():
                values = (row.get(name) or "").split(separator)
                assert values == sorted(values, key=lambda v: (natural_key(v), v)), (query.name, name, row[name])
                checked += len(values) > 1
    assert {"route-steps", "transversal-competences", "domain-competences", "settings"} <= \
        {q.name for q in catalogue if joined_lists(q.sparql)}
    assert checked > 10


@pytest.mark.parametrize("which", ["on_disk", "remote"])
def test_descriptions_counts_and_referentials_are_the_same(which, memory, request):
    other = request.getfixturevalue(which).knowledge
    competence = next(r["iri"] for r in memory.rows("competences"))
    assert sorted(map(repr, other.describe(competence))) == sorted(map(repr, memory.describe(competence)))
    assert other.exists(competence) and not other.exists(competence + "-absent")
    assert other.count() == memory.count() > 0
    assert other.count("cqp:Competence") == memory.count("cqp:Competence") > 0
    assert other.referentials() == memory.referentials()


def test_the_published_graph_and_findings_travel_with_the_store(built, on_disk, remote):
    for opened in (on_disk, remote):
        assert len(opened.graph) == len(built.graph)
        assert [f.as_dict() for f in opened.report.findings] == [f.as_dict() for f in built.report.findings]


# -- parameters are bound, never pasted -----------------------------------------------------------------------

HOSTILE = ['M3" } UNION { ?s ?p ?o } #', "M3'", "M3\\", "M3\n} DROP ALL", "M3 \\u0022 }", "<http://x>", "?mission"]


@pytest.mark.parametrize("value", HOSTILE)
def test_a_hostile_value_is_a_value_on_the_remote_store(value, memory, remote):
    assert _rows(remote.knowledge, "competences-for-mission", {"mission": value}) == \
        _rows(memory, "competences-for-mission", {"mission": value}) == (
            memory.table("competences-for-mission", {"mission": "M3"}).columns, [])


def test_values_open_the_outermost_where_group():
    nt = ox.Literal("a } b")
    query = ('PREFIX x: <http://x/>\n# a { comment\nCONSTRUCT { ?s x:p "}" } WHERE { ?s x:p ?v . '
             'FILTER(?v != "{") }')
    bound = remote_store.bind(query, {ox.Variable("v"): nt})
    assert bound == query[:-1] + '\n  VALUES (?v) { ("a } b") }\n}'
    select = "SELECT ?a (1 AS ?b) WHERE { ?a ?p ?o { SELECT ?o WHERE { ?o ?q ?r } } } ORDER BY ?a"
    assert remote_store.bind(select, {ox.Variable("a"): ox.NamedNode("http://a")}) == \
        "SELECT ?a (1 AS ?b) WHERE { ?a ?p ?o { SELECT ?o WHERE { ?o ?q ?r } } \n  VALUES (?a) { (<http://a>) }\n} ORDER BY ?a"
    with pytest.raises(TypeError):
        remote_store.bind(select, {ox.Variable("a"): "pasted text"})


# -- coverage on stores it cannot write to ----------------------------------------------------------------------

def test_coverage_works_on_read_only_and_remote_stores(memory, on_disk, remote, settings):
    expected = coverage_of_file(PROGRAMME, settings, memory)
    assert expected["summary"]["covered"] > 0
    for opened in (on_disk, remote):
        assert coverage_of_file(PROGRAMME, settings, opened.knowledge) == expected
    # nothing was written into the on-disk store, nor left in the in-memory copy coverage used
    scratch = on_disk.knowledge._writable()
    assert not [g for g in scratch.named_graphs() if g.value.startswith(SCRATCH_GRAPH_PREFIX)]
    assert not [g for g in on_disk.knowledge.store.named_graphs() if g.value.startswith(SCRATCH_GRAPH_PREFIX)]


# -- loading: a new version, switched atomically; nothing else touched ------------------------------------------

def test_load_writes_a_new_version_and_keeps_the_one_before(built, settings, tmp_path):
    root = tmp_path / "store"
    target = dataclasses.replace(settings, store=str(root))
    versions = []
    for _ in range(3):
        versions.append(Path(publish_to_store(target, built)))
        assert folder_store.current(root).folder == versions[-1]
    kept = sorted(p.name for p in root.iterdir() if not p.is_symlink())
    assert kept == sorted(v.name for v in versions[1:])  # the first is deleted, the one before is kept
    assert len(open_published(target).knowledge.referentials()) == len(Knowledge.over(
        store_from_graph(built.graph), settings).referentials())


def test_a_load_keeps_every_version_a_running_process_reads(built, settings, tmp_path):
    # a server started on a version keeps it open for as long as it runs: two loads later it must still be there
    # (its SPARQL workers restart on it); once no process reads it, the next load deletes it
    root = tmp_path / "store"
    target = dataclasses.replace(settings, store=str(root))
    first = Path(publish_to_store(target, built))
    reader = subprocess.Popen(
        [sys.executable, "-c", "import sys\nfrom cqp_graph.query import folder_store\n"
         f"store = folder_store.current({str(root)!r}).open()\nprint(len(store), flush=True)\nsys.stdin.read()"],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, cwd=ROOT)
    try:
        assert int(reader.stdout.readline()) == len(ox.Store.read_only(str(first / folder_store.ENGINE)))
        second = Path(publish_to_store(target, built))
        third = Path(publish_to_store(target, built))
        assert sorted(p.name for p in root.iterdir() if not p.is_symlink()) == sorted(
            [first.name, second.name, third.name])
        assert len(ox.Store.read_only(str(first / folder_store.ENGINE))) > 0  # whole, not half-deleted
    finally:
        reader.stdin.close()
        reader.wait(30)
    fourth = Path(publish_to_store(target, built))
    assert sorted(p.name for p in root.iterdir() if not p.is_symlink()) == sorted([third.name, fourth.name])


def test_a_failed_load_leaves_the_current_version_and_no_leftover(built, settings, tmp_path):
    root = tmp_path / "store"
    target = dataclasses.replace(settings, store=str(root))
    before = Path(publish_to_store(target, built))
    broken = tmp_path / "broken.nt"
    broken.write_text("<http://a> <http://b> .\n", encoding="utf-8")
    with pytest.raises(folder_store.StoreFolderError) as caught:  # French, naming the file and the line
        publish_to_store(target, built, [broken])
    assert f"{broken}, ligne 1 : fichier RDF illisible" in str(caught.value)
    assert folder_store.current(root).folder == before
    assert sorted(p.name for p in root.iterdir()) == sorted(["current", before.name])


def test_load_refuses_a_folder_it_did_not_write(built, settings, tmp_path):
    root = tmp_path / "someone-elses"
    root.mkdir()
    (root / "notes.txt").write_text("à garder", encoding="utf-8")
    with pytest.raises(folder_store.StoreFolderError, match="autre chose qu'un magasin"):
        publish_to_store(dataclasses.replace(settings, store=str(root)), built)
    assert [p.name for p in root.iterdir()] == ["notes.txt"]


def test_findings_published_from_the_data_name_their_file_and_line(built, settings, tmp_path):
    """`load` (and `serve` building its dump) keep each finding's CSV file and line, as `build` does: the line
    there is the data row that made the finding's resource (its code is a field of that row)."""
    from cqp_graph.graph.pipeline import located

    target = dataclasses.replace(settings, store=str(tmp_path / "store"))
    publish_to_store(target, located(built))
    findings = open_published(target).report.findings
    assert len(findings) == len(built.report.findings) > 0
    placed = [f for f in findings if f.file]
    assert placed, "the shipped data's findings come from CSV rows"
    for f in placed:
        lines = (Path(settings.data_dir) / f.file).read_text(encoding="utf-8").splitlines()
        assert f.file.endswith(".csv") and 1 <= f.line <= len(lines), (f.file, f.line)
        # a field of the row opens the resource's IRI segment (competence/RC1, mention/M1-POSF2, setting/rncp-level,
        # variant/domain-OT-891)
        segment = f.focus.rstrip("/").rsplit("/", 1)[-1]
        assert any(v and (segment == v or segment.startswith(v + "-")) for v in lines[f.line - 1].split(",")), \
            (f.focus, f.file, f.line)


def test_reading_an_empty_store_says_to_load_first(settings, tmp_path):
    from cqp_graph.source.tables import DataError

    with pytest.raises(DataError, match="cqp-graph load"):
        open_published(dataclasses.replace(settings, store=str(tmp_path / "nothing")))


def test_a_store_setting_naming_a_file_or_a_url_is_said_as_such(settings, tmp_path):
    from cqp_graph.source.tables import DataError

    a_file = tmp_path / "a-file"
    a_file.write_text("pas un magasin", encoding="utf-8")
    with pytest.raises(DataError, match="n'est pas un dossier"):
        open_published(dataclasses.replace(settings, store=str(a_file)))
    with pytest.raises(DataError, match="^http://127.0.0.1:1/query: "):  # the URL as given, not "http:/…"
        open_published(dataclasses.replace(settings, store="http://127.0.0.1:1/query", store_timeout=2.0))


def test_the_load_command_refuses_a_foreign_folder_before_building(tmp_path):
    # with no data folder at all, the refusal can only come from checking the store first
    foreign = tmp_path / "someone-elses"
    foreign.mkdir()
    (foreign / "notes.txt").write_text("à garder", encoding="utf-8")
    env = dict(os.environ, CQP_GRAPH_STORE=str(foreign), CQP_GRAPH_DATA=str(tmp_path / "no-data"))
    done = subprocess.run([sys.executable, "-m", "cqp_graph", "load"], cwd=ROOT, env=env, capture_output=True,
                          text=True, timeout=120)
    assert done.returncode == 2 and "autre chose qu'un magasin" in done.stdout + done.stderr
    assert [p.name for p in foreign.iterdir()] == ["notes.txt"]


def test_a_dead_load_folder_is_removed_only_when_it_looks_like_ours(built, settings, tmp_path):
    root = tmp_path / "store"
    target = dataclasses.replace(settings, store=str(root))
    publish_to_store(target, built)
    dead = 2**22 + 12345  # above Linux's default pid_max: no such process
    foreign = root / f".loading-{dead}-0123abcd"
    (foreign / "notes").mkdir(parents=True)
    ours_dead = root / f".loading-{dead}-89abcdef"
    (ours_dead / folder_store.ENGINE).mkdir(parents=True)
    publish_to_store(target, built)
    assert foreign.is_dir() and (foreign / "notes").is_dir()
    assert not ours_dead.exists()


def test_a_truncated_json_or_xml_answer_keeps_the_rows_before_the_cut():
    head = b'{"head":{"vars":["a"]},"results":{"bindings":[{"a":{"type":"literal","value":"x"}},{"a":{"type":"lit'
    cut = remote_store.parse_answer(remote_store.Answer("application/sparql-results+json", head, True), 10,
                                    truncate=True)
    assert [row["a"].value for row in cut] == ["x"] and cut.truncated
    with pytest.raises(remote_store.StoreError, match="illisible"):  # not truncated: a broken answer
        remote_store.parse_answer(remote_store.Answer("application/sparql-results+json", head, False))


def test_the_load_command_publishes_and_every_command_reads_it(tmp_path, on_disk):
    env = dict(os.environ, CQP_GRAPH_STORE=str(tmp_path / "store"))
    dump = Path(on_disk.origin) / "graph.nt"
    loaded = subprocess.run([sys.executable, "-m", "cqp_graph", "load", "--dump", str(dump)], cwd=ROOT, env=env,
                            capture_output=True, text=True, timeout=300)
    assert loaded.returncode == 0, loaded.stderr
    assert "triplets validés publiés" in loaded.stdout
    asked = subprocess.run([sys.executable, "-m", "cqp_graph", "query", "competences-for-mission", "--param",
                            "mission=M3", "--format", "json"], cwd=ROOT, env=env, capture_output=True, text=True,
                           timeout=120)
    assert asked.returncode == 0, asked.stderr
    expected = on_disk.knowledge.rows("competences-for-mission", mission="M3")
    assert json.loads(asked.stdout) == expected and expected
    memory_store = subprocess.run([sys.executable, "-m", "cqp_graph", "load"], cwd=ROOT, capture_output=True,
                                  text=True, env=dict(os.environ, CQP_GRAPH_STORE="memory"), timeout=60)
    assert memory_store.returncode == 2 and "rien à charger" in memory_store.stderr


# -- the remote store: publication, dataset, reach -----------------------------------------------------------------

def test_a_remote_publication_replaces_the_one_before_and_deletes_only_its_own(built, remote_settings, imports):
    store = remote_store.RemoteStore.from_settings(remote_settings)
    first = store.publication
    publish_to_store(remote_settings, built, imports)
    second = remote_store.RemoteStore.from_settings(remote_settings).publication
    assert set(second.previous) == set(first.default) | set(first.named) | {first.build}
    publish_to_store(remote_settings, built, imports)
    third = remote_store.RemoteStore.from_settings(remote_settings).publication
    for graph in first.default + [first.build]:  # two publications ago: deleted
        assert store.get_graph(graph) is None
    for graph in second.default + third.default + [second.build, third.build]:
        assert store.get_graph(graph)
    assert store.get_graph(STRANGER)  # not ours: untouched


def test_a_remote_query_sees_only_the_published_graphs(remote):
    knowledge = remote.knowledge
    seen = knowledge.select("SELECT ?o WHERE { ?s <http://example.org/p> ?o }").rows
    assert seen == []
    named = knowledge.select("SELECT DISTINCT ?g WHERE { GRAPH ?g { ?s ?p ?o } }").rows
    assert named == []
    asked_for = knowledge.store.query("SELECT ?o WHERE { ?s ?p ?o }", default_graph=[ox.NamedNode(STRANGER)])
    assert list(asked_for) == []


class _Redirect(http.server.BaseHTTPRequestHandler):
    def do_POST(self):  # noqa: N802 - the standard library's name
        self.send_response(302)
        self.send_header("Location", "http://198.51.100.7/query")
        self.end_headers()

    do_GET = do_POST

    def log_message(self, *args):
        pass


def test_a_remote_store_never_follows_a_redirect_elsewhere(settings):
    server = http.server.HTTPServer(("127.0.0.1", 0), _Redirect)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        url = f"http://127.0.0.1:{server.server_port}/query"
        store = remote_store.RemoteStore(url, None, settings.base, timeout=2, publication=remote_store.Publication())
        with pytest.raises(remote_store.StoreError, match="302"):
            store.query("ASK {}")
    finally:
        server.shutdown()


# -- the API and /sparql answer the same ---------------------------------------------------------------------------

SPARQL = ("SELECT ?code ?label WHERE { ?c cqp:code ?code ; skos:prefLabel ?label . FILTER(LANG(?label) = 'fr') } "
          "ORDER BY ?code ?label")


def _answers(get, resource: str) -> dict:
    return {
        "competences": get("/api/missions/M3/competences").json(),
        "page": get(resource, headers={"Accept": "text/html"}).text,
        "turtle": sorted(get(resource, headers={"Accept": "application/n-triples"}).text.splitlines()),
        "sparql": get("/sparql", params={"query": SPARQL}, headers={"Accept": "application/sparql-results+json"}).json(),
    }


def _resource(app_client) -> str:
    competence = app_client.get("/api/missions/M3/competences").json()
    iri = json.dumps(competence)  # the first competence IRI of the answer, whatever its shape
    start = iri.index("https://w3id.org/cqp-graph/")
    return "/" + iri[start:iri.index('"', start)][len("https://w3id.org/cqp-graph/"):]


@pytest.fixture(scope="module")
def disk_server(folder_settings):
    port = free_port()
    env = dict(os.environ, CQP_GRAPH_STORE=folder_settings.store)
    log = open(Path(folder_settings.store).parent / "serve.log", "wb")
    process = subprocess.Popen([sys.executable, "-m", "cqp_graph", "serve", "--port", str(port), "--workers", "2"],
                               cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    deadline = time.time() + 90
    while True:
        try:
            health = httpx.get(url + "/health", timeout=2).json()
            if health["workers"]["ready"] == 2:
                break
        except (httpx.HTTPError, ValueError, KeyError):
            pass
        if process.poll() is not None or time.time() > deadline:
            process.kill()
            pytest.fail((Path(folder_settings.store).parent / "serve.log").read_text(errors="replace"))
        time.sleep(0.2)
    yield url
    process.terminate()
    process.wait(10)
    log.close()


def _memory_client_with_import(dist_dir, imports):
    from fastapi.testclient import TestClient

    from cqp_graph.web.app import create_app
    from cqp_graph.web.executor import Source

    settings = Settings.from_env(root=ROOT, data_dir=ROOT / "data", dist_dir=dist_dir)
    return TestClient(create_app(settings, graph_file=dist_dir / "graph.nt", workers=1,
                                 extra_sources=[Source(str(p)) for p in imports]), raise_server_exceptions=False)


def test_the_api_answers_the_same_on_the_on_disk_store_with_two_workers(disk_server, dist_dir, imports):
    with _memory_client_with_import(dist_dir, imports) as memory_client:
        resource = _resource(memory_client)
        expected = _answers(memory_client.get, resource)
    with httpx.Client(base_url=disk_server, timeout=30, follow_redirects=True) as client:
        got = _answers(client.get, resource)
        health = client.get("/health").json()
    assert got == expected
    assert expected["competences"] and expected["sparql"]["results"]["bindings"]
    assert health["workers"]["total"] == 2 and len(set(health["workers"]["pids"])) == 2


HEAVY = ("rdflib", "fastapi", "starlette", "pydantic", "typer", "jinja2", "numpy", "uvicorn", "openpyxl")


def test_the_worker_module_imports_nothing_heavy():
    # what a SPARQL worker process imports: the interpreter, pyoxigraph and small writers, so that its memory is
    # the store's and little else (the server's memory on the on-disk store grows by that much per worker)
    out = subprocess.run([sys.executable, "-c", "import json, sys; import cqp_graph.web.worker; "
                          "print(json.dumps(sorted(sys.modules)))"], capture_output=True, text=True, check=True)
    loaded = {name.split(".")[0] for name in json.loads(out.stdout)}
    assert "pyoxigraph" in loaded
    assert not loaded & set(HEAVY), sorted(loaded & set(HEAVY))


def test_the_served_workers_are_lean_processes_on_the_store_folder(disk_server, folder_settings):
    health = httpx.get(disk_server + "/health", timeout=10).json()
    pids = health["workers"]["pids"]
    assert len(pids) == 2
    version = (Path(folder_settings.store) / "current").resolve()
    server_pid = next(int(p.name) for p in Path("/proc").iterdir() if p.name.isdigit() and
                      int((p / "stat").read_text().rsplit(")", 1)[1].split()[1]) == os.getpid() and
                      b"serve" in (p / "cmdline").read_bytes())

    def rss(pid):
        return next(int(line.split()[1]) for line in Path(f"/proc/{pid}/status").read_text().splitlines()
                    if line.startswith("VmRSS:"))
    for pid in pids:
        assert b"cqp_graph.web.worker" in Path(f"/proc/{pid}/cmdline").read_bytes()
        maps = Path(f"/proc/{pid}/maps").read_text()
        assert "pyoxigraph" in maps
        assert not [name for name in ("pydantic_core", "numpy", "_sqlite3") if name in maps], maps[:2000]
        # it reads the version `current` names, from disk: its open files are that version's store files
        opened = [os.readlink(f) for f in Path(f"/proc/{pid}/fd").iterdir() if f.is_symlink()]
        assert any(target.startswith(str(version / "oxigraph")) for target in opened), opened
        # the server holds the web application and rdflib; a worker holds neither
        assert rss(pid) < rss(server_pid) / 2, (rss(pid), rss(server_pid))


def test_the_api_and_sparql_answer_the_same_on_the_remote_store(remote_settings, dist_dir, imports):
    from fastapi.testclient import TestClient

    from cqp_graph.web.app import create_app

    with _memory_client_with_import(dist_dir, imports) as memory_client:
        resource = _resource(memory_client)
        expected = _answers(memory_client.get, resource)
    settings = dataclasses.replace(remote_settings, max_rows=3)
    with TestClient(create_app(settings, workers=2), raise_server_exceptions=False) as client:
        got = _answers(client.get, resource)
        cut = client.get("/sparql", params={"query": SPARQL}, headers={"Accept": "application/sparql-results+json"})
        service = client.get("/sparql", params={"query": "SELECT * WHERE { SERVICE <http://198.51.100.7/sparql> "
                                                         "{ ?s ?p ?o } }"})
        bad = client.get("/sparql", params={"query": "SELECT * WHERE { ?s ?p"})
    got["sparql"] = expected["sparql"]  # max_rows differs here: compared below
    assert got == expected
    assert cut.headers.get("X-CQP-Truncated") == "true"
    assert cut.json()["results"]["bindings"] == expected["sparql"]["results"]["bindings"][:3]
    assert service.status_code == 400 and "SERVICE" in service.text
    assert bad.status_code == 400


def test_remote_sparql_answers_in_full_below_the_row_cap(remote_settings, app_client):
    from fastapi.testclient import TestClient

    from cqp_graph.web.app import create_app

    query = "SELECT ?code WHERE { ?m a cqp:Mission ; cqp:code ?code } ORDER BY ?code"
    expected = app_client.get("/sparql", params={"query": query}, headers={"Accept": "text/csv"})
    with TestClient(create_app(remote_settings, workers=1), raise_server_exceptions=False) as client:
        got = client.get("/sparql", params={"query": query}, headers={"Accept": "text/csv"})
    assert got.status_code == expected.status_code == 200
    assert got.text == expected.text and got.text.count("\n") > 2
    assert "X-CQP-Truncated" not in got.headers


def test_remote_sparql_is_stopped_at_the_query_time_limit(remote_settings):
    from fastapi.testclient import TestClient

    from cqp_graph.web.app import create_app

    heavy = "SELECT (COUNT(*) AS ?n) WHERE { ?a ?b ?c . ?d ?e ?f . ?g ?h ?i }"  # ~4·10¹¹ rows to count
    settings = dataclasses.replace(remote_settings, query_timeout=0.5)
    with TestClient(create_app(settings, workers=1), raise_server_exceptions=False) as client:
        started = time.monotonic()
        answer = client.get("/sparql", params={"query": heavy})
        elapsed = time.monotonic() - started
    assert answer.status_code == 503 and "0.5 s" in answer.text
    assert elapsed < 3


def test_a_remote_answer_larger_than_allowed_is_an_error_not_a_partial_table(remote_settings):
    store = remote_store.RemoteStore.from_settings(remote_settings)
    store.max_bytes = 200
    with pytest.raises(remote_store.StoreError, match="CQP_GRAPH_STORE_MAX_BYTES"):
        list(store.query("SELECT ?s ?p ?o WHERE { ?s ?p ?o }"))


def test_serve_refuses_extra_files_on_a_configured_store(folder_settings, dist_dir):
    from cqp_graph.source.tables import DataError
    from cqp_graph.web.app import create_app

    with pytest.raises(DataError, match="cqp-graph load"):
        create_app(folder_settings, graph_file=dist_dir / "graph.nt", workers=1)


# -- a hostile or broken remote store: a French StoreError within the time limit, never a crash (H11) -------------

class _Hostile(http.server.BaseHTTPRequestHandler):
    """A 'SPARQL endpoint' answering garbage (`/garbage-tsv`, `/garbage-nt`) or dripping one row a second."""

    protocol_version = "HTTP/1.0"

    def do_POST(self):  # noqa: N802 - the standard library's name
        self.rfile.read(int(self.headers.get("Content-Length") or 0))
        self.send_response(200)
        if self.path.startswith("/garbage-nt"):
            self.send_header("Content-Type", "application/n-triples")
            self.end_headers()
            self.wfile.write(b"this is not n-triples\n")
            return
        self.send_header("Content-Type", "text/tab-separated-values")
        self.end_headers()
        if self.path.startswith("/garbage-tsv"):
            self.wfile.write(b"?code\n<<<not a term>>>\n")
            return
        self.wfile.write(b"?code\n")  # /drip: a row a second, for longer than any timeout of the test
        for _ in range(30):
            try:
                self.wfile.write(b'"M3"\n')
                self.wfile.flush()
            except OSError:
                return
            time.sleep(1)

    def log_message(self, *args):
        pass


@pytest.fixture
def hostile_endpoint():
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Hostile)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()


def _hostile_store(url: str, settings, timeout: float = 30.0) -> remote_store.RemoteStore:
    return remote_store.RemoteStore(url, None, settings.base, timeout=timeout,
                                    publication=remote_store.Publication(default=["urn:x"], build="urn:x"))


@pytest.mark.parametrize("path", ["/garbage-tsv", "/garbage-nt"])
def test_a_garbage_remote_answer_is_a_store_error_not_a_crash(path, hostile_endpoint, settings):
    from cqp_graph.web.executor import QueryRequest, WorkerConfig, execute_remote

    store = _hostile_store(hostile_endpoint + path, settings)
    query = "CONSTRUCT WHERE { ?s ?p ?o }" if path == "/garbage-nt" else "SELECT ?code WHERE { ?s ?p ?code }"
    with pytest.raises(remote_store.StoreError):  # not pyoxigraph's SyntaxError, which the server answers with a 500
        list(store.query(query))
    if path == "/garbage-tsv":
        with pytest.raises(remote_store.StoreError):
            Knowledge.over(store, settings).rows("competences-for-mission", mission="M3")
    reply = execute_remote(store, QueryRequest(query, "application/sparql-results+json, application/n-triples"),
                           WorkerConfig(), 5.0)
    assert reply.status == 502 and "magasin SPARQL" in reply.body.decode("utf-8")


def test_a_remote_answer_dripping_slowly_stops_at_the_store_timeout(hostile_endpoint, settings):
    # each read of the socket gets a byte within the timeout, but the whole answer never ends: the time limit is
    # on the whole answer (CQP_GRAPH_STORE_TIMEOUT), not on each read
    store = _hostile_store(hostile_endpoint + "/drip", settings, timeout=2.0)
    started = time.monotonic()
    with pytest.raises(remote_store.StoreTimeout):
        list(store.query("SELECT ?code WHERE { ?s ?p ?code }"))
    assert time.monotonic() - started < 6


def test_a_remote_store_failing_after_startup_is_a_french_502_or_504_not_a_500(remote_settings, hostile_endpoint):
    # the server starts on the real store, then the store answers garbage, then drips: every route says so in
    # French with 502 (504 past CQP_GRAPH_STORE_TIMEOUT), never a 500, never with what the store sent
    from fastapi.testclient import TestClient

    from cqp_graph.web.app import create_app

    settings = dataclasses.replace(remote_settings, cache_bytes=0)
    with TestClient(create_app(settings, workers=1), raise_server_exceptions=False) as client:
        store = client.app.state.cqp.knowledge.store
        resource = _resource(client)
        store.endpoint = hostile_endpoint + "/garbage-tsv"
        api = client.get("/api/missions/M3/competences")
        page = client.get(resource, headers={"Accept": "text/html"})
        sparql = client.get("/sparql", params={"query": "SELECT ?code WHERE { ?s ?p ?code }"})
        store.endpoint, store.timeout = hostile_endpoint + "/drip", 1.0
        started = time.monotonic()
        slow = client.get("/api/missions/M1/competences")
        elapsed = time.monotonic() - started
    assert api.status_code == 502 and "magasin SPARQL" in api.json()["detail"]
    assert "not a term" not in api.text
    assert page.status_code == 502 and "magasin SPARQL" in page.text
    assert sparql.status_code == 502 and "magasin SPARQL" in sparql.text
    assert slow.status_code == 504 and "CQP_GRAPH_STORE_TIMEOUT" in slow.json()["detail"]
    assert elapsed < 5


def test_a_remote_answer_with_more_rows_than_allowed_is_an_error_for_the_knowledge_layer(remote_settings, memory):
    # the knowledge layer turns every row into Python values: past CQP_GRAPH_STORE_MAX_ROWS it refuses, whatever
    # the bytes; a table at the cap is read whole
    store = remote_store.RemoteStore.from_settings(remote_settings)
    everything = len(memory.store)
    store.max_rows = everything
    assert len(list(store.query("SELECT ?s ?p ?o WHERE { ?s ?p ?o }"))) == len(
        list(memory.store.query("SELECT ?s ?p ?o WHERE { ?s ?p ?o }")))
    store.max_rows = 10
    with pytest.raises(remote_store.StoreError, match="CQP_GRAPH_STORE_MAX_ROWS"):
        store.query("SELECT ?s ?p ?o WHERE { ?s ?p ?o }")
    assert len(store.query("SELECT ?s WHERE { ?s ?p ?o } LIMIT 10")) == 10


# -- a running server takes up what a load publishes ------------------------------------------------------------

def _default_graph_size(version: Path) -> int:
    store = ox.Store.read_only(str(version / folder_store.ENGINE))
    return sum(1 for _ in store.quads_for_pattern(None, None, None, ox.DefaultGraph()))


def _wait_for(client, served: str, seconds: float = 60.0) -> dict:
    deadline = time.time() + seconds
    while True:
        health = client.get("/health").json()
        if health["version"]["served"] == served and health["workers"]["ready"] == health["workers"]["total"] \
                and health["workers"]["busy"] == 0:
            return health
        assert time.time() < deadline, health
        time.sleep(0.1)


@pytest.fixture
def own_oxigraph(tmp_path):
    """A fresh Oxigraph server of this test's own (loads into it do not disturb the module's publication)."""
    yield from _oxigraph_server(tmp_path)


@pytest.mark.parametrize("kind", ["folder", "remote"])
def test_a_running_server_moves_to_what_a_new_load_publishes(kind, built, settings, imports, tmp_path, request):
    import xml.etree.ElementTree as ET

    from fastapi.testclient import TestClient

    from cqp_graph.web.app import create_app

    # what each load must serve, from the same inputs published into a scratch on-disk store
    scratch = dataclasses.replace(settings, store=str(tmp_path / "scratch"))
    alone = _default_graph_size(Path(publish_to_store(scratch, built)))
    merged = _default_graph_size(Path(publish_to_store(scratch, built, imports)))
    assert merged > alone
    if kind == "folder":
        target = dataclasses.replace(settings, store=str(tmp_path / "store"), store_refresh=0.2)
    else:
        url = request.getfixturevalue("own_oxigraph")
        target = dataclasses.replace(settings, store=f"{url}/query", store_gsp="", store_refresh=0.2)

    def load(*files) -> str:
        published = publish_to_store(target, built, list(files))
        return str(published) if kind == "folder" else \
            remote_store.RemoteStore.from_settings(target).publication.load_id

    first = load()  # the referential alone
    title = ET.parse(RNCP).getroot().find("FICHE/INTITULE").text  # a fiche the second load brings
    count = "SELECT (COUNT(*) AS ?n) WHERE { ?s ?p ?o }"

    def triples(client) -> int:
        answer = client.get("/sparql", params={"query": count}, headers={"Accept": "application/sparql-results+json"})
        assert answer.status_code == 200, answer.text
        return int(answer.json()["results"]["bindings"][0]["n"]["value"])

    def found(client) -> list[str]:
        return [hit["label"] for hit in client.get("/api/search", params={"q": title, "limit": 50}).json()]

    app = create_app(target, workers=2)
    dumps = [app.state.cqp.graph_file.parent]  # the remote store's /dumps/: written by the server, in a scratch folder
    with TestClient(app, raise_server_exceptions=False) as client:
        before = _wait_for(client, first)
        etag = client.get("/api/missions").headers["ETag"]
        assert triples(client) == alone
        assert title not in found(client)

        second = load(*imports)  # a load while the server runs
        after = _wait_for(client, second)
        assert triples(client) == merged
        assert title in found(client)  # the search index follows the version
        assert client.get("/api/missions").headers["ETag"] != etag
        assert after["version"]["switches"] == 1 and after["version"]["last_error"] is None
        if kind == "folder":  # the workers were replaced by workers on the new version (not after a failure)
            assert not set(after["workers"]["pids"]) & set(before["workers"]["pids"])
            assert after["retired"] >= 2 and after["restarts"] == before["restarts"]

        dumps.append(app.state.cqp.graph_file.parent)
        third = load()
        _wait_for(client, third)
        assert triples(client) == alone
        dumps.append(app.state.cqp.graph_file.parent)
        if kind == "remote":
            # each version's dumps in a folder of their own; the server keeps those of the version before (a download
            # may be on them) and removes older ones it wrote
            assert len(set(dumps)) == 3
            assert not dumps[0].exists() and dumps[1].exists() and (dumps[2] / "graph.nt").exists()
        if kind == "folder":
            # the server keeps the version before (requests may still be on it) but no older one: a later load
            # deletes the first version once the server has moved on twice
            load()
            assert not Path(first).exists() and Path(second).exists()
    if kind == "remote":  # stopped: none of the folders it wrote is left behind
        assert not any(d.exists() for d in dumps)


# -- an import may add resources, never rewrite the referentials ------------------------------------------------

def _rewriting_import(built, tmp_path) -> tuple[Path, str]:
    """An N-Triples file adding one requirement to a mission of the validated graph (and a fiche of its own)."""
    from rdflib import RDF

    from cqp_graph.namespaces import ontology_ns

    cqp = ontology_ns(Settings.from_env().base)
    mission = str(next(built.graph.subjects(RDF.type, cqp.Mission)))
    path = tmp_path / "rewrites.nt"
    path.write_text(f"<http://example.org/fiche/1> <{RDF.type}> <http://example.org/Fiche> .\n"
                    f"<{mission}> <{cqp.requiresCompetence}> <http://example.org/not-a-competence> .\n",
                    encoding="utf-8")
    return path, mission


@pytest.mark.parametrize("kind", ["memory", "folder", "remote"])
def test_an_import_stating_something_about_the_referential_is_refused(kind, built, settings, imports, tmp_path,
                                                                       request):
    from cqp_graph.source.tables import DataError

    evil, mission = _rewriting_import(built, tmp_path)
    if kind == "memory":  # `serve --merge`: the server does not start
        from cqp_graph.web.app import create_app
        from cqp_graph.web.executor import Source

        dist = tmp_path / "dist"
        publish_dir = Path(publish_to_store(dataclasses.replace(settings, store=str(tmp_path / "s")), built))
        dist.mkdir()
        for name in ("graph.nt", "validation.json"):
            shutil.copy(publish_dir / name, dist / name)
        with pytest.raises(DataError) as refused:
            create_app(settings, graph_file=dist / "graph.nt", workers=1,
                       extra_sources=[Source(str(p)) for p in imports] + [Source(str(evil))])
    else:
        if kind == "folder":
            target = dataclasses.replace(settings, store=str(tmp_path / "store"))
        else:
            target = dataclasses.replace(settings, store=f"{request.getfixturevalue('own_oxigraph')}/query",
                                         store_gsp="")
        first = publish_to_store(target, built, imports)
        with pytest.raises(DataError) as refused:
            publish_to_store(target, built, list(imports) + [evil])
        # nothing was published: the store still serves the load before, whole
        if kind == "folder":
            assert str(folder_store.current(Path(target.store)).folder) == first
            assert not [p for p in Path(target.store).iterdir() if p.name.startswith(".loading")]
        else:
            assert remote_store.RemoteStore.from_settings(target).publication.load_id == first
    message = str(refused.value)
    assert str(evil) in message and "import refusé" in message and mission in message
    assert "1 triplet" in message  # the fiche of its own is not blamed


def test_a_named_graph_is_never_written_over_a_graph_cqp_graph_did_not_write(built, settings, imports, own_oxigraph):
    target = dataclasses.replace(settings, store=f"{own_oxigraph}/query", store_gsp="")
    store = remote_store.RemoteStore.from_settings(target, read=False)
    stranger = b'<http://example.org/s> <http://example.org/p> "not ours" .\n'
    store.put_graph(STRANGER, stranger)
    first = publish_to_store(target, built)
    with pytest.raises(remote_store.StoreError) as refused:
        publish_to_store(target, built, named=[(STRANGER, imports[0])])
    assert STRANGER in str(refused.value) and "rien n'a été publié" in str(refused.value)
    assert store.get_graph(STRANGER) == stranger  # untouched
    assert remote_store.RemoteStore.from_settings(target).publication.load_id == first
    # a graph IRI of its own: published, and published again over itself (ours now)
    ours = "http://example.org/graph/rncp-import"
    publish_to_store(target, built, named=[(ours, imports[0])])
    second = publish_to_store(target, built, named=[(ours, imports[1])])
    assert remote_store.RemoteStore.from_settings(target).publication.load_id == second
    assert set(ox.parse(store.get_graph(ours), format=ox.RdfFormat.N_TRIPLES)) == \
        set(ox.parse(path=str(imports[1]), format=ox.RdfFormat.TURTLE))
    assert not store.has_graph("http://example.org/graph/never-written")


def test_a_worker_slower_to_start_than_allowed_is_said_with_its_setting(dist_dir):
    import asyncio

    from cqp_graph.web.executor import Executor, ExecutorUnavailable, Source, WorkerConfig

    async def start(seconds):
        pool = Executor([Source(str(dist_dir / "graph.nt"))], size=1, config=WorkerConfig(start_timeout=seconds))
        try:
            await pool.start()
            return pool.health()["workers"]["ready"]
        finally:
            await pool.stop()
    with pytest.raises(ExecutorUnavailable, match="pas prêt en 0.001 s, CQP_GRAPH_WORKER_START_TIMEOUT"):
        asyncio.run(start(0.001))
    assert asyncio.run(start(120)) == 1


def test_a_version_carries_its_search_index_built_from_what_it_holds(folder_settings, on_disk):
    import xml.etree.ElementTree as ET

    from cqp_graph.query.search import SEARCH_FILE, SearchIndex

    written = folder_store.current(Path(folder_settings.store)).folder / SEARCH_FILE
    assert written.is_file()
    opened, built_now = SearchIndex.from_bytes(written.read_bytes()), SearchIndex.build(on_disk.knowledge)
    title = ET.parse(RNCP).getroot().find("FICHE/INTITULE").text  # an imported fiche is in it
    mission = on_disk.knowledge.rows("missions")[0]
    for q in (title, mission["label"], mission["code"], "reclamation"):
        assert [h.as_dict() for h in opened.search(q, limit=20)] == [h.as_dict() for h in built_now.search(q, limit=20)]
    assert any(h.label == title for h in opened.search(title, limit=20))


def test_the_server_on_a_folder_answers_searches_from_the_version_index(disk_server):
    import xml.etree.ElementTree as ET

    title = ET.parse(RNCP).getroot().find("FICHE/INTITULE").text
    hits = httpx.get(disk_server + "/api/search", params={"q": title, "limit": 20}, timeout=30).json()
    assert title in [h["label"] for h in hits]
