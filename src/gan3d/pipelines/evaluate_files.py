"""The evaluation harness: pair prediction and target files by name and score every pair.

Shared by every model family: predictions and targets are files (`.binvox`, `.npy`, `.npz` grids or
`.off`, `.obj`, `.ply`, `.stl` meshes). Grids are compared voxel by voxel (a mesh is voxelized into
the other side's grid, or both into the target's bounding box at `resolution`); surface metrics use
points sampled on the meshes or on the grids' marching-cubes surfaces. A bare `.npy` prediction has
no placement of its own: it is taken to lie in the target's grid (or the target mesh's bounding cube).
"""

from __future__ import annotations

import os
import re
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch

from gan3d.data.voxelize import voxelize
from gan3d.errors import ConfigError, DataError
from gan3d.export.mesh import grid_to_mesh
from gan3d.io.grids import GRID_SUFFIXES, load_grid_values
from gan3d.io.mesh import MESH_SUFFIXES, load_mesh
from gan3d.metrics.chamfer import chamfer_distance, f_score
from gan3d.metrics.iou import voxel_iou
from gan3d.metrics.ssim3d import ssim3d
from gan3d.structures.mesh import Mesh, sample_surface
from gan3d.structures.voxel_grid import VoxelGrid

METRICS = ("iou", "ssim", "chamfer", "fscore")
CONVENTIONS = {
    "iou": "IoU of pred > 0.5 vs target > 0.5 per object (paper §2.6.1); empty vs empty = 1",
    "ssim": "3D SSIM, Gaussian window 11 (sigma 1.5, clipped to the grid), K=(0.01, 0.03), L=1, valid filtering, "
    "mean over the volume (paper §2.6.5; agrees with pytorch_msssim)",
    "chamfer": "Chamfer-L1 (Occupancy Networks): mean of both directions' mean Euclidean NN distance, "
    "both shapes scaled so the target's longest bounding-box side is 1",
    "fscore": "F-score at 0.01 of the target's longest bounding-box side (Pix2Vox++ / DIB-R)",
}
_NUMBERED = re.compile(r"^(?P<cls>.+?)_\d+$")


@dataclass
class Evaluation:
    """Scores per object, with class means and the settings, ready for a table or JSON."""

    metrics: tuple[str, ...]
    per_object: dict[str, dict[str, float]] = field(default_factory=dict)
    classes: dict[str, str] = field(default_factory=dict)
    settings: dict[str, object] = field(default_factory=dict)

    def class_means(self) -> dict[str, dict[str, float]]:
        grouped: dict[str, list[dict[str, float]]] = defaultdict(list)
        for name, scores in self.per_object.items():
            grouped[self.classes[name]].append(scores)
        return {cls: _mean(rows, self.metrics) for cls, rows in sorted(grouped.items())}

    def overall(self) -> dict[str, float]:
        return _mean(list(self.per_object.values()), self.metrics)

    def to_json(self) -> dict[str, object]:
        return {
            "metrics": list(self.metrics),
            "conventions": {m: CONVENTIONS[m] for m in self.metrics},
            "settings": self.settings,
            "overall": self.overall(),
            "per_class": self.class_means(),
            "per_object": {k: {"class": self.classes[k], **v} for k, v in sorted(self.per_object.items())},
        }


def _mean(rows: list[dict[str, float]], metrics: tuple[str, ...]) -> dict[str, float]:
    out: dict[str, float] = {"count": float(len(rows))}
    for m in metrics:
        out[m] = float(np.mean([r[m] for r in rows])) if rows else float("nan")
    return out


def find_pairs(
    pred_dir: str | os.PathLike[str], target_dir: str | os.PathLike[str]
) -> list[tuple[str, str, Path, Path]]:
    """(name, class, pred file, target file) for every name present on both sides.

    Files are matched by stem; the class is the first folder below the root, or for flat folders the
    stem without its trailing number (`chair_0007` -> `chair`).
    """
    preds, targets = _index(Path(pred_dir)), _index(Path(target_dir))
    names = sorted(set(preds) & set(targets))
    if not names:
        raise DataError(pred_dir, f"no file names in common with {target_dir} (pairs are matched by file stem)")
    return [(n, targets[n][1], preds[n][0], targets[n][0]) for n in names]


def _index(root: Path) -> dict[str, tuple[Path, str]]:
    if not root.is_dir():
        raise DataError(root, "not a folder")
    found: dict[str, tuple[Path, str]] = {}
    for path in sorted(root.rglob("*")):
        if path.suffix.lower() not in GRID_SUFFIXES + MESH_SUFFIXES or path.name.startswith(".") or not path.is_file():
            continue  # hidden files: editors' and killed runs' leftovers, never data
        rel = path.relative_to(root)
        if len(rel.parts) > 1:
            cls = rel.parts[0]
        else:
            match = _NUMBERED.match(path.stem)
            cls = match["cls"] if match else "all"
        if path.stem in found:
            raise DataError(path, f"two files named {path.stem!r} (also {found[path.stem][0]})")
        found[path.stem] = (path, cls)
    return found


def evaluate_pairs(
    pairs: list[tuple[str, str, Path, Path]],
    metrics: tuple[str, ...] = METRICS,
    resolution: int = 32,
    n_points: int = 10_000,
    threshold: float = 0.01,
) -> Evaluation:
    """Score every pair; raises `DataError` naming the file on unreadable input."""
    unknown = sorted(set(metrics) - set(METRICS))
    if unknown:
        raise ConfigError(f"unknown metrics {', '.join(unknown)}; choose from {', '.join(METRICS)}")
    result = Evaluation(
        tuple(metrics),
        settings={"resolution_for_meshes": resolution, "surface_points": n_points, "fscore_threshold": threshold},
    )
    for name, cls, pred_path, target_path in pairs:
        pred, target = _read(pred_path), _read(target_path)
        if pred_path.suffix.lower() == ".npy":  # a bare array has no placement: it sits in the target's grid
            pred = (_target_frame(pred[0], target), pred[1])
        scores: dict[str, float] = {}
        if {"iou", "ssim"} & set(metrics):
            p, t = _as_grids(pred, target, resolution, pred_path)
            pt, tt = torch.from_numpy(p)[None, None], torch.from_numpy(t)[None, None]
            if "iou" in metrics:
                scores["iou"] = float(voxel_iou(pt, tt)[0])
            if "ssim" in metrics:
                scores["ssim"] = float(ssim3d(pt, tt)[0])
        if {"chamfer", "fscore"} & set(metrics):
            pp = torch.from_numpy(_points(pred, n_points, pred_path)).float()[None]
            tp = torch.from_numpy(_points(target, n_points, target_path)).float()[None]
            if "chamfer" in metrics:
                scores["chamfer"] = float(chamfer_distance(pp, tp, "l1")[0])
            if "fscore" in metrics:
                scores["fscore"] = float(f_score(pp, tp, threshold)[0])
        result.per_object[name] = scores
        result.classes[name] = cls
    return result


def _read(path: Path) -> tuple[VoxelGrid | Mesh, np.ndarray | None]:
    """The grid or mesh in a file, plus raw grid values (probabilities of a `.npy`) when a grid."""
    if path.suffix.lower() in GRID_SUFFIXES:
        values, grid = load_grid_values(path)
        return grid, values
    return load_mesh(path), None


def _target_frame(grid: VoxelGrid, target: tuple) -> VoxelGrid:
    """`grid` placed like the target: its grid, or the target mesh's bounding cube."""
    obj = target[0]
    if isinstance(obj, VoxelGrid):
        return VoxelGrid(grid.occupancy, obj.translate, obj.scale)
    lo, hi = obj.bounds
    scale = float((hi - lo).max())
    return VoxelGrid(grid.occupancy, (lo + hi) / 2 - scale / 2, scale)


def _as_grids(pred: tuple, target: tuple, resolution: int, pred_path: Path) -> tuple[np.ndarray, np.ndarray]:
    (p_obj, p_val), (t_obj, t_val) = pred, target
    if isinstance(t_obj, VoxelGrid):
        placement = (t_obj.translate, t_obj.scale)
        t_grid = t_val
        if isinstance(p_obj, VoxelGrid):
            if p_obj.resolution != t_obj.resolution:
                raise DataError(pred_path, f"grid is {p_obj.resolution}^3, target is {t_obj.resolution}^3")
            return p_val, t_grid
        p_grid = voxelize(p_obj.verts, p_obj.faces, t_obj.resolution, placement=placement).occupancy
        return p_grid.astype(np.float32), t_grid
    t_vox = voxelize(t_obj.verts, t_obj.faces, resolution)
    placement = (t_vox.translate, t_vox.scale)
    if isinstance(p_obj, VoxelGrid):
        if p_obj.resolution != resolution:
            raise DataError(pred_path, f"grid is {p_obj.resolution}^3; pass resolution={p_obj.resolution}")
        return p_val, t_vox.occupancy.astype(np.float32)
    p_grid = voxelize(p_obj.verts, p_obj.faces, resolution, placement=placement).occupancy
    return p_grid.astype(np.float32), t_vox.occupancy.astype(np.float32)


def _points(item: tuple, n_points: int, path: Path) -> np.ndarray:
    obj, values = item
    if isinstance(obj, VoxelGrid):
        try:
            mesh = grid_to_mesh(VoxelGrid(values, obj.translate, obj.scale) if values is not None else obj)
        except DataError as err:
            raise DataError(path, err.problem) from None
    else:
        mesh = obj
    return sample_surface(mesh, n_points, seed=0)[0]
