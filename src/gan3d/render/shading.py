"""Shading: Lambertian grey with a head-light (the look of MVCNN's rendered views), and per-pixel
interpolation of vertex attributes (colours, UVs)."""

from __future__ import annotations

import torch

from gan3d.render.rasterize import Fragments
from gan3d.structures.cameras import Cameras


def face_normals(verts: torch.Tensor, faces: torch.Tensor) -> torch.Tensor:
    """Unit normals of triangles (right-hand rule on the vertex order), shape (F, 3); 0 for degenerate."""
    tri = verts[faces]
    normal = torch.linalg.cross(tri[:, 1] - tri[:, 0], tri[:, 2] - tri[:, 0], dim=1)
    return torch.nn.functional.normalize(normal, dim=1)


def shade_headlight(
    fragments: Fragments,
    normals_cam: torch.Tensor,
    camera: Cameras,
    ambient: float = 0.25,
    diffuse: float = 0.7,
    background: float = 1.0,
) -> torch.Tensor:
    """Grey intensity per pixel: `ambient + diffuse * |n . l|`, light at the camera.

    Two-sided (absolute cosine) because real meshes are not consistently oriented. With the MVCNN
    defaults (0.25 + 0.7) surfaces facing the camera are light grey and the background white.

    Args:
        fragments: rasterizer output of size (H, W).
        normals_cam: per-face unit normals in camera coordinates, shape (F, 3).
        camera: the camera (batch shape ()) that produced `fragments` (for the per-pixel light direction).

    Returns:
        Intensities in [0, 1], shape (H, W).
    """
    height, width = fragments.face_index.shape
    dtype, device = normals_cam.dtype, normals_cam.device
    k = camera.intrinsics.to(dtype=dtype, device=device)
    cols = torch.arange(width, dtype=dtype, device=device) + 0.5
    rows = torch.arange(height, dtype=dtype, device=device) + 0.5
    ray_x = ((cols - k[0, 2]) / k[0, 0]).expand(height, width)
    ray_y = ((rows - k[1, 2]) / k[1, 1])[:, None].expand(height, width)
    rays = torch.nn.functional.normalize(torch.stack([ray_x, ray_y, torch.ones_like(ray_x)], dim=-1), dim=-1)
    mask = fragments.mask
    normal = normals_cam[fragments.face_index.clamp(min=0)]  # (H, W, 3)
    cosine = (normal * rays).sum(dim=-1).abs()
    shade = (ambient + diffuse * cosine).clamp(0.0, 1.0)
    return torch.where(mask, shade, torch.full_like(shade, background))


def interpolate_vertex_attributes(fragments: Fragments, faces: torch.Tensor, attributes: torch.Tensor) -> torch.Tensor:
    """Per-pixel attributes from per-vertex ones through the fragments' perspective-correct barycentrics.

    Args:
        fragments: rasterizer output of size (H, W).
        faces: int64 (F, 3), the faces that were rasterized.
        attributes: per-vertex values (V, C) (colours, UVs, ...).

    Returns:
        (H, W, C); zeros on background pixels.
    """
    corner = attributes[faces[fragments.face_index.clamp(min=0)]]  # (H, W, 3, C)
    values = (fragments.bary.to(attributes.dtype)[..., None] * corner).sum(dim=-2)
    return torch.where(fragments.mask[..., None], values, torch.zeros_like(values))
