"""The suite's fixtures, each written once, and the rule that CI cannot go green by skipping.

Lives here: the pytest hooks that turn a skip into a failure under CI=true; the session fixtures that tests
only read (the shipped data through the one pipeline, its dump, an in-process client, a live server; the
two-referential data); the per-test writable copy of data/. Not here: helpers that tests import (they are in
`tests/support.py`, `tests/server.py`, `tests/browser.py`: nothing imports this module).

Cost: building and validating a graph (pyshacl) is the dearest step of the suite, so it is done once per
session (per xdist worker) and the dump the servers read records its findings (`validation.json`), which lets
them open it without validating it again.
"""

from __future__ import annotations

import os
import shutil
import sys
import types
from pathlib import Path

import pytest

from cqp_graph.config import Settings
from cqp_graph.graph.assemble import load_shapes
from cqp_graph.graph.pipeline import BuiltGraph, run_pipeline
from cqp_graph.query.catalogue import QueryCatalogue

from .support import ROOT, SEED, in_ci, need_shared, settings_for, two_referentials


# -- CI cannot go green by skipping --------------------------------------------------------------------------
# Under CI=true, a test that skips (../shared absent, no browser, a package missing...) is reported as a
# failure with its reason; locally the skip stays, with its reason. A test that may legitimately skip in CI
# says so with @pytest.mark.skip_in_ci_ok("why"). With pytest-xdist the reports are changed on the worker,
# before they travel to the controller, so the count is the same with or without -n.

def pytest_configure(config):
    config.addinivalue_line("markers", "skip_in_ci_ok(reason): this test may skip under CI=true, for the reason given")
    config.addinivalue_line("markers", "xdist_group(name): tests run on one xdist worker (pytest-xdist's own marker)")
    if not XDIST and config.getoption("numprocesses", None) not in (None, "0", 0):
        config.issue_config_time_warning(pytest.PytestConfigWarning(
            "pytest-xdist is not installed (pip install -e .[test]) or is turned off: the tests run in one process"),
            stacklevel=2)


# -- parallel runs ---------------------------------------------------------------------------------------------
# pyproject.toml's addopts ask pytest-xdist for one worker per core (`--numprocesses auto --dist loadfile`). Where
# xdist is not installed (an environment made before it joined the test extras) or is turned off (`-p no:xdist`),
# those two options are accepted and ignored, and the suite runs in one process; `--numprocesses 0` asks for one
# process with xdist installed.

XDIST = True  # whether the xdist plugin is loaded (not installed, or `-p no:xdist`: False)


def pytest_addoption(parser, pluginmanager):
    global XDIST
    XDIST = pluginmanager.hasplugin("xdist")
    if not XDIST:
        group = parser.getgroup("xdist", "distributed testing (pytest-xdist is not installed: ignored)")
        group.addoption("--numprocesses", dest="numprocesses", default=None, help="ignored without pytest-xdist")
        group.addoption("--dist", dest="dist", default="no", help="ignored without pytest-xdist")


def _skip_reason(report) -> str:
    longrepr = report.longrepr
    if isinstance(longrepr, tuple) and len(longrepr) == 3:
        return str(longrepr[2])
    return str(longrepr)


def _fail_skip_in_ci(report, item=None):
    if not (in_ci() and report.skipped) or hasattr(report, "wasxfail"):
        return
    if item is not None and item.get_closest_marker("skip_in_ci_ok"):
        return
    report.outcome = "failed"
    report.longrepr = f"CI=true: a skip is a failure here: {_skip_reason(report)}"


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    _fail_skip_in_ci(outcome.get_result(), item)


@pytest.hookimpl(hookwrapper=True)
def pytest_make_collect_report(collector):
    outcome = yield
    _fail_skip_in_ci(outcome.get_result())


# -- order: the longest modules first -----------------------------------------------------------------------------
# With pytest-xdist (`--dist loadfile`, see pyproject.toml) each module runs whole on one worker, in collection
# order; a long module collected last would run alone at the end. These start first, longest first (measured with
# --durations on a full run: schemathesis' run, releases built and checked, the exchanges and commands on two
# referentials, the package built and installed, the server's limits over real sockets); the rest keeps its order.

LONGEST_FIRST = ("test_schemathesis.py", "test_accessibility.py", "test_release.py", "test_exchange_referentials.py",
                 "test_cli_referentials.py", "test_package.py", "test_stores.py", "test_browser_flows.py",
                 "test_hostile_server.py")


def pytest_collection_modifyitems(session, config, items):
    """The longest modules first; the others keep their order. A module's tests are kept together (at the place of
    its first), as a run given node ids out of module order would otherwise set its module fixtures up again each
    time it comes back: mutmut runs each mutant's tests fastest first, across modules (scripts/mutation.sh)."""
    rank = {name: index for index, name in enumerate(LONGEST_FIRST)}
    first: dict[Path, int] = {}
    for index, item in enumerate(items):
        first.setdefault(item.path, index)
    items.sort(key=lambda item: (rank.get(item.path.name, len(rank)), first[item.path]))  # stable within a module


# -- the shipped referential, built once ----------------------------------------------------------------------
# Mutation runs (scripts/mutation.sh) fork one child per mutant from a process that ran the tests once, and each
# child starts a new pytest session. For a mutated module the pipeline never calls (the script names them),
# CQP_GRAPH_TESTS_KEEP_BUILT=1 lets the children start from the shipped graph that process built (in memory,
# inherited by the fork) instead of building it again (≈ 4 s per mutant). `two_built` is not kept: its settings
# name a session's temporary folder. Never set it otherwise: a mutant of the pipeline would then be tested
# against a graph built without it.

def _kept(name: str, build):
    """build(), or under CQP_GRAPH_TESTS_KEEP_BUILT=1 what an earlier session of this process built."""
    if os.environ.get("CQP_GRAPH_TESTS_KEEP_BUILT") != "1":
        return build()
    store = sys.modules.setdefault("_cqp_graph_tests_kept", types.ModuleType("_cqp_graph_tests_kept")).__dict__
    if name not in store:
        store[name] = build()
    return store[name]


@pytest.fixture(scope="session")
def settings() -> Settings:
    return Settings.from_env(root=ROOT, data_dir=ROOT / "data", dist_dir=ROOT / "dist")


@pytest.fixture(scope="session")
def built(settings) -> BuiltGraph:
    """data/ through the one pipeline (built, validated, in a store), for the tests that only read it."""
    return _kept("built", lambda: run_pipeline(settings))


@pytest.fixture(scope="session")
def graph(built):
    """The built graph (read only: a test that changes a graph copies it first)."""
    return built.graph


@pytest.fixture(scope="session")
def knowledge(built):
    return built.knowledge


@pytest.fixture(scope="session")
def store(built):
    """The built graph's store (from `built`, not from `knowledge`: a module may define its own `knowledge`)."""
    return built.knowledge.store


@pytest.fixture(scope="session")
def shapes(settings):
    return load_shapes(settings)


@pytest.fixture(scope="session")
def catalogue(settings):
    return QueryCatalogue(settings.queries_dir)


@pytest.fixture(scope="session")
def seed_text() -> str:
    need_shared(SEED)
    return SEED.read_text(encoding="utf-8")


@pytest.fixture
def data_copy(tmp_path) -> Path:
    """A writable copy of data/ (one referential) to break on purpose."""
    target = tmp_path / "data"
    shutil.copytree(ROOT / "data", target)
    return target


@pytest.fixture(scope="session")
def dist_dir(built, settings, tmp_path_factory) -> Path:
    """The published dump of the built graph, with its findings recorded as `build` records them."""
    from cqp_graph.publish.dumps import write_dist

    dist = tmp_path_factory.mktemp("dist")
    write_dist(built.graph, dist, settings.base, extra={"validation.json": built.findings_json()})
    return dist


@pytest.fixture(scope="session")
def app_client(dist_dir):
    """The real application in-process (FastAPI's TestClient, one query worker) over the session's dump:
    for API logic, where the HTTP server itself is not the point."""
    from fastapi.testclient import TestClient

    from cqp_graph.web.app import create_app

    app = create_app(Settings.from_env(root=ROOT, data_dir=ROOT / "data", dist_dir=dist_dir),
                     graph_file=dist_dir / "graph.nt", workers=1)
    with TestClient(app, raise_server_exceptions=False) as client:
        yield client


@pytest.fixture(scope="session")
def live_server(dist_dir):
    """uvicorn in a subprocess over the session's dump: for real clients, the protocol and the workers."""
    from .server import start_server

    server = start_server(dist_dir)
    yield server
    server.stop()


# -- two referentials side by side ------------------------------------------------------------------------------

@pytest.fixture(scope="session")
def two_data(tmp_path_factory) -> Path:
    """A data folder holding copies of data/agc-alimentaire and of the test referential (read only)."""
    return two_referentials(tmp_path_factory.mktemp("two"))


@pytest.fixture(scope="session")
def two_settings(two_data, tmp_path_factory) -> Settings:
    return settings_for(two_data, tmp_path_factory.mktemp("two-out"))


@pytest.fixture(scope="session")
def two_built(two_settings) -> BuiltGraph:
    """Both referentials through the one pipeline, once per session."""
    return run_pipeline(two_settings)
