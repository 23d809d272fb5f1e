"""Per-part IoU of a predicted occupancy grid against a part-labelled target.

A prediction carries no part labels, so every cell of the grid is given to the part of its nearest
target voxel (a Voronoi partition of space by part) and each part is scored in its own region:
`IoU_p = |P ∩ T_p| / |(P ∩ R_p) ∪ T_p|`, with P the predicted voxels, T_p the target voxels of part p
and R_p its region. The regions tile the grid, so the parts' unions add up to the whole-shape union;
a predicted leg that is missing or bloated counts against the legs, not the seat."""

from __future__ import annotations

import numpy as np
from scipy import ndimage


def part_regions(labels: np.ndarray) -> np.ndarray:
    """The label (1..P) of the nearest labelled voxel for every cell, (R, R, R) int; ties go to the
    first nearest voxel scipy's exact Euclidean distance transform finds. `labels` (R, R, R) int with
    0 = empty needs at least one labelled voxel."""
    if not (labels > 0).any():
        raise ValueError("labels has no labelled voxel")
    _, nearest = ndimage.distance_transform_edt(labels == 0, return_indices=True)
    return labels[tuple(nearest)]


def part_iou(pred: np.ndarray, labels: np.ndarray, n_parts: int) -> np.ndarray:
    """IoU of each part 1..`n_parts`, (n_parts,) float; NaN for a part absent from `labels`.

    Args:
        pred: predicted occupancy (R, R, R) bool (threshold probabilities first, e.g. at 0.5).
        labels: target part labels (R, R, R) int, 0 = empty, 1..n_parts = part.
    """
    if pred.shape != labels.shape:
        raise ValueError(f"pred and labels differ in shape: {pred.shape} vs {labels.shape}")
    pred = pred.astype(bool)
    region = part_regions(labels)
    out = np.full(n_parts, np.nan)
    for p in range(1, n_parts + 1):
        truth = labels == p
        if truth.any():
            out[p - 1] = (pred & truth).sum() / ((pred & (region == p)) | truth).sum()
    return out
