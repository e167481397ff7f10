#!/usr/bin/env bash
# Run the server benchmark with its peers. Installs what it needs (never run by the tests or CI):
# wrk (Debian), and rdflib-endpoint + oxigraph in a separate virtual environment.
set -euo pipefail
cd "$(dirname "$0")/.."
command -v wrk >/dev/null || { apt-get update -qq && apt-get install -y -qq wrk; }
PEERS="${PEERS_VENV:-.bench-venv}"
if [ ! -x "$PEERS/bin/rdflib-endpoint" ] || [ ! -x "$PEERS/bin/oxigraph" ] || [ ! -x "$PEERS/bin/uvicorn" ]; then
  python3 -m venv "$PEERS"
  "$PEERS/bin/pip" install -q rdflib-endpoint oxigraph uvicorn click
fi
PYTHON="${PYTHON:-python3}"   # the Python cqp-graph is installed in (README's first command)
"$PYTHON" -c "import cqp_graph" 2>/dev/null || { echo "cqp-graph is not installed for $PYTHON: run the README's first command, or set PYTHON=" >&2; exit 2; }
exec "$PYTHON" bench/bench_server.py --python "$PYTHON" --peer-python "$PEERS/bin/python" --oxigraph "$PEERS/bin/oxigraph" "$@"
