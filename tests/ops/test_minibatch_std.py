"""The minibatch standard deviation channel against a brute-force reference."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from gan3d.ops.minibatch_std import EPS, append_minibatch_std


@pytest.mark.parametrize("shape", [(5, 3, 4, 4), (4, 2, 3, 3, 3)])
def test_the_extra_channel_is_the_mean_over_features_of_the_per_feature_population_std(shape: tuple) -> None:
    x = torch.randn(*shape, generator=torch.Generator().manual_seed(0), dtype=torch.float64)
    out = append_minibatch_std(x)
    assert out.shape == (shape[0], shape[1] + 1, *shape[2:])
    torch.testing.assert_close(out[:, : shape[1]], x)  # the features pass through
    a = x.numpy().reshape(shape[0], -1)
    mean = a.sum(0) / len(a)
    expected = np.mean([np.sqrt(((a[:, j] - mean[j]) ** 2).sum() / len(a) + EPS) for j in range(a.shape[1])])
    torch.testing.assert_close(out[:, shape[1]], torch.full_like(out[:, shape[1]], float(expected)))


def test_copies_and_a_batch_of_one_have_no_spread_and_finite_gradients() -> None:
    """Copies (an untrained G's identical empty binary grids) must not give D NaN gradients."""
    x = torch.randn(1, 2, 4, 4, 4, generator=torch.Generator().manual_seed(1))
    for batch in (x, x.expand(3, -1, -1, -1, -1)):
        batch = batch.clone().requires_grad_(True)
        out = append_minibatch_std(batch)
        torch.testing.assert_close(out[:, 2], torch.full((len(batch), 4, 4, 4), EPS**0.5))
        out.sum().backward()
        assert torch.isfinite(batch.grad).all()
