"""cqp-graph as a package: the sdist and the wheel carry everything, and a wheel installed in a fresh
venv works from any folder (build, queries, query, serve), writing dist/ where it runs, not beside its code.

The tree is copied to a temporary folder and built there (sdist first, then the wheel from the
sdist: a file missing from the sdist is missing from the wheel). The fresh venv has no pip and
reuses this venv's installed dependencies through a .pth line (never its .pth files, so the
checkout's editable install cannot leak in: checked through `cqp_graph.__file__`).

Lives here: the package as installed. Not here: the CLI's commands in the checkout (tests/test_build.py and the
other command tests), CI's own check of the same (.ci/run).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import sysconfig
import tarfile
import time
import zipfile
from pathlib import Path

import httpx
import pytest

from .support import ROOT, SECOND, SECOND_REFERENTIAL
from .server import free_port

RESOURCES = ("ontology", "shapes", "queries", "data")
IGNORED = shutil.ignore_patterns(".git", ".venv", ".bench-venv", "dist", "build", "*.egg-info", "__pycache__",
                                 ".pytest_cache", "node_modules", "test-artifacts", ".schemathesis", "*.whl")


def clean_env(**extra) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("CQP_GRAPH_") and k not in ("PYTHONPATH",)}
    env.update(COLUMNS="250", PYTHONDONTWRITEBYTECODE="1", **extra)
    return env


def run(args, cwd, env=None, timeout=300, check=True) -> subprocess.CompletedProcess:
    result = subprocess.run([str(a) for a in args], cwd=cwd, env=env or clean_env(), capture_output=True, text=True,
                            timeout=timeout)
    if check:
        assert result.returncode == 0, f"{args}: exit {result.returncode}\n{result.stdout}\n{result.stderr}"
    return result


def files_under(folder: Path) -> list[str]:
    return sorted(p.relative_to(folder).as_posix() for p in folder.rglob("*")
                  if p.is_file() and "__pycache__" not in p.parts)


def fresh_venv(folder: Path) -> Path:
    """A venv without pip whose interpreter also sees this venv's dependencies (a path line, no .pth files)."""
    run([sys.executable, "-m", "venv", "--without-pip", folder], cwd=folder.parent)
    python = folder / "bin" / "python"
    purelib = run([python, "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"], folder).stdout.strip()
    Path(purelib, "cqp-graph-test-deps.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")
    return python


def pip_install(python: Path, *args) -> None:
    run([sys.executable, "-m", "pip", "--python", python, "install", "-q", "--no-deps", "--no-index", *args],
        cwd=python.parent)


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    """(source copy, sdist, wheel) built from a copy of the working tree."""
    top = tmp_path_factory.mktemp("package")
    source = top / "src"
    shutil.copytree(ROOT, source, ignore=IGNORED)
    started = time.perf_counter()
    run([sys.executable, "-m", "build", "--no-isolation", "--outdir", top / "out", source], cwd=top)
    print(f"sdist + wheel built in {time.perf_counter() - started:.1f} s")
    sdist, = (top / "out").glob("*.tar.gz")
    wheel, = (top / "out").glob("*.whl")
    return source, sdist, wheel


@pytest.fixture(scope="module")
def installed(built, tmp_path_factory):
    """(venv python, cqp-graph script, a work folder outside the repository)."""
    _, _, wheel = built
    top = tmp_path_factory.mktemp("installed")
    python = fresh_venv(top / "venv")
    pip_install(python, wheel)
    work = top / "work"
    work.mkdir()
    assert not work.resolve().is_relative_to(ROOT.resolve())
    return python, top / "venv" / "bin" / "cqp-graph", work


def test_the_wheel_carries_the_package_and_the_resources(built):
    source, _, wheel = built
    names = set(zipfile.ZipFile(wheel).namelist())
    expected = {f"cqp_graph/{name}" for name in files_under(source / "cqp_graph")}
    for resource in RESOURCES:
        expected |= {f"cqp_graph/_resources/{resource}/{name}" for name in files_under(source / resource)}
    assert expected - names == set(), "files missing from the wheel"
    for must in ("cqp_graph/web/app.py", "cqp_graph/present/templates/", "cqp_graph/present/static/yasgui/",
                 "cqp_graph/_resources/ontology/cqp.ttl", "cqp_graph/_resources/data/agc-alimentaire/",
                 "cqp_graph/_resources/shapes/quality/", "cqp_graph/_resources/queries/programme/"):
        assert any(n.startswith(must) for n in names), must


def test_the_sdist_carries_the_folders(built):
    source, sdist, _ = built
    with tarfile.open(sdist) as archive:
        names = {name.split("/", 1)[1] for name in archive.getnames() if "/" in name}
    for folder in (*RESOURCES, "cqp_graph", "tests", "examples"):
        missing = {f"{folder}/{n}" for n in files_under(source / folder)} - names
        assert missing == set(), f"missing from the sdist: {sorted(missing)[:5]}"
    assert {"pyproject.toml", "setup.py", "MANIFEST.in", "README.md"} <= names


def test_the_installed_package_builds_queries_and_serves_from_another_folder(installed):
    python, script, work = installed
    where = run([python, "-c", "import cqp_graph, cqp_graph.config as c; print(cqp_graph.__file__); "
                 "print(c.Settings.from_env().root); print(c.Settings.from_env().dist_dir)"], work).stdout.split("\n")
    venv = python.parent.parent
    assert Path(where[0]).is_relative_to(venv), f"cqp_graph imported from {where[0]}, not from the fresh venv"
    assert Path(where[1]).is_relative_to(venv) and Path(where[1]).name == "_resources"
    assert Path(where[2]) == work / "dist"

    result = run([script, "build"], work)
    assert "Synthèse du graphe" in result.stdout
    assert (work / "dist" / "graph.nt").stat().st_size > 100_000
    assert [p for p in venv.rglob("dist") if p.is_dir()] == [], "the build wrote inside the venv"

    listed = run([script, "queries"], work).stdout
    for query in sorted((ROOT / "queries").glob("*.rq")):
        assert query.stem in listed, f"{query.stem} not listed by the installed package"

    args = ["query", "competences-for-mission", "--param", "mission=M3", "--format", "json"]
    rows = json.loads(run([script, *args], work).stdout)
    in_repo = json.loads(run([sys.executable, "-m", "cqp_graph", *args], ROOT).stdout)
    assert rows == in_repo and len(rows) > 5

    port = free_port()
    server = subprocess.Popen([script, "serve", "--port", str(port), "--workers", "1"], cwd=work, env=clean_env(),
                              stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, start_new_session=True)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.time() + 60
        while True:
            assert server.poll() is None, f"the server exited: {server.stdout.read()}"
            assert time.time() < deadline, "the server did not answer within 60 s"
            try:
                missions = httpx.get(f"{url}/api/missions", timeout=2)
                break
            except httpx.HTTPError:
                time.sleep(0.2)
        assert missions.status_code == 200
        assert "M3" in {m.get("code") for m in missions.json()}
        answer = httpx.get(f"{url}/sparql", params={"query": "ASK { ?s ?p ?o }"},
                           headers={"Accept": "application/sparql-results+json"}, timeout=10)
        assert answer.status_code == 200 and answer.json()["boolean"] is True
        page = httpx.get(f"{url}/query", timeout=10)
        assert page.status_code == 200 and "yasgui" in page.text.lower()
    finally:
        os.killpg(server.pid, 15)
        try:
            server.wait(10)
        except subprocess.TimeoutExpired:
            os.killpg(server.pid, 9)
            server.wait()


def test_home_and_data_point_elsewhere(installed, built, tmp_path):
    python, script, work = installed
    source, _, _ = built
    home = tmp_path / "home"
    shutil.copytree(source / "ontology", home / "ontology")
    shutil.copytree(source / "shapes", home / "shapes")
    (home / "queries").mkdir()
    shutil.copy(source / "queries" / "missions.rq", home / "queries")
    # the small test referential: what is checked is where the files are read from, not the data
    shutil.copytree(SECOND_REFERENTIAL, home / "data" / SECOND)
    missions = home / "data" / SECOND / "missions.csv"
    text = missions.read_text(encoding="utf-8")
    missions.write_text(text.replace("M3,", "M3,Mission renommée pour le test — ", 1), encoding="utf-8")
    env = clean_env(CQP_GRAPH_HOME=str(home))
    listed = run([script, "queries"], work, env=env).stdout
    assert "missions" in listed and "competences-for-mission" not in listed
    rows = json.loads(run([script, "query", "missions", "--format", "json"], work, env=env).stdout)
    assert any(r["code"] == "M3" and "Mission renommée pour le test" in r["label"] for r in rows)
    # --data alone: the packaged ontology, shapes and queries, with this data
    rows = json.loads(run([script, "query", "missions", "--format", "json", "--data", home / "data"], work).stdout)
    assert any(r["code"] == "M3" and "Mission renommée pour le test" in r["label"] for r in rows)
    result = run([script, "build", "--data", home / "data"], work,
                 env=clean_env(CQP_GRAPH_DIST=str(tmp_path / "elsewhere")))
    assert (tmp_path / "elsewhere" / "graph.ttl").exists(), result.stdout


def test_an_editable_install_reads_the_checkout(built, tmp_path):
    source, _, _ = built
    python = fresh_venv(tmp_path / "venv")
    pip_install(python, "--no-build-isolation", "-e", source)
    work = tmp_path / "work"
    work.mkdir()
    out = run([python, "-c", "import cqp_graph.config as c; s = c.Settings.from_env(); print(s.root); "
               "print(s.dist_dir)"], work).stdout.split("\n")
    assert Path(out[0]) == source and Path(out[1]) == source / "dist"
    listed = run([tmp_path / "venv" / "bin" / "cqp-graph", "queries"], work).stdout
    assert "competences-for-mission" in listed
