"""schemathesis, run against the live server's own OpenAPI document with every check: zero failures.

Lives here: the run and its settings. Not here: how a SPARQL body is sent (tests/schemathesis_hooks.py).

Settings (the cost of the run is the server's work per request: a POSTed programme or candidate file is parsed,
validated with SHACL and measured, about 0.1-0.2 s each, and the coverage phase sends well over a thousand
boundary cases to each of those operations):
- every operation of the document, with every check, in the examples, coverage and fuzzing phases;
- `MAX_EXAMPLES` generated cases per operation in the fuzzing phase (the coverage phase's count does not
  depend on it);
- the coverage phase skips the two POST twins under `/api/referentials/{referential}/` (`COVERAGE_SKIPPED`):
  their bodies have the same schema, and are handled by the same code, as `/api/decisions` and
  `/api/coverage/programme`, which the coverage phase covers; the twins keep the examples and fuzzing phases and
  every check. That halves the run (about 1 500 of its 3 500 coverage cases, 46 % of its time, measured).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import httpx
import pytest

MAX_EXAMPLES = 10
SEED = 7
WORKERS = 2
COVERAGE_SKIPPED = r"^/api/referentials/\{referential\}/(decisions|coverage/programme)$"
CONFIG = f"""
# A SPARQL query is a language, not a schema: a schema-valid string that is not SPARQL is rightly refused with
# 400 (the protocol says so). Only for /sparql, a 400 counts as an accepted answer to a schema-valid request;
# every other check, and every other operation, keeps the default expectations.
[[operations]]
include-path = "/sparql"
[operations.checks.positive_data_acceptance]
expected-statuses = ["2XX", 400]

[[operations]]
include-path-regex = '{COVERAGE_SKIPPED}'
[operations.phases.coverage]
enabled = false
"""


def schemathesis_command() -> list[str] | None:
    found = shutil.which("schemathesis") or shutil.which("st")
    if found:
        return [found]
    candidate = Path(sys.executable).with_name("schemathesis")
    return [str(candidate)] if candidate.exists() else None


def test_every_check_passes_on_generated_requests(live_server, tmp_path):
    """schemathesis with every check (`--checks all`): no 5xx, every status code and content type documented,
    schema-valid bodies accepted and invalid ones refused, undeclared methods answered 405."""
    command = schemathesis_command()
    if command is None:
        pytest.skip("schemathesis is not installed (pip install -e .[test])")
    config = tmp_path / "schemathesis.toml"
    config.write_text(CONFIG, encoding="utf-8")
    done = subprocess.run(command + ["--config-file", str(config),
                                     "run", live_server.url + "/openapi.json", "--checks", "all",
                                     "--max-examples", str(MAX_EXAMPLES), "--seed", str(SEED),
                                     "--workers", str(WORKERS),
                                     # stateful links are inferred from /api/queries to /api/queries/{name}, whose
                                     # parameters depend on the query: not expressible in OpenAPI
                                     "--phases", "examples,coverage,fuzzing",
                                     "--report-dir", str(tmp_path)],
                          capture_output=True, text=True, timeout=900,
                          env=dict(os.environ, SCHEMATHESIS_HOOKS="tests.schemathesis_hooks",
                                   PYTHONPATH=str(Path(__file__).resolve().parent.parent)))
    report = done.stdout[-12000:]
    print(report)
    assert "Server error" not in report
    assert done.returncode == 0, report
    assert "failures" not in report.rsplit("SUMMARY", 1)[-1].lower() or "0 failures" in report
    # every operation of the document was tested
    spec = httpx.get(live_server.url + "/openapi.json", timeout=30).json()
    operations = sum(1 for ops in spec["paths"].values() for method in ops if method in
                     ("get", "post", "put", "delete", "patch", "head", "options", "trace"))
    assert f"Tested: {operations}" in report, report
