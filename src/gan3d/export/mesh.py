"""Voxel grids to meshes (marching cubes) and surface samples, in the grid's mesh coordinates."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import torch

from gan3d.errors import DataError
from gan3d.io.mesh import save_mesh
from gan3d.structures.mesh import Mesh, sample_surface
from gan3d.structures.voxel_grid import VoxelGrid

EXPORT_SUFFIXES = (".obj", ".ply", ".stl", ".glb", ".off")


def voxels_to_mesh(
    voxels: np.ndarray | torch.Tensor,
    threshold: float = 0.5,
    translate: np.ndarray | None = None,
    scale: float = 1.0,
    smooth: int = 0,
) -> Mesh:
    """The iso-surface `voxels == threshold` as a triangle mesh (scikit-image marching cubes).

    The grid is padded with one empty layer, so closed shapes give watertight meshes even where they
    touch the grid border; normals point outwards. Vertices are in mesh coordinates of the binvox
    placement (`translate`, `scale`; default the unit cube [-0.5, 0.5]^3), where voxel i's centre
    is `translate + (i + 0.5) * scale / D`.

    Args:
        voxels: occupancy probabilities or 0/1, shape (D, D, D) (or (1, D, D, D)), index order (x, y, z).
        threshold: iso-level; 0.5 thresholds probabilities as the paper does (§2.2).
        translate, scale: the grid's placement (binvox header).
        smooth: Taubin smoothing iterations (0: none); shrink-free, keeps the volume roughly.

    Raises:
        DataError: the grid is not a cube or holds no surface at `threshold`.
    """
    from skimage.measure import marching_cubes

    array = voxels.detach().cpu().numpy() if isinstance(voxels, torch.Tensor) else np.asarray(voxels)
    array = array[0] if array.ndim == 4 and array.shape[0] == 1 else array
    if array.ndim != 3 or len(set(array.shape)) != 1:
        raise DataError("<voxels>", f"expected a cube (D, D, D); got shape {array.shape}")
    array = array.astype(np.float32)
    if not array.max() > threshold:
        raise DataError("<voxels>", f"no surface at threshold {threshold}: the grid is empty")
    padded = np.pad(array, 1, mode="constant", constant_values=min(0.0, float(array.min())))
    verts, faces, _, _ = marching_cubes(padded, level=threshold, allow_degenerate=False)
    d = array.shape[0]
    translate = np.full(3, -0.5) if translate is None else np.asarray(translate, dtype=np.float64)
    verts = translate + (verts.astype(np.float64) - 1.0 + 0.5) * (scale / d)
    faces = faces[:, ::-1].astype(np.int64)  # skimage winds inward-facing for rising values: flip outwards
    if smooth > 0:
        import trimesh

        tm = trimesh.Trimesh(verts, faces, process=False)
        trimesh.smoothing.filter_taubin(tm, iterations=smooth)
        verts = np.asarray(tm.vertices)
    return Mesh(verts, faces)


def grid_to_mesh(grid: VoxelGrid, threshold: float = 0.5, smooth: int = 0) -> Mesh:
    """`voxels_to_mesh` of a `VoxelGrid` (its occupancy may also hold probabilities), placed by its header."""
    return voxels_to_mesh(grid.occupancy, threshold, grid.translate, grid.scale, smooth)


def export_mesh(mesh: Mesh, path: str | os.PathLike[str]) -> Path:
    """Write a mesh as OBJ, PLY, STL, GLB or OFF (by suffix), atomically: Blender and MeshLab open all."""
    path = Path(path)
    if path.suffix.lower() not in EXPORT_SUFFIXES:
        raise DataError(path, f"unsupported mesh format {path.suffix or '(none)'}; expected one of {EXPORT_SUFFIXES}")
    save_mesh(mesh, path)
    return path


def sample_grid_surface(grid: VoxelGrid, n_points: int, seed: int = 0, threshold: float = 0.5) -> np.ndarray:
    """Points on the marching-cubes surface of a grid, mesh coordinates, (P, 3)."""
    return sample_surface(grid_to_mesh(grid, threshold), n_points, seed)[0]
