from __future__ import annotations

import numpy as np
import pytest
import torch
from pytorch_msssim import ssim as reference_ssim

from gan3d.losses.ssim import ssim_loss
from gan3d.metrics.ssim3d import ssim3d
from tests.reference import ssim3d_direct


def _pair(size: int, seed: int) -> tuple[torch.Tensor, torch.Tensor]:
    gen = torch.Generator().manual_seed(seed)
    target = (torch.rand(3, 1, size, size, size, generator=gen) > 0.6).float()
    pred = (target * 0.7 + 0.3 * torch.rand(3, 1, size, size, size, generator=gen)).clamp(0, 1)
    return pred, target


@pytest.mark.parametrize("size", [11, 16, 32])
def test_agrees_with_pytorch_msssim(size: int) -> None:
    pred, target = _pair(size, size)
    theirs = reference_ssim(
        pred, target, data_range=1.0, size_average=False, win_size=11, win_sigma=1.5, K=(0.01, 0.03)
    )
    torch.testing.assert_close(ssim3d(pred, target), theirs, atol=1e-5, rtol=0)


def test_matches_the_windowed_definition() -> None:
    pred, target = _pair(13, 5)
    direct = ssim3d_direct(pred[0, 0].double().numpy(), target[0, 0].double().numpy())
    assert ssim3d(pred, target)[0].item() == pytest.approx(direct, abs=1e-5)


def test_identity_and_window_clipping() -> None:
    _, target = _pair(16, 2)
    torch.testing.assert_close(ssim3d(target, target), torch.ones(3))
    small = torch.rand(2, 1, 6, 6, 6)
    assert torch.isfinite(ssim3d(small, (small > 0.5).float())).all()  # grid smaller than the window


def test_loss_is_one_minus_ssim_and_differentiable() -> None:
    pred, target = _pair(16, 3)
    pred.requires_grad_(True)
    loss = ssim_loss(pred, target)
    torch.testing.assert_close(loss.detach(), 1 - ssim3d(pred.detach(), target).mean())
    loss.backward()
    assert pred.grad is not None and torch.isfinite(pred.grad).all() and pred.grad.abs().sum() > 0
    # gradient descent on the loss moves the prediction towards the target
    with torch.no_grad():
        better = (pred - 50.0 * pred.grad).clamp(0, 1)
    assert ssim_loss(better, target) < loss.detach()
    assert np.isfinite(loss.item())
