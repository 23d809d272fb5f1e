"""Voxel IoU (§2.6.1) and the labelled variants other papers report.

Convention: `IoU = |M ∩ M̂| / |M ∪ M̂|` with `M̂ = pred > threshold` (0.5 as in the paper, §2.6.1) and
`M = target > 0.5`. When both sets are empty the IoU is defined as 1 (a correct prediction of
nothing); when only one is empty it is 0.
"""

from __future__ import annotations

import torch

from gan3d.metrics._validate import validate_grids

PAPER_THRESHOLD = 0.5  # §2.6.1
FIXED_THRESHOLD_04 = 0.4  # e.g. 3D-R2N2 / Pix2Vox report IoU at 0.4
BEST_OF_THRESHOLDS = (0.2, 0.3, 0.4, 0.5)  # "best of several thresholds" as some papers report


def voxel_iou(pred: torch.Tensor, target: torch.Tensor, threshold: float = PAPER_THRESHOLD) -> torch.Tensor:
    """Per-object IoU of thresholded predictions against binary targets.

    Args:
        pred: occupancy probabilities in [0, 1], shape (N, 1, D, H, W) or (N, D, H, W).
        target: ground-truth occupancy (values > 0.5 are occupied), same shape.
        threshold: a voxel is predicted occupied when `pred > threshold`.

    Returns:
        IoU per object, shape (N,); empty-vs-empty pairs are 1.
    """
    pred, target = validate_grids(pred, target)
    p = (pred > threshold).flatten(1)
    t = (target > 0.5).flatten(1)
    inter = (p & t).sum(1).float()
    union = (p | t).sum(1).float()
    return torch.where(union > 0, inter / union.clamp(min=1), torch.ones_like(union))


def voxel_iou_best_threshold(
    pred: torch.Tensor, target: torch.Tensor, thresholds: tuple[float, ...] = BEST_OF_THRESHOLDS
) -> tuple[torch.Tensor, float]:
    """The highest *mean* IoU over `thresholds`, and the threshold that gave it.

    One threshold for the whole set (choosing per object would be optimistic); report it labelled
    as such: it is not comparable to the fixed-threshold IoU of §2.6.1.
    """
    best, best_t = None, thresholds[0]
    for t in thresholds:
        iou = voxel_iou(pred, target, t)
        if best is None or iou.mean() > best.mean():
            best, best_t = iou, t
    assert best is not None
    return best, best_t
