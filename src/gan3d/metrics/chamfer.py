"""Surface metrics on point sets: Chamfer distance (L1, L2), F-score and normal consistency.

Conventions (Occupancy Networks, Mescheder et al. 2019; F-score as in Pix2Vox++ / DIB-R):

* Normalisation (`normalize=True`): both sets are scaled by `1 / s`, `s` the longest side of the
  *target's* bounding box, so the target fits the unit cube; distances are in those units.
* Chamfer-L1 = ½ (mean_a ‖a − NN_B(a)‖₂ + mean_b ‖b − NN_A(b)‖₂) (Euclidean distances);
  Chamfer-L2 = ½ (mean_a ‖a − NN_B(a)‖₂² + mean_b ‖b − NN_A(b)‖₂²) (squared distances).
* F-score@τ = 2PR / (P + R), P = fraction of predicted points within τ of the target,
  R = fraction of target points within τ of the prediction; τ = 0.01 by default (1% of the unit cube).
* Normal consistency = ½ (mean |n_a · n_NN_B(a)| + mean |n_b · n_NN_A(b)|), unoriented normals.

Inputs are batches (N, P, 3) and (N, Q, 3); results are per object, shape (N,).
"""

from __future__ import annotations

from typing import Literal

import torch

from gan3d.metrics._validate import MetricInputError, validate_points
from gan3d.ops.nearest import nearest_neighbors


def _prepare(pred: torch.Tensor, target: torch.Tensor, normalize: bool) -> tuple[torch.Tensor, torch.Tensor]:
    pred, target = validate_points(pred, "pred"), validate_points(target, "target")
    if len(pred) != len(target):
        raise MetricInputError(f"pred and target batch sizes differ: {len(pred)} vs {len(target)}")
    if normalize:
        extent = (target.amax(1) - target.amin(1)).amax(1).clamp(min=1e-12)  # (N,)
        pred, target = pred / extent[:, None, None], target / extent[:, None, None]
    return pred, target


def _both_ways(pred: torch.Tensor, target: torch.Tensor):
    for a, b in zip(pred, target, strict=True):
        d_ab, i_ab = nearest_neighbors(a, b)
        d_ba, i_ba = nearest_neighbors(b, a)
        yield d_ab, i_ab, d_ba, i_ba


def chamfer_distance(
    pred: torch.Tensor, target: torch.Tensor, norm: Literal["l1", "l2"] = "l1", normalize: bool = True
) -> torch.Tensor:
    """Chamfer-L1 or Chamfer-L2 per object (module convention), shape (N,)."""
    if norm not in ("l1", "l2"):
        raise MetricInputError(f"norm must be 'l1' or 'l2', got {norm!r}")
    pred, target = _prepare(pred, target, normalize)
    power = 1 if norm == "l1" else 2
    return torch.stack(
        [0.5 * (d_ab**power).mean() + 0.5 * (d_ba**power).mean() for d_ab, _, d_ba, _ in _both_ways(pred, target)]
    )


def f_score(pred: torch.Tensor, target: torch.Tensor, threshold: float = 0.01, normalize: bool = True) -> torch.Tensor:
    """F-score at distance `threshold` per object (module convention), shape (N,), in [0, 1]."""
    pred, target = _prepare(pred, target, normalize)
    scores = []
    for d_ab, _, d_ba, _ in _both_ways(pred, target):
        precision = (d_ab < threshold).float().mean()
        recall = (d_ba < threshold).float().mean()
        denom = precision + recall
        scores.append(torch.where(denom > 0, 2 * precision * recall / denom.clamp(min=1e-12), denom))
    return torch.stack(scores)


def normal_consistency(
    pred: torch.Tensor, pred_normals: torch.Tensor, target: torch.Tensor, target_normals: torch.Tensor
) -> torch.Tensor:
    """Mean absolute cosine between each point's normal and its nearest neighbour's, both ways, (N,)."""
    pred, target = _prepare(pred, target, normalize=False)
    pred_normals = torch.nn.functional.normalize(validate_points(pred_normals, "pred_normals"), dim=-1)
    target_normals = torch.nn.functional.normalize(validate_points(target_normals, "target_normals"), dim=-1)
    out = []
    for k, (_, i_ab, _, i_ba) in enumerate(_both_ways(pred, target)):
        ab = (pred_normals[k] * target_normals[k][i_ab]).sum(-1).abs().mean()
        ba = (target_normals[k] * pred_normals[k][i_ba]).sum(-1).abs().mean()
        out.append(0.5 * (ab + ba))
    return torch.stack(out)
