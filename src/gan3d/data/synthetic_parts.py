"""Part labels of built-in objects, voxel for voxel in the dataset's own grids: the legs (everything
under a chair's seat or a table's top) against the rest. A thin leg lost in a reconstruction barely
moves the whole-shape IoU, so per-part IoU (`gan3d.metrics.part_iou`) scores it on its own."""

from __future__ import annotations

import json
import os
import re
from functools import lru_cache
from pathlib import Path

import numpy as np
import trimesh

from gan3d.data.synth_dataset import object_seed
from gan3d.data.synthetic import LEGS, make_parts
from gan3d.data.voxelize import voxelize

SYNTHETIC_NAME = "gan3d-synthetic"  # `name` in a built-in dataset's dataset.json
# label 1 is always the legs; label 2 the rest, named per class
PART_NAMES: dict[str, tuple[str, str]] = {
    "chair": (LEGS, "seat and back"),
    "table": (LEGS, "top"),
    "person": (LEGS, "body"),
}


def part_labels(class_name: str, seed: int, resolution: int) -> np.ndarray:
    """Labels (R, R, R) uint8 of built-in object (`class_name`, `seed`): 0 empty, 1 legs, 2 the rest,
    in `voxelize`'s grid of the whole object (binvox index order x, y, z), so `labels > 0` equals the
    object's grid. Raises `KeyError` for a class without parts (see `PART_NAMES`)."""
    if class_name not in PART_NAMES:
        raise KeyError(class_name)
    parts = make_parts(class_name, seed)
    whole = trimesh.util.concatenate(parts)
    grid = voxelize(np.asarray(whole.vertices), np.asarray(whole.faces), resolution)
    legs = trimesh.util.concatenate([p for p in parts if p.metadata.get("part") == LEGS])
    leg_grid = voxelize(
        np.asarray(legs.vertices), np.asarray(legs.faces), resolution, placement=(grid.translate, grid.scale)
    )
    occupied = grid.occupancy
    return np.where(occupied & leg_grid.occupancy, 1, np.where(occupied, 2, 0)).astype(np.uint8)


@lru_cache(maxsize=4)
def _manifest(root: str) -> dict | None:
    try:
        manifest = json.loads((Path(root) / "dataset.json").read_text())
    except (OSError, ValueError):
        return None
    return manifest if isinstance(manifest, dict) and manifest.get("name") == SYNTHETIC_NAME else None


def dataset_part_labels(
    root: str | os.PathLike[str], class_name: str, stem: str, target: np.ndarray
) -> np.ndarray | None:
    """`part_labels` of object `stem` of a built-in dataset at `root`, or None when the dataset is not
    built-in, the class has no parts, or the regenerated object does not match `target` (its grid as
    read, (R, R, R) bool: e.g. a dataset written by an older generator): never labels of another shape."""
    manifest = _manifest(str(root))
    match = re.fullmatch(rf"{re.escape(class_name)}_(\d+)", stem)
    if manifest is None or class_name not in PART_NAMES or match is None:
        return None
    seed = object_seed(int(manifest.get("seed", 0)), int(match.group(1)))
    labels = part_labels(class_name, seed, target.shape[0])
    return labels if np.array_equal(labels > 0, target) else None
