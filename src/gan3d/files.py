"""Atomic file writes: every output appears whole or not at all."""

from __future__ import annotations

import contextlib
import os
import tempfile
from collections.abc import Iterator
from pathlib import Path

TEMP_SUFFIX = ".tmp"


def is_temporary(path: str | os.PathLike[str]) -> bool:
    """True for the temp files `atomic_path` writes (a run killed mid-write may leave one behind)."""
    name = Path(path).name
    return name.startswith(".") and name.endswith(TEMP_SUFFIX)


@contextlib.contextmanager
def atomic_path(path: str | os.PathLike[str]) -> Iterator[Path]:
    """Yield a temporary path beside `path`; on success it is renamed onto `path`.

    Writing beside the target keeps `os.replace` atomic (same file system). On any exception the
    temporary file is removed and the target is left untouched, so a crash never leaves a
    half-written output that a resumable job would mistake for finished work.
    """
    from gan3d.errors import DataError

    target = Path(path)
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        # hidden, and ending in `.tmp` alone: no reader's pattern (`*.binvox`, `*_001.png`, ...) matches
        # a temp file a killed run left behind, and scanners skip hidden files
        fd, tmp_name = tempfile.mkstemp(prefix=f".{target.name}.", suffix=TEMP_SUFFIX, dir=target.parent)
    except OSError as err:
        raise DataError(target, f"cannot write here ({err.strerror or type(err).__name__})") from None
    os.close(fd)
    tmp = Path(tmp_name)
    try:
        yield tmp
        os.chmod(tmp, 0o666 & ~_umask())  # mkstemp makes 0600 files; outputs get the usual permissions
        try:
            os.replace(tmp, target)
        except OSError as err:
            raise DataError(target, f"cannot write here ({err.strerror or type(err).__name__})") from None
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def read_bytes(path: str | os.PathLike[str]) -> bytes:
    """The bytes of a file, or a `DataError` naming it (missing, unreadable)."""
    from gan3d.errors import DataError

    try:
        return Path(path).read_bytes()
    except FileNotFoundError:
        raise DataError(path, "no such file") from None
    except IsADirectoryError:
        raise DataError(path, "is a folder, not a file") from None
    except OSError as err:
        raise DataError(path, f"cannot read file ({err.strerror})") from None


def write_bytes_atomic(path: str | os.PathLike[str], data: bytes) -> None:
    """Write `data` to `path` atomically."""
    with atomic_path(path) as tmp:
        tmp.write_bytes(data)


def write_text_atomic(path: str | os.PathLike[str], text: str) -> None:
    """Write `text` (UTF-8) to `path` atomically."""
    write_bytes_atomic(path, text.encode("utf-8"))


def output_names(inputs: list[Path]) -> list[Path]:
    """Output names (relative paths without suffix) for a batch of input files, unique by construction.

    The file stem when the stems are unique; when two inputs share a stem (ShapeNet's `<id>/model.obj`),
    every output keeps its input's path relative to the inputs' common folder, so `a/model.obj` and
    `b/model.obj` become `a/model` and `b/model`. Folders are refused: pass the files.
    """
    from gan3d.errors import DataError

    for path in inputs:
        if Path(path).is_dir():
            raise DataError(path, "is a folder: pass the files in it (e.g. DIR/*.off or DIR/**/*.obj)")
    stems = [Path(p).stem for p in inputs]
    if len(set(stems)) == len(stems):
        return [Path(s) for s in stems]
    resolved = [Path(p).resolve() for p in inputs]
    common = Path(os.path.commonpath([p.parent for p in resolved]))
    names = [p.relative_to(common).with_suffix("") for p in resolved]
    if len(set(names)) != len(names):  # the same file twice, or `a.off` and `a.obj` side by side
        seen: dict[Path, Path] = {}
        for name, path in zip(names, inputs, strict=True):
            if name in seen:
                raise DataError(path, f"would write the same output as {seen[name]}; rename one of them")
            seen[name] = path
    return names
