"""DIB-R's single-image mesh predictor (Chen et al. 2019; the paper's §3.3): image → template offsets
and per-vertex colours.

An image encoder (strided convolutions to a 4 x 4 map, then a fully connected layer) gives a latent
code; two fully connected heads turn it into an offset for every vertex of a fixed template (an
icosphere of radius 0.5 in the views' unit-sphere frame; 642 vertices at level 3, the paper's choice)
and an RGB albedo for every vertex. The mesh keeps the template's faces, so its genus is the sphere's;
it is rendered with `gan3d.render.dibr` and trained by the losses of `training.dibr_module`.
"""

from __future__ import annotations

from typing import Any

import torch
import trimesh
from torch import nn

from gan3d.errors import ConfigError
from gan3d.registry import register_model

TEMPLATE_RADIUS = 0.5


def icosphere_template(level: int) -> tuple[torch.Tensor, torch.Tensor]:
    """The template: (verts (V, 3) float32 on a sphere of radius 0.5, faces (F, 3) int64)."""
    if not 1 <= level <= 5:
        raise ConfigError(f"template level must be 1..5 (42 .. 10242 vertices), got {level}")
    sphere = trimesh.creation.icosphere(subdivisions=level)
    verts = torch.as_tensor(sphere.vertices, dtype=torch.float32) * TEMPLATE_RADIUS
    return verts, torch.as_tensor(sphere.faces, dtype=torch.int64)


class DibrNet(nn.Module):
    """Image (B, 3, S, S) in [0, 1] → (verts (B, V, 3) in the cameras' world frame, albedo (B, V, 3) in
    [0, 1]).

    Args:
        image_size: S, a power of two ≥ 16 (the encoder halves it down to 4).
        template_level: icosphere subdivisions of the template (3: 642 vertices).
        latent: width of the code between encoder and heads.
        base_channels: channels of the first convolution (doubled at each halving, at most 512).
        max_offset: offsets are `max_offset · tanh(·)`, so a vertex moves at most this far (world units).
    """

    def __init__(
        self,
        image_size: int = 64,
        template_level: int = 3,
        latent: int = 256,
        base_channels: int = 32,
        max_offset: float = 0.8,
    ) -> None:
        super().__init__()
        self.config = {
            "image_size": image_size,
            "template_level": template_level,
            "latent": latent,
            "base_channels": base_channels,
            "max_offset": max_offset,
        }  # the builder's arguments, for exports
        if image_size < 16 or image_size & (image_size - 1):
            raise ConfigError(f"image_size must be a power of two >= 16, got {image_size}")
        verts, faces = icosphere_template(template_level)
        self.register_buffer("template", verts)
        self.register_buffer("faces", faces)
        self.image_size, self.max_offset = image_size, max_offset
        layers: list[nn.Module] = []
        channels, size = 3, image_size
        width = base_channels
        while size > 4:
            layers += [nn.Conv2d(channels, width, 4, 2, 1), nn.GroupNorm(min(8, width), width), nn.LeakyReLU(0.2)]
            channels, width, size = width, min(width * 2, 512), size // 2
        self.encoder = nn.Sequential(*layers, nn.Flatten(), nn.Linear(channels * 16, latent), nn.ReLU())
        n_verts = len(verts)
        self.offset_head = nn.Sequential(nn.Linear(latent, 512), nn.ReLU(), nn.Linear(512, n_verts * 3))
        self.color_head = nn.Sequential(nn.Linear(latent, 512), nn.ReLU(), nn.Linear(512, n_verts * 3))
        for head in (self.offset_head, self.color_head):  # start at the template, grey
            nn.init.zeros_(head[-1].weight)
            nn.init.zeros_(head[-1].bias)

    def forward(self, images: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        if images.ndim != 4 or images.shape[1] != 3 or images.shape[-2:] != (self.image_size, self.image_size):
            raise ConfigError(
                f"DibrNet expects images (B, 3, {self.image_size}, {self.image_size}), got {tuple(images.shape)}"
            )
        code = self.encoder(images * 2.0 - 1.0)
        batch = len(images)
        offsets = self.max_offset * torch.tanh(self.offset_head(code).view(batch, -1, 3))
        albedo = torch.sigmoid(self.color_head(code).view(batch, -1, 3))
        return self.template + offsets, albedo


@register_model
def dibr_net_64(**overrides: Any) -> DibrNet:
    """DIB-R's predictor (§3.3) on 64 px images, 642-vertex template: the CPU size."""
    return DibrNet(**{"image_size": 64, **overrides})


@register_model
def dibr_net_128(**overrides: Any) -> DibrNet:
    """The same on 128 px images (the paper trains at 256 px on a GPU; `image_size: 256` overrides)."""
    return DibrNet(**{"image_size": 128, **overrides})


class RenderCritic(nn.Module):
    """The WGAN-GP critic of §3.3's adversarial loss: an RGB render (B, 3, S, S) in [0, 1] → a score (B,)
    and the activations of each block (for the critic-feature perceptual loss).

    Strided convolutions down to 4 × 4 with LeakyReLU and no normalisation (WGAN-GP's gradient penalty
    is per sample, which batch statistics would break), then a linear score.
    """

    def __init__(self, image_size: int = 64, base_channels: int = 32) -> None:
        super().__init__()
        if image_size < 16 or image_size & (image_size - 1):
            raise ConfigError(f"image_size must be a power of two >= 16, got {image_size}")
        blocks: list[nn.Module] = []
        channels, width, size = 3, base_channels, image_size
        while size > 4:
            blocks.append(nn.Sequential(nn.Conv2d(channels, width, 4, 2, 1), nn.LeakyReLU(0.2)))
            channels, width, size = width, min(width * 2, 512), size // 2
        self.blocks = nn.ModuleList(blocks)
        self.score = nn.Linear(channels * 16, 1)

    def forward(self, images: torch.Tensor) -> tuple[torch.Tensor, list[torch.Tensor]]:
        features, x = [], images * 2.0 - 1.0
        for block in self.blocks:
            x = block(x)
            features.append(x)
        return self.score(x.flatten(1))[:, 0], features
