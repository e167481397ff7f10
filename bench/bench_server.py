"""Server benchmark: cqp-graph side by side with rdflib-endpoint and Oxigraph server, in one run.

    bash bench/run.sh            # installs wrk, rdflib-endpoint and oxigraph if missing, then runs this

Each target gets the same load (wrk -t2 -c8 for 8 s by default) on this machine; the
figures are printed with ratios against the peers, never asserted. Peers serve the same
dist/graph.nt: rdflib-endpoint (the Python peer) and Oxigraph server (the fastest peer).
cqp-graph is measured twice: as served (response cache on) and with --no-cache.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.parse
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
QUERY = """PREFIX cqp: <https://w3id.org/cqp-graph/ontology#>
PREFIX skos: <http://www.w3.org/2004/02/skos/core#>
SELECT ?code ?label WHERE { ?m cqp:code "M3" ; cqp:requiresCompetence ?c . ?c cqp:code ?code ; skos:prefLabel ?label }
ORDER BY ?code"""


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_for(url: str, seconds: float = 90) -> None:
    deadline = time.time() + seconds
    while time.time() < deadline:
        try:
            with urllib.request.urlopen(url, timeout=2) as response:
                if response.status < 500:
                    return
        except Exception:
            time.sleep(0.3)
    raise RuntimeError(f"{url} did not answer within {seconds} s")


def start(args: list[str], cwd: Path = ROOT, env: dict | None = None) -> subprocess.Popen:
    return subprocess.Popen(args, cwd=cwd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                            start_new_session=True)


def stop(process: subprocess.Popen) -> None:
    try:
        os.killpg(process.pid, signal.SIGTERM)
        process.wait(10)
    except Exception:
        try:
            os.killpg(process.pid, signal.SIGKILL)
        except Exception:
            pass


def parse_duration(text: str) -> float:
    """wrk latency ('1.23ms', '850.00us', '1.02s') in milliseconds."""
    match = re.match(r"([\d.]+)(us|ms|s|m)$", text)
    if not match:
        raise ValueError(f"unreadable wrk latency {text!r}")
    value, unit = float(match.group(1)), match.group(2)
    return {"us": value / 1000, "ms": value, "s": value * 1000, "m": value * 60000}[unit]


def wrk(url: str, threads: int, connections: int, seconds: int, accept: str | None) -> dict:
    command = ["wrk", f"-t{threads}", f"-c{connections}", f"-d{seconds}s", "--latency"]
    if accept:
        command += ["-H", f"Accept: {accept}"]
    out = subprocess.run(command + [url], capture_output=True, text=True, check=True).stdout
    if "Latency Distribution" not in out:
        raise RuntimeError(f"wrk printed no latency distribution for {url}:\n{out}")
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))
    distribution = out.split("Latency Distribution", 1)[1]
    p50 = parse_duration(re.search(r"50%\s+(\S+)", distribution).group(1))
    p99 = parse_duration(re.search(r"99%\s+(\S+)", distribution).group(1))
    errors = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    return {"rps": rps, "p50_ms": p50, "p99_ms": p99, "non_2xx": int(errors.group(1)) if errors else 0}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seconds", type=int, default=8)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--connections", type=int, default=8)
    parser.add_argument("--python", default=sys.executable, help="Python with cqp-graph installed")
    parser.add_argument("--peer-python", default=sys.executable, help="Python with rdflib-endpoint installed")
    parser.add_argument("--oxigraph", default=shutil.which("oxigraph"), help="oxigraph server binary")
    parser.add_argument("--json", type=Path, help="also write the figures here")
    args = parser.parse_args()
    if not shutil.which("wrk"):
        print("wrk is not installed (apt-get install wrk)", file=sys.stderr)
        return 2

    work = Path(tempfile.mkdtemp(prefix="cqp-bench-"))
    subprocess.run([args.python, "-m", "cqp_graph", "build", "--output", str(work / "dist")], cwd=ROOT,
                   check=True, stdout=subprocess.DEVNULL)
    graph = work / "dist" / "graph.nt"
    print(f"graph: {sum(1 for _ in graph.open())} triples; wrk -t{args.threads} -c{args.connections} "
          f"-d{args.seconds}s on {os.cpu_count()} cores")
    quoted = urllib.parse.quote(QUERY)
    results: dict[str, dict] = {}
    processes = []
    try:
        for label, extra in (("cqp-graph", []), ("cqp-graph (no cache)", ["--no-cache"])):
            port = free_port()
            # wrk is one client address: lift the per-client SPARQL limit and the queue bound for it
            env = dict(os.environ, CQP_GRAPH_CLIENT_CONCURRENCY=str(args.connections),
                       CQP_GRAPH_QUEUE_LIMIT=str(4 * args.connections))
            process = start([args.python, "-m", "cqp_graph", "serve", "--port", str(port), "--graph", str(graph),
                             *extra], env=env)
            processes.append(process)
            base = f"http://127.0.0.1:{port}"
            wait_for(base + "/api/missions")
            results[f"{label}: named query"] = wrk(f"{base}/api/queries/competences-for-mission?mission=M3",
                                                   args.threads, args.connections, args.seconds, None)
            results[f"{label}: REST resource"] = wrk(f"{base}/api/missions/M3/competences",
                                                     args.threads, args.connections, args.seconds, None)
            results[f"{label}: resource page"] = wrk(f"{base}/agc-alimentaire/mission/M3.html",
                                                     args.threads, args.connections, args.seconds, "text/html")
            results[f"{label}: SPARQL SELECT"] = wrk(f"{base}/sparql?query={quoted}", args.threads,
                                                     args.connections, args.seconds, "application/sparql-results+json")
            stop(process)
        port = free_port()
        process = start([str(Path(args.peer_python).with_name("rdflib-endpoint")), "serve", "--host", "127.0.0.1",
                         "--port", str(port), str(graph)])
        processes.append(process)
        wait_for(f"http://127.0.0.1:{port}/?query=ASK%7B%7D")
        results["rdflib-endpoint: SPARQL SELECT"] = wrk(f"http://127.0.0.1:{port}/?query={quoted}",
                                                        args.threads, args.connections, args.seconds,
                                                        "application/sparql-results+json")
        stop(process)
        if args.oxigraph:
            location = work / "oxigraph"
            subprocess.run([args.oxigraph, "load", "--location", str(location), "--file", str(graph)], check=True,
                           stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            port = free_port()
            process = start([args.oxigraph, "serve-read-only", "--location", str(location), "--bind",
                             f"127.0.0.1:{port}"])
            processes.append(process)
            wait_for(f"http://127.0.0.1:{port}/query?query=ASK%7B%7D")
            results["Oxigraph server: SPARQL SELECT"] = wrk(f"http://127.0.0.1:{port}/query?query={quoted}",
                                                            args.threads, args.connections, args.seconds,
                                                            "application/sparql-results+json")
            stop(process)
    finally:
        for process in processes:
            stop(process)
        shutil.rmtree(work, ignore_errors=True)

    print(f"\n{'target':45} {'req/s':>9} {'p50 ms':>8} {'p99 ms':>8} {'non-2xx':>8}")
    for name, r in results.items():
        print(f"{name:45} {r['rps']:9.0f} {r['p50_ms']:8.2f} {r['p99_ms']:8.2f} {r['non_2xx']:8d}")
    rdflib = results["rdflib-endpoint: SPARQL SELECT"]["rps"]
    oxigraph = results.get("Oxigraph server: SPARQL SELECT", {}).get("rps")
    print("\nratios (throughput)")
    for name, r in results.items():
        if name.startswith("cqp-graph"):
            line = f"  {name:43} {r['rps'] / rdflib:6.1f}x rdflib-endpoint"
            if oxigraph and name.endswith("SPARQL SELECT"):
                line += f", {r['rps'] / oxigraph:5.2f}x Oxigraph server"
            print(line)
    if args.json:
        args.json.write_text(json.dumps(results, indent=1) + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
