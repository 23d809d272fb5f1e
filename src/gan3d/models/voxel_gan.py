"""3D-GAN's generator and discriminator (Wu et al. 2016; the paper's §2.1-2.2, §2.6.3, §2.6.8)."""

from __future__ import annotations

import torch
from torch import nn

from gan3d.errors import ConfigError
from gan3d.models.conditioning import LabelConditioning
from gan3d.ops.minibatch_std import append_minibatch_std

# normalisation of the discriminator's hidden layers:
# - "batch": BatchNorm, the paper's D (§2.2). In training mode it normalises each batch by its own
#   statistics, and D sees all-real and all-fake batches separately, so a batch's mean response carries
#   almost nothing about whether it is real: the D-accuracy collapse of issue 10 (see README, 3D-GAN recipes).
# - "none": plain convolutions (DCGAN-style D without BN; what R1 and WGAN-GP assume: per-sample outputs).
# - "spectral": spectral normalisation of every conv (Miyato et al. 2018), no BN.
# - "layer": per-sample normalisation over (C, D, H, W) (GroupNorm with one group), the WGAN-GP critic's
#   choice (Gulrajani et al. 2017) since its penalty is per sample.
D_NORMS = ("batch", "none", "spectral", "layer")

# channels per layer in units of `base_channels` (§2.2, following Wu et al.: 512, 256, 128, 64 at 64^3);
# 64^3 has five layers, 32^3 one fewer
_WIDTHS = {64: (8, 4, 2, 1), 32: (4, 2, 1)}


def _channels(resolution: int, base_channels: int) -> tuple[int, ...]:
    if resolution not in _WIDTHS:
        raise ConfigError(f"resolution must be 32 or 64, got {resolution}")
    return tuple(w * base_channels for w in _WIDTHS[resolution])


class VoxelGenerator(nn.Module):
    """Latent vector -> occupancy probabilities, (N, latent_dim) -> (N, 1, R, R, R).

    `ConvTranspose3d` layers with kernel 4, stride 2 (the first stride 1, from 1^3 to 4^3), BatchNorm +
    ReLU between, sigmoid at the end (§2.2): five layers for 64^3, four for 32^3.

    Args:
        latent_dim: size of z (200, §2.1).
        resolution: 32 or 64.
        dropout: Dropout3d after every layer from the first to the second-to-last (§2.6.3): 0.2 on
            the first and 0.1 after when True.
        num_classes: > 0 makes the generator class-conditional (§2.6.8).
        logits: return pre-sigmoid values (for BCE-with-logits) instead of probabilities.
        base_channels: width of the last hidden layer (64 in the paper; smaller for quick experiments).
    """

    def __init__(
        self,
        latent_dim: int = 200,
        resolution: int = 64,
        dropout: bool = False,
        num_classes: int = 0,
        logits: bool = False,
        base_channels: int = 64,
    ) -> None:
        super().__init__()
        channels = _channels(resolution, base_channels)
        self.config = {
            "latent_dim": latent_dim,
            "resolution": resolution,
            "dropout": dropout,
            "num_classes": num_classes,
            "logits": logits,
            "base_channels": base_channels,
        }
        self.latent_dim, self.resolution, self.logits = latent_dim, resolution, logits
        layers: list[nn.Module] = []
        in_ch = latent_dim
        for i, out_ch in enumerate(channels):
            stride, padding = (1, 0) if i == 0 else (2, 1)
            layers += [
                nn.ConvTranspose3d(in_ch, out_ch, 4, stride, padding, bias=False),
                nn.BatchNorm3d(out_ch),
                nn.ReLU(inplace=True),
            ]
            if dropout:
                layers.append(nn.Dropout3d(0.2 if i == 0 else 0.1))
            in_ch = out_ch
        layers.append(nn.ConvTranspose3d(in_ch, 1, 4, 2, 1))
        self.net = nn.Sequential(*layers)
        self.condition = LabelConditioning(num_classes, latent_dim) if num_classes > 0 else None

    def forward(self, latent: torch.Tensor, labels: torch.Tensor | None = None) -> torch.Tensor:
        if latent.ndim != 2 or latent.shape[1] != self.latent_dim:
            raise ConfigError(f"latent must have shape (N, {self.latent_dim}), got {tuple(latent.shape)}")
        if self.condition is not None:
            if labels is None:
                raise ConfigError("this generator is class-conditional: pass labels")
            latent = self.condition(latent, labels)
        out = self.net(latent.view(*latent.shape, 1, 1, 1))
        return out if self.logits else torch.sigmoid(out)


def _d_conv(conv: nn.Conv3d, norm: str) -> nn.Module:
    return nn.utils.parametrizations.spectral_norm(conv) if norm == "spectral" else conv


class VoxelDiscriminator(nn.Module):
    """Occupancy grid -> probability of being real, (N, 1, R, R, R) -> (N,).

    The generator's mirror (§2.2): `Conv3d` kernel 4, stride 2 (the last stride 1 down to 1^3),
    BatchNorm + LeakyReLU(0.2) between, sigmoid at the end (or raw logits with `logits=True`, for
    numerically safe BCE-with-logits and WGAN-style critics).

    Args:
        resolution: 32 or 64.
        dropout: Dropout3d after every layer from the first to the second-to-last: 0.6 on the first,
            0.4 after (§2.6.3).
        num_classes: > 0 conditions on the class by a pointwise product with the input grid (§2.6.8).
        logits: return logits instead of probabilities.
        base_channels: width of the first layer (64 in the paper).
        norm: hidden-layer normalisation, one of `D_NORMS` ("batch" is the paper's; see `D_NORMS`).
        minibatch_std: the last layer also reads the batch's spread (`gan3d.ops.minibatch_std`, ProGAN),
            so a generator whose samples are near copies of one another is told apart from a varied real
            batch even though every other feature is per sample.
    """

    def __init__(
        self,
        resolution: int = 64,
        dropout: bool = False,
        num_classes: int = 0,
        logits: bool = False,
        base_channels: int = 64,
        norm: str = "batch",
        minibatch_std: bool = False,
    ) -> None:
        super().__init__()
        if norm not in D_NORMS:
            raise ConfigError(f"discriminator norm must be one of {', '.join(D_NORMS)}, got {norm!r}")
        channels = tuple(reversed(_channels(resolution, base_channels)))
        self.config = {
            "resolution": resolution,
            "dropout": dropout,
            "num_classes": num_classes,
            "logits": logits,
            "base_channels": base_channels,
            "norm": norm,
            "minibatch_std": minibatch_std,
        }
        self.resolution, self.logits, self.minibatch_std = resolution, logits, minibatch_std
        layers: list[nn.Module] = []
        in_ch = 1
        for i, out_ch in enumerate(channels):
            layers.append(_d_conv(nn.Conv3d(in_ch, out_ch, 4, 2, 1, bias=norm not in ("batch", "layer")), norm))
            if norm == "batch":
                layers.append(nn.BatchNorm3d(out_ch))
            elif norm == "layer":
                layers.append(nn.GroupNorm(1, out_ch))
            layers.append(nn.LeakyReLU(0.2, inplace=True))
            if dropout:
                layers.append(nn.Dropout3d(0.6 if i == 0 else 0.4))
            in_ch = out_ch
        layers.append(_d_conv(nn.Conv3d(in_ch + int(minibatch_std), 1, 4, 1, 0), norm))
        self.net = nn.Sequential(*layers)
        self.condition = LabelConditioning(num_classes, resolution**3) if num_classes > 0 else None

    def features(self, voxels: torch.Tensor) -> list[torch.Tensor]:
        """Activations after each conv block (for the representation-learning classifier of 3D-GAN)."""
        out, feats = voxels, []
        for layer in self.net[:-1]:
            out = layer(out)
            if isinstance(layer, nn.LeakyReLU):
                feats.append(out)
        return feats

    def forward(self, voxels: torch.Tensor, labels: torch.Tensor | None = None) -> torch.Tensor:
        r = self.resolution
        if voxels.ndim != 5 or tuple(voxels.shape[1:]) != (1, r, r, r):
            raise ConfigError(f"voxels must have shape (N, 1, {r}, {r}, {r}), got {tuple(voxels.shape)}")
        if self.condition is not None:
            if labels is None:
                raise ConfigError("this discriminator is class-conditional: pass labels")
            voxels = self.condition(voxels, labels)
        if self.minibatch_std:
            out = self.net[-1](append_minibatch_std(self.net[:-1](voxels))).view(-1)
        else:
            out = self.net(voxels).view(-1)
        return out if self.logits else torch.sigmoid(out)
