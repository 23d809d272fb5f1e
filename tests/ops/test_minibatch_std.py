"""The minibatch standard deviation channel against a brute-force reference."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from gan3d.ops.minibatch_std import append_minibatch_std


@pytest.mark.parametrize("shape", [(5, 3, 4, 4), (4, 2, 3, 3, 3)])
def test_the_extra_channel_is_the_mean_over_features_of_the_per_feature_population_std(shape: tuple) -> None:
    x = torch.randn(*shape, generator=torch.Generator().manual_seed(0), dtype=torch.float64)
    out = append_minibatch_std(x)
    assert out.shape == (shape[0], shape[1] + 1, *shape[2:])
    torch.testing.assert_close(out[:, : shape[1]], x)  # the features pass through
    a = x.numpy().reshape(shape[0], -1)
    mean = a.sum(0) / len(a)
    expected = np.mean([np.sqrt(((a[:, j] - mean[j]) ** 2).sum() / len(a)) for j in range(a.shape[1])])
    torch.testing.assert_close(out[:, shape[1]], torch.full_like(out[:, shape[1]], float(expected)))


def test_copies_and_a_batch_of_one_have_no_spread() -> None:
    x = torch.randn(1, 2, 4, 4, 4, generator=torch.Generator().manual_seed(1))
    for batch in (x, x.expand(3, -1, -1, -1, -1)):
        assert torch.equal(append_minibatch_std(batch)[:, 2], torch.zeros(len(batch), 4, 4, 4))
