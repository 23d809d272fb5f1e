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


RECON_LOSSES = ("l2", "bce", "focal")
_EPS = 1e-6  # probabilities are clamped to [eps, 1 - eps] before the log


def occupancy_nll(
    pred: torch.Tensor, target: torch.Tensor, pos_weight: float = 0.5, focal_gamma: float = 0.0
) -> torch.Tensor:
    """Weighted (focal) binary cross-entropy of occupancy, summed over the voxels of each object, (N,).

    `−Σ [2w·t·(1−p)^γ·log p + 2(1−w)·(1−t)·p^γ·log(1−p)]`: with w = 0.5 and γ = 0 the grid's negative
    log-likelihood (a VAE's reconstruction term, as 3D-R2N2 and Pix2Vox train with); w > 0.5 weighs
    occupied voxels up (Brock et al. 2016 use 0.97); γ > 0 is the focal loss (Lin et al. 2017), which
    stops well-classified empty space from drowning the few voxels of a thin leg. Unlike §2.6.1's L2 on
    probabilities, the gradient on a confidently wrong voxel does not vanish through the sigmoid.

    Args:
        pred: occupancy probabilities in [0, 1], (N, 1, R, R, R).
        target: binary occupancy, same shape.
        pos_weight: w, the weight of occupied voxels, in (0, 1).
        focal_gamma: γ >= 0.
    """
    if pred.shape != target.shape:
        raise ValueError(f"pred and target must have the same shape; got {tuple(pred.shape)} and {tuple(target.shape)}")
    if not 0.0 < pos_weight < 1.0 or focal_gamma < 0:
        raise ValueError(f"need 0 < pos_weight < 1 and focal_gamma >= 0, got {pos_weight}, {focal_gamma}")
    p = pred.clamp(_EPS, 1.0 - _EPS)
    t = target
    on = 2 * pos_weight * t * torch.log(p)
    off = 2 * (1 - pos_weight) * (1 - t) * torch.log1p(-p)
    if focal_gamma > 0:
        on = on * (1 - p) ** focal_gamma
        off = off * p**focal_gamma
    return -(on + off).flatten(1).sum(dim=1)


def training_reconstruction_loss(
    pred: torch.Tensor, target: torch.Tensor, kind: str = "l2", pos_weight: float = 0.5, focal_gamma: float = 2.0
) -> torch.Tensor:
    """The reconstruction term a model trains with, averaged over the batch: `kind` "l2" (§2.6.1,
    `reconstruction_loss`), "bce" (`occupancy_nll` with γ = 0) or "focal" (with `focal_gamma`)."""
    if kind == "l2":
        return reconstruction_loss(pred, target)
    if kind == "bce":
        return occupancy_nll(pred, target, pos_weight).mean()
    if kind == "focal":
        return occupancy_nll(pred, target, pos_weight, focal_gamma).mean()
    raise ValueError(f"unknown reconstruction loss {kind!r}; choose from {', '.join(RECON_LOSSES)}")
