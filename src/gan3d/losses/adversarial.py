"""GAN losses with optional soft labels (§2.6.3), computed on discriminator logits."""

from __future__ import annotations

import torch
import torch.nn.functional as F

SOFT_REAL = (0.7, 1.2)  # §2.6.3: real labels ~ U[0.7, 1.2]
SOFT_FAKE = (0.0, 0.3)  # fake labels ~ U[0, 0.3]


def gan_targets(n: int, real: bool, soft: bool, device: torch.device) -> torch.Tensor:
    """Labels for n samples: 1/0, or soft labels drawn from the §2.6.3 ranges."""
    if not soft:
        return torch.full((n,), 1.0 if real else 0.0, device=device)
    lo, hi = SOFT_REAL if real else SOFT_FAKE
    return torch.empty(n, device=device).uniform_(lo, hi)


def bce_with_targets(logits: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
    """Binary cross-entropy on logits against (possibly soft, possibly > 1) targets.

    Written out as `softplus(l) - t * l` (equal to BCE-with-logits for t in [0, 1]) because soft real
    labels reach 1.2, outside what `F.binary_cross_entropy_with_logits` documents.
    """
    return (F.softplus(logits) - targets * logits).mean()


def discriminator_accuracy(real_logits: torch.Tensor, fake_logits: torch.Tensor) -> tuple[float, float]:
    """Fraction of real samples called real and of fakes called fake (§2.3's adaptive rule, Fig. 4, 8)."""
    return float((real_logits > 0).float().mean()), float((fake_logits < 0).float().mean())
