"""PIFu (§4.2): a stacked-hourglass image encoder g and a pixel-aligned implicit function f.

For a 3D point X seen by a view's camera, x = π(X) is its projection and z(X) its depth; the occupancy
is f(F(x), z(X)) with F = g(I) sampled bilinearly at x (`gan3d.ops.pixel_align`). The encoder is
PIFu's stacked hourglass (Newell et al. 2016): a strided stem, then `stacks` hourglasses of `depth`
levels built from PIFu's multi-scale residual block, each stack emitting a feature map (every stack's
map is supervised in training, the last one answers at test time). f is PIFu's MLP of 1×1
convolutions over points with the input feature concatenated to every hidden layer (PIFu:
257-1024-512-256-128-1). With several views per object, f averages its middle layer's activations over
the views (PIFu's multi-view mode), so any number of views can be given at test time.

Images are RGB in [0, 1], (N, V, 3, S, S) with V views per object; cameras have batch shape (N, V) and
live in the world frame of the query points (N, P, 3). z(X) is the camera depth minus the camera's
distance to the world origin (0 at the object's centre for the built-in orbit views), times
`depth_scale`.
"""

from __future__ import annotations

from typing import Any, Literal

import torch
import torch.nn.functional as F
from torch import nn

from gan3d.ops.pixel_align import project_to_ndc, sample_at
from gan3d.registry import register_model
from gan3d.structures.cameras import Cameras

Norm = Literal["group", "batch"]


def _norm(kind: Norm, channels: int) -> nn.Module:
    if kind == "batch":
        return nn.BatchNorm2d(channels)
    groups = 32 if channels % 32 == 0 and channels >= 64 else max(1, channels // 8)  # PIFu: 32 groups
    return nn.GroupNorm(groups, channels)


class ConvBlock(nn.Module):
    """PIFu's hourglass residual block: three 3×3 convolutions of cout/2, cout/4 and cout/4 channels,
    each on the previous one's output, concatenated, plus the input (1×1-projected when cin ≠ cout)."""

    def __init__(self, cin: int, cout: int, norm: Norm = "group") -> None:
        super().__init__()
        half, quarter = cout // 2, cout // 4
        self.norms = nn.ModuleList([_norm(norm, cin), _norm(norm, half), _norm(norm, quarter)])
        self.convs = nn.ModuleList(
            [
                nn.Conv2d(cin, half, 3, padding=1, bias=False),
                nn.Conv2d(half, quarter, 3, padding=1, bias=False),
                nn.Conv2d(quarter, cout - half - quarter, 3, padding=1, bias=False),
            ]
        )
        self.skip = (
            nn.Identity()
            if cin == cout
            else nn.Sequential(_norm(norm, cin), nn.ReLU(True), nn.Conv2d(cin, cout, 1, bias=False))
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        outs, y = [], x
        for norm, conv in zip(self.norms, self.convs, strict=True):
            y = conv(F.relu(norm(y)))
            outs.append(y)
        return torch.cat(outs, dim=1) + self.skip(x)


class Hourglass(nn.Module):
    """One hourglass of `depth` levels: a block at this scale plus, at half scale, blocks around the
    next level, upsampled back and added."""

    def __init__(self, depth: int, channels: int, norm: Norm = "group") -> None:
        super().__init__()
        self.up = ConvBlock(channels, channels, norm)
        self.low1 = ConvBlock(channels, channels, norm)
        self.low2: nn.Module = (
            Hourglass(depth - 1, channels, norm) if depth > 1 else ConvBlock(channels, channels, norm)
        )
        self.low3 = ConvBlock(channels, channels, norm)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        low = self.low3(self.low2(self.low1(F.avg_pool2d(x, 2))))
        return self.up(x) + F.interpolate(low, size=x.shape[-2:], mode="bilinear", align_corners=False)


class HourglassEncoder(nn.Module):
    """PIFu's image encoder g: images (B, C, S, S) → one feature map (B, feature_channels, S/s, S/s)
    per stack, s = `stem_stride` (PIFu: 4, 512 px in, 128² features out)."""

    def __init__(
        self,
        in_channels: int = 3,
        channels: int = 256,
        feature_channels: int = 256,
        stacks: int = 4,
        depth: int = 4,
        stem_stride: int = 4,
        norm: Norm = "group",
    ) -> None:
        super().__init__()
        if stem_stride not in (1, 2, 4) or stacks < 1 or depth < 1:
            raise ValueError("stem_stride must be 1, 2 or 4, stacks and depth >= 1")
        width = max(16, channels // 4)
        stem: list[nn.Module] = [
            nn.Conv2d(in_channels, width, 7, stride=min(stem_stride, 2), padding=3),
            _norm(norm, width),
            nn.ReLU(True),
            ConvBlock(width, width * 2, norm),
        ]
        if stem_stride == 4:
            stem.append(nn.AvgPool2d(2))
        stem += [ConvBlock(width * 2, width * 2, norm), ConvBlock(width * 2, channels, norm)]
        self.stem = nn.Sequential(*stem)
        self.hourglasses = nn.ModuleList([Hourglass(depth, channels, norm) for _ in range(stacks)])
        self.tails = nn.ModuleList(
            [
                nn.Sequential(
                    ConvBlock(channels, channels, norm),
                    nn.Conv2d(channels, channels, 1),
                    _norm(norm, channels),
                    nn.ReLU(True),
                )
                for _ in range(stacks)
            ]
        )
        self.heads = nn.ModuleList([nn.Conv2d(channels, feature_channels, 1) for _ in range(stacks)])
        # between stacks the next hourglass sees its input + the tail and the head's features remapped
        self.remaps = nn.ModuleList([nn.Conv2d(channels, channels, 1) for _ in range(stacks - 1)])
        self.back = nn.ModuleList([nn.Conv2d(feature_channels, channels, 1) for _ in range(stacks - 1)])

    def forward(self, images: torch.Tensor) -> list[torch.Tensor]:
        x = self.stem(images)
        maps = []
        for i, (hourglass, tail, head) in enumerate(zip(self.hourglasses, self.tails, self.heads, strict=True)):
            y = tail(hourglass(x))
            features = head(y)
            maps.append(features)
            if i < len(self.remaps):
                x = x + self.remaps[i](y) + self.back[i](features)
        return maps


class PixelAlignedMLP(nn.Module):
    """f: per-point inputs (B·V, C_in, P) → occupancy logits (B, P), PIFu's MLP with the input
    concatenated to every hidden layer after the first, LeakyReLU between layers, and the mean over the
    V views of one object taken after hidden layer `len(widths) // 2`."""

    def __init__(self, in_features: int, widths: tuple[int, ...] = (1024, 512, 256, 128)) -> None:
        super().__init__()
        layers, previous = [], 0
        for i, width in enumerate(widths):
            layers.append(nn.Conv1d(in_features + previous if i else in_features, width, 1))
            previous = width
        self.layers = nn.ModuleList(layers)
        self.out = nn.Conv1d(in_features + previous, 1, 1)
        self.mean_after = len(widths) // 2

    def forward(self, x: torch.Tensor, views: int = 1) -> torch.Tensor:
        return self.forward_with_hidden(x, views)[0]

    def forward_with_hidden(
        self, x: torch.Tensor, views: int = 1, layer: int | None = None
    ) -> tuple[torch.Tensor, torch.Tensor | None]:
        """(logits (B, P), the activations (B, widths[layer], P) of hidden layer `layer`, or None): PIFuHD's
        fine level reads the coarse MLP's intermediate activations Ω(X) (§4.3)."""
        inputs, y, hidden = x, x, None
        for i, linear in enumerate(self.layers):
            y = F.leaky_relu(linear(y if i == 0 else torch.cat([y, inputs], dim=1)))
            if views > 1 and i + 1 == self.mean_after:
                y = y.unflatten(0, (-1, views)).mean(1)
                inputs = inputs.unflatten(0, (-1, views)).mean(1)
            if i == layer:
                hidden = y
        if views > 1 and self.mean_after >= len(self.layers):
            y, inputs = y.unflatten(0, (-1, views)).mean(1), inputs.unflatten(0, (-1, views)).mean(1)
        return self.out(torch.cat([y, inputs], dim=1))[:, 0], hidden


class Pifu(nn.Module):
    """PIFu: images (N, V, 3, S, S) + cameras (N, V) + points (N, P, 3) → occupancy logits (N, P).

    Args:
        image_size: S (PIFu: 512; CPU: 64 or 128). Only recorded (the encoder is fully convolutional);
            inference resizes photos to it.
        channels: hourglass width (PIFu: 256). feature_channels: the map f reads (PIFu: 256).
        stacks, depth: hourglasses and their levels (PIFu: 4 and 4).
        stem_stride: the feature map is S / stem_stride (PIFu: 4).
        mlp_widths: f's hidden widths (PIFu: 1024, 512, 256, 128).
        norm: "group" (PIFu) or "batch".
        depth_scale: z(X) is scaled by this before it enters f.
    """

    def __init__(
        self,
        image_size: int = 512,
        channels: int = 256,
        feature_channels: int = 256,
        stacks: int = 4,
        depth: int = 4,
        stem_stride: int = 4,
        mlp_widths: tuple[int, ...] | list[int] = (1024, 512, 256, 128),
        norm: Norm = "group",
        depth_scale: float = 1.0,
    ) -> None:
        super().__init__()
        self.config: dict[str, Any] = {
            "image_size": image_size,
            "channels": channels,
            "feature_channels": feature_channels,
            "stacks": stacks,
            "depth": depth,
            "stem_stride": stem_stride,
            "mlp_widths": list(mlp_widths),
            "norm": norm,
            "depth_scale": depth_scale,
        }
        self.image_size = image_size
        self.depth_scale = depth_scale
        self.encoder = HourglassEncoder(3, channels, feature_channels, stacks, depth, stem_stride, norm)
        self.mlp = PixelAlignedMLP(feature_channels + 1, tuple(mlp_widths))

    def encode(self, images: torch.Tensor) -> list[torch.Tensor]:
        """Feature maps of every stack for images (N, V, 3, S, S): each (N·V, C, S/s, S/s)."""
        if images.ndim != 5 or images.shape[2] != 3:
            raise ValueError(f"images must be (N, V, 3, S, S), got {tuple(images.shape)}")
        return self.encoder(images.flatten(0, 1) * 2 - 1)

    def query(self, features: torch.Tensor, cameras: Cameras, points: torch.Tensor) -> torch.Tensor:
        """Occupancy logits (N, P) of points (N, P, 3) from one stack's maps (N·V, C, h, w) of the
        views seen by `cameras` (N, V)."""
        n, views = cameras.batch_shape
        if points.ndim != 3 or points.shape[0] != n or points.shape[-1] != 3:
            raise ValueError(f"points must be (N, P, 3) with N = {n}, got {tuple(points.shape)}")
        per_view = points[:, None].expand(-1, views, -1, -1)  # (N, V, P, 3)
        ndc, depth = project_to_ndc(per_view.to(cameras.dtype), cameras)
        distance = cameras.center.norm(dim=-1)  # (N, V)
        z = (depth - distance[..., None]) * self.depth_scale  # (N, V, P)
        sampled = sample_at(features, ndc.flatten(0, 1))  # (N·V, C, P)
        x = torch.cat([sampled, z.flatten(0, 1)[:, None].to(sampled.dtype)], dim=1)
        return self.mlp(x, views)

    def forward(self, images: torch.Tensor, cameras: Cameras, points: torch.Tensor) -> list[torch.Tensor]:
        """Logits (N, P) from every stack's features, the last stack's last (the answer)."""
        return [self.query(features, cameras, points) for features in self.encode(images)]

    def occupancy(self, images: torch.Tensor, cameras: Cameras, points: torch.Tensor) -> torch.Tensor:
        """The occupancy probability (N, P) in [0, 1] from the last stack."""
        return torch.sigmoid(self.query(self.encode(images)[-1], cameras, points))


@register_model
def pifu_64(**overrides: Any) -> Pifu:
    """PIFu (§4.2) at CPU size: 64 px images, a 32² feature map from 2 hourglasses of depth 2 at 64
    channels, f of widths 256-128-64-32. Paper size: `pifu_512`."""
    defaults = {
        "image_size": 64,
        "channels": 64,
        "feature_channels": 64,
        "stacks": 2,
        "depth": 2,
        "stem_stride": 2,
        "mlp_widths": (256, 128, 64, 32),
    }
    return Pifu(**{**defaults, **overrides})


@register_model
def pifu_512(**overrides: Any) -> Pifu:
    """PIFu's own size (§4.2, Saito et al. 2019): 512 px images, 4 hourglasses of depth 4 at 256
    channels, a 128² feature map, f 257-1024-512-256-128-1 (a GPU model)."""
    return Pifu(**{"image_size": 512, **overrides})
