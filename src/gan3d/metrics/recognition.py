"""Is a generated shape recognisable as its class? Nearest-neighbour classification by voxel IoU.

A class-conditional generator's sample counts as recognised when the training shape it overlaps most
(highest IoU) belongs to the class it was asked for. The score is cheap, needs no trained classifier,
and reads plainly in a report: chance is 1 / number of classes.
"""

from __future__ import annotations

import torch

from gan3d.metrics._validate import MetricInputError, validate_grids
from gan3d.metrics.iou import PAPER_THRESHOLD


def pairwise_iou(a: torch.Tensor, b: torch.Tensor, threshold: float = PAPER_THRESHOLD) -> torch.Tensor:
    """IoU of every grid in `a` (N, 1, R, R, R) with every grid in `b` (M, 1, R, R, R), shape (N, M).

    `a` holds probabilities (occupied above `threshold`), `b` binary targets (occupied above 0.5);
    empty-vs-empty pairs are 1, as in `voxel_iou`.
    """
    validate_grids(a[:1], b[:1])  # same grid size; checking one pair is enough for shapes
    pa = (a > threshold).flatten(1).float()
    pb = (b > 0.5).flatten(1).float()
    inter = pa @ pb.T
    union = pa.sum(1, keepdim=True) + pb.sum(1)[None] - inter
    return torch.where(union > 0, inter / union.clamp(min=1), torch.ones_like(union))


def nearest_neighbour_labels(
    samples: torch.Tensor, reference: torch.Tensor, reference_labels: torch.Tensor, chunk: int = 64
) -> torch.Tensor:
    """The label of each sample's highest-IoU reference grid, shape (N,)."""
    if len(reference) != len(reference_labels) or len(reference) == 0:
        raise MetricInputError(
            f"need one label per reference grid, got {len(reference)} grids, {len(reference_labels)} labels"
        )
    best = [pairwise_iou(samples[i : i + chunk], reference).argmax(1) for i in range(0, len(samples), chunk)]
    return reference_labels[torch.cat(best)]


def recognition_accuracy(
    samples: torch.Tensor, labels: torch.Tensor, reference: torch.Tensor, reference_labels: torch.Tensor
) -> dict[int, float]:
    """Per requested label, the fraction of samples whose nearest reference grid has that label."""
    found = nearest_neighbour_labels(samples, reference, reference_labels)
    return {int(k): float((found[labels == k] == k).float().mean()) for k in labels.unique()}
