"""dist/ is never lost: builds replace only their own files, releases survive, a kill at any step
leaves every file whole, the next run leaves no leftover, and outputs get the umask's permissions.

Lives here: how dist/ and releases are written (atomic publishing, kills, leftovers, permissions). Not here: what
the dumps hold (tests/test_build.py), what a release holds (tests/test_release.py).
What is written does not matter here, only how: the tests build the small test referential
(tests/fixtures/referentials/), which builds and validates in a fraction of the shipped one's time."""

from __future__ import annotations

import json
import os
import signal
import stat
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from rdflib import URIRef

from cqp_graph.publish import atomic
from cqp_graph.publish.dumps import clean_legacy_leftovers, dist_payloads, write_dist

from cqp_graph.graph.pipeline import run_pipeline

from .support import ROOT, SECOND, settings_for, small_referential

#: the os functions a writer goes through; the kill tests stop the process before each call
STEPS = ("open", "fchmod", "fsync", "replace", "rename", "mkdir", "chmod", "rmdir", "unlink", "link")


def tree(folder: Path) -> dict[str, bytes]:
    """Every file under `folder` (hidden ones included), by relative path."""
    return {p.relative_to(folder).as_posix(): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


def hidden(folder: Path) -> list[str]:
    return sorted(p.relative_to(folder).as_posix() for p in folder.rglob(".*"))


def modes(folder: Path) -> dict[str, int]:
    return {p.relative_to(folder).as_posix(): stat.S_IMODE(p.stat().st_mode) for p in [folder, *folder.rglob("*")]}


@pytest.fixture(scope="module")
def small(tmp_path_factory):
    """(data folder holding only the small referential, its settings, its graph through the pipeline)."""
    data = small_referential(tmp_path_factory.mktemp("small"))
    settings = settings_for(data, tmp_path_factory.mktemp("small-out"))
    return data, settings, run_pipeline(settings).graph


@pytest.fixture(scope="module")
def versions(small):
    """The previous build's files (a graph lacking M3's triples) and the new build's files."""
    _, settings, graph = small
    old_graph = type(graph)()
    m3 = URIRef(f"{settings.base}{SECOND}/mission/M3")
    for triple in graph:
        if m3 not in triple:
            old_graph.add(triple)
    assert len(old_graph) < len(graph)
    old = dist_payloads(old_graph, settings.base, {"validation.json": b"[]\n"})
    new = dist_payloads(graph, settings.base, {"validation.json": b'[{"severity": "Info"}]\n'})
    changed = [name for name in new if old[name] != new[name]]
    assert len(changed) >= 5, "the two builds must differ file by file for the test to mean something"
    return old, new


def previous_dist(folder: Path, old: dict[str, bytes]) -> dict[str, bytes]:
    """A dist/ as a user has it: the previous build, a release and an analysis (written by others)."""
    atomic.publish_files(folder, old)
    atomic.write_bytes(folder / "releases" / "1.0.0" / "graph.nt", b"<a:s> <a:p> <a:o> .\n")
    atomic.write_bytes(folder / "releases" / "1.0.0" / "SHA256SUMS", b"abc  graph.nt\n")
    atomic.write_bytes(folder / "analyses" / "analyses.json", b"{}\n")
    return tree(folder)


def killed_at(step: int, target: Path, payloads: dict[str, bytes]) -> bool:
    """Run publish_files in a child process that SIGKILLs itself before its `step`-th file operation.

    Returns True when the child was killed, False when it finished before reaching that step.
    """
    pid = os.fork()
    if pid == 0:  # the child: count the writer's file operations, die at the chosen one
        try:
            count = [0]

            def wrap(function):
                def counted(*args, **kwargs):
                    count[0] += 1
                    if count[0] == step:
                        os.kill(os.getpid(), signal.SIGKILL)
                    return function(*args, **kwargs)
                return counted

            for name in STEPS:
                setattr(os, name, wrap(getattr(os, name)))
            atomic.publish_files(target, payloads, before_publish=clean_legacy_leftovers)
            os._exit(0)
        except BaseException:  # noqa: BLE001 - any other end is a failure the parent must see
            os._exit(70)
    _, status = os.waitpid(pid, 0)
    if os.WIFSIGNALED(status):
        assert os.WTERMSIG(status) == signal.SIGKILL
        return True
    assert os.WEXITSTATUS(status) == 0, "the writer failed instead of finishing"
    return False


def test_a_kill_at_every_step_leaves_every_file_whole(versions, tmp_path):
    old, new = versions
    template = tmp_path / "template"
    before = previous_dist(template, old)
    others = {name: data for name, data in before.items() if name not in new}
    all_old = tuple(old[name] == new[name] for name in sorted(new))
    states = set()
    step = 0
    while True:
        step += 1
        assert step < 500, "the writer never finished"
        dist = tmp_path / f"dist-{step}"
        subprocess.run(["cp", "-a", str(template), str(dist)], check=True)
        if not killed_at(step, dist, new):
            break
        after = tree(dist)
        visible = {n: d for n, d in after.items() if not any(part.startswith(".") for part in n.split("/"))}
        # every published file is there and whole: the old version or the new one, never a mix of bytes
        for name in new:
            assert visible.get(name) in (old[name], new[name]), f"step {step}: {name} is missing or partial"
        # what the build does not write is untouched, and nothing else appeared
        assert {n: visible[n] for n in others} == others, f"step {step}: a file the build does not own changed"
        assert set(visible) == set(before), f"step {step}: files appeared or vanished"
        state = tuple(visible[name] == new[name] for name in sorted(new))
        states.add(state)
        committed = any((p / atomic.MANIFEST).is_file() for p in dist.iterdir() if atomic.STAGE_NAME.match(p.name))
        if not committed:  # before the commit point (or once all is moved): one build, never a mix
            assert state in (all_old, (True,) * len(new)), f"step {step}: old and new files mixed, uncommitted"
        # the next run finishes the job and leaves nothing behind
        atomic.publish_files(dist, new, before_publish=clean_legacy_leftovers)
        assert tree(dist) == {**others, **new}, f"step {step}: the next run did not publish the new build"
        assert hidden(dist) == [], f"step {step}: leftovers {hidden(dist)}"
    assert tree(dist) == {**others, **new} and hidden(dist) == []
    print(f"{step - 1} kill points tried, {len(states)} distinct states of dist/ seen")
    # the kills hit both sides of the commit: the old build whole, and old and new files side by side
    assert all_old in states, "no kill left the previous build untouched"
    assert any(0 < sum(s) < len(s) and s != all_old for s in states), "no kill fell between two renames"


def test_build_after_release_keeps_the_release(small, tmp_path):
    env = dict(os.environ, CQP_GRAPH_DIST=str(tmp_path / "dist"), CQP_GRAPH_DATA=str(small[0]))
    env.pop("CQP_GRAPH_HOME", None)

    def cli(*args):
        result = subprocess.run([sys.executable, "-m", "cqp_graph", *args], cwd=tmp_path, env=env,
                                capture_output=True, text=True, timeout=300)
        assert result.returncode == 0, result.stdout + result.stderr
        return result

    cli("build")
    cli("release", "1.0.0", "--allow-missing")  # default folder: $CQP_GRAPH_DIST/releases
    release = tmp_path / "dist" / "releases" / "1.0.0"
    published = tree(release)
    assert "SHA256SUMS" in published and "graph.nt" in published
    (tmp_path / "dist" / "graph.nt").write_bytes(b"")  # the next build must put it back
    cli("build")
    assert tree(release) == published, "a build changed a published release"
    assert (tmp_path / "dist" / "graph.nt").stat().st_size > 0
    assert hidden(tmp_path / "dist") == []
    assert not (tmp_path / "releases").exists() and not (tmp_path / "dist" / "dist").exists()


KILL_AT_REPLACE = textwrap.dedent("""
    import os, signal, sys
    from cqp_graph.publish import atomic
    from cqp_graph.cli import commands as cli
    target = int(sys.argv[1])
    replace, publish, count = os.replace, atomic.publish_files, [0]
    def counted(*args, **kwargs):
        count[0] += 1
        if count[0] == target:
            os.kill(os.getpid(), signal.SIGKILL)
        return replace(*args, **kwargs)
    def armed(*args, **kwargs):
        os.replace = counted
        return publish(*args, **kwargs)
    atomic.publish_files = armed
    cli.app(sys.argv[2:])
""")


def build_env() -> dict[str, str]:
    env = dict(os.environ)
    env.pop("CQP_GRAPH_DIST", None)
    return env


@pytest.fixture(scope="module")
def first_build(small, tmp_path_factory) -> Path:
    """The output of one real `build` command, that each kill test copies before killing the next build."""
    dist = tmp_path_factory.mktemp("first-build") / "dist"
    subprocess.run([sys.executable, "-m", "cqp_graph", "build", "--output", str(dist), "--data", str(small[0])],
                   cwd=ROOT, env=build_env(), check=True, capture_output=True, timeout=300)
    return dist


@pytest.mark.parametrize("phase", ["before-commit", "between-renames"])
def test_a_killed_build_command_is_finished_by_the_next(small, first_build, tmp_path, phase):
    """The real `build` command, killed inside its write (its N files staged, MANIFEST N+1th, renames after)."""
    staged = len([p for p in first_build.iterdir() if p.is_file() and not p.name.startswith(".")])
    kill_at = 3 if phase == "before-commit" else staged + 3  # a staged file; the second rename into place
    env = build_env()
    dist = tmp_path / "dist"
    args = ["build", "--output", str(dist), "--data", str(small[0])]
    subprocess.run(["cp", "-a", str(first_build), str(dist)], check=True)
    assert (dist / "graph.nt").stat().st_size > 0
    atomic.write_bytes(dist / "releases" / "1.0.0" / "SHA256SUMS", b"abc  graph.nt\n")
    (dist / "graph.ttl").write_bytes(b"# an older build\n")
    clean = tree(dist)
    killed = subprocess.run([sys.executable, "-c", KILL_AT_REPLACE, str(kill_at), *args], cwd=ROOT, env=env,
                            capture_output=True, timeout=300)
    assert killed.returncode == -signal.SIGKILL, killed.stderr
    stages = [p for p in dist.iterdir() if atomic.STAGE_NAME.match(p.name)]
    assert len(stages) == 1, "the kill left the staging folder the next run must handle"
    committed = (stages[0] / atomic.MANIFEST).exists()
    assert committed == (kill_at > staged + 1)
    assert (dist / "releases" / "1.0.0" / "SHA256SUMS").read_bytes() == b"abc  graph.nt\n"
    for name in ("graph.nt", "graph.jsonld", "graph.rdf", "context.jsonld", "validation.json"):
        assert (dist / name).read_bytes() == clean[name], name  # whole (this build writes the same bytes)
    if not committed:
        assert (dist / "graph.ttl").read_bytes() == b"# an older build\n"
    subprocess.run([sys.executable, "-m", "cqp_graph", *args], cwd=ROOT, env=env, check=True,
                   capture_output=True, timeout=300)
    assert hidden(dist) == []
    assert (dist / "graph.ttl").read_bytes().startswith(b"@prefix")
    assert (dist / "releases" / "1.0.0" / "SHA256SUMS").read_bytes() == b"abc  graph.nt\n"


def test_leftovers_of_the_old_folder_swap_are_cleared(small, tmp_path):
    """cqp-graph 0.1 swapped the whole folder: a kill between its renames left `.dist.old-PID` and no dist/."""
    old_dist = tmp_path / ".dist.old-4242"
    atomic.write_bytes(old_dist / "releases" / "1.0.0" / "SHA256SUMS", b"abc  graph.nt\n")
    atomic.write_bytes(tmp_path / ".dist.k2j4x_9q.stage" / "graph.nt", b"half")
    atomic.write_bytes(tmp_path / ".dist.mine" / "notes.txt", b"not ours")  # another name: left alone
    _, settings, graph = small
    write_dist(graph, tmp_path / "dist", settings.base)
    assert (tmp_path / "dist" / "releases" / "1.0.0" / "SHA256SUMS").read_bytes() == b"abc  graph.nt\n"
    assert (tmp_path / "dist" / "graph.nt").stat().st_size > 1000
    assert sorted(p.name for p in tmp_path.iterdir()) == [".dist.mine", "dist"]


@pytest.mark.parametrize("umask,file_mode,folder_mode", [(0o022, 0o644, 0o755), (0o027, 0o640, 0o750)])
def test_outputs_follow_the_umask(versions, tmp_path, umask, file_mode, folder_mode):
    _, new = versions
    previous = os.umask(umask)
    try:
        atomic.publish_files(tmp_path / "dist", new)
        atomic.write_text(tmp_path / "dist" / "analyses" / "analyses.json", "{}\n")
        with atomic.locked(tmp_path / "dist"):
            pass
    finally:
        os.umask(previous)
    found = modes(tmp_path / "dist")
    assert {n: m for n, m in found.items() if (tmp_path / "dist" / n).is_file()} == \
        {n: file_mode for n in [*new, "analyses/analyses.json"]}
    assert {n: m for n, m in found.items() if (tmp_path / "dist" / n).is_dir()} == \
        {".": folder_mode, "analyses": folder_mode}


def test_release_files_follow_the_umask(small, tmp_path):
    env = build_env()
    out = tmp_path / "releases"
    result = subprocess.run(["sh", "-c", 'umask 022 && exec "$@"', "sh", sys.executable, "-m", "cqp_graph",
                             "release", "2.0.0", "--allow-missing", "--output", str(out), "--data", str(small[0])],
                            cwd=ROOT, env=env, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stdout + result.stderr
    found = modes(out)
    assert {m for n, m in found.items() if (out / n).is_dir()} == {0o755}
    assert {m for n, m in found.items() if (out / n).is_file()} == {0o644}
    assert json.loads((out / "2.0.0" / "release.json").read_text())["version"] == "2.0.0"


def test_publish_refuses_names_outside_the_folder(tmp_path):
    for name in ("../escape", "/etc/x", "MANIFEST", ".cqp-graph-stage-1-abcdefgh/x"):
        with pytest.raises(ValueError):
            atomic.publish_files(tmp_path / "dist", {name: b"x"})
    assert not (tmp_path / "escape").exists()
