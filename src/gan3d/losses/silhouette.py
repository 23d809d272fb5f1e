"""Image losses of DIB-R's single-image training (§3.3): silhouette IoU and colour L1."""

from __future__ import annotations

import torch


def silhouette_iou_loss(pred: torch.Tensor, target: torch.Tensor, eps: float = 1e-6) -> torch.Tensor:
    """§3.3's L_IoU = 1 − ‖S·S̃‖₁ / ‖S + S̃ − S·S̃‖₁ per image, averaged over the batch.

    Args:
        pred: rendered soft silhouettes S in [0, 1], (N, H, W) (or (N, 1, H, W)).
        target: ground-truth masks S̃ in [0, 1], same shape.
    """
    if pred.shape != target.shape:
        raise ValueError(f"pred and target must have the same shape; got {tuple(pred.shape)}, {tuple(target.shape)}")
    p, t = pred.flatten(1), target.flatten(1)
    inter = (p * t).sum(1)
    union = (p + t - p * t).sum(1)
    return (1.0 - inter / union.clamp(min=eps)).mean()


def color_l1_loss(pred: torch.Tensor, target: torch.Tensor, mask: torch.Tensor | None = None) -> torch.Tensor:
    """Mean absolute colour difference, over the pixels of `mask` when given (e.g. the ground-truth
    silhouette, (N, H, W)); images (N, H, W, C) or (N, C, H, W) with the mask broadcastable."""
    if pred.shape != target.shape:
        raise ValueError(f"pred and target must have the same shape; got {tuple(pred.shape)}, {tuple(target.shape)}")
    error = (pred - target).abs()
    if mask is None:
        return error.mean()
    weight = mask.to(error.dtype).expand_as(error) if mask.ndim == error.ndim else mask[..., None].expand_as(error)
    return (error * weight).sum() / weight.sum().clamp(min=1.0)
