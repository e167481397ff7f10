"""Benchmark of the RNCP import against the XML parse floor, at several export sizes, in one run.

    python bench/bench_rncp.py                       # 1 000 and 5 000 fiches
    python bench/bench_rncp.py --fiches 1000 5000 25000
    nice -n 10 python bench/bench_rncp.py --repeat 3  # best of three for each timing

For each size: an export is generated (`cqp-graph generate-rncp`, seed 1) into a temporary folder; the parse
floor is Python's own `xml.etree.ElementTree.iterparse` over the file (each <FICHE> cleared once read, as the
import does); the import is `import_rncp` with the shapes (validation included), as `cqp-graph import-rncp`
runs it. Each measure runs in a fresh interpreter, which reports its time and its peak RSS (`ru_maxrss`). The
ratio is import time over floor time measured in the same run, so that the machine's load weighs on both.
Prints one table (French, for the person reading it). Writes nothing but its temporary folder, deleted at the end
(`--keep` to keep it).
"""

from __future__ import annotations

import argparse
import json
import platform
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

FLOOR = """
import json, resource, sys, time, xml.etree.ElementTree as ET
start = time.perf_counter()
root, fiches = None, 0
for event, element in ET.iterparse(sys.argv[1], events=("start", "end")):
    if event == "start" and root is None:
        root = element
    elif event == "end" and element.tag == "FICHE":
        fiches += 1
        element.clear()
        root.remove(element)
print(json.dumps({"seconds": time.perf_counter() - start, "fiches": fiches,
                  "rss": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024}))
"""

IMPORT = """
import json, resource, sys, time
from pathlib import Path
from cqp_graph.config import Settings
from cqp_graph.exchange.rncp_import import import_rncp
from cqp_graph.graph.assemble import load_input_shapes
settings = Settings.from_env(root=Path(sys.argv[3]))
shapes = load_input_shapes(settings, "rncp", "rncp")
start = time.perf_counter()
report = import_rncp(Path(sys.argv[1]), Path(sys.argv[2]), settings.base, shapes=shapes)
seconds = time.perf_counter() - start
with open(sys.argv[2], "rb") as handle:
    triples = sum(1 for _ in handle)
print(json.dumps({"seconds": seconds, "fiches": report.fiches, "problems": len(report.problems),
                  "triples": triples, "rss": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024}))
"""


def run(script: str, *args: str) -> dict:
    done = subprocess.run([sys.executable, "-c", script, *args], capture_output=True, text=True, cwd=ROOT)
    if done.returncode != 0:
        raise SystemExit(f"échec de la mesure : {done.stderr[-2000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def best(script: str, repeat: int, *args: str) -> dict:
    runs = [run(script, *args) for _ in range(repeat)]
    return min(runs, key=lambda r: r["seconds"])


def fr(value: float, digits: int = 1) -> str:
    """A number as a French reader writes it: 1 234,5."""
    text = f"{value:,.{digits}f}"
    return text.replace(",", "\u202f").replace(".", ",")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--fiches", type=int, nargs="+", default=[1000, 5000], help="export sizes, in fiches")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--repeat", type=int, default=1, help="runs of each timing (the best is kept)")
    parser.add_argument("--keep", action="store_true", help="keep the temporary folder (its path is printed)")
    args = parser.parse_args()
    folder = Path(tempfile.mkdtemp(prefix="bench-rncp-"))
    rows = []
    try:
        for fiches in args.fiches:
            export = folder / f"export-{fiches}.xml"
            start = time.perf_counter()
            subprocess.run([sys.executable, "-m", "cqp_graph", "generate-rncp", "--fiches", str(fiches), "--seed",
                            str(args.seed), "-o", str(export)], check=True, capture_output=True, cwd=ROOT)
            generated = time.perf_counter() - start
            floor = best(FLOOR, args.repeat, str(export))
            imported = best(IMPORT, args.repeat, str(export), str(folder / f"import-{fiches}.nt"), str(ROOT))
            assert floor["fiches"] == imported["fiches"] == fiches, (floor, imported)
            rows.append([fr(fiches, 0), fr(export.stat().st_size / 1e6), fr(generated), fr(floor["seconds"], 2),
                         fr(imported["seconds"], 2), fr(imported["seconds"] / floor["seconds"], 2) + " ×",
                         fr(imported["triples"], 0), str(imported["problems"]), fr(floor["rss"] / 2**20, 0),
                         fr(imported["rss"] / 2**20, 0)])
            print(f"… {fiches} fiches mesurées", file=sys.stderr, flush=True)
            (folder / f"import-{fiches}.nt").unlink(missing_ok=True)
            if not args.keep:
                export.unlink()
    finally:
        if args.keep:
            print(f"dossier gardé : {folder}", file=sys.stderr)
        else:
            shutil.rmtree(folder, ignore_errors=True)
    headers = ["fiches", "XML (Mo)", "génération (s)", "plancher iterparse (s)", "import validé (s)",
               "rapport import / plancher", "triplets", "problèmes", "RSS max plancher (Mio)", "RSS max import (Mio)"]
    print(f"Import RNCP, {time.strftime('%Y-%m-%d')}, {platform.machine()} {platform.processor() or ''} "
          f"Python {platform.python_version()}, meilleur de {args.repeat} exécution(s)")
    print("| " + " | ".join(headers) + " |")
    print("|" + "|".join(" ---: " for _ in headers) + "|")
    for row in rows:
        print("| " + " | ".join(row) + " |")


if __name__ == "__main__":
    main()
