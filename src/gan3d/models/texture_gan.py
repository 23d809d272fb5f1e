"""DIB-R's texture GAN (the paper's §3.4): textured meshes from noise.

G1 takes a noise vector of 128 through 8 fully connected layers to an offset for every vertex of the
icosphere template (the §3.3 predictor's template, so its UV atlas too); the activations of G1's 5th
layer, concatenated with a second noise vector of 128, go to G2: 7 convolutional layers (6 of them
after a ×2 upsampling) to a T × T texture map (T = 256 in the paper; 64 at CPU size). The two critics
are `RenderCritic`s with 4 convolutional layers: D1 on 64² renders of the generated meshes, D2 on
texture maps, whose real examples are the textures the §3.3 network predicts for real images
(`training.texture_gan_module`).
"""

from __future__ import annotations

from typing import Any

import torch
from torch import nn

from gan3d.errors import ConfigError
from gan3d.models.dibr_net import DibrPrediction, TemplateMesh
from gan3d.registry import register_model

G1_LAYERS = 8  # §3.4: "8 fully connected layers"
G1_TAP = 5  # §3.4: "the fifth layer activations are then used to predict textures"
G2_CONVS = 7  # §3.4: "7 convolutional layers"
LEAKY_SLOPE = 0.2


class TextureGanGenerator(TemplateMesh):
    """(z (B, noise_dim), z_texture (B, texture_noise_dim)) → `DibrPrediction` with verts (B, V, 3) and a
    texture (B, 3, T, T) in [0, 1].

    Args:
        template_level: icosphere subdivisions of the template (3: 642 vertices).
        noise_dim, texture_noise_dim: the two noise widths (§3.4: 128 each).
        width: width of G1's hidden layers.
        texture_size: T, a power of two ≥ 64 (G2 upsamples 6 times from T / 64).
        texture_channels: channels of G2's first convolution (halved at each upsampling, at least 32).
        max_offset: offsets are `max_offset · tanh(·)` (world units).
    """

    def __init__(
        self,
        template_level: int = 3,
        noise_dim: int = 128,
        texture_noise_dim: int = 128,
        width: int = 512,
        texture_size: int = 64,
        texture_channels: int = 256,
        max_offset: float = 0.8,
    ) -> None:
        super().__init__()
        self.config = {
            "template_level": template_level,
            "noise_dim": noise_dim,
            "texture_noise_dim": texture_noise_dim,
            "width": width,
            "texture_size": texture_size,
            "texture_channels": texture_channels,
            "max_offset": max_offset,
        }  # the builder's arguments, for exports
        if texture_size < 64 or texture_size & (texture_size - 1):
            raise ConfigError(f"texture_size must be a power of two >= 64, got {texture_size}")
        self._register_template(template_level)
        self.noise_dim, self.texture_noise_dim, self.max_offset = noise_dim, texture_noise_dim, max_offset
        n_verts = len(self.template)
        widths = [noise_dim] + [width] * (G1_LAYERS - 1)
        self.g1 = nn.ModuleList(nn.Linear(a, b) for a, b in zip(widths, widths[1:], strict=False))  # 7 hidden
        for layer in self.g1:
            # He initialisation for LeakyReLU(0.2): with PyTorch's default (a = sqrt(5), variance / 3 per
            # layer) z's share of the activations falls ~340x over the 7 layers, so every z gave the same
            # shape from the first step (measured: std over z 0.37 after layer 1, 0.001 after layer 7)
            nn.init.kaiming_normal_(layer.weight, a=LEAKY_SLOPE, nonlinearity="leaky_relu")
            nn.init.zeros_(layer.bias)
        self.g1_out = nn.Linear(width, n_verts * 3)  # the 8th
        nn.init.zeros_(self.g1_out.weight)  # start at the template
        nn.init.zeros_(self.g1_out.bias)
        start = texture_size // 2 ** (G2_CONVS - 1)
        self.g2_in = nn.Sequential(
            nn.Linear(width + texture_noise_dim, texture_channels * start * start),
            nn.Unflatten(1, (texture_channels, start, start)),
            nn.LeakyReLU(LEAKY_SLOPE),
        )
        layers: list[nn.Module] = []
        channels = texture_channels
        for _ in range(G2_CONVS - 1):
            out = max(channels // 2, 32)
            layers += [
                nn.Upsample(scale_factor=2, mode="nearest"),
                nn.Conv2d(channels, out, 3, padding=1),
                nn.BatchNorm2d(out),
                nn.LeakyReLU(LEAKY_SLOPE),
            ]
            channels = out
        layers.append(nn.Conv2d(channels, 3, 3, padding=1))
        self.g2 = nn.Sequential(*layers)

    def forward(self, z: torch.Tensor, z_texture: torch.Tensor) -> DibrPrediction:
        if z.ndim != 2 or z.shape[1] != self.noise_dim or z_texture.shape != (len(z), self.texture_noise_dim):
            raise ConfigError(
                f"TextureGanGenerator expects z (B, {self.noise_dim}) and z_texture (B, {self.texture_noise_dim}), "
                f"got {tuple(z.shape)} and {tuple(z_texture.shape)}"
            )
        x, tap = z, z
        for index, layer in enumerate(self.g1, start=1):
            x = torch.nn.functional.leaky_relu(layer(x), LEAKY_SLOPE)
            if index == G1_TAP:
                tap = x
        offsets = self.max_offset * torch.tanh(self.g1_out(x).view(len(z), -1, 3))
        texture = torch.sigmoid(self.g2(self.g2_in(torch.cat([tap, z_texture], dim=1))))
        return DibrPrediction(self.template + offsets, texture=texture)

    def noise(self, n: int, generator: torch.Generator | None = None) -> tuple[torch.Tensor, torch.Tensor]:
        """Standard normal (z, z_texture) for n samples, on the generator's device."""
        device = self.template.device
        z = torch.randn(n, self.noise_dim, generator=generator, device=device)
        return z, torch.randn(n, self.texture_noise_dim, generator=generator, device=device)


class ShapeCritic(nn.Module):
    """A WGAN-GP critic on template deformations: vertex offsets (B, V, 3) from the shared icosphere
    template → a score (B,). The template fixes the vertex order, so a plain MLP reads a shape; no
    normalisation (the gradient penalty is per sample).

    Not part of §3.4: the texture GAN's optional third critic (`TextureGanModule(shape_weight=...)`),
    which judges G1's shapes against the §3.3 predictor's, as §3.4's D2 judges G2's textures against
    its textures.
    """

    def __init__(self, n_verts: int, width: int = 512) -> None:
        super().__init__()
        self.net = nn.Sequential(
            nn.Flatten(),
            nn.Linear(n_verts * 3, width),
            nn.LeakyReLU(LEAKY_SLOPE),
            nn.Linear(width, width // 2),
            nn.LeakyReLU(LEAKY_SLOPE),
            nn.Linear(width // 2, 1),
        )

    def forward(self, offsets: torch.Tensor) -> torch.Tensor:
        return self.net(offsets)[:, 0]


@register_model
def texture_gan_64(**overrides: Any) -> TextureGanGenerator:
    """§3.4's generator at CPU size: 642-vertex template, 64² textures (paper: `texture_size: 256`)."""
    return TextureGanGenerator(**{"texture_size": 64, **overrides})
