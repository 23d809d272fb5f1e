"""Generation metrics for a set of samples against a reference set, by Chamfer distance.

MMD-CD, COV-CD (Achlioptas et al. 2018) and 1-NNA-CD (Yang et al. 2019, PointFlow), on point clouds
sampled from the shapes (e.g. from voxel surfaces with `gan3d.export.mesh.sample_grid_surface`).

Convention: the Chamfer distance between clouds is PointFlow's, `mean_a min_b ‖a − b‖² + mean_b
min_a ‖a − b‖²` (squared, summed over both directions), after normalising every cloud to the unit
cube (`normalize=True`: centred on its bounding box, longest side 1). The point count and the
normalisation are part of the result (`GenerationScores`) so a number never travels without them.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

from gan3d.metrics._validate import validate_points
from gan3d.ops.nearest import nearest_neighbors


@dataclass(frozen=True)
class GenerationScores:
    """MMD-CD (lower is better), COV-CD in [0, 1] (higher is better), 1-NNA-CD in [0, 1] (0.5 is
    ideal), with the settings they were computed under."""

    mmd_cd: float
    cov_cd: float
    nna_cd: float
    n_samples: int
    n_reference: int
    n_points: int
    normalization: str


def normalize_clouds(points: torch.Tensor) -> torch.Tensor:
    """Centre each cloud (N, P, 3) on its bounding box and scale its longest side to 1."""
    lo, hi = points.amin(1, keepdim=True), points.amax(1, keepdim=True)
    extent = (hi - lo).amax(-1, keepdim=True).clamp(min=1e-12)
    return (points - (lo + hi) / 2) / extent


def pairwise_chamfer(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    """PointFlow Chamfer distance between every cloud of `a` (N, P, 3) and of `b` (M, Q, 3): (N, M)."""
    out = torch.empty(len(a), len(b))
    for i, x in enumerate(a):
        for j, y in enumerate(b):
            d_xy, _ = nearest_neighbors(x, y)
            d_yx, _ = nearest_neighbors(y, x)
            out[i, j] = (d_xy**2).mean() + (d_yx**2).mean()
    return out


def generation_scores(samples: torch.Tensor, reference: torch.Tensor, normalize: bool = True) -> GenerationScores:
    """MMD-CD, COV-CD and 1-NNA-CD of `samples` (S, P, 3) against `reference` (R, P, 3).

    * MMD: mean over reference clouds of the distance to their nearest sample.
    * COV: fraction of reference clouds that are the nearest reference of at least one sample.
    * 1-NNA: accuracy of a leave-one-out 1-nearest-neighbour classifier telling samples from
      references in their union (ties broken towards the lower index).
    """
    samples, reference = validate_points(samples, "samples"), validate_points(reference, "reference")
    if normalize:
        samples, reference = normalize_clouds(samples), normalize_clouds(reference)
    sr = pairwise_chamfer(samples, reference)  # (S, R)
    mmd = sr.min(dim=0).values.mean().item()
    cov = sr.argmin(dim=1).unique().numel() / len(reference)
    ss = pairwise_chamfer(samples, samples)
    rr = pairwise_chamfer(reference, reference)
    full = torch.cat([torch.cat([ss, sr], 1), torch.cat([sr.T, rr], 1)], 0)  # (S+R, S+R)
    full.fill_diagonal_(float("inf"))
    labels = torch.cat([torch.ones(len(samples)), torch.zeros(len(reference))])
    nearest = full.argmin(dim=1)
    nna = (labels[nearest] == labels).float().mean().item()
    return GenerationScores(
        mmd, cov, nna, len(samples), len(reference), samples.shape[1], "unit cube" if normalize else "none"
    )
