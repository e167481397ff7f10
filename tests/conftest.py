from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from cqp_graph.config import Settings
from cqp_graph.graph import build_graph, load_shapes
from cqp_graph.queries import QueryCatalogue
from cqp_graph.store import store_from_graph

ROOT = Path(__file__).resolve().parent.parent
SHARED = ROOT.parent / "shared"
SEED = SHARED / "seed" / "000_196c8280fc185893.txt"
REFERENTIAL = ROOT / "data" / "agc-alimentaire"


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
    if not SEED.exists():
        pytest.skip(f"reference seed not found at {SEED}: ../shared is absent from this checkout")
    return SEED.read_text(encoding="utf-8")


@pytest.fixture
def data_copy(tmp_path) -> Path:
    """A writable copy of data/ (one referential) to break on purpose."""
    target = tmp_path / "data"
    shutil.copytree(ROOT / "data", target)
    return target


def settings_for(data_dir: Path, tmp_path: Path, **kw) -> Settings:
    return Settings.from_env(root=ROOT, data_dir=data_dir, dist_dir=tmp_path / "dist", **kw)


@pytest.fixture(scope="session")
def dist_dir(graph, settings, tmp_path_factory):
    """A fresh build of the graph, for the server to serve."""
    from cqp_graph.build import write_dist

    dist = tmp_path_factory.mktemp("dist")
    write_dist(graph, dist, settings.base)
    return dist


@pytest.fixture(scope="session")
def live_server(dist_dir):
    from .server import start_server

    server = start_server(dist_dir)
    yield server
    server.stop()
