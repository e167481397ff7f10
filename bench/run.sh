#!/usr/bin/env bash
# Run the server benchmark with its peers. Installs what it needs (never run by the tests or CI):
# wrk (Debian), and rdflib-endpoint + oxigraph in a separate virtual environment.
set -euo pipefail
cd "$(dirname "$0")/.."
command -v wrk >/dev/null || { apt-get update -qq && apt-get install -y -qq wrk; }
PEERS="${PEERS_VENV:-.bench-venv}"
if [ ! -x "$PEERS/bin/rdflib-endpoint" ] || [ ! -x "$PEERS/bin/oxigraph" ]; then
  python3 -m venv "$PEERS"
  "$PEERS/bin/pip" install -q rdflib-endpoint oxigraph
fi
exec python3 bench/bench_server.py --peer-python "$PEERS/bin/python" --oxigraph "$PEERS/bin/oxigraph" "$@"
