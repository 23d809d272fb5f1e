"""The paper's SSIM loss (§2.6.5): `L_SSIM = 1 − SSIM(x, x̂)`, differentiable, averaged over the batch."""

from __future__ import annotations

import torch

from gan3d.ops.ssim import ssim3d_map


def ssim_loss(pred: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """`1 − mean 3D SSIM` of a batch; pred and target (N, 1, D, H, W) in [0, 1]. Weight it by α3 (§2.6.5)."""
    if pred.ndim == 5:
        pred, target = pred.squeeze(1), target.squeeze(1)
    return 1.0 - ssim3d_map(pred, target.to(pred.dtype)).mean()
