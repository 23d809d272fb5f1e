"""Minibatch standard deviation (ProGAN, Karras et al. 2018): one extra feature channel that holds a
batch's spread, so a discriminator scoring samples one by one can still tell a batch of near-identical
generated samples from a varied real batch. Shared by the voxel D and the DIB-R render critic."""

from __future__ import annotations

import torch

# added to the variance before the square root, as ProGAN does: at zero spread (a batch of copies, e.g.
# the identical all-empty binary grids of an untrained G) the square root's gradient is infinite and
# would turn D's weights to NaN
EPS = 1e-8


def append_minibatch_std(features: torch.Tensor) -> torch.Tensor:
    """Append the batch's spread as one more channel: (N, C, *spatial) -> (N, C + 1, *spatial).

    The spread is sqrt(population variance over the batch + EPS) of every feature (channel and
    position), averaged to one scalar and broadcast to every sample and position. A batch of one, like
    a batch of copies, has no spread: sqrt(EPS).
    """
    if len(features) > 1:
        variance = features.var(0, correction=0)
    else:
        variance = torch.zeros_like(features[0])
    spread = torch.sqrt(variance + EPS).mean()
    return torch.cat([features, spread.expand(len(features), 1, *features.shape[2:])], dim=1)
