"""PIFuHD's normal-map network (§4.4): an image → its front and back surface normal maps.

pix2pixHD's global generator (Wang et al. 2018), as PIFuHD uses it: a 7×7 convolution, `n_down`
stride-2 convolutions doubling the width, `n_blocks` residual blocks, `n_down` transposed convolutions
back up, and a 7×7 convolution to 6 channels: the front (0-2) and back (3-5) normals in the camera's
frame (x right, y down, z forward; `gan3d.render.normal_maps`), each normalised to unit length. Input:
RGB (B, 3, S, S) in [0, 1]; output (B, 6, S, S). Instance normalisation as pix2pixHD.
"""

from __future__ import annotations

from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from gan3d.registry import register_model


class ResidualBlock(nn.Module):
    """Two 3×3 convolutions with reflection padding and instance norm, plus the input (pix2pixHD)."""

    def __init__(self, channels: int) -> None:
        super().__init__()
        self.body = nn.Sequential(
            nn.ReflectionPad2d(1),
            nn.Conv2d(channels, channels, 3),
            nn.InstanceNorm2d(channels),
            nn.ReLU(True),
            nn.ReflectionPad2d(1),
            nn.Conv2d(channels, channels, 3),
            nn.InstanceNorm2d(channels),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.body(x)


class NormalNet(nn.Module):
    """Image (B, 3, S, S) in [0, 1] → front and back unit normals (B, 6, S, S).

    Args:
        image_size: S (recorded; the network is fully convolutional; S divisible by 2**n_down).
        base_channels: width of the first convolution (pix2pixHD: 64).
        n_down: stride-2 stages (pix2pixHD's global generator: 4).
        n_blocks: residual blocks at the bottom (pix2pixHD: 9).
    """

    def __init__(self, image_size: int = 512, base_channels: int = 64, n_down: int = 4, n_blocks: int = 9) -> None:
        super().__init__()
        self.config: dict[str, Any] = {
            "image_size": image_size,
            "base_channels": base_channels,
            "n_down": n_down,
            "n_blocks": n_blocks,
        }
        self.image_size = image_size
        layers: list[nn.Module] = [
            nn.ReflectionPad2d(3),
            nn.Conv2d(3, base_channels, 7),
            nn.InstanceNorm2d(base_channels),
            nn.ReLU(True),
        ]
        width = base_channels
        for _ in range(n_down):
            layers += [nn.Conv2d(width, width * 2, 3, stride=2, padding=1), nn.InstanceNorm2d(width * 2), nn.ReLU(True)]
            width *= 2
        layers += [ResidualBlock(width) for _ in range(n_blocks)]
        for _ in range(n_down):
            layers += [
                nn.ConvTranspose2d(width, width // 2, 3, stride=2, padding=1, output_padding=1),
                nn.InstanceNorm2d(width // 2),
                nn.ReLU(True),
            ]
            width //= 2
        layers += [nn.ReflectionPad2d(3), nn.Conv2d(width, 6, 7)]
        self.net = nn.Sequential(*layers)
        self.factor = 2**n_down

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        if images.ndim != 4 or images.shape[1] != 3 or images.shape[-1] % self.factor or images.shape[-2] % self.factor:
            raise ValueError(
                f"images must be (B, 3, S, S) with S divisible by {self.factor}, got {tuple(images.shape)}"
            )
        out = self.net(images * 2 - 1)
        front, back = out[:, :3], out[:, 3:]
        return torch.cat([F.normalize(front, dim=1), F.normalize(back, dim=1)], dim=1)


class PatchCritic(nn.Module):
    """pix2pixHD's discriminator (one scale of its multi-scale PatchGAN): an image and its normal maps,
    (B, 3 + 6, S, S) (image in [-1, 1], maps as unit vectors, 0 off the object), → a score per patch
    (B, 1, S/2^n + 1, ...) and every layer's activations, for the discriminator-feature perceptual term
    (pix2pixHD's feature matching). 4×4 convolutions, `n_layers` of stride 2, instance norm after the
    first, LeakyReLU 0.2 (pix2pixHD: 64 channels, 3 layers, 3 scales)."""

    def __init__(self, in_channels: int = 9, base_channels: int = 64, n_layers: int = 3) -> None:
        super().__init__()
        blocks: list[nn.Module] = []
        channels, width = in_channels, base_channels
        for i in range(n_layers + 1):
            stride = 2 if i < n_layers else 1
            norm: nn.Module = nn.InstanceNorm2d(width) if i else nn.Identity()
            blocks.append(nn.Sequential(nn.Conv2d(channels, width, 4, stride, 2), norm, nn.LeakyReLU(0.2, True)))
            channels, width = width, min(width * 2, 512)
        self.blocks = nn.ModuleList(blocks)
        self.score = nn.Conv2d(channels, 1, 4, 1, 2)

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, list[torch.Tensor]]:
        features = []
        for block in self.blocks:
            x = block(x)
            features.append(x)
        return self.score(x), features


@register_model
def normal_net_64(**overrides: Any) -> NormalNet:
    """PIFuHD's normal network (§4.4) at CPU size: 64 px, 32 channels, 2 downsamplings, 4 residual blocks."""
    return NormalNet(**{"image_size": 64, "base_channels": 32, "n_down": 2, "n_blocks": 4, **overrides})


@register_model
def normal_net_512(**overrides: Any) -> NormalNet:
    """pix2pixHD's global generator as PIFuHD uses it: 512 px, 64 channels, 4 downsamplings, 9 blocks."""
    return NormalNet(**{"image_size": 512, **overrides})
