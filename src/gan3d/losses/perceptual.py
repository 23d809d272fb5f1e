"""The perceptual loss of DIB-R's §3.3: (1 / M) Σ_i (1 / N_i) ‖F_i(I) − F_i(Ĩ)‖₁ over the M layers i of a
feature network (a pretrained VGG16's, `gan3d.models.vgg`, or the critic's own), N_i the elements of
layer i. The paper sums over layers; the mean here puts 1 / M into λ_percep, so one weight suits feature
networks of any depth (the critic's grows with the image size)."""

from __future__ import annotations

from collections.abc import Sequence

import torch


def feature_l1(features: Sequence[torch.Tensor], targets: Sequence[torch.Tensor]) -> torch.Tensor:
    """mean over layers i of mean |f_i − t_i|, paired activations each (B, C_i, H_i, W_i); a scalar."""
    if len(features) != len(targets) or not features:
        raise ValueError(f"need the same non-zero number of layers, got {len(features)} and {len(targets)}")
    return torch.stack([(f - t).abs().mean() for f, t in zip(features, targets, strict=True)]).mean()
