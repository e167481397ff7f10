from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from cqp_graph.config import Settings
from cqp_graph.graph.assemble import build_graph, load_shapes
from cqp_graph.query.catalogue import QueryCatalogue
from cqp_graph.query.store import store_from_graph

from .support import ROOT, SEED, in_ci, need_shared  # noqa: F401


# -- CI cannot go green by skipping --------------------------------------------------------------------------
# Under CI=true, a test that skips (../shared absent, no browser, a package missing...) is reported as a
# failure with its reason; locally the skip stays, with its reason. A test that may legitimately skip in CI
# says so with @pytest.mark.skip_in_ci_ok("why").

def pytest_configure(config):
    config.addinivalue_line("markers", "skip_in_ci_ok(reason): this test may skip under CI=true, for the reason given")


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


@pytest.fixture(scope="session")
def settings() -> Settings:
    return Settings.from_env(root=ROOT, data_dir=ROOT / "data", dist_dir=ROOT / "dist")


@pytest.fixture(scope="session")
def graph(settings):
    return build_graph(settings)


@pytest.fixture(scope="session")
def shapes(settings):
    return load_shapes(settings)


@pytest.fixture(scope="session")
def store(graph):
    return store_from_graph(graph)


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
def dist_dir(graph, settings, tmp_path_factory):
    """A fresh build of the graph, for the server to serve."""
    from cqp_graph.publish.dumps import write_dist

    dist = tmp_path_factory.mktemp("dist")
    write_dist(graph, dist, settings.base)
    return dist


@pytest.fixture(scope="session")
def live_server(dist_dir):
    from .server import start_server

    server = start_server(dist_dir)
    yield server
    server.stop()
