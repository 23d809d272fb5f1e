"""Probability grids out: `.binvox` thresholded (what the paper keeps, §2.2) or `.npy` raw."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import torch

from gan3d.errors import DataError
from gan3d.files import atomic_path
from gan3d.io.grids import save_grid
from gan3d.structures.voxel_grid import VoxelGrid


def save_probabilities(
    probabilities: np.ndarray | torch.Tensor,
    path: str | os.PathLike[str],
    threshold: float = 0.5,
    translate: np.ndarray | None = None,
    scale: float = 1.0,
) -> Path:
    """Write a generator's output grid, atomically.

    Args:
        probabilities: occupancy probabilities, shape (D, D, D) or (1, D, D, D), index order (x, y, z).
        path: `.npy` keeps the raw float32 values; `.binvox` / `.npz` store `probabilities > threshold`.
        threshold: occupancy threshold for the binary formats (0.5, §2.2).
        translate, scale: binvox placement (default the unit cube [-0.5, 0.5]^3).
    """
    array = (
        probabilities.detach().cpu().numpy() if isinstance(probabilities, torch.Tensor) else np.asarray(probabilities)
    )
    array = array[0] if array.ndim == 4 and array.shape[0] == 1 else array
    path = Path(path)
    if array.ndim != 3 or len(set(array.shape)) != 1:
        raise DataError(path, f"expected a cube (D, D, D) of probabilities; got shape {array.shape}")
    suffix = path.suffix.lower()
    if suffix == ".npy":
        with atomic_path(path) as tmp, open(tmp, "wb") as fh:
            np.save(fh, array.astype(np.float32))
        return path
    if suffix not in (".binvox", ".npz"):
        raise DataError(path, "unsupported grid format; use .npy (raw), .binvox or .npz (thresholded)")
    placement = np.full(3, -0.5) if translate is None else np.asarray(translate, dtype=np.float64)
    save_grid(VoxelGrid(array > threshold, placement, scale), path)
    return path
