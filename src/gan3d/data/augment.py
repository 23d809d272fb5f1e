"""Data augmentation exactly as the paper's §2.6.6 (off by default).

Voxel grids: rotation about the up axis by U(-8, 8) degrees and translation by U(-2, 2) voxels along
each axis (nearest-neighbour resampling keeps grids binary). Images: rotation by U(-8, 8) degrees and
translation by U(-5%, 5%) of the image size along each axis, background-filled.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
import torch.nn.functional as F


@dataclass(frozen=True)
class AugmentSettings:
    """Ranges of the random affine transforms (paper §2.6.6 defaults).

    Attributes:
        voxel_degrees: max |rotation| of grids about the up axis.
        voxel_shift: max |translation| of grids, in voxels, per axis.
        image_degrees: max |rotation| of images.
        image_shift: max |translation| of images, as a fraction of the image size, per axis.
        up_axis: index of the grid's up axis in (x, y, z) order (2 for z-up ModelNet, 1 for ShapeNet).
    """

    voxel_degrees: float = 8.0
    voxel_shift: float = 2.0
    image_degrees: float = 8.0
    image_shift: float = 0.05
    up_axis: int = 2


def augment_voxels(
    voxels: torch.Tensor, settings: AugmentSettings = AugmentSettings(), generator: torch.Generator | None = None
) -> torch.Tensor:
    """Randomly rotate a grid about its up axis and translate it; same shape, nearest resampling.

    Args:
        voxels: occupancy in [0, 1], shape (1, D, D, D), index order (x, y, z).
    """
    d = voxels.shape[-1]
    angle = math.radians(_uniform(settings.voxel_degrees, generator))
    shift = torch.tensor([_uniform(settings.voxel_shift, generator) for _ in range(3)])
    c, s = math.cos(angle), math.sin(angle)
    rot = torch.eye(3)
    a, b = [i for i in range(3) if i != settings.up_axis]
    rot[a, a], rot[a, b], rot[b, a], rot[b, b] = c, -s, s, c
    # sample the input at R^-1 (p - t): output voxel p takes the value of the rotated-back position
    return _resample(voxels[None], rot.T, -rot.T @ (shift * 2.0 / d), mode="nearest")[0]


def augment_image(
    image: torch.Tensor,
    settings: AugmentSettings = AugmentSettings(),
    background: float = 1.0,
    generator: torch.Generator | None = None,
) -> torch.Tensor:
    """Randomly rotate and translate an image (C, H, W) in [0, 1]; uncovered pixels get `background`."""
    angle = math.radians(_uniform(settings.image_degrees, generator))
    tx, ty = (_uniform(settings.image_shift, generator) * 2.0 for _ in range(2))  # normalised coords span 2
    c, s = math.cos(angle), math.sin(angle)
    theta = torch.tensor([[c, -s, -(c * tx - s * ty)], [s, c, -(s * tx + c * ty)]], dtype=image.dtype)
    grid = F.affine_grid(theta[None], [1, *image.shape], align_corners=False)
    shifted = F.grid_sample(image[None] - background, grid, mode="bilinear", padding_mode="zeros", align_corners=False)
    return (shifted[0] + background).clamp(0.0, 1.0)


def _resample(volume: torch.Tensor, rot: torch.Tensor, trans: torch.Tensor, mode: str) -> torch.Tensor:
    """Sample `volume` (N, C, D, D, D) at `rot @ p + trans` for every output position p (normalised)."""
    # affine_grid works in (x=W, y=H, z=D) order, i.e. reversed index order: permute into it and back
    perm = torch.tensor([2, 1, 0])
    theta = torch.cat([rot[perm][:, perm], trans[perm][:, None]], dim=1).to(volume.dtype)
    grid = F.affine_grid(theta[None], list(volume.shape), align_corners=False)
    return F.grid_sample(volume, grid, mode=mode, padding_mode="zeros", align_corners=False)


def _uniform(limit: float, generator: torch.Generator | None) -> float:
    return float((torch.rand((), generator=generator) * 2.0 - 1.0) * limit)
