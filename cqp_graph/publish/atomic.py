"""Publish files and folders so that a reader never sees them half-written, and nothing else is touched.

- `write_bytes` / `write_text`: one file, written beside its target then renamed into place.
- `publish_files`: several files into a folder that holds other things too (`dist/` holds
  `releases/`, `analyses/`…). The files are first written, whole and synced, into a hidden staging
  folder inside the target (`.cqp-graph-stage-<pid>-<random>`); writing its `MANIFEST` last is the
  commit point. Only then is each file renamed over its old version (`os.replace`, atomic per file).
  A kill before the commit leaves every old file as it was (the next run deletes the stage); a kill
  after it leaves every file whole, old or new, and the next run finishes moving the committed ones
  (roll forward) before writing its own. Nothing but the named files is ever replaced or deleted.
- `locked(folder)`: an exclusive `flock` on the folder itself (no lock file), so that two writers
  never interleave and a writer only cleans what a dead one left.

Files get `0666 & ~umask` and folders `0777 & ~umask` (0644 / 0755 under the usual umask 022),
as `open` and `mkdir` would give them, not `mkstemp`'s 0600 / 0700.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import tempfile
from contextlib import contextmanager
from pathlib import Path

try:
    import fcntl
except ImportError:  # pragma: no cover - not on POSIX: no locking, the rest holds
    fcntl = None

STAGE_PREFIX = ".cqp-graph-stage-"
#: exactly the staging folders `publish_files` creates (pid, then mkdtemp's random part; `\Z`, as `$` would also
#: take a name ending in a newline)
STAGE_NAME = re.compile(r"^\.cqp-graph-stage-[0-9]+-[A-Za-z0-9_]{8}\Z")
MANIFEST = "MANIFEST"


def current_umask() -> int:
    """The process umask, read without changing it when the system says it."""
    try:
        with open("/proc/self/status", encoding="ascii") as status:
            for line in status:
                if line.startswith("Umask:"):
                    return int(line.split()[1], 8)
    except (OSError, ValueError):
        pass
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def file_mode() -> int:
    return 0o666 & ~current_umask()


def folder_mode() -> int:
    return 0o777 & ~current_umask()


def fsync_folder(folder: Path) -> None:
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def _write_new(path: Path, data: bytes) -> None:
    """Write `data` to a new temporary file beside `path` and rename it to `path`."""
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        os.fchmod(fd, file_mode())
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def write_bytes(path: Path, data: bytes) -> None:
    """Write `data` to a temporary file beside `path`, then rename it into place."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    _write_new(path, data)
    fsync_folder(path.parent)


def write_text(path: Path, text: str) -> None:
    write_bytes(path, text.encode("utf-8"))


@contextmanager
def locked(folder: Path):
    """Hold an exclusive lock on `folder` (created if missing) while the block runs."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    if fcntl is None:  # pragma: no cover
        yield folder
        return
    fd = os.open(folder, os.O_RDONLY)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield folder
    finally:
        os.close(fd)  # releases the lock (a killed process releases it too)


def _roll_forward(stage: Path, target: Path) -> None:
    """Move the files a committed stage lists into `target`, then remove the stage."""
    names = json.loads((stage / MANIFEST).read_text(encoding="utf-8"))
    for name in names:
        source = stage / name
        if source.is_file():  # not yet moved when the writer stopped
            (target / name).parent.mkdir(parents=True, exist_ok=True)
            os.replace(source, target / name)
    fsync_folder(target)
    shutil.rmtree(stage)


def recover(target: Path) -> list[str]:
    """Finish or discard what an interrupted `publish_files` left in `target` (call it locked).

    A committed stage (its MANIFEST written) is rolled forward, any other one is deleted. Returns
    what was done, for the record. Only folders named as `publish_files` names them are touched.
    """
    target = Path(target)
    done = []
    if not target.is_dir():
        return done
    for stage in sorted(target.iterdir()):
        if not (STAGE_NAME.match(stage.name) and stage.is_dir() and not stage.is_symlink()):
            continue
        if (stage / MANIFEST).is_file():
            _roll_forward(stage, target)
            done.append(f"{stage.name}: rolled forward")
        else:
            shutil.rmtree(stage)
            done.append(f"{stage.name}: discarded")
    return done


def _check_name(name: str) -> None:
    parts = Path(name).parts
    if not parts or Path(name).is_absolute() or any(p in ("..", ".", "") for p in parts) or parts[0] == MANIFEST \
            or STAGE_NAME.match(parts[0]):
        raise ValueError(f"{name!r} is not a plain relative file name")


def publish_files(target: Path, payloads: dict[str, bytes], *, before_publish=None) -> list[Path]:
    """Write `payloads` (relative name -> bytes) into `target`, replacing those files and only them.

    `before_publish(target)` runs under the lock before anything is written (e.g. to clean what an
    older version of this program left beside `target`).
    """
    target = Path(target)
    for name in payloads:
        _check_name(name)
    with locked(target):
        recover(target)
        if before_publish is not None:
            before_publish(target)
        stage = Path(tempfile.mkdtemp(prefix=f"{STAGE_PREFIX}{os.getpid()}-", dir=target))
        try:
            os.chmod(stage, folder_mode())
            for name, data in payloads.items():
                path = stage / name
                path.parent.mkdir(parents=True, exist_ok=True)
                _write_new(path, data)
            for folder in {(stage / name).parent for name in payloads}:
                fsync_folder(folder)
            # the commit point: from here on, the next run finishes the job if this one is stopped
            _write_new(stage / MANIFEST, (json.dumps(sorted(payloads), indent=1) + "\n").encode("utf-8"))
            fsync_folder(stage)
        except BaseException:
            shutil.rmtree(stage, ignore_errors=True)
            raise
        _roll_forward(stage, target)
    return [target / name for name in payloads]
