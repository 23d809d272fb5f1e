"""DIB-R renders in the look of `gan3d data render`: per-vertex albedo times head-light Lambertian shading
on a white background, with the soft silhouette. What mesh fitting and the DIB-R networks compare with
the rendered views (the built-in coloured views are drawn with this shading, so matching it lets the
colour loss recover the albedo and pass shading gradients to the geometry)."""

from __future__ import annotations

import torch

from gan3d.render.dibr import DibrSettings, dibr_render
from gan3d.render.rasterize import Fragments
from gan3d.render.shading import face_normals, shade_headlight
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
    shades = []
    for n in range(len(verts)):
        camera = cameras[n]
        normals = face_normals(verts[n], faces) @ camera.rotation.to(verts.dtype).T
        fragments = Fragments(rendering.face_index[n], torch.empty(0), torch.empty(0))
        shades.append(shade_headlight(fragments, normals, camera))
    shade = torch.stack(shades)
    colour = torch.where(
        rendering.mask[..., None], rendering.features * shade[..., None], torch.ones_like(rendering.features)
    )
    return colour, rendering.soft_mask, rendering.mask
