"""Which packages and files the wheel carries (the rest of the metadata is in pyproject.toml).

The project's resource folders stay at the top of the repository (ontology/, shapes/, queries/,
data/); the wheel carries each of them, sub-folders included, as cqp_graph/_resources/<folder>/,
where cqp_graph/config.py finds them when neither a checkout nor CQP_GRAPH_HOME is around. The
package list is read from the folders, so a new referential under data/ or a new sub-package ships
without editing this file. MANIFEST.in puts the same folders in the sdist.
"""

from pathlib import Path

from setuptools import setup

HERE = Path(__file__).resolve().parent
RESOURCES = ("ontology", "shapes", "queries", "data")


def folders(top: Path):
    """`top` and every folder under it, skipping hidden folders and caches."""
    yield top
    for path in sorted(top.rglob("*")):
        parts = path.relative_to(top).parts
        if path.is_dir() and not any(p.startswith((".", "__pycache__")) or p.endswith(".egg-info") for p in parts):
            yield path


def package(prefix: str, top: Path, folder: Path) -> str:
    return ".".join((prefix, *folder.relative_to(top).parts))


packages, package_dir, package_data = [], {}, {}
for folder in folders(HERE / "cqp_graph"):
    name = package("cqp_graph", HERE / "cqp_graph", folder)
    packages.append(name)
    if not (folder / "__init__.py").exists():  # templates/, static/: files only
        package_data[name] = ["*"]
for resource in RESOURCES:
    top = HERE / resource
    package_dir[f"cqp_graph._resources.{resource}"] = resource
    for folder in folders(top):
        name = package(f"cqp_graph._resources.{resource}", top, folder)
        packages.append(name)
        package_data[name] = ["*"]

setup(packages=packages, package_dir=package_dir, package_data=package_data, include_package_data=False)
