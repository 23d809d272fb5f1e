"""Pixel alignment (PIFu §4.2): project 3D points with a view's camera and read image features there.

x = π(X) is the camera's own projection (`Cameras.project`, OpenCV convention, pixel centres at +0.5),
turned into `grid_sample`'s normalised coordinates with `align_corners=False` (`Cameras.pixel_to_ndc`:
-1 and +1 at the image's outer edges), so a feature map of any resolution that covers the image is
read at the same place on the image: a point that projects into pixel (col, row) of the image reads
the feature cell covering that pixel. Points outside the image read zeros (`padding_mode="zeros"`).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

from gan3d.structures.cameras import Cameras


def project_to_ndc(points: torch.Tensor, cameras: Cameras) -> tuple[torch.Tensor, torch.Tensor]:
    """World points (*B, P, 3) seen by `cameras` (batch shape B): (ndc (*B, P, 2), depth (*B, P)), depth
    being the camera-frame z (> 0 in front)."""
    screen = cameras.project(points)
    return cameras.pixel_to_ndc(screen[..., :2]), screen[..., 2]


def sample_at(features: torch.Tensor, ndc: torch.Tensor) -> torch.Tensor:
    """Bilinear samples of feature maps (N, C, H, W) at NDC points (N, P, 2) (x right, y down, in
    [-1, 1] over the image): (N, C, P)."""
    if features.ndim != 4 or ndc.ndim != 3 or ndc.shape[-1] != 2 or len(ndc) != len(features):
        raise ValueError(
            f"features (N, C, H, W) and ndc (N, P, 2) expected, got {tuple(features.shape)}, {tuple(ndc.shape)}"
        )
    grid = ndc.to(features.dtype)[:, :, None, :]  # (N, P, 1, 2)
    return F.grid_sample(features, grid, mode="bilinear", padding_mode="zeros", align_corners=False)[..., 0]
