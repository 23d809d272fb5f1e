"""DIB-R's single-image mesh predictor (Chen et al. 2019; the paper's §3.3): image → template offsets
and colours.

An image encoder (strided convolutions to a 4 x 4 map, then a fully connected layer) gives a latent
code; fully connected heads turn it into an offset for every vertex of a fixed template (an icosphere
of radius 0.5 in the views' unit-sphere frame; 642 vertices at level 3, the paper's choice) and the
colour, either

* `color="vertex"`: an RGB albedo per vertex, or
* `color="texture"`: a texture map (upsampling convolutions from the code) sampled through the
  template's UV atlas (`gan3d.ops.sphere_uv`), DIB-R's texture variant;

and, with `light="sh"`, 9 spherical-harmonics light coefficients per image (DIB-R's SH lighting, in the
viewing camera's frame) instead of the fixed head light. The mesh keeps the template's faces, so its
genus is the sphere's; it is rendered with `gan3d.render.headlit` (`DibrNet.render`) and trained by the
losses of `training.dibr_module`.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
import torch
import trimesh
from torch import nn

from gan3d.errors import ConfigError
from gan3d.ops.minibatch_std import append_minibatch_std
from gan3d.ops.sphere_uv import spherical_uv_atlas
from gan3d.registry import register_model
from gan3d.render.dibr import DibrSettings
from gan3d.render.headlit import render_headlit, render_headlit_textured
from gan3d.render.lighting import sh_basis
from gan3d.structures.cameras import Cameras
from gan3d.structures.mesh import Mesh

TEMPLATE_RADIUS = 0.5
HEAD_LIGHT_SH = 0.8  # the SH head's starting irradiance (band 0 only): about the head light's mean
ColorMode = Literal["vertex", "texture"]
LightMode = Literal["none", "sh"]


@dataclass(frozen=True)
class DibrPrediction:
    """What `DibrNet` predicts for B images.

    Attributes:
        verts: (B, V, 3) template vertices moved, in the cameras' world frame.
        albedo: (B, V, 3) in [0, 1] (`color="vertex"`), else None.
        texture: (B, 3, T, T) in [0, 1], row 0 at the top (`color="texture"`), else None.
        light: (B, 9) SH coefficients in the viewing camera's frame (`light="sh"`), else None (head light).
    """

    verts: torch.Tensor
    albedo: torch.Tensor | None = None
    texture: torch.Tensor | None = None
    light: torch.Tensor | None = None

    def repeat_views(self, views: int) -> DibrPrediction:
        """Each object's prediction `views` times in a row: batch B → B · views (to render B × views)."""
        rep = lambda x: None if x is None else x.repeat_interleave(views, dim=0)  # noqa: E731
        return DibrPrediction(rep(self.verts), rep(self.albedo), rep(self.texture), rep(self.light))  # type: ignore[arg-type]

    def float(self) -> DibrPrediction:
        """The same in float32 (the renderer's precision under any autocast)."""
        f = lambda x: None if x is None else x.float()  # noqa: E731
        return DibrPrediction(self.verts.float(), f(self.albedo), f(self.texture), f(self.light))


def icosphere_template(level: int) -> tuple[torch.Tensor, torch.Tensor]:
    """The template: (verts (V, 3) float32 on a sphere of radius 0.5, faces (F, 3) int64)."""
    if not 1 <= level <= 5:
        raise ConfigError(f"template level must be 1..5 (42 .. 10242 vertices), got {level}")
    sphere = trimesh.creation.icosphere(subdivisions=level)
    verts = torch.as_tensor(sphere.vertices, dtype=torch.float32) * TEMPLATE_RADIUS
    return verts, torch.as_tensor(sphere.faces, dtype=torch.int64)


class TemplateMesh(nn.Module):
    """A network whose output deforms the icosphere template: its buffers (template verts (V, 3), faces
    (F, 3), the UV atlas: uv_source (V',), uvs (V', 2), uv_faces (F, 3)) and how a `DibrPrediction` of it
    is rendered and exported. Shared by the §3.3 predictor and the §3.4 texture GAN's generator."""

    def _register_template(self, level: int) -> None:
        verts, faces = icosphere_template(level)
        self.register_buffer("template", verts)
        self.register_buffer("faces", faces)
        source, uvs, uv_faces = spherical_uv_atlas(verts, faces)
        self.register_buffer("uv_source", source, persistent=False)  # rebuilt from the template level
        self.register_buffer("uvs", uvs, persistent=False)
        self.register_buffer("uv_faces", uv_faces, persistent=False)

    def render(
        self, prediction: DibrPrediction, cameras: Cameras, settings: DibrSettings
    ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """Render N predicted meshes, mesh n through camera n (`cameras` batch shape (N,)):
        (colour (N, H, W, 3) on white, soft silhouette (N, H, W), hard mask (N, H, W))."""
        if prediction.texture is None:
            assert prediction.albedo is not None
            return render_headlit(prediction.verts, self.faces, prediction.albedo, cameras, settings, prediction.light)
        verts = prediction.verts[:, self.uv_source]  # seam vertices duplicated
        return render_headlit_textured(
            verts, self.uv_faces, self.uvs, prediction.texture, cameras, settings, prediction.light
        )

    def to_mesh(self, prediction: DibrPrediction, index: int = 0) -> Mesh:
        """Object `index` of a prediction as a `Mesh` (vertex colours, or UVs + texture with the seam's
        vertices duplicated), in the cameras' world frame. Lighting is not part of a mesh."""
        verts = prediction.verts[index].detach().cpu().double()
        if prediction.texture is None:
            assert prediction.albedo is not None
            colours = prediction.albedo[index].detach().cpu().float().numpy()
            return Mesh(verts.numpy(), self.faces.cpu().numpy(), vertex_colors=colours)
        image = prediction.texture[index].detach().cpu().float().clamp(0, 1).permute(1, 2, 0).numpy()
        return Mesh(
            verts[self.uv_source.cpu()].numpy(),
            self.uv_faces.cpu().numpy(),
            uvs=self.uvs.cpu().numpy(),
            texture=np.round(image * 255).astype(np.uint8),
        )


class DibrNet(TemplateMesh):
    """Image (B, 3, S, S) in [0, 1] → `DibrPrediction`: verts (B, V, 3) in the cameras' world frame, and
    the albedo per vertex or a texture map, and an optional SH light.

    Args:
        image_size: S, a power of two ≥ 16 (the encoder halves it down to 4).
        template_level: icosphere subdivisions of the template (3: 642 vertices).
        latent: width of the code between encoder and heads.
        base_channels: channels of the first convolution (doubled at each halving, at most 512).
        max_offset: offsets are `max_offset · tanh(·)`, so a vertex moves at most this far (world units).
        color: "vertex" (albedo per vertex) or "texture" (a texture map through the template's UVs).
        texture_size: T of the texture map, a power of two ≥ 8 (CPU: 64; DIB-R: 256 or 512).
        light: "none" (the built-in views' head light) or "sh" (9 predicted SH coefficients).
    """

    def __init__(
        self,
        image_size: int = 64,
        template_level: int = 3,
        latent: int = 256,
        base_channels: int = 32,
        max_offset: float = 0.8,
        color: ColorMode = "vertex",
        texture_size: int = 64,
        light: LightMode = "none",
    ) -> None:
        super().__init__()
        self.config = {
            "image_size": image_size,
            "template_level": template_level,
            "latent": latent,
            "base_channels": base_channels,
            "max_offset": max_offset,
            "color": color,
            "texture_size": texture_size,
            "light": light,
        }  # the builder's arguments, for exports
        if image_size < 16 or image_size & (image_size - 1):
            raise ConfigError(f"image_size must be a power of two >= 16, got {image_size}")
        if color not in ("vertex", "texture") or light not in ("none", "sh"):
            raise ConfigError(f"color must be vertex|texture and light none|sh; got {color!r}, {light!r}")
        if texture_size < 8 or texture_size & (texture_size - 1):
            raise ConfigError(f"texture_size must be a power of two >= 8, got {texture_size}")
        self._register_template(template_level)
        self.image_size, self.max_offset, self.color, self.light = image_size, max_offset, color, light
        layers: list[nn.Module] = []
        channels, size = 3, image_size
        width = base_channels
        while size > 4:
            layers += [nn.Conv2d(channels, width, 4, 2, 1), nn.GroupNorm(min(8, width), width), nn.LeakyReLU(0.2)]
            channels, width, size = width, min(width * 2, 512), size // 2
        self.encoder = nn.Sequential(*layers, nn.Flatten(), nn.Linear(channels * 16, latent), nn.ReLU())
        n_verts = len(self.template)
        self.offset_head = nn.Sequential(nn.Linear(latent, 512), nn.ReLU(), nn.Linear(512, n_verts * 3))
        if color == "vertex":
            self.color_head: nn.Module = nn.Sequential(nn.Linear(latent, 512), nn.ReLU(), nn.Linear(512, n_verts * 3))
        else:
            self.color_head = texture_decoder(latent, texture_size)
        self.light_head = nn.Linear(latent, 9) if light == "sh" else None
        for head in (self.offset_head, self.color_head):  # start at the template, grey
            last = [m for m in head.modules() if isinstance(m, (nn.Linear, nn.Conv2d))][-1]
            nn.init.zeros_(last.weight)
            nn.init.zeros_(last.bias)
        if self.light_head is not None:  # start at a uniform light of about the head light's brightness
            nn.init.zeros_(self.light_head.weight)
            with torch.no_grad():
                self.light_head.bias.zero_()
                self.light_head.bias[0] = HEAD_LIGHT_SH / float(sh_basis(torch.tensor([0.0, 0.0, 1.0]))[0])

    def forward(self, images: torch.Tensor) -> DibrPrediction:
        """Images (B, 3, S, S) in [0, 1] → `DibrPrediction` of B meshes."""
        if images.ndim != 4 or images.shape[1] != 3 or images.shape[-2:] != (self.image_size, self.image_size):
            raise ConfigError(
                f"DibrNet expects images (B, 3, {self.image_size}, {self.image_size}), got {tuple(images.shape)}"
            )
        code = self.encoder(images * 2.0 - 1.0)
        batch = len(images)
        offsets = self.max_offset * torch.tanh(self.offset_head(code).view(batch, -1, 3))
        colour = torch.sigmoid(self.color_head(code))
        light = self.light_head(code) if self.light_head is not None else None
        if self.color == "vertex":
            return DibrPrediction(self.template + offsets, albedo=colour.view(batch, -1, 3), light=light)
        return DibrPrediction(self.template + offsets, texture=colour, light=light)

    def template_prediction(self, batch: int = 1) -> DibrPrediction:
        """The baseline: the template moved by nothing, mid-grey, under the starting light."""
        verts = self.template[None].expand(batch, -1, -1)
        light = None
        if self.light_head is not None:
            light = self.light_head.bias.detach()[None].expand(batch, -1)
        if self.color == "vertex":
            return DibrPrediction(verts, albedo=torch.full_like(verts, 0.5), light=light)
        size = self.config["texture_size"]
        return DibrPrediction(verts, texture=verts.new_full((batch, 3, size, size), 0.5), light=light)


def texture_decoder(latent: int, size: int, width: int = 256) -> nn.Sequential:
    """Code (B, latent) → texture logits (B, 3, size, size): a linear layer to 4 × 4, then ×2 nearest
    upsampling + 3 × 3 convolution + GroupNorm + LeakyReLU until `size`, then a 3 × 3 convolution to RGB."""
    layers: list[nn.Module] = [nn.Linear(latent, width * 16), nn.Unflatten(1, (width, 4, 4)), nn.LeakyReLU(0.2)]
    channels, current = width, 4
    while current < size:
        out = max(channels // 2, 32)
        layers += [
            nn.Upsample(scale_factor=2, mode="nearest"),
            nn.Conv2d(channels, out, 3, padding=1),
            nn.GroupNorm(min(8, out), out),
            nn.LeakyReLU(0.2),
        ]
        channels, current = out, current * 2
    layers.append(nn.Conv2d(channels, 3, 3, padding=1))
    return nn.Sequential(*layers)


@register_model
def dibr_net_64(**overrides: Any) -> DibrNet:
    """DIB-R's predictor (§3.3) on 64 px images, 642-vertex template: the CPU size."""
    return DibrNet(**{"image_size": 64, **overrides})


@register_model
def dibr_net_128(**overrides: Any) -> DibrNet:
    """The same on 128 px images (the paper trains at 256 px on a GPU; `image_size: 256` overrides)."""
    return DibrNet(**{"image_size": 128, **overrides})


@register_model
def dibr_net_texture_64(**overrides: Any) -> DibrNet:
    """DIB-R's texture variant (§3.3) on 64 px images: a 64² texture map through the template's UVs
    (paper size: `image_size: 256, texture_size: 256` or 512)."""
    return DibrNet(**{"image_size": 64, "color": "texture", "texture_size": 64, **overrides})


class RenderCritic(nn.Module):
    """The WGAN-GP critic of §3.3's adversarial loss: an RGB render (B, 3, S, S) in [0, 1] (or RGB + alpha,
    `in_channels` 4) → a score (B,) and the activations of each block (for the critic-feature perceptual
    loss).

    Strided convolutions (`n_blocks`; default: down to 4 × 4) with LeakyReLU and no normalisation
    (WGAN-GP's gradient penalty is per sample, which batch statistics would break), then a linear score.
    With `minibatch_std` the score also reads one more channel, the batch's standard deviation of the last
    block's activations averaged to a scalar (ProGAN, Karras et al. 2018): a batch of near-identical
    samples then scores apart from a real batch, so a collapsed generator is told to spread out.
    """

    def __init__(
        self,
        image_size: int = 64,
        base_channels: int = 32,
        n_blocks: int | None = None,
        in_channels: int = 3,
        minibatch_std: bool = False,
    ) -> None:
        super().__init__()
        if image_size < 16 or image_size & (image_size - 1):
            raise ConfigError(f"image_size must be a power of two >= 16, got {image_size}")
        n_blocks = n_blocks if n_blocks is not None else int(math.log2(image_size // 4))
        if not 1 <= n_blocks <= int(math.log2(image_size)):
            raise ConfigError(f"n_blocks must be 1..{int(math.log2(image_size))} at {image_size} px, got {n_blocks}")
        blocks: list[nn.Module] = []
        channels, width, size = in_channels, base_channels, image_size
        for _ in range(n_blocks):
            blocks.append(nn.Sequential(nn.Conv2d(channels, width, 4, 2, 1), nn.LeakyReLU(0.2)))
            channels, width, size = width, min(width * 2, 512), size // 2
        self.blocks = nn.ModuleList(blocks)
        self.minibatch_std = minibatch_std
        self.score = nn.Linear((channels + int(minibatch_std)) * size * size, 1)

    def forward(self, images: torch.Tensor) -> tuple[torch.Tensor, list[torch.Tensor]]:
        features, x = [], images * 2.0 - 1.0
        for block in self.blocks:
            x = block(x)
            features.append(x)
        if self.minibatch_std:
            x = append_minibatch_std(x)
        return self.score(x.flatten(1))[:, 0], features
