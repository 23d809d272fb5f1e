"""Judge a generator by what it generates: samples against the held-out split, beside two references.

For a voxel generator, `evaluate_generation` draws as many samples as the split has objects (per class,
for a conditional model) and reports, against that split:

* MMD-CD, COV-CD and 1-NNA-CD (`gan3d.metrics.generation`) on `n_points` surface points per shape
  (marching cubes of each grid at 0.5; clouds normalised to the unit cube);
* recognised: the share of samples whose nearest training shape (by voxel IoU, a 1-NN classifier fitted
  on the train split) is of the class asked for (conditional models) — for an unconditional one, the
  share whose nearest training shape is of the split's majority class is not meaningful and is omitted;
* diversity: the mean pairwise IoU between samples (1 = all the same shape; lower is more diverse);
* empty: the share of samples with no voxel above 0.5.

The same numbers for two references from the same run: the train split itself (the ceiling a perfect
generator of the training distribution reaches) and a collapsed generator (every sample is its class's
mean training shape at its IoU-best threshold), so a collapse is visible at once.
"""

from __future__ import annotations

import os
from typing import Any

import numpy as np
import torch

from gan3d.export.mesh import sample_grid_surface
from gan3d.metrics.generation import generation_scores
from gan3d.metrics.recognition import nearest_neighbour_labels, pairwise_iou
from gan3d.pipelines.evaluate_model import mean_shapes
from gan3d.pipelines.voxel_gan import LoadedModel, dataset_for, generate, stack_grids
from gan3d.structures.voxel_grid import VoxelGrid


def grid_clouds(grids: torch.Tensor, n_points: int, seed: int = 0) -> tuple[torch.Tensor, int]:
    """Surface points (N, P, 3) of occupancy grids (N, 1, R, R, R) in voxel units, and how many grids
    were empty (their cloud is the grid centre: as far from any shape as a shape can be)."""
    clouds, empty = [], 0
    for i, grid in enumerate(grids[:, 0].numpy() > 0.5):
        r = grid.shape[0]
        if not grid.any():
            empty += 1
            clouds.append(np.full((n_points, 3), r / 2.0))
            continue
        clouds.append(sample_grid_surface(VoxelGrid(grid, np.zeros(3), float(r)), n_points, seed=seed + i))
    return torch.as_tensor(np.stack(clouds), dtype=torch.float32), empty


def _scores(
    samples: torch.Tensor,
    labels: torch.Tensor | None,
    reference: torch.Tensor,
    train: torch.Tensor,
    train_labels: torch.Tensor,
    n_points: int,
) -> dict[str, Any]:
    sample_clouds, empty = grid_clouds(samples, n_points)
    reference_clouds, _ = grid_clouds(reference, n_points, seed=10_000)
    g = generation_scores(sample_clouds, reference_clouds)
    iou = pairwise_iou(samples, samples)
    off_diagonal = iou[~torch.eye(len(samples), dtype=torch.bool)]
    out: dict[str, Any] = {
        "mmd_cd": g.mmd_cd,
        "cov_cd": g.cov_cd,
        "nna_cd": g.nna_cd,
        "diversity_mean_pairwise_iou": float(off_diagonal.mean()) if len(off_diagonal) else 1.0,
        "empty": empty / len(samples),
    }
    if labels is not None:
        found = nearest_neighbour_labels(samples, train, train_labels)
        out["recognised"] = float((found == labels).float().mean())
    return out


@torch.no_grad()
def evaluate_generation(
    loaded: LoadedModel, root: str | os.PathLike[str], split: str = "test", n_points: int = 1024, seed: int = 0
) -> dict[str, Any]:
    """Generation scores of the model and of the two references (module docstring), as a JSON-ready dict."""
    test = dataset_for(loaded, root, split)
    train = dataset_for(loaded, root, "train", classes=test.classes)
    reference, reference_labels = stack_grids(test)
    train_voxels, train_labels = stack_grids(train)
    conditional = bool(loaded.model.num_classes)
    if conditional:  # as many samples per class as the split has objects of it
        parts = [
            generate(loaded, int((reference_labels == k).sum()), name, seed=seed + k)
            for k, name in enumerate(test.classes)
            if (reference_labels == k).any()
        ]
        samples, labels = torch.cat(parts), reference_labels.sort().values
        order = torch.argsort(reference_labels, stable=True)
        reference, reference_labels = reference[order], reference_labels[order]
    else:
        samples, labels = generate(loaded, len(reference), seed=seed), None
    rng = torch.Generator().manual_seed(seed)
    pick = torch.randperm(len(train_voxels), generator=rng)[: len(reference)]
    means, thresholds = mean_shapes(train)
    collapsed = torch.stack([(means[int(k)] > thresholds[int(k)]).float() for k in reference_labels])
    return {
        "settings": {
            "split": split,
            "samples": len(samples),
            "n_points": n_points,
            "distance": "PointFlow Chamfer (squared, both ways) on unit-cube clouds",
            "recognised_by": "1-NN by voxel IoU over the train split",
        },
        "model": _scores(samples, labels, reference, train_voxels, train_labels, n_points),
        # (recognition of training shapes by their nearest training shape is 1 by construction: left out)
        "train_split": _scores(train_voxels[pick], None, reference, train_voxels, train_labels, n_points),
        "mean_shape": _scores(
            collapsed, reference_labels if conditional else None, reference, train_voxels, train_labels, n_points
        ),
    }
