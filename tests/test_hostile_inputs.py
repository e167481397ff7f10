"""Hostile inputs and safe outputs: what people send in (programmes, results, paths) and what they open (CSV, Markdown).

API logic runs in-process (FastAPI's TestClient against the real app and graph); the limits that
matter under load (time limit, concurrency) run against a live uvicorn server.
"""

from __future__ import annotations

import csv
import io
import json
import subprocess
import sys
import threading
import time

import httpx
import pytest

from cqp_graph.config import Settings
from cqp_graph.query.formats import FORMULA_START

from .support import ROOT

YAML = {"content-type": "application/yaml"}
JSON = {"content-type": "application/json"}
EXAMPLES = ROOT / "examples"
BOMB = ('a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]\n'
        + "".join(f"{chr(98 + i)}: &{chr(98 + i)} [{','.join(['*' + chr(97 + i)] * 9)}]\n" for i in range(8)))
PROGRAMME = "title: t\nmodules:\n  - code: MOD01\n    title: Relation client\n    hours: {hours}\n    competences: [RC2]\n"
FORMULAS = ["=HYPERLINK(\"http://x\")", "+1+1", "-2+3", "@SUM(A1)", "\tTAB", "\rCR"]


@pytest.fixture(scope="module")
def client(dist_dir):
    from fastapi.testclient import TestClient

    from cqp_graph.web.app import create_app

    app = create_app(Settings.from_env(root=ROOT, data_dir=ROOT / "data", dist_dir=dist_dir),
                     graph_file=dist_dir / "graph.nt", workers=1)
    with TestClient(app, raise_server_exceptions=False) as c:
        yield c


def errors_of(response) -> list[dict]:
    return response.json()["detail"]["errors"]


# -- bombs, depth, size ---------------------------------------------------------------------

@pytest.mark.parametrize("path", ["/api/decisions", "/api/coverage/programme"])
def test_billion_laughs_is_refused_small_and_fast(client, path):
    assert len(BOMB) < 600
    start = time.monotonic()
    r = client.post(path, content=BOMB, headers=YAML)
    assert r.status_code == 422, r.text
    assert time.monotonic() - start < 2 and len(r.content) < 2000
    assert "alias" in r.text and errors_of(r)[0]["line"] == 2


@pytest.mark.parametrize("body", ["[" * 5000, "{a: " * 5000, "- " * 5000 + "x"])
def test_deep_nesting_is_refused(client, body):
    r = client.post("/api/decisions", content=body, headers=YAML)
    assert r.status_code == 422, r.text
    assert "imbrication" in r.text or "syntaxe YAML" in r.text


def test_too_many_entries_and_too_long_values(client):
    body = "route: formation\nblocks:\n" + "".join(f"  X{i}: 50\n" for i in range(5000))
    start = time.monotonic()
    r = client.post("/api/decisions", content=body, headers=YAML)
    assert r.status_code == 422 and "CQP_GRAPH_INPUT_MAX_ENTRIES" in r.text
    assert time.monotonic() - start < 3
    r = client.post("/api/decisions", content="route: formation\ncandidate: " + "x" * 5000 + "\n", headers=YAML)
    assert r.status_code == 422 and errors_of(r)[0]["line"] == 2 and "CQP_GRAPH_INPUT_MAX_STRING" in r.text


def test_unknown_blocks_are_refused_early_with_their_lines(client):
    body = "route: formation\nblocks:\n" + "".join(f"  X{i}: 50\n" for i in range(2000))
    start = time.monotonic()
    r = client.post("/api/decisions", content=body, headers=YAML)
    elapsed = time.monotonic() - start
    assert r.status_code == 422
    errors = errors_of(r)
    assert errors[0] == {"line": 3, "message": "bloc X0 : bloc inconnu du référentiel (X0)"}
    assert any("1950 autres" in e["message"] for e in errors)
    assert elapsed < 3, f"{elapsed:.2f} s"
    print(f"2,000 unknown blocks: 422 in {elapsed:.2f} s")


def test_body_over_the_input_limit_is_413(client):
    body = "route: formation\ncandidate: x\n" + "#" * (Settings.from_env().input_max_bytes + 10) + "\n"
    r = client.post("/api/decisions", content=body, headers=YAML)
    assert r.status_code == 413 and "CQP_GRAPH_INPUT_MAX_BYTES" in r.text


def test_bytes_and_media_types(client):
    r = client.post("/api/decisions", content=b"route: \xff\xfe\n", headers=YAML)
    assert r.status_code == 415 and "UTF-8" in r.json()["detail"]
    r = client.post("/api/decisions", content=b"route: vae\n", headers={"content-type": "image/png"})
    assert r.status_code == 415 and "image/png" in r.json()["detail"]
    r = client.post("/api/decisions", content="route: vae\x00\n", headers=YAML)
    assert r.status_code == 422 and "NUL" in r.text


@pytest.mark.parametrize("path", ["/api/decisions", "/api/coverage/programme"])
@pytest.mark.parametrize("media", ["application/json", "application/yaml"])
@pytest.mark.parametrize("body, code, line", [(b"\x08\x0e", 0x08, 1), (b"route: vae\nnote: a\x1fb\n", 0x1F, 2),
                                              ("title: \ufffe\n".encode("utf-8"), 0xFFFE, 1)])
def test_a_character_yaml_refuses_is_a_422_naming_it_and_its_line(client, path, media, body, code, line):
    """Control characters (found by schemathesis: « \\x08\\x0e » as a JSON body gave a 500) and non-characters
    are refused by YAML's reader before parsing: a 422 naming the character and its line, never a 500."""
    r = client.post(path, content=body, headers={"content-type": media, "accept": "application/json"})
    assert r.status_code == 422, r.text
    assert [(e["line"], f"U+{code:04X}" in e["message"]) for e in errors_of(r)] == [(line, True)], r.text


@pytest.mark.parametrize("path, accept", [("/api/decisions", "application/json"), ("/api/decisions", "text/plain"),
                                          ("/api/coverage/programme", "application/json")])
@pytest.mark.parametrize("body, code, line", [('{"route": "formation",\n "blocks": {"\\ud800": 5}}', 0xD800, 2),
                                              ('{"candidate": "\\udcff", "route": "vae"}', 0xDCFF, 1),
                                              ('route: vae\nunits:\n  "\\udbff": 55\n', 0xDBFF, 3)])
def test_half_a_surrogate_pair_is_a_422_naming_it_and_its_line(client, path, accept, body, code, line):
    """A JSON or YAML escape can write half of a UTF-16 pair alone (« \\ud800 »), which no text can hold: it
    gave an English 422 (« 'utf-8' codec can't encode… ») without a line, or a 200 whose text form then failed;
    it is refused as the reader refuses a control character, whatever the answer's format."""
    r = client.post(path, content=body.encode("ascii"), headers={"content-type": "application/json",
                                                                 "accept": accept})
    assert r.status_code == 422, r.text
    assert [(e["line"], f"U+{code:04X}" in e["message"]) for e in errors_of(r)] == [(line, True)], r.text


@pytest.mark.parametrize("accept", ["application/json", "text/plain"])
def test_a_pair_of_escapes_is_the_character_beyond_u_ffff_it_writes(client, accept):
    """JSON writes a character beyond U+FFFF as two escapes (found by schemathesis: a valid pair was refused as
    two halves): the pair is its character, in the decision and in its text."""
    body = '{"candidate": "Zo\\ud83d\\ude00 \\ud8af\\ude00", "route": "vae", "blocks": {}}'
    r = client.post("/api/decisions", content=body.encode("ascii"),
                    headers={"content-type": "application/json", "accept": accept})
    assert r.status_code == 200, r.text
    name = "Zo\N{GRINNING FACE} \U0003BE00"
    if accept == "application/json":
        assert r.json()["candidate"] == name
    else:
        assert r.text.splitlines()[0].startswith(f"{name} — ")


# -- types, keys, numbers ---------------------------------------------------------------------

@pytest.mark.parametrize("written, read", [("070", 70), ("1:10", None), ("6_0", None), ("0x3C", None), ("7e1", 70),
                                           ("65.", 65)])
def test_numbers_are_read_as_json_reads_them_not_as_yaml_1_1_did(client, written, read):
    """YAML 1.1 read « 1:10 » as 70 (base 60), « 070 » as 56 (octal), « 6_0 » as 60, « 0x3C » as 60: a score
    someone typed is read as written (a decimal number) or refused as not a number, naming its line."""
    body = f"route: vae\nblocks:\n  B1:\n    score: {written}\n"
    r = client.post("/api/decisions", content=body, headers={**YAML, "accept": "application/json"})
    if read is None:
        assert r.status_code == 422, r.text
        assert [(e["line"], "un nombre" in e["message"]) for e in errors_of(r)] == [(4, True)], r.text
    else:
        assert r.status_code == 200, r.text
        assert next(b for b in r.json()["blocks"] if b["code"] == "B1")["score"] == read

@pytest.mark.parametrize("body,field", [
    ('{"route":"formation","know_how":[1]}', "know_how"),
    ("route: vae\nunits: [55]\n", "units"),
    ("route: vae\nblocks: {B1: {score: [1]}}\n", "score"),
    ("route: [vae]\n", "route"),
    ("route: vae\nblocks: {B1: {evaluators: 3}}\n", "evaluators"),
    ("- 1\n- 2\n", "table"),
])
def test_wrong_types_name_the_field(client, body, field):
    r = client.post("/api/decisions", content=body, headers=JSON)
    assert r.status_code == 422, r.text
    assert field in r.text and r.json()["detail"]["errors"][0]["line"] >= 1


def test_complex_and_duplicate_keys(client):
    r = client.post("/api/decisions", content="route: vae\n? [a]\n: 1\n", headers=YAML)
    assert r.status_code == 422 and "clé complexe" in r.text and errors_of(r)[0]["line"] == 2
    r = client.post("/api/decisions", content="route: vae\nroute: blocs\n", headers=YAML)
    assert r.status_code == 422 and "en double" in r.text and errors_of(r)[0]["line"] == 2


@pytest.mark.parametrize("hours", ["9" * 5000, "9" * 1500, "1e400", "1.0e+400", ".inf", "-.inf", ".nan", "1e15"])
def test_huge_and_non_finite_numbers_are_422(client, hours):
    r = client.post("/api/coverage/programme", content=PROGRAMME.format(hours=hours), headers=YAML)
    assert r.status_code == 422, r.text
    assert errors_of(r)[0]["line"] == 5 and ("hours" in r.text or "CQP_GRAPH_INPUT_MAX_STRING" in r.text)
    assert "NaN" not in r.text and "Infinity" not in r.text


def test_json_number_overflow_is_422(client):
    body = '{"title": "t", "modules": [{"code": "M", "title": "x", "hours": 1e400}]}'
    r = client.post("/api/coverage/programme", content=body, headers=JSON)
    assert r.status_code == 422 and "hours" in r.text and "Infinity" not in r.text
    r = client.post("/api/decisions", content='{"route": "vae", "blocks": {"B1": {"score": NaN}}}', headers=JSON)
    assert r.status_code == 422 and "NaN" not in r.text.replace("« NaN »", "")


def test_a_bom_is_accepted_everywhere(client, tmp_path):
    text = (EXAMPLES / "programme-lacunaire.csv").read_text(encoding="utf-8")
    plain = client.post("/api/coverage/programme", content=text.encode(), headers={"content-type": "text/csv"})
    bom = client.post("/api/coverage/programme", content=b"\xef\xbb\xbf" + text.encode(),
                      headers={"content-type": "text/csv"})
    assert plain.status_code == bom.status_code == 200, bom.text
    assert plain.json()["uncovered"] == bom.json()["uncovered"]
    yaml_text = (EXAMPLES / "candidat-blocs.yaml").read_text(encoding="utf-8")
    r = client.post("/api/decisions", content=b"\xef\xbb\xbf" + yaml_text.encode(), headers=YAML)
    assert r.status_code == 200 and r.json()["decision"] == "awarded"
    path = tmp_path / "bom.csv"
    path.write_bytes(b"\xef\xbb\xbf" + text.encode())
    done = subprocess.run([sys.executable, "-m", "cqp_graph", "coverage", str(path), "--format", "json"],
                          capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["uncovered"] == plain.json()["uncovered"]


# -- odd paths ----------------------------------------------------------------------------------

@pytest.mark.parametrize("char", ["%20", "%22", "%3C", "%3E", "%7B", "%7D", "%5C", "%00", "%ff", "%0A", "%60", "%7C",
                                  "%5E", "%ED%A0%80"])
@pytest.mark.parametrize("suffix", ["", ".html", ".ttl"])
def test_odd_linked_data_paths_are_404_in_french(client, char, suffix):
    r = client.get(f"/agc-alimentaire/mission/M{char}3{suffix}", headers={"accept": "text/plain"})
    assert r.status_code == 404, (char, r.status_code, r.text[:200])
    assert "Aucune ressource" in r.text or "introuvable" in r.text


def test_odd_api_parameters_are_4xx(client):
    for path in ["/api/missions/M%003", "/api/competences/%ff", "/api/queries/%00",
                 "/api/analyses/%20", "/api/missions/%0A"]:
        r = client.get(path)
        assert 400 <= r.status_code < 500, (path, r.status_code, r.text[:200])


# -- exports ------------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def hostile_data(tmp_path_factory):
    """A copy of data/ whose labels and codes carry formulas and HTML."""
    import shutil

    target = tmp_path_factory.mktemp("hostile") / "data"
    shutil.copytree(ROOT / "data", target)
    path = target / "agc-alimentaire" / "competences.csv"
    rows = list(csv.reader(path.open(encoding="utf-8")))
    header = rows[0]
    for row, formula in zip((r for r in rows[1:] if r[0] in ("RC2", "RC4", "RC5", "RC6")), FORMULAS[:4]):
        row[header.index("label")] = formula
    with path.open("w", encoding="utf-8", newline="") as handle:
        csv.writer(handle, lineterminator="\n").writerows(rows)
    path = target / "agc-alimentaire" / "missions.csv"
    rows = list(csv.reader(path.open(encoding="utf-8")))
    rows[1][rows[0].index("label")] = "<script>alert(1)</script> & co"
    with path.open("w", encoding="utf-8", newline="") as handle:
        csv.writer(handle, lineterminator="\n").writerows(rows)
    return target


def assert_no_formula(text: str, expect: list[str]):
    cells = [c for row in csv.reader(io.StringIO(text, newline="")) for c in row]
    starting = [c for c in cells if c.startswith(FORMULA_START)]
    assert not starting, starting
    for formula in expect:
        assert "'" + formula in cells, (formula, [c for c in cells if formula.strip() in c][:3])


def test_csv_injection_query_csv(hostile_data):
    done = subprocess.run([sys.executable, "-m", "cqp_graph", "query", "competences", "--format", "csv",
                           "--data", str(hostile_data)], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    assert_no_formula(done.stdout, FORMULAS[:4])


def test_csv_injection_coverage_csv(hostile_data, tmp_path):
    programme = tmp_path / "p.yaml"
    programme.write_text("title: t\nmodules:\n  - code: '=HYPERLINK(\"http://x\",\"y\")'\n    title: '@x'\n"
                         "    hours: 3\n    competences: [RC2, RSF1]\n", encoding="utf-8")
    done = subprocess.run([sys.executable, "-m", "cqp_graph", "coverage", str(programme), "--format", "csv",
                           "--data", str(hostile_data)], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    assert_no_formula(done.stdout, [FORMULAS[0]])
    assert "'=HYPERLINK" in done.stdout


def test_csv_injection_report_and_markdown_escaped(hostile_data, tmp_path):
    done = subprocess.run([sys.executable, "-m", "cqp_graph", "report", "--output", str(tmp_path),
                           "--data", str(hostile_data)], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    for name in ("matrice.csv", "chiffres.csv", "constats.csv"):
        assert_no_formula((tmp_path / name).read_text(encoding="utf-8"), [])
    md = (tmp_path / "rapport.md").read_text(encoding="utf-8")
    assert "<script>" not in md and "&lt;script&gt;alert(1)&lt;/script&gt; &amp; co" in md
    html = (tmp_path / "rapport.html").read_text(encoding="utf-8")
    assert "<script>alert" not in html


def test_csv_injection_api_query_csv(client):
    # the served graph has no formula: the helper is checked on the real output path with a query whose
    # parameter is echoed (the mission code) and on every prefix character
    from cqp_graph.query.catalogue import Table
    from cqp_graph.query.formats import to_csv

    table = Table(["a", "n"], [{"a": f, "n": -3} for f in FORMULAS] + [{"a": "plain", "n": 2.5}])
    rows = list(csv.reader(io.StringIO(to_csv(table), newline="")))
    assert [r[0] for r in rows[1:]] == ["'" + f for f in FORMULAS] + ["plain"]
    assert {r[1] for r in rows[1:]} == {"-3", "2.5"}, "numbers, negative ones included, stay numbers"
    r = client.get("/api/queries/competences-for-mission", params={"mission": "M3", "format": "csv"})
    assert r.status_code == 200 and "OTC1" in r.text
    assert_no_formula(r.text, [])


# -- command line -------------------------------------------------------------------------------

@pytest.mark.parametrize("command,text,line,words", [
    ("decide", "route: vae\nunits: [55]\n", 2, "units"),
    ("decide", BOMB, 2, "alias"),
    ("decide", "route: vae\n? [a]\n: 1\n", 2, "clé complexe"),
    ("decide", "route: vae\nblocks: " + "[" * 3000 + "\n", 2, "imbrication"),
    ("decide", "route: vae\nblocks: {B1: {score: 1e400}}\n", 2, "nombre"),
    ("coverage", PROGRAMME.format(hours="9" * 5000), 5, "CQP_GRAPH_INPUT_MAX_STRING"),
    ("coverage", PROGRAMME.format(hours=".nan"), 5, "hours"),
    ("coverage", BOMB, 2, "alias"),
    ("coverage", "title: t\nmodules:\n  - code: [x]\n    title: y\n    hours: 1\n", 3, "code"),
])
def test_cli_on_hostile_files(tmp_path, command, text, line, words):
    path = tmp_path / "hostile.yaml"
    path.write_text(text, encoding="utf-8")
    done = subprocess.run([sys.executable, "-m", "cqp_graph", command, str(path)], capture_output=True, text=True,
                          timeout=120)
    assert done.returncode != 0
    assert "Traceback" not in done.stderr + done.stdout, done.stderr[-2000:]
    message = " ".join(done.stderr.split())
    assert f"{path}:{line}:" in message.replace(" ", "") or f"{path}:{line}:" in done.stderr, done.stderr
    assert words in message, done.stderr


def test_cli_on_binary_and_missing_files(tmp_path):
    binary = tmp_path / "b.yaml"
    binary.write_bytes(b"route: vae\n\xff\xfe\x00")
    for path, words in ((binary, "UTF-8"), (tmp_path / "absent.yaml", "introuvable"), (tmp_path, "dossier")):
        done = subprocess.run([sys.executable, "-m", "cqp_graph", "decide", str(path)], capture_output=True,
                              text=True, timeout=120)
        assert done.returncode != 0 and "Traceback" not in done.stderr, done.stderr[-2000:]
        assert words in " ".join(done.stderr.split()), done.stderr


# -- limits on a live server --------------------------------------------------------------------

@pytest.fixture(scope="module")
def tight_server(dist_dir):
    import os

    from .server import start_server

    old = {k: os.environ.get(k) for k in ("CQP_GRAPH_INPUT_TIMEOUT", "CQP_GRAPH_INPUT_CONCURRENCY")}
    os.environ.update(CQP_GRAPH_INPUT_TIMEOUT="0.05", CQP_GRAPH_INPUT_CONCURRENCY="1")
    try:
        server = start_server(dist_dir)
    finally:
        for k, v in old.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v
    yield server
    server.stop()


def test_time_limit_and_concurrency_on_a_live_server(tight_server):
    body = (EXAMPLES / "programme-complet.yaml").read_bytes()
    statuses, retry = [], []

    def post():
        r = httpx.post(tight_server.url + "/api/coverage/programme", content=body, headers=YAML, timeout=30)
        statuses.append(r.status_code)
        retry.append(r.headers.get("retry-after"))
        assert "Traceback" not in r.text

    threads = [threading.Thread(target=post) for _ in range(4)]
    for t in threads:
        t.start()
    # meanwhile, the rest of the server answers
    start = time.monotonic()
    assert httpx.get(tight_server.url + "/api/missions", timeout=10).status_code == 200
    other = time.monotonic() - start
    for t in threads:
        t.join()
    print(f"statuses {statuses}, /api/missions meanwhile in {other * 1000:.0f} ms")
    # one slot, one client: the first is stopped at its time limit (503), the others wait their turn (503 when
    # the slot is taken, 429 when this client already holds its CQP_GRAPH_INPUT_CLIENT_CONCURRENCY share)
    assert 503 in statuses and set(statuses) <= {503, 429}, statuses
    assert all(retry), retry
    assert other < 3.0, "the rest of the server keeps answering (shared 2-core machine: generous bound)"


# -- fairness between clients (CQP_GRAPH_INPUT_CLIENT_CONCURRENCY) -----------------------------------

@pytest.fixture(scope="module")
def fair_server(dist_dir):
    from .server import start_server

    server = start_server(dist_dir, env={"CQP_GRAPH_INPUT_CONCURRENCY": "2", "CQP_GRAPH_INPUT_CLIENT_CONCURRENCY": "1",
                                         "CQP_GRAPH_INPUT_TIMEOUT": "30"})
    yield server
    server.stop()


def big_programme(modules: int = 200) -> str:
    competences = "RC2, RC4, RSF1, RSF2, RC5, RC6, OTC1, RSF10"
    return "title: t\nmodules:\n" + "".join(f"  - code: MOD{i}\n    title: m{i}\n    hours: 3\n"
                                            f"    competences: [{competences}]\n" for i in range(modules))


def test_one_client_cannot_take_every_input_slot(fair_server):
    """127.0.0.1 keeps sending heavy coverage requests two at a time; 127.0.0.2's decision still answers 200."""
    body = big_programme().encode()
    decision = (EXAMPLES / "candidat-blocs.yaml").read_bytes()
    statuses, retry, stop, busy = [], [], threading.Event(), threading.Event()

    def hog():
        with httpx.Client(timeout=60) as c:
            while not stop.is_set():
                r = c.post(fair_server.url + "/api/coverage/programme", content=body, headers=YAML)
                statuses.append(r.status_code)
                if r.status_code == 429:
                    retry.append(r.headers.get("retry-after"))
                    assert "CQP_GRAPH_INPUT_CLIENT_CONCURRENCY" in r.json()["detail"]
                    busy.set()
                    time.sleep(0.05)

    hogs = [threading.Thread(target=hog) for _ in range(2)]
    for t in hogs:
        t.start()
    try:
        assert busy.wait(60), f"the hog never saw its share used up: {statuses}"
        other = httpx.Client(transport=httpx.HTTPTransport(local_address="127.0.0.2"), timeout=60)
        answers = []
        for _ in range(3):  # while 127.0.0.1 holds its slot
            start = time.monotonic()
            r = other.post(fair_server.url + "/api/decisions", content=decision, headers=YAML)
            answers.append((r.status_code, round(time.monotonic() - start, 2)))
            assert r.status_code == 200, (r.status_code, r.text[:300])
            assert r.json()["decision"] == "awarded"
        other.close()
    finally:
        stop.set()
        for t in hogs:
            t.join()
    print(f"127.0.0.1: {statuses.count(200)}×200, {statuses.count(429)}×429; 127.0.0.2 decisions: {answers}")
    assert 429 in statuses and set(statuses) <= {200, 429}, statuses
    assert all(v == "1" for v in retry), retry


# -- settings -------------------------------------------------------------------------------------

@pytest.mark.parametrize("name,value,words", [
    ("CQP_GRAPH_QUERY_TIMEOUT", "nan", "nombre fini"),
    ("CQP_GRAPH_QUERY_TIMEOUT", "inf", "nombre fini"),
    ("CQP_GRAPH_INPUT_TIMEOUT", "-Infinity", "nombre fini"),
    ("CQP_GRAPH_QUERY_TIMEOUT", "abc", "un nombre est attendu"),
    ("CQP_GRAPH_CACHE_BYTES", "-5", "positive ou nulle"),
    ("CQP_GRAPH_WORKERS", "-1", "positive ou nulle"),
    ("CQP_GRAPH_INPUT_MAX_BYTES", "abc", "nombre entier"),
    ("CQP_GRAPH_INPUT_MAX_BYTES", "1.5", "nombre entier"),
])
def test_bad_settings_are_one_french_message(tmp_path, name, value, words):
    import os

    results = tmp_path / "r.yaml"
    results.write_text((EXAMPLES / "candidat-blocs.yaml").read_text(encoding="utf-8"), encoding="utf-8")
    env = dict(os.environ, **{name: value})
    for args in (["-m", "cqp_graph", "decide", str(results)],
                 ["-m", "cqp_graph", "serve", "--port", "9"],
                 ["-m", "uvicorn", "cqp_graph.api:app", "--port", "9"]):
        done = subprocess.run([sys.executable, *args], capture_output=True, text=True, env=env, timeout=120)
        output = done.stdout + done.stderr
        assert done.returncode != 0, (args, output[-500:])
        assert "Traceback" not in output and "ValueError" not in output, output[-2000:]
        message = " ".join(done.stderr.split())
        assert message.startswith("erreur :") and f"{name}=« {value} »" in message and words in message, message


def test_settings_reject_non_finite_values_in_process(monkeypatch):
    from cqp_graph.config import SettingsError

    for value in ("nan", "NaN", "inf", "+inf", "1e999"):
        monkeypatch.setenv("CQP_GRAPH_KEEP_ALIVE", value)
        with pytest.raises(SettingsError, match="CQP_GRAPH_KEEP_ALIVE"):
            Settings.from_env()
    monkeypatch.setenv("CQP_GRAPH_KEEP_ALIVE", "0.5")
    assert Settings.from_env().keep_alive == 0.5


# -- CSV programme lines, messages without Python reprs -------------------------------------------------

CSV_LINES = "code,title,hours,competences,activities\nM1,t,1,RC2,\nM2,t,1,RC2,\nM4,t,abc,RC2,\nM5,t,-1,RC2,\n" \
            "\"M6\",\"multi\nline\",1e16,RC2,\n"


def test_csv_programme_errors_name_their_own_lines(client, tmp_path):
    path = tmp_path / "l2.csv"
    path.write_text(CSV_LINES, encoding="utf-8")
    import os

    done = subprocess.run([sys.executable, "-m", "cqp_graph", "coverage", str(path)], capture_output=True,
                          text=True, timeout=120, env=dict(os.environ, COLUMNS="1000"))  # one message a line
    assert done.returncode != 0 and "Traceback" not in done.stderr
    lines = {}
    for line in done.stderr.replace("erreur :", "").splitlines():
        if f"{path.name}:" in line:
            where, _, message = line.strip().partition(": ")
            lines[where.rsplit(":", 1)[1]] = message
    assert set(lines) == {"4", "5", "6"}, done.stderr
    assert "M4" in lines["4"] and "hours" in lines["4"]
    assert "M5" in lines["5"] and "négatif" in lines["5"]
    assert "M6" in lines["6"] and "1000000000000000" in lines["6"], lines["6"]
    r = client.post("/api/coverage/programme", content=CSV_LINES.encode(), headers={"content-type": "text/csv"})
    assert r.status_code == 422
    assert [(e["line"], e["message"].split(" :")[0]) for e in errors_of(r)] == \
        [(4, "module M4"), (5, "module M5"), (6, "module M6")]
    assert "Decimal(" not in r.text and "Decimal(" not in done.stderr


@pytest.mark.parametrize("text,fmt,words", [
    ("route: !!python/object:os.system x\n", "yaml", "étiquette YAML"),
    ("route: vae\nblocks: {B1: 3\n", "yaml", "syntaxe YAML"),
    ("route: vae\n\tblocks: 1\n", "yaml", "tabulation"),
    ("code,title,hours\nM1,\"t,3\n", "csv", "guillemet"),
    ("code,title,hours\nM1,\"t\"x,3\n", "csv", "guillemet"),
    ("code,title,hours\nM1," + "x" * 200_000 + ",3\n", "csv", "CQP_GRAPH_INPUT_MAX_STRING"),
])
def test_parser_messages_are_french_sentences(client, text, fmt, words):
    if fmt == "csv":
        r = client.post("/api/coverage/programme", content=text.encode(), headers={"content-type": "text/csv"})
    else:
        r = client.post("/api/decisions", content=text.encode(), headers=YAML)
    assert r.status_code in (413, 422), r.text[:300]
    detail = r.text
    assert words in detail, detail[:300]
    for english in ("could not determine", "expected", "field larger", "unexpected end", "found character"):
        assert english not in detail or "message de" in detail, detail[:300]


def test_undecodable_bytes_are_described_in_french(client):
    r = client.post("/api/decisions", content=b"route: vae\ncandidate: \xe9t\xe9\n", headers=YAML)
    assert r.status_code == 415
    assert "0xe9" in r.text and "start byte" not in r.text and "continuation byte" not in r.text, r.text


# -- import-rncp ----------------------------------------------------------------------------------

RNCP_XML = ("<?xml version='1.0' encoding='UTF-8'?>\n<FICHES>\n<FICHE><NUMERO_FICHE>RNCP1</NUMERO_FICHE>"
            "<INTITULE>Un titre</INTITULE></FICHE>\n<FICHE><NUMERO_FICHE>RNCP2</NUMERO_FICHE></FICHE>\n"
            "<FICHE><NUMERO_FICHE>???</NUMERO_FICHE></FICHE>\n<FICHE><NUMERO_FICHE>RNCP3")


@pytest.mark.parametrize("umask,mode", [(0o022, 0o644), (0o027, 0o640), (0o077, 0o600)])
def test_import_rncp_output_mode_follows_the_umask(tmp_path, umask, mode):
    export = tmp_path / "export.xml"
    export.write_text(RNCP_XML, encoding="utf-8")
    output = tmp_path / "out" / "rncp.ttl"
    done = subprocess.run([sys.executable, "-m", "cqp_graph", "import-rncp", str(export), "-o", str(output),
                           "--no-validate"], capture_output=True, text=True, timeout=120, umask=umask)
    assert done.returncode == 3, done.stderr[-2000:]  # the export has problems: reported, not fatal
    assert output.stat().st_mode & 0o777 == mode, oct(output.stat().st_mode)
    assert not [p for p in output.parent.iterdir() if p.name != output.name], "no temporary file left"


def test_import_rncp_messages_are_french(tmp_path):
    export = tmp_path / "export.xml"
    export.write_text(RNCP_XML, encoding="utf-8")
    done = subprocess.run([sys.executable, "-m", "cqp_graph", "import-rncp", str(export), "-o",
                           str(tmp_path / "o.ttl"), "--no-validate"], capture_output=True, text=True, timeout=120)
    message = " ".join(done.stderr.split())
    assert "(RNCP2) : INTITULE manquant" in message or "(RNCP2): INTITULE manquant" in message, message
    assert "NUMERO_FICHE « ??? »" in message and "fiche écartée" in message
    assert "erreur de syntaxe XML ligne" in message and "les fiches qui précèdent sont gardées" in message
    for english in ("is missing", "syntax error", "skipped", "is not"):
        assert english not in message, message
    wrong = tmp_path / "wrong.xml"
    wrong.write_text("<RACINE/>", encoding="utf-8")
    for args, words in ((["import-rncp", str(tmp_path / "absent.xml"), "-o", str(tmp_path / "a.ttl")],
                         "fichier introuvable"),
                        (["import-rncp", str(wrong), "-o", str(tmp_path / "w.ttl")], "pas <FICHES>")):
        done = subprocess.run([sys.executable, "-m", "cqp_graph", *args], capture_output=True, text=True,
                              timeout=120)
        message = " ".join(done.stderr.split())
        assert done.returncode == 2 and "Traceback" not in done.stderr, done.stderr[-2000:]
        assert "erreur :" in message and "error:" not in message and words in message, message


# -- REST and query API: French messages, odd codes, formats ---------------------------------------------

@pytest.mark.parametrize("path,params,status,words", [
    ("/api/missions/M9", {}, 404, "M9 : mission inconnue"),
    ("/api/missions/M9/competences", {}, 404, "M9 : mission inconnue"),
    ("/api/competences/XX1", {}, 404, "XX1 : compétence inconnue"),
    ("/api/analyses/astrology", {}, 404, "aucune analyse « astrology »"),
    ("/api/queries/nope", {}, 404, "aucune requête nommée « nope »"),
    ("/api/queries/competences-for-mission", {}, 422, "attend le paramètre « mission »"),
    ("/api/queries/transversal-competences", {"min_missions": "abc"}, 422, "« abc » n'est pas un nombre entier"),
    ("/api/queries/competences", {"colour": "blue"}, 422, "n'a pas de paramètre « colour »"),
    ("/api/queries/competences", {"format": "xml"}, 422, "paramètre « format » : « xml » inconnu"),
    ("/api/queries/competences-for-mission", {"mission": "\x00"}, 422, "caractère de contrôle"),
    ("/api/queries/competences-for-mission", {"mission": "M3\n"}, 422, "caractère de contrôle"),
    ("/api/queries/competences-for-mission", {"mission": "M" * 5000}, 422, "CQP_GRAPH_INPUT_MAX_STRING"),
])
def test_api_messages_are_french(client, path, params, status, words):
    r = client.get(path, params=params)
    assert r.status_code == status, (r.status_code, r.text[:300])
    assert words in r.json()["detail"], r.text[:300]
    for english in ("no mission", "no competence", "no analysis", "no named query", "needs parameter",
                    "not a whole number", "has no parameter"):
        assert english not in r.text


@pytest.mark.parametrize("path", ["/api/missions/%ff", "/api/missions/%ff/competences", "/api/competences/%C3",
                                  "/api/analyses/%ff", "/api/queries/%fe%ff", "/api/missions/M%013"])
def test_undecodable_codes_are_404_in_french(client, path):
    r = client.get(path)
    assert r.status_code == 404, (path, r.status_code, r.text[:200])
    assert "illisible" in r.json()["detail"] and "\ufffd" not in r.text and "�" not in r.text


def test_query_format_is_checked_and_nul_parameters_refused(client):
    assert client.get("/api/queries/competences", params={"format": "csv"}).headers["content-type"].startswith(
        "text/csv")
    assert client.get("/api/queries/competences", params={"format": "json"}).json()[0]["code"]
    r = client.get("/api/queries/competences-for-mission?mission=%00")
    assert r.status_code == 422 and r.json()["detail"].startswith("paramètre « mission »"), r.text
