"""Input checks shared by the metrics: shapes and ranges named in the error."""

from __future__ import annotations

import torch

from gan3d.errors import Gan3dError


class MetricInputError(Gan3dError, ValueError):
    """A metric got tensors of the wrong shape, dtype or range."""


def validate_grids(pred: torch.Tensor, target: torch.Tensor, name: str = "pred") -> tuple[torch.Tensor, torch.Tensor]:
    """Check two batches of grids (N, 1, D, H, W) or (N, D, H, W) of equal shape; return them as (N, D, H, W) float."""
    for label, x in ((name, pred), ("target", target)):
        if not isinstance(x, torch.Tensor):
            raise MetricInputError(f"{label} must be a torch.Tensor, got {type(x).__name__}")
        if x.ndim not in (4, 5) or (x.ndim == 5 and x.shape[1] != 1):
            raise MetricInputError(f"{label} must have shape (N, 1, D, H, W) or (N, D, H, W); got {tuple(x.shape)}")
    pred = pred.squeeze(1) if pred.ndim == 5 else pred
    target = target.squeeze(1) if target.ndim == 5 else target
    if pred.shape != target.shape:
        raise MetricInputError(f"{name} and target shapes differ: {tuple(pred.shape)} vs {tuple(target.shape)}")
    pred, target = pred.float(), target.float()
    if not torch.isfinite(pred).all():
        raise MetricInputError(f"{name} has NaN or infinite values")
    return pred, target


def validate_points(points: torch.Tensor, name: str) -> torch.Tensor:
    """Check a batch of point clouds (N, P, 3) (or one cloud (P, 3)); return (N, P, 3) float."""
    if not isinstance(points, torch.Tensor):
        raise MetricInputError(f"{name} must be a torch.Tensor, got {type(points).__name__}")
    if points.ndim == 2:
        points = points[None]
    if points.ndim != 3 or points.shape[-1] != 3 or points.shape[1] == 0:
        raise MetricInputError(f"{name} must have shape (N, P, 3) with P > 0; got {tuple(points.shape)}")
    if not torch.isfinite(points).all():
        raise MetricInputError(f"{name} has NaN or infinite coordinates")
    return points.float()
