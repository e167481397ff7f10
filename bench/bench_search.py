"""Search benchmark: the index's build time, and /api/search in-process against the same FTS5 query on sqlite3.

    .venv/bin/python bench/bench_search.py [--rounds 20] [--rncp FILE.xml|FILE.ttl]

Builds the graph through the pipeline (into a temporary dist/), starts the application in-process (httpx's
ASGI transport: every middleware and route, no socket; one SPARQL worker, waited for), then asks /api/search
each query of a fixed list drawn from the referential's own words and codes, `--rounds` times, and prints p50
and p99 in milliseconds, with the ratio against the bare FTS5 query (`search MATCH … ORDER BY bm25 LIMIT 10`)
run on the same in-memory database with sqlite3. With `--rncp`, an RNCP export (XML) is imported, or an import
(Turtle) taken as it is, and merged first (as `serve --merge` does); `cqp-graph generate-rncp --fiches N`
writes an export of any size.
Figures are printed, never asserted.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

QUERIES = ["m4", "RC2", "rsf1", "reclamation", "réclamations clients", "Gérer les réclamations", "commande",
           "livraison", "logiciel", "client", "etre a l'ecoute", "ot", "B2", "tarifs conditions generales",
           "relation client argumentation", "informatique", "avoir", "planning", "zzzz", "A1", "r", "ma",
           "gestion commerciale"]


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(p / 100 * (len(ordered) - 1))))]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=20)
    parser.add_argument("--rncp", type=Path, help="an RNCP export (XML) to import and merge, or an import (.ttl)")
    args = parser.parse_args()

    import httpx

    from cqp_graph.config import Settings
    from cqp_graph.query.search import SearchIndex, query_words
    from cqp_graph.web.app import create_app
    from cqp_graph.web.executor import Source
    from cqp_graph.web.search_routes import index_of

    scratch = tempfile.TemporaryDirectory(prefix="cqp-bench-search-")  # removed at the end
    settings = Settings.from_env(dist_dir=Path(scratch.name) / "dist")  # the graph built fresh through the pipeline
    sources = []
    if args.rncp and args.rncp.suffix == ".xml":
        from cqp_graph.exchange.rncp_import import import_rncp

        merged = Path(scratch.name) / "rncp.ttl"
        started = time.perf_counter()
        import_rncp(args.rncp, merged, settings.base)
        print(f"import RNCP : {time.perf_counter() - started:.2f} s ({merged.stat().st_size / 1e6:.1f} Mo)")
        sources.append(Source(str(merged)))
    elif args.rncp:
        sources.append(Source(str(args.rncp.resolve())))  # an import already made (Turtle)
    app = create_app(settings, extra_sources=sources, workers=1)
    state = app.state.cqp
    index = index_of(state)
    print(f"index : {index.size} ressources, construit en {index.build_seconds * 1000:.0f} ms au démarrage "
          f"({len(index.to_bytes()) / 1024:.0f} Kio)")
    started = time.perf_counter()
    SearchIndex.build(state.knowledge)
    print(f"reconstruction seule : {(time.perf_counter() - started) * 1000:.0f} ms")

    api, raw, baseline = [], [], []
    connection = index.connection

    async def measure():
        transport = httpx.ASGITransport(app=app)  # every middleware and route, no socket, no thread hop
        async with app.router.lifespan_context(app), \
                httpx.AsyncClient(transport=transport, base_url="http://bench") as client:
            waited = time.perf_counter()  # the SPARQL worker loads its copy of the graph: not measured alongside
            while (await client.get("/health")).status_code != 200 and time.perf_counter() - waited < 600:
                await asyncio.sleep(0.5)
            print(f"worker SPARQL prêt après {time.perf_counter() - waited:.1f} s")
            for q in QUERIES:  # warm up
                assert (await client.get("/api/search", params={"q": q})).status_code == 200
            for _ in range(args.rounds):
                for q in QUERIES:
                    started = time.perf_counter()
                    response = await client.get("/api/search", params={"q": q})
                    api.append((time.perf_counter() - started) * 1000)
                    assert response.status_code == 200, response.text
                    match = " AND ".join(f'"{w}"*' for w in query_words(q))
                    started = time.perf_counter()
                    connection.execute("SELECT rowid FROM search WHERE search MATCH ? ORDER BY bm25(search) "
                                       "LIMIT 10", (match,)).fetchall()
                    raw.append((time.perf_counter() - started) * 1000)
                    started = time.perf_counter()
                    await client.get("/api/analyses")  # a route that computes nothing: the stack's own cost
                    baseline.append((time.perf_counter() - started) * 1000)

    asyncio.run(measure())
    p50, p99 = statistics.median(api), percentile(api, 99)
    r50, r99 = statistics.median(raw), percentile(raw, 99)
    print(f"/api/search en processus ({len(api)} requêtes) : p50 {p50:.2f} ms, p99 {p99:.2f} ms")
    print(f"FTS5 seul sur sqlite3 : p50 {r50:.3f} ms, p99 {r99:.3f} ms")
    print(f"rapport p50 API / FTS5 seul : {p50 / r50:.0f}×")
    print(f"pour comparer, /api/analyses (ne calcule rien) : p50 {statistics.median(baseline):.2f} ms")
    scratch.cleanup()


if __name__ == "__main__":
    main()
