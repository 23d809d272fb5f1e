"""DIB-R renders in the look of `gan3d data render`: albedo (per vertex, or from a UV-mapped texture) times
head-light Lambertian shading (or a spherical-harmonics light) on a white background, with the soft
silhouette. What mesh fitting and the DIB-R networks compare with
the rendered views (the built-in coloured views are drawn with this shading, so matching it lets the
colour loss recover the albedo and pass shading gradients to the geometry)."""

from __future__ import annotations

import torch

from gan3d.render.dibr import DibrRendering, DibrSettings, dibr_render, sample_rendered_texture
from gan3d.render.lighting import sh_lighting
from gan3d.render.rasterize import gather_corners
from gan3d.structures.cameras import Cameras


def render_headlit(
    verts: torch.Tensor,
    faces: torch.Tensor,
    albedo: torch.Tensor,
    cameras: Cameras,
    settings: DibrSettings,
    sh: torch.Tensor | None = None,
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Render N meshes with per-vertex albedo, mesh n through camera n.

    Args:
        verts: (N, V, 3) in the cameras' world frame; faces: int64 (F, 3), shared.
        albedo: (N, V, 3) in [0, 1].
        cameras: batch shape (N,).
        settings: image size and soft-silhouette settings.
        sh: optional spherical-harmonics light per image, (N, 9) in each camera's frame
            (`headlight_shading`); None: the head light.

    Returns:
        (colour (N, H, W, 3) on white, soft silhouette (N, H, W), hard mask (N, H, W)); colour and soft
        silhouette are differentiable in `verts` (barycentrics, normals), `albedo` and `sh`.
    """
    rendering = dibr_render(cameras.project(verts), faces, albedo, settings)
    assert rendering.features is not None
    return _lit(rendering, rendering.features, verts, faces, cameras, sh)


def render_headlit_textured(
    verts: torch.Tensor,
    faces: torch.Tensor,
    uvs: torch.Tensor,
    texture: torch.Tensor,
    cameras: Cameras,
    settings: DibrSettings,
    sh: torch.Tensor | None = None,
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """`render_headlit` with the albedo looked up in a texture map through per-vertex UVs.

    Args:
        verts: (N, V, 3) (vertices on a UV seam duplicated); faces: int64 (F, 3).
        uvs: (V, 2) shared, or (N, V, 2), in [0, 1], v up (`gan3d.render.texture`).
        texture: (N, 3, T, T) in [0, 1], row 0 at the top.
        cameras, settings, sh: as `render_headlit`.
    """
    uv = uvs[None].expand(len(verts), -1, -1) if uvs.ndim == 2 else uvs
    rendering = dibr_render(cameras.project(verts), faces, uv.to(verts.dtype), settings)
    albedo = sample_rendered_texture(rendering, texture.to(verts.dtype))
    return _lit(rendering, albedo, verts, faces, cameras, sh)


def _lit(
    rendering: DibrRendering,
    albedo: torch.Tensor,
    verts: torch.Tensor,
    faces: torch.Tensor,
    cameras: Cameras,
    sh: torch.Tensor | None,
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    shade = headlight_shading(rendering.face_index, verts, faces, cameras, sh=sh)
    colour = torch.where(rendering.mask[..., None], albedo * shade[..., None], torch.ones_like(albedo))
    return colour, rendering.soft_mask, rendering.mask


def headlight_shading(
    face_index: torch.Tensor,
    verts: torch.Tensor,
    faces: torch.Tensor,
    cameras: Cameras,
    ambient: float = 0.25,
    diffuse: float = 0.7,
    background: float = 1.0,
    sh: torch.Tensor | None = None,
) -> torch.Tensor:
    """`gan3d.render.shading.shade_headlight` for a batch in one pass: `ambient + diffuse · |n · l|` with
    the light at each camera, n the face normal (differentiable in `verts`), l the pixel's ray.

    With `sh` (N, 9), the intensity is instead the spherical-harmonics irradiance Σ_k c_k Y_k(n)
    (`gan3d.render.lighting.sh_lighting`, DIB-R's third lighting model) of the face normal in the camera's
    frame, turned to face the camera (x right, y down, z forward), clamped at 0: a light that moves with
    the camera, as the built-in views' head light does.

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
    cosine = (normal_cam * ray).sum(1)
    if sh is None:
        shade = (ambient + diffuse * cosine.abs()).clamp(0.0, 1.0)
    else:
        facing = torch.where(cosine[:, None] > 0, -normal_cam, normal_cam)  # towards the camera
        shade = sh_lighting(facing, sh.to(dtype).index_select(0, images)).clamp(min=0.0)
    out = torch.full(face_index.shape, background, dtype=dtype, device=verts.device)
    return out.index_put((images, rows, cols), shade)
