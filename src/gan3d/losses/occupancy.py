"""Occupancy losses for implicit surfaces (PIFu / PIFuHD §4.5)."""

from __future__ import annotations

import torch
import torch.nn.functional as F


def weighted_occupancy_bce(logits: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
    """PIFuHD's λ-weighted binary cross-entropy (§4.5) of occupancy logits against labels in {0, 1}
    (same shape, any):

        L = -Σ_X [λ f*(X) log f(X) + (1 - λ)(1 - f*(X)) log(1 - f(X))] / Σ_X [λ f* + (1 - λ)(1 - f*)]

    with λ the share of points of the batch outside the surface, so inside and outside points weigh
    the same in total however the batch is balanced. Normalised by the total weight, so a balanced
    batch (λ = 1/2) gives the plain mean BCE. Computed from logits (stable: no log of 0)."""
    labels = labels.to(logits.dtype)
    outside = 1.0 - labels.mean()
    weights = outside * labels + (1.0 - outside) * (1.0 - labels)
    per_point = F.binary_cross_entropy_with_logits(logits, labels, reduction="none")
    return (weights * per_point).sum() / weights.sum().clamp(min=1e-12)


def occupancy_mse(logits: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
    """PIFu's original loss (Saito et al. 2019): the mean squared error of the occupancy probability."""
    return F.mse_loss(torch.sigmoid(logits), labels.to(logits.dtype))
