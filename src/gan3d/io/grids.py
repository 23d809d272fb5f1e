"""Voxel grid files: `.binvox` (via `gan3d.io.binvox`), `.npy` (occupancy or probabilities) and `.npz`
(occupancy + placement). The grid type and its placement convention are `gan3d.structures.VoxelGrid`."""

from __future__ import annotations

import os
import tokenize
import zipfile
import zlib
from pathlib import Path
from typing import BinaryIO

import numpy as np

from gan3d.errors import DataError
from gan3d.files import atomic_path
from gan3d.io.binvox import MAX_RESOLUTION  # one limit for every grid format
from gan3d.structures.voxel_grid import VoxelGrid

GRID_SUFFIXES = (".binvox", ".npy", ".npz")


_ARRAY_ERRORS = (
    ValueError,
    OSError,
    KeyError,
    EOFError,
    tokenize.TokenError,  # a header that does not parse
    SyntaxError,
    UnicodeDecodeError,
    zipfile.BadZipFile,
    NotImplementedError,  # zipfile: an unknown compression method (a corrupted entry header)
    zlib.error,
)


def _check_header(path: Path, stream: BinaryIO, what: str) -> tuple[tuple[int, ...], np.dtype]:
    """Shape and dtype from an `.npy` header, validated before any data is read: numbers only, and a
    cube (D, D, D) or (1, D, D, D) with D at most `MAX_RESOLUTION`."""
    version = np.lib.format.read_magic(stream)
    if version not in ((1, 0), (2, 0), (3, 0)):
        raise DataError(path, f"{what}: unknown .npy format version {version}")
    width = 2 if version == (1, 0) else 4
    start = stream.tell()
    header_length = int.from_bytes(stream.read(width), "little")
    if header_length > 65536:  # numpy writes a few hundred bytes; a huge length is corruption
        raise DataError(path, f"{what}: corrupt .npy header (claims {header_length} bytes)")
    stream.seek(start)
    reader = np.lib.format.read_array_header_1_0 if version == (1, 0) else np.lib.format.read_array_header_2_0
    shape, _fortran, dtype = reader(stream)
    if not isinstance(dtype, np.dtype) or dtype.kind not in "biuf":
        raise DataError(path, f"{what} must hold numbers, not {dtype}")
    cube = shape[1:] if len(shape) == 4 and shape[0] == 1 else shape
    if len(cube) != 3 or len(set(cube)) != 1 or cube[0] < 1:
        raise DataError(path, f"{what} must be a cube (D, D, D); got shape {shape}")
    if cube[0] > MAX_RESOLUTION:
        raise DataError(path, f"{what} of {cube[0]}^3 is above the limit of {MAX_RESOLUTION}^3")
    return shape, dtype


def _read_npy(path: Path) -> np.ndarray:
    with open(path, "rb") as fh:
        shape, dtype = _check_header(path, fh, "grid")
        expected = int(np.prod(shape, dtype=np.int64)) * dtype.itemsize
        if os.fstat(fh.fileno()).st_size - fh.tell() != expected:  # before numpy allocates the array
            raise DataError(path, f"truncated or padded .npy: header says {shape} {dtype}, data size differs")
    return np.load(path, allow_pickle=False)


def _read_npz(path: Path) -> tuple[np.ndarray, np.ndarray, float]:
    with zipfile.ZipFile(path) as archive:
        if "occupancy.npy" not in archive.namelist():
            raise DataError(path, "no `occupancy` array in the archive")
        with archive.open("occupancy.npy") as member:
            shape, dtype = _check_header(path, member, "occupancy")  # type: ignore[arg-type]
            header_bytes = member.tell()
        expected = int(np.prod(shape, dtype=np.int64)) * dtype.itemsize
        if archive.getinfo("occupancy.npy").file_size - header_bytes != expected:
            raise DataError(path, f"truncated `occupancy`: header says {shape} {dtype}, data size differs")
        for name in ("translate.npy", "scale.npy"):
            if name in archive.namelist() and archive.getinfo(name).file_size > 4096:
                raise DataError(path, f"`{name[:-4]}` is far too large for a placement")
    with np.load(path, allow_pickle=False) as loaded:
        occupancy = loaded["occupancy"]
        translate = np.asarray(loaded["translate"]) if "translate" in loaded else np.full(3, -0.5)
        scale = np.asarray(loaded["scale"]) if "scale" in loaded else np.asarray(1.0)
    if translate.shape != (3,) or translate.dtype.kind not in "iuf" or not np.isfinite(translate).all():
        raise DataError(path, f"`translate` must be 3 finite numbers; got {translate.dtype} {translate.shape}")
    if scale.size != 1 or scale.dtype.kind not in "iuf" or not np.isfinite(scale).all() or not float(scale) > 0:
        raise DataError(path, "`scale` must be one finite positive number")
    return occupancy, translate.astype(np.float64), float(scale)


def load_grid(path: str | os.PathLike[str]) -> VoxelGrid:
    """Read a `.binvox`, `.npy` or `.npz` grid.

    `.npy` holds only the occupancy (values > 0.5 are occupied; placed in the unit cube); `.npz` holds
    `occupancy`, `translate` and `scale` as written by `save_grid`. Shape, dtype, size (at most
    `MAX_RESOLUTION`^3) and finiteness are checked, the headers before any data is read.
    """
    from gan3d.io.binvox import read_binvox

    path = Path(path)
    suffix = path.suffix.lower()
    if suffix == ".binvox":
        return read_binvox(path)
    if suffix not in (".npy", ".npz"):
        raise DataError(path, f"unsupported grid format {suffix or '(none)'}; expected one of {GRID_SUFFIXES}")
    if path.is_dir():
        raise DataError(path, "is a folder, not a grid file")
    if not path.exists():
        raise DataError(path, "no such file")
    try:
        if suffix == ".npz":
            occupancy, translate, scale = _read_npz(path)
        else:
            occupancy, translate, scale = _read_npy(path), np.full(3, -0.5), 1.0
    except DataError:
        raise
    except _ARRAY_ERRORS as err:
        raise DataError(path, f"cannot read grid ({type(err).__name__}: {str(err)[:200]})") from None
    occupancy = np.asarray(occupancy)
    if occupancy.ndim == 4 and occupancy.shape[0] == 1:  # (1, D, H, W) as a model writes it
        occupancy = occupancy[0]
    if occupancy.ndim != 3 or len(set(occupancy.shape)) != 1:
        raise DataError(path, f"grid must be a cube (D, D, D); got shape {occupancy.shape}")
    if occupancy.dtype.kind == "f" and not np.isfinite(occupancy).all():
        raise DataError(path, "grid has NaN or infinite values")
    return VoxelGrid(occupancy > 0.5, translate, scale)


def load_grid_values(path: str | os.PathLike[str]) -> tuple[np.ndarray, VoxelGrid]:
    """A grid file's raw values, float32 (D, D, D), and its placement: a `.npy` keeps its
    probabilities (a generator's output), other formats give their 0/1 occupancy."""
    grid = load_grid(path)  # validates the file
    if Path(path).suffix.lower() == ".npy":
        raw = np.load(path, allow_pickle=False).astype(np.float32)
        return (raw[0] if raw.ndim == 4 else raw), grid
    return grid.occupancy.astype(np.float32), grid


def save_grid(grid: VoxelGrid, path: str | os.PathLike[str]) -> None:
    """Write a grid as `.binvox`, `.npy` (occupancy only) or `.npz` (occupancy + placement), atomically."""
    from gan3d.io.binvox import write_binvox

    path = Path(path)
    suffix = path.suffix.lower()
    if suffix == ".binvox":
        write_binvox(grid, path)
        return
    if suffix not in (".npy", ".npz"):
        raise DataError(path, f"unsupported grid format {suffix or '(none)'}; expected one of {GRID_SUFFIXES}")
    with atomic_path(path) as tmp, open(tmp, "wb") as fh:
        if suffix == ".npy":
            np.save(fh, grid.occupancy.astype(bool))
        else:
            np.savez_compressed(
                fh, occupancy=grid.occupancy.astype(bool), translate=grid.translate, scale=np.float64(grid.scale)
            )
