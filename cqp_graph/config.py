"""Where things live and which base IRI the graph is minted under.

Every setting can be given by an environment variable; each one is listed in
SETTINGS and documented in the README (a test checks that it is).
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

DEFAULT_BASE = "https://w3id.org/cqp-graph/"

#: environment variable -> what it sets (the README documents each one)
SETTINGS: dict[str, str] = {
    "CQP_GRAPH_BASE": "base IRI under which every IRI of the graph is minted",
    "CQP_GRAPH_HOME": "project folder holding ontology/, shapes/, queries/ and data/",
    "CQP_GRAPH_DATA": "folder of referentials (one sub-folder each)",
    "CQP_GRAPH_DIST": "folder the build writes the graph dumps to",
    "CQP_GRAPH_QUERY_TIMEOUT": "seconds a SPARQL query may run on the server before it is stopped",
    "CQP_GRAPH_MAX_ROWS": "most rows the server returns for one SELECT",
    "CQP_GRAPH_CORS_ORIGINS": "comma-separated origins allowed by CORS on the server (empty: none)",
}


def _project_root() -> Path:
    env = os.environ.get("CQP_GRAPH_HOME")
    if env:
        return Path(env).resolve()
    here = Path(__file__).resolve().parent.parent
    if (here / "ontology").is_dir():
        return here
    return Path.cwd()


@dataclass(frozen=True)
class Settings:
    base: str
    root: Path
    data_dir: Path
    dist_dir: Path
    query_timeout: float = 10.0
    max_rows: int = 10000
    cors_origins: tuple[str, ...] = ()

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
        root = _project_root()
        base = os.environ.get("CQP_GRAPH_BASE", DEFAULT_BASE)
        values = dict(
            base=base if base.endswith(("/", "#")) else base + "/",
            root=root,
            data_dir=Path(os.environ.get("CQP_GRAPH_DATA", root / "data")),
            dist_dir=Path(os.environ.get("CQP_GRAPH_DIST", root / "dist")),
            query_timeout=float(os.environ.get("CQP_GRAPH_QUERY_TIMEOUT", "10")),
            max_rows=int(os.environ.get("CQP_GRAPH_MAX_ROWS", "10000")),
            cors_origins=tuple(
                o.strip() for o in os.environ.get("CQP_GRAPH_CORS_ORIGINS", "").split(",") if o.strip()
            ),
        )
        values.update({k: v for k, v in overrides.items() if v is not None})
        return cls(**values)
