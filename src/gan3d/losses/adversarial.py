"""GAN losses on discriminator logits: BCE with optional soft labels (§2.6.3), the gradient penalties
of WGAN-GP and R1, and the LeCam regulariser."""

from __future__ import annotations

from collections.abc import Callable

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


def gradient_penalty(
    critic: Callable[[torch.Tensor], torch.Tensor], real: torch.Tensor, fake: torch.Tensor
) -> torch.Tensor:
    """WGAN-GP's penalty E[(||∇_x D(x̂)||₂ − 1)²] at random points x̂ between real and fake samples
    (Gulrajani et al. 2017, eq. 3; 3D-IWGAN, Smith & Meger 2017, for voxels). Weight 10 in both papers.

    Args:
        critic: x (N, ...) -> scores (N,), differentiable in x.
        real, fake: batches of the same shape (N, ...); `fake` detached from the generator.
    """
    alpha = torch.rand(len(real), *([1] * (real.ndim - 1)), device=real.device, dtype=real.dtype)
    mixed = (alpha * real + (1 - alpha) * fake).requires_grad_(True)
    (grad,) = torch.autograd.grad(critic(mixed).sum(), mixed, create_graph=True)
    return ((grad.flatten(1).norm(dim=1) - 1) ** 2).mean()


def r1_penalty(critic: Callable[[torch.Tensor], torch.Tensor], real: torch.Tensor) -> torch.Tensor:
    """R1 regulariser E[||∇_x D(x)||²] on real samples (Mescheder et al. 2018, "Which training methods for
    GANs do actually converge?"); used as (γ/2)·R1 with γ typically 0.1-10. Needs per-sample D outputs
    (no BatchNorm in D)."""
    real = real.detach().requires_grad_(True)
    (grad,) = torch.autograd.grad(critic(real).sum(), real, create_graph=True)
    return grad.flatten(1).pow(2).sum(1).mean()


def lecam_penalty(
    real_logits: torch.Tensor, fake_logits: torch.Tensor, anchor_real: float, anchor_fake: float
) -> torch.Tensor:
    """LeCam regulariser (Tseng et al. 2021, "Regularizing GANs under limited data", eq. 4):
    E[relu(D(x) − α_F)²] + E[relu(α_R − D(G(z)))²], where α_R and α_F are moving averages of D's outputs
    on real and generated samples (decay 0.99 in the paper). It pulls real scores down towards the fakes'
    usual score and fake scores up towards the reals', so D cannot grow an ever larger margin on a small
    training set; the hinge (relu) form leaves scores alone that are already on the far side.

    Args:
        real_logits, fake_logits: D's scores (N,) on real and generated samples.
        anchor_real, anchor_fake: α_R and α_F, the moving averages (constants, no gradient).
    """
    return F.relu(real_logits - anchor_fake).pow(2).mean() + F.relu(anchor_real - fake_logits).pow(2).mean()


def binarize_straight_through(probs: torch.Tensor, mode: str) -> torch.Tensor:
    """Occupancy probabilities made binary in the forward pass, with the identity's gradient backwards.

    Real voxel grids are exactly 0/1 and a generator's sigmoid output never is, a cue a discriminator can
    win on without looking at shapes. Showing D binary fakes removes it: `mode` "threshold" gives
    `probs > 0.5` (what `gan3d sample` exports), "bernoulli" a sample with P(1) = probs; "none" returns
    `probs` unchanged. The gradient w.r.t. `probs` is passed straight through (Bengio et al. 2013).
    """
    if mode == "none":
        return probs
    with torch.no_grad():
        if mode == "threshold":
            hard = (probs > 0.5).to(probs.dtype)
        elif mode == "bernoulli":
            hard = torch.bernoulli(probs.float().clamp(0, 1)).to(probs.dtype)
        else:
            raise ValueError(f"binarize mode must be 'none', 'threshold' or 'bernoulli', got {mode!r}")
    return hard + (probs - probs.detach())
