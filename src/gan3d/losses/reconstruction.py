"""The reconstruction loss of §2.4 / §2.6.1: `‖G(E(y)) − x‖₂` per object, averaged over the batch."""

from __future__ import annotations

import torch


def reconstruction_distance(pred: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """§2.6.1's `‖G(E(y)) − x‖₂` per object: the Euclidean norm over all voxels of the difference between
    predicted probabilities and the binary target, (N, 1, R, R, R) -> (N,). Also reported by evaluation."""
    if pred.shape != target.shape:
        raise ValueError(f"pred and target must have the same shape; got {tuple(pred.shape)} and {tuple(target.shape)}")
    return (pred - target).flatten(1).norm(dim=1)


def reconstruction_loss(pred: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """Mean over the batch of `reconstruction_distance` (the training loss)."""
    return reconstruction_distance(pred, target).mean()
