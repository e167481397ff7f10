"""schemathesis, run against the live server's own OpenAPI document: no generated request gets a 5xx."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest


def schemathesis_command() -> list[str] | None:
    found = shutil.which("schemathesis") or shutil.which("st")
    if found:
        return [found]
    candidate = Path(sys.executable).with_name("schemathesis")
    return [str(candidate)] if candidate.exists() else None


def test_no_server_error_on_generated_requests(live_server, tmp_path):
    command = schemathesis_command()
    if command is None:
        pytest.skip("schemathesis is not installed (pip install -e .[test])")
    done = subprocess.run(command + ["run", live_server.url + "/openapi.json", "--checks", "not_a_server_error",
                                     "--max-examples", "25", "--seed", "7", "--report-dir", str(tmp_path)],
                          capture_output=True, text=True, timeout=600)
    summary = done.stdout[-3000:]
    assert done.returncode == 0, summary
    assert "passed" in summary and "Server error" not in summary
