"""PIFuHD (§4.3, §4.4): two pixel-aligned levels and the front/back normal maps they both read.

* Coarse level f^L(X) = g^L(Φ^L(x_L, I_L, F_L, B_L), Z): PIFu (§4.2, `gan3d.models.pifu`) on the image
  downscaled to `coarse_size` with the front and back normal maps F, B stacked on its channels, the
  depth z(X) entering its MLP.
* Fine level f^H(X) = g^H(Φ^H(x_H, I_H, F_H, B_H), Ω(X)): a shallower hourglass on the full-resolution
  image + normal maps, whose MLP takes, instead of z, Ω(X): the coarse MLP's activations after hidden
  layer `merge_layer` (PIFuHD: the 256-wide third layer). In training the fine level sees a random
  sliding window (`crop_size` of the `image_size` image; PIFuHD: 512 of 1024) and only the query points
  that project into it are scored (`crop_offsets`, `to_crop_ndc`); at test time it sees the whole image
  (fully convolutional). Its normalisation is BatchNorm by default: GroupNorm normalises over the
  spatial extent of what it is given, which differs between a crop and the whole image, BatchNorm in
  eval mode does not.
* Normal maps (§4.4): front (channels 0-2) and back (3-5) unit normals in the camera frame
  (`gan3d.render.normal_maps`), predicted from the image by `NormalNet` (pix2pixHD) when the model
  carries one (`normal_net`: its kwargs; its weights are part of this model's export), else given.

Single view: images (N, 1, 3, S, S) RGB in [0, 1] at S = `image_size`, cameras of batch shape (N, 1)
sized S (the NDC of `gan3d.ops.pixel_align` cover the image whatever its resolution, so one projection
serves both levels), query points (N, P, 3) in the cameras' world frame. Logits are occupancy logits.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from gan3d.models.normal_net import NormalNet
from gan3d.models.pifu import HourglassEncoder, Norm, PixelAlignedMLP
from gan3d.ops.pixel_align import project_to_ndc, sample_at
from gan3d.registry import register_model
from gan3d.structures.cameras import Cameras


@dataclass(frozen=True)
class PifuHDFeatures:
    """The image features both levels read: the coarse level's maps of every stack (each (N, C_L, h, w),
    the last answers), the fine level's map (N, C_H, h', w') and, in training, the crop it was computed
    on ((N, 2) pixel offsets (column, row) of the model's `crop_size` window in the full image), else None."""

    coarse: list[torch.Tensor]
    fine: torch.Tensor
    offsets: torch.Tensor | None = None


def crop_offsets(n: int, image_size: int, crop_size: int, generator: torch.Generator | None = None) -> torch.Tensor:
    """Random sliding-window offsets (n, 2) (column, row), each in [0, image_size − crop_size] (int64)."""
    if not 0 < crop_size <= image_size:
        raise ValueError(f"crop_size must be in (0, {image_size}], got {crop_size}")
    return torch.randint(0, image_size - crop_size + 1, (n, 2), generator=generator)


def crop_images(images: torch.Tensor, offsets: torch.Tensor, crop_size: int) -> torch.Tensor:
    """The windows (N, C, crop, crop) of images (N, C, S, S) at offsets (N, 2) (column, row)."""
    windows = [
        image[:, int(row) : int(row) + crop_size, int(col) : int(col) + crop_size]
        for image, (col, row) in zip(images, offsets.tolist(), strict=True)
    ]
    return torch.stack(windows)


def to_crop_ndc(ndc: torch.Tensor, offsets: torch.Tensor, image_size: int, crop_size: int) -> torch.Tensor:
    """NDC (N, P, 2) over the whole image (x right, y down, ±1 at its outer edges, `align_corners=False`)
    → NDC over each item's window at offsets (N, 2) (column, row): the pixel position moves by −offset and
    the window's edges become ±1. Points outside the window get |ndc| > 1."""
    pixels = (ndc + 1) / 2 * image_size - offsets[:, None, :].to(ndc)  # (N, P, 2) in the window's pixels
    return pixels / crop_size * 2 - 1


class PifuHD(nn.Module):
    """PIFuHD: images (N, 1, 3, S, S) + cameras (N, 1) + points (N, P, 3) → occupancy logits (module
    docstring).

    Args:
        image_size: S, the fine level's input (PIFuHD: 1024; CPU: 128).
        coarse_size: the coarse level's input, the image downscaled (PIFuHD: 512; CPU: 64).
        crop_size: the fine level's training window (PIFuHD: 512; CPU: 64).
        normals: whether both levels read front/back normal maps (§4.4; False: the image alone).
        normal_net: `NormalNet` kwargs of the predictor of those maps, carried in the model (None: the
            caller gives the maps).
        coarse_channels, coarse_feature_channels, coarse_stacks, coarse_depth, coarse_stem_stride,
            coarse_mlp_widths: the coarse PIFu (PIFuHD: 256, 256, 4, 2, 4, 1024-512-256-128).
        merge_layer: Ω(X) is the coarse MLP's output of this hidden layer (PIFuHD: 2, 256 wide).
        fine_channels, fine_feature_channels, fine_stacks, fine_depth, fine_stem_stride,
            fine_mlp_widths: the fine level (PIFuHD: 16, 16, 1, 2, 2, 512-256-128).
        coarse_norm, fine_norm: normalisation of each level's encoder ("group" or "batch").
        depth_scale: z(X) is scaled by this before it enters the coarse MLP.
    """

    def __init__(
        self,
        image_size: int = 1024,
        coarse_size: int = 512,
        crop_size: int = 512,
        normals: bool = True,
        normal_net: dict[str, Any] | None = None,
        coarse_channels: int = 256,
        coarse_feature_channels: int = 256,
        coarse_stacks: int = 4,
        coarse_depth: int = 2,
        coarse_stem_stride: int = 4,
        coarse_mlp_widths: tuple[int, ...] | list[int] = (1024, 512, 256, 128),
        merge_layer: int = 2,
        fine_channels: int = 16,
        fine_feature_channels: int = 16,
        fine_stacks: int = 1,
        fine_depth: int = 2,
        fine_stem_stride: int = 2,
        fine_mlp_widths: tuple[int, ...] | list[int] = (512, 256, 128),
        coarse_norm: Norm = "group",
        fine_norm: Norm = "batch",
        depth_scale: float = 1.0,
    ) -> None:
        super().__init__()
        if not 0 <= merge_layer < len(coarse_mlp_widths):
            raise ValueError(f"merge_layer must index coarse_mlp_widths (0..{len(coarse_mlp_widths) - 1})")
        if not (0 < coarse_size <= image_size and 0 < crop_size <= image_size):
            raise ValueError("coarse_size and crop_size must be in (0, image_size]")
        if normal_net is not None and not normals:
            raise ValueError("a normal network without normals=True would be unused")
        self.config: dict[str, Any] = {
            "image_size": image_size,
            "coarse_size": coarse_size,
            "crop_size": crop_size,
            "normals": normals,
            "normal_net": dict(normal_net) if normal_net is not None else None,
            "coarse_channels": coarse_channels,
            "coarse_feature_channels": coarse_feature_channels,
            "coarse_stacks": coarse_stacks,
            "coarse_depth": coarse_depth,
            "coarse_stem_stride": coarse_stem_stride,
            "coarse_mlp_widths": list(coarse_mlp_widths),
            "merge_layer": merge_layer,
            "fine_channels": fine_channels,
            "fine_feature_channels": fine_feature_channels,
            "fine_stacks": fine_stacks,
            "fine_depth": fine_depth,
            "fine_stem_stride": fine_stem_stride,
            "fine_mlp_widths": list(fine_mlp_widths),
            "coarse_norm": coarse_norm,
            "fine_norm": fine_norm,
            "depth_scale": depth_scale,
        }
        self.image_size, self.coarse_size, self.crop_size = image_size, coarse_size, crop_size
        self.normals, self.merge_layer, self.depth_scale = normals, merge_layer, depth_scale
        channels = 9 if normals else 3  # RGB + front + back normals (§4.3)
        self.normal_net = NormalNet(**normal_net) if normal_net is not None else None
        self.coarse_encoder = HourglassEncoder(
            channels,
            coarse_channels,
            coarse_feature_channels,
            coarse_stacks,
            coarse_depth,
            coarse_stem_stride,
            coarse_norm,
        )
        self.coarse_mlp = PixelAlignedMLP(coarse_feature_channels + 1, tuple(coarse_mlp_widths))
        self.fine_encoder = HourglassEncoder(
            channels, fine_channels, fine_feature_channels, fine_stacks, fine_depth, fine_stem_stride, fine_norm
        )
        omega = list(coarse_mlp_widths)[merge_layer]
        self.fine_mlp = PixelAlignedMLP(fine_feature_channels + omega, tuple(fine_mlp_widths))

    def predict_normals(self, images: torch.Tensor) -> torch.Tensor:
        """Front and back normal maps (B, 6, S, S) of images (B, 3, S, S) from the carried `NormalNet`."""
        if self.normal_net is None:
            raise ValueError("this PIFuHD carries no normal network: give the normal maps")
        return self.normal_net(images)

    def _inputs(self, images: torch.Tensor, normal_maps: torch.Tensor | None) -> torch.Tensor:
        """The levels' input (N, 3 or 9, S, S) in [-1, 1] (normals as they are) from one view per object."""
        if images.ndim != 5 or images.shape[1] != 1 or images.shape[2] != 3:
            raise ValueError(f"images must be (N, 1, 3, S, S) (PIFuHD is single-view), got {tuple(images.shape)}")
        rgb = images[:, 0]
        if rgb.shape[-1] != self.image_size or rgb.shape[-2] != self.image_size:
            raise ValueError(f"images must be {self.image_size} px square, got {tuple(rgb.shape[-2:])}")
        if not self.normals:
            return rgb * 2 - 1
        if normal_maps is None:
            with torch.no_grad():  # the normal network is trained on its own (§4.4, `NormalModule`)
                normal_maps = self.predict_normals(rgb)
        elif normal_maps.ndim == 5:
            normal_maps = normal_maps[:, 0]
        if normal_maps.shape != (len(rgb), 6, *rgb.shape[-2:]):
            raise ValueError(f"normal_maps must be (N, [1,] 6, S, S) for images {tuple(images.shape)}")
        return torch.cat([rgb * 2 - 1, normal_maps.to(rgb.dtype)], dim=1)

    def encode(
        self,
        images: torch.Tensor,
        normal_maps: torch.Tensor | None = None,
        offsets: torch.Tensor | None = None,
    ) -> list[PifuHDFeatures]:
        """Both levels' features of images (N, 1, 3, S, S), as a one-item list (the answer last, as
        `Pifu.encode`). normal_maps: (N, [1,] 6, S, S), default predicted; offsets (N, 2): the fine
        level's training windows (`crop_offsets`), default the whole image."""
        x = self._inputs(images, normal_maps)
        coarse = self.coarse_encoder(F.interpolate(x, size=self.coarse_size, mode="area"))
        if offsets is None:
            return [PifuHDFeatures(coarse, self.fine_encoder(x)[-1])]
        fine = self.fine_encoder(crop_images(x, offsets, self.crop_size))[-1]
        return [PifuHDFeatures(coarse, fine, offsets.to(x.device))]

    def query_levels(
        self, features: PifuHDFeatures, cameras: Cameras, points: torch.Tensor, detach_omega: bool = False
    ) -> tuple[list[torch.Tensor], torch.Tensor, torch.Tensor]:
        """(coarse logits (N, P) of every stack, fine logits (N, P), in_window (N, P) bool: whether each
        point projects into the fine level's window (all True without a window)). `detach_omega` stops
        the fine level's gradient at Ω(X), as PIFuHD trains the fine level with the coarse one fixed."""
        n, views = cameras.batch_shape
        if views != 1:
            raise ValueError(f"PIFuHD is single-view: cameras must be (N, 1), got {tuple(cameras.batch_shape)}")
        if points.ndim != 3 or points.shape[0] != n or points.shape[-1] != 3:
            raise ValueError(f"points must be (N, P, 3) with N = {n}, got {tuple(points.shape)}")
        ndc, depth = project_to_ndc(points.to(cameras.dtype), cameras[:, 0])  # (N, P, 2), (N, P)
        z = ((depth - cameras.center[:, 0].norm(dim=-1)[:, None]) * self.depth_scale)[:, None]  # (N, 1, P)
        coarse_logits, omega = [], None
        for i, maps in enumerate(features.coarse):
            x = torch.cat([sample_at(maps, ndc), z.to(maps.dtype)], dim=1)
            last = i == len(features.coarse) - 1
            logits, hidden = self.coarse_mlp.forward_with_hidden(x, 1, self.merge_layer if last else None)
            coarse_logits.append(logits)
            omega = hidden
        assert omega is not None
        if detach_omega:
            omega = omega.detach()
        if features.offsets is None:
            fine_ndc = ndc
            inside = torch.ones(ndc.shape[:2], dtype=torch.bool, device=ndc.device)
        else:
            fine_ndc = to_crop_ndc(ndc, features.offsets, self.image_size, self.crop_size)
            inside = (fine_ndc.abs() <= 1).all(-1)
        fine = self.fine_mlp(torch.cat([sample_at(features.fine, fine_ndc), omega.to(features.fine.dtype)], dim=1))
        return coarse_logits, fine, inside

    def query(self, features: PifuHDFeatures, cameras: Cameras, points: torch.Tensor) -> torch.Tensor:
        """The fine level's occupancy logits (N, P): PIFuHD's answer."""
        return self.query_levels(features, cameras, points)[1]

    def forward(
        self, images: torch.Tensor, cameras: Cameras, points: torch.Tensor, normal_maps: torch.Tensor | None = None
    ) -> list[torch.Tensor]:
        """Logits (N, P) of every coarse stack, then the fine level's (the answer, last)."""
        coarse, fine, _ = self.query_levels(self.encode(images, normal_maps)[-1], cameras, points)
        return [*coarse, fine]

    def occupancy(self, images: torch.Tensor, cameras: Cameras, points: torch.Tensor) -> torch.Tensor:
        """The occupancy probability (N, P) in [0, 1] of the fine level (normal maps predicted)."""
        return torch.sigmoid(self.query(self.encode(images)[-1], cameras, points))


@register_model
def pifuhd_128(**overrides: Any) -> PifuHD:
    """PIFuHD (§4.3) at CPU size: 128 px in, the coarse level `pifu_64`'s PIFu on the 64 px image (+ normal
    maps), the fine level a 1-stack hourglass of 16 channels on 64 px windows (the whole 128 px image at
    test time), Ω = the coarse MLP's 64-wide third layer, a `normal_net_64`-sized normal network.
    Paper size: `pifuhd_1024`."""
    defaults: dict[str, Any] = {
        "image_size": 128,
        "coarse_size": 64,
        "crop_size": 64,
        "normal_net": {"image_size": 128, "base_channels": 32, "n_down": 2, "n_blocks": 4},
        "coarse_channels": 64,
        "coarse_feature_channels": 64,
        "coarse_stacks": 2,
        "coarse_depth": 2,
        "coarse_stem_stride": 2,
        "coarse_mlp_widths": (256, 128, 64, 32),
        "fine_channels": 16,
        "fine_feature_channels": 16,
        "fine_stacks": 1,
        "fine_depth": 2,
        "fine_stem_stride": 2,
        "fine_mlp_widths": (128, 64, 32),
    }
    return PifuHD(**{**defaults, **overrides})


@register_model
def pifuhd_1024(**overrides: Any) -> PifuHD:
    """PIFuHD's own sizes (Saito et al. 2020): 1024 px in, coarse PIFu on 512 px (4 stacks, 128² maps,
    257-1024-512-256-128-1), fine level on 512 px windows (16 channels, 512² maps, 272-512-256-128-1),
    pix2pixHD's normal network at 1024 px (a GPU model)."""
    defaults: dict[str, Any] = {"normal_net": {"image_size": 1024, "base_channels": 64, "n_down": 4, "n_blocks": 9}}
    return PifuHD(**{**defaults, **overrides})
