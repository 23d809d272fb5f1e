"""DIB-R renders in the look of `gan3d data render`: per-vertex albedo times head-light Lambertian shading
on a white background, with the soft silhouette. What mesh fitting and the DIB-R networks compare with
the rendered views (the built-in coloured views are drawn with this shading, so matching it lets the
colour loss recover the albedo and pass shading gradients to the geometry)."""

from __future__ import annotations

import torch

from gan3d.render.dibr import DibrSettings, dibr_render
from gan3d.render.rasterize import gather_corners
from gan3d.structures.cameras import Cameras


def render_headlit(
    verts: torch.Tensor, faces: torch.Tensor, albedo: torch.Tensor, cameras: Cameras, settings: DibrSettings
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Render N meshes, mesh n through camera n.

    Args:
        verts: (N, V, 3) in the cameras' world frame; faces: int64 (F, 3), shared.
        albedo: (N, V, 3) in [0, 1].
        cameras: batch shape (N,).
        settings: image size and soft-silhouette settings.

    Returns:
        (colour (N, H, W, 3) on white, soft silhouette (N, H, W), hard mask (N, H, W)); colour and soft
        silhouette are differentiable in `verts` (barycentrics, normals) and `albedo`.
    """
    screen = cameras.project(verts)
    rendering = dibr_render(screen, faces, albedo, settings)
    shade = headlight_shading(rendering.face_index, verts, faces, cameras)
    colour = torch.where(
        rendering.mask[..., None], rendering.features * shade[..., None], torch.ones_like(rendering.features)
    )
    return colour, rendering.soft_mask, rendering.mask


def headlight_shading(
    face_index: torch.Tensor,
    verts: torch.Tensor,
    faces: torch.Tensor,
    cameras: Cameras,
    ambient: float = 0.25,
    diffuse: float = 0.7,
    background: float = 1.0,
) -> torch.Tensor:
    """`gan3d.render.shading.shade_headlight` for a batch in one pass: `ambient + diffuse · |n · l|` with
    the light at each camera, n the face normal (differentiable in `verts`), l the pixel's ray.

    Args:
        face_index: int64 (N, H, W), -1 on background; verts: (N, V, 3); faces: int64 (F, 3);
        cameras: batch shape (N,).

    Returns:
        (N, H, W) intensities in [0, 1], `background` where no face is.
    """
    dtype = verts.dtype
    images, rows, cols = torch.nonzero(face_index >= 0, as_tuple=True)
    tri = gather_corners(verts, faces, images, face_index[images, rows, cols])  # (M, 3, 3), world frame
    normal = torch.nn.functional.normalize(torch.linalg.cross(tri[:, 1] - tri[:, 0], tri[:, 2] - tri[:, 0]), dim=1)
    rotation = cameras.rotation.to(dtype).index_select(0, images)  # (M, 3, 3) world -> camera
    normal_cam = (rotation @ normal[:, :, None])[..., 0]
    k = cameras.intrinsics.to(dtype).index_select(0, images)
    ray = torch.stack(
        [(cols.to(dtype) + 0.5 - k[:, 0, 2]) / k[:, 0, 0], (rows.to(dtype) + 0.5 - k[:, 1, 2]) / k[:, 1, 1]], dim=1
    )
    ray = torch.nn.functional.normalize(torch.cat([ray, torch.ones_like(ray[:, :1])], dim=1), dim=1)
    shade = (ambient + diffuse * (normal_cam * ray).sum(1).abs()).clamp(0.0, 1.0)
    out = torch.full(face_index.shape, background, dtype=dtype, device=verts.device)
    return out.index_put((images, rows, cols), shade)
