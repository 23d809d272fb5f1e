"""KL divergence of the encoder's Gaussian from N(0, I) (§2.4), averaged over views (L_KL-MV, §2.5)."""

from __future__ import annotations

import torch


def kl_divergence(mu: torch.Tensor, logvar: torch.Tensor) -> torch.Tensor:
    """`-1/2 sum(1 + logvar - mu^2 - exp(logvar))` over latent dims, averaged over views and batch.

    Args:
        mu, logvar: (N, D) for one view or (N, V, D) for V views (then the per-view KLs are averaged,
            the paper's L_KL-MV).
    """
    kl = -0.5 * (1 + logvar - mu.pow(2) - logvar.exp()).sum(dim=-1)  # (N,) or (N, V)
    return kl.mean()
