"""The reconstruction loss of §2.4 / §2.6.1: `‖G(E(y)) − x‖₂` per object, averaged over the batch."""

from __future__ import annotations

import torch


def reconstruction_loss(pred: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """Mean over the batch of the per-object Euclidean norm of `pred - target` (N, 1, R, R, R)."""
    return (pred - target).flatten(1).norm(dim=1).mean()
