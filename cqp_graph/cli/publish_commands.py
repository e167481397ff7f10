"""The command that publishes a version: `release`.

Lives here: reading its options and printing what the release folder holds. Not here: the release itself
(`cqp_graph.publish.release.make_release`, which runs the pipeline, so that only a validated graph is ever
released, and writes the folder whole or not at all); the plain dumps of `build` (`cli.graph_commands`).
"""

from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer

from cqp_graph.cli.app import BaseOption, DataOption, app, console, fail, lazy, settings_from
from cqp_graph.numbers import integer
from cqp_graph.source.tables import DataError

releases = lazy("cqp_graph.publish.release")
pipeline = lazy("cqp_graph.graph.pipeline")

PANEL = "Publication"


@app.command(rich_help_panel=PANEL)
def release(
    version: str = typer.Argument(..., help="MAJEUR.MINEUR.CORRECTIF (par exemple 1.2.0)"),
    output: Optional[Path] = typer.Option(None, "--output", "-o",
                                          help="Dossier qui contient un dossier par version "
                                               "(par défaut : $CQP_GRAPH_DIST/releases)."),
    allow_missing: bool = typer.Option(False, "--allow-missing",
                                       help="Publier sans un export (ELM, RNCP) qu'un référentiel ne peut pas "
                                            "encore donner (la version le dit)."),
    base: Optional[str] = BaseOption,
    data: Optional[Path] = DataOption,
):
    """Une version datée de tous les référentiels : dumps, exports, DCAT/VoID, PROV, sommes de contrôle, changements."""
    settings = settings_from(base, data)
    output = output or settings.dist_dir / "releases"
    with console.status("Publication…") as status:
        try:
            target = releases.make_release(settings, version, output, allow_missing,
                                           progress=lambda m: status.update(f"Publication {version} : {m}"))
        except pipeline.InvalidGraph as exc:
            fail(str(exc), 1)
        except (releases.ReleaseError, DataError) as exc:
            fail(str(exc))
    for path in sorted(target.iterdir()):
        console.print(f"  {path.name} ({integer(path.stat().st_size)} octets)")
    console.print(f"version {version} publiée dans {target}")
