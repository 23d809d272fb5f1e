"""Voxel grid files: `.binvox` (via `gan3d.io.binvox`), `.npy` (occupancy or probabilities) and `.npz`
(occupancy + placement). The grid type and its placement convention are `gan3d.structures.VoxelGrid`."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from gan3d.errors import DataError
from gan3d.files import atomic_path
from gan3d.structures.voxel_grid import VoxelGrid

GRID_SUFFIXES = (".binvox", ".npy", ".npz")


def load_grid(path: str | os.PathLike[str]) -> VoxelGrid:
    """Read a `.binvox`, `.npy` or `.npz` grid.

    `.npy` holds only the occupancy (values > 0.5 are occupied; placed in the unit cube); `.npz` holds
    `occupancy`, `translate` and `scale` as written by `save_grid`.
    """
    from gan3d.io.binvox import read_binvox

    path = Path(path)
    suffix = path.suffix.lower()
    if suffix == ".binvox":
        return read_binvox(path)
    if suffix not in (".npy", ".npz"):
        raise DataError(path, f"unsupported grid format {suffix or '(none)'}; expected one of {GRID_SUFFIXES}")
    if not path.exists():
        raise DataError(path, "no such file")
    try:
        loaded = np.load(path, allow_pickle=False)
        if suffix == ".npz":
            with loaded:
                occupancy = loaded["occupancy"]
                translate = loaded["translate"] if "translate" in loaded else np.full(3, -0.5)
                scale = float(loaded["scale"]) if "scale" in loaded else 1.0
        else:
            occupancy, translate, scale = loaded, np.full(3, -0.5), 1.0
    except (ValueError, OSError, KeyError, EOFError) as err:
        raise DataError(path, f"cannot read grid ({type(err).__name__}: {err})") from None
    occupancy = np.asarray(occupancy)
    if occupancy.ndim == 4 and occupancy.shape[0] == 1:  # (1, D, H, W) as a model writes it
        occupancy = occupancy[0]
    if occupancy.ndim != 3 or len(set(occupancy.shape)) != 1:
        raise DataError(path, f"grid must be a cube (D, D, D); got shape {occupancy.shape}")
    if not np.isfinite(occupancy.astype(np.float64)).all():
        raise DataError(path, "grid has NaN or infinite values")
    return VoxelGrid(occupancy > 0.5, np.asarray(translate, dtype=np.float64).reshape(3), scale)


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
