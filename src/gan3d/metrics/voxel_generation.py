"""Generated voxel grids judged as a set: MMD/COV/1-NNA on their surfaces, diversity, empties, recognition.

One function, `voxel_generation_scores`, shared by `gan3d evaluate --generation` (an export against a
held-out split) and the training-time generation callback (so a collapse shows in TensorBoard):

* MMD-CD, COV-CD and 1-NNA-CD (`gan3d.metrics.generation`) on `n_points` surface points per grid
  (marching cubes at 0.5, clouds normalised to the unit cube);
* diversity: the mean pairwise IoU between samples (1 = all the same shape; lower is more diverse);
* empty: the share of samples with no voxel above 0.5;
* volume ratio: the median occupied volume of the samples over that of the references. The
  Chamfer-based scores normalise every cloud to the unit cube and sample its surface, so a generator of
  scattered specks spread over a chair's extent can score a fair COV and 1-NNA; at 1% of the
  references' volume it is not making chairs, and this says so (1 is the data's own volume);
* recognised (when labels and a labelled train split are given): the share of samples whose
  highest-IoU training grid (a 1-NN classifier) has the label asked for.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch

from gan3d.metrics.generation import generation_scores
from gan3d.metrics.recognition import nearest_neighbour_labels, pairwise_iou


def grid_clouds(grids: torch.Tensor, n_points: int, seed: int = 0) -> tuple[torch.Tensor, int]:
    """Surface points (N, P, 3) of occupancy grids (N, 1, R, R, R) in voxel units, and how many grids
    were empty (their cloud is the grid centre: as far from any shape as a shape can be)."""
    from gan3d.export.mesh import sample_grid_surface
    from gan3d.structures.voxel_grid import VoxelGrid

    clouds, empty = [], 0
    for i, grid in enumerate(grids[:, 0].cpu().numpy() > 0.5):
        r = grid.shape[0]
        if not grid.any():
            empty += 1
            clouds.append(np.full((n_points, 3), r / 2.0))
            continue
        clouds.append(sample_grid_surface(VoxelGrid(grid, np.zeros(3), float(r)), n_points, seed=seed + i))
    return torch.as_tensor(np.stack(clouds), dtype=torch.float32), empty


def volume_ratio(samples: torch.Tensor, reference: torch.Tensor) -> float:
    """Median count of voxels above 0.5 in `samples` (N, 1, R, R, R) over the median in `reference`."""
    sample_volume = (samples > 0.5).flatten(1).sum(1).float().median()
    reference_volume = (reference > 0.5).flatten(1).sum(1).float().median()
    return float(sample_volume / reference_volume.clamp(min=1))


def voxel_generation_scores(
    samples: torch.Tensor,
    reference: torch.Tensor,
    n_points: int,
    labels: torch.Tensor | None = None,
    train: torch.Tensor | None = None,
    train_labels: torch.Tensor | None = None,
) -> dict[str, Any]:
    """Scores of generated grids against reference grids, as a JSON-ready dict (module docstring).

    Args:
        samples: generated occupancy probabilities in [0, 1], shape (N, 1, R, R, R).
        reference: held-out binary grids (M, 1, R, R, R).
        n_points: surface points per shape for the Chamfer-based scores.
        labels: the class each sample was asked for (N,); with `train` and `train_labels` ((K, 1, R, R, R)
            and (K,)) adds "recognised".
    """
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
        "volume_ratio": volume_ratio(samples, reference),
    }
    if labels is not None and train is not None and train_labels is not None:
        found = nearest_neighbour_labels(samples, train, train_labels)
        out["recognised"] = float((found == labels).float().mean())
    return out
