from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F

from gan3d.losses.reconstruction import occupancy_nll, reconstruction_loss, training_reconstruction_loss


def _grids() -> tuple[torch.Tensor, torch.Tensor]:
    g = torch.Generator().manual_seed(0)
    pred = torch.rand(3, 1, 6, 6, 6, generator=g).clamp(0.01, 0.99)
    target = (torch.rand(3, 1, 6, 6, 6, generator=g) < 0.2).float()
    return pred, target


def test_unweighted_is_torch_binary_cross_entropy_summed_per_object() -> None:
    pred, target = _grids()
    expected = F.binary_cross_entropy(pred, target, reduction="none").flatten(1).sum(1)
    assert torch.allclose(occupancy_nll(pred, target), expected, rtol=1e-5)


def test_weights_and_focal_term_follow_the_textbook_formulas() -> None:
    pred, target = _grids()
    p, t = pred.double(), target.double()
    w, gamma = 0.97, 2.0  # Brock et al.'s weight; Lin et al.'s gamma
    brock = -(2 * w * t * p.log() + 2 * (1 - w) * (1 - t) * (1 - p).log()).flatten(1).sum(1)
    assert torch.allclose(occupancy_nll(pred, target, w).double(), brock, rtol=1e-5)
    p_t = torch.where(t > 0, p, 1 - p)
    alpha_t = torch.where(t > 0, torch.full_like(p, 2 * w), torch.full_like(p, 2 * (1 - w)))
    focal = (-alpha_t * (1 - p_t) ** gamma * p_t.log()).flatten(1).sum(1)
    assert torch.allclose(occupancy_nll(pred, target, w, gamma).double(), focal, rtol=1e-5)


def test_a_confidently_empty_leg_voxel_still_gets_a_gradient() -> None:
    """Through the sigmoid, L2 on probabilities all but ignores a voxel predicted 0.001 that should be 1."""
    logits = torch.full((1, 1, 4, 4, 4), -7.0, requires_grad=True)  # p ~ 0.001 everywhere
    target = torch.zeros(1, 1, 4, 4, 4)
    target[0, 0, 0, 0, 0] = 1.0
    grads = {}
    for kind in ("l2", "bce", "focal"):
        (g,) = torch.autograd.grad(training_reconstruction_loss(torch.sigmoid(logits), target, kind), logits)
        grads[kind] = -float(g[0, 0, 0, 0, 0])
    assert grads["l2"] < 1e-3 and grads["bce"] > 0.99 and grads["focal"] > 0.99


def test_bad_arguments() -> None:
    pred, target = _grids()
    with pytest.raises(ValueError, match="pos_weight"):
        occupancy_nll(pred, target, 1.0)
    with pytest.raises(ValueError, match="shape"):
        occupancy_nll(pred, target[:1])
    with pytest.raises(ValueError, match="unknown"):
        training_reconstruction_loss(pred, target, "l1")
    assert training_reconstruction_loss(pred, target, "l2") == reconstruction_loss(pred, target)
