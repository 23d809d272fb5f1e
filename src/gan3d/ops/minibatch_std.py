"""Minibatch standard deviation (ProGAN, Karras et al. 2018): one extra feature channel that holds a
batch's spread, so a discriminator scoring samples one by one can still tell a batch of near-identical
generated samples from a varied real batch. Shared by the voxel D and the DIB-R render critic."""

from __future__ import annotations

import torch


def append_minibatch_std(features: torch.Tensor) -> torch.Tensor:
    """Append the batch's spread as one more channel: (N, C, *spatial) -> (N, C + 1, *spatial).

    The spread is the population standard deviation over the batch of every feature (channel and
    position), averaged to one scalar and broadcast to every sample and position. A batch of one has
    no spread: 0.
    """
    if len(features) > 1:
        spread = features.std(0, correction=0).mean()
    else:
        spread = features.new_zeros(())
    return torch.cat([features, spread.expand(len(features), 1, *features.shape[2:])], dim=1)
