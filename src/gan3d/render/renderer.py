"""The forward render of a mesh through one camera: project, rasterize, shade (grey, vertex colours or
a UV-mapped texture)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from gan3d.render.rasterize import Fragments, RasterSettings, rasterize
from gan3d.render.shading import face_normals, interpolate_vertex_attributes, shade_headlight
from gan3d.render.texture import TextureFilter, sample_texture
from gan3d.structures.cameras import Cameras
from gan3d.structures.mesh import Mesh


@dataclass(frozen=True)
class Rendering:
    """One rendered view.

    Attributes:
        image: grey shading on a white background, float (H, W) in [0, 1].
        mask: silhouette, bool (H, W).
        depth: camera-space z, float (H, W), +inf on background.
        fragments: the rasterizer's per-pixel face index and barycentrics.
        camera: the camera used (batch shape ()).
        color: RGB, float (H, W, 3) in [0, 1]: the surface colour times the grey shading, white
            background; None when the mesh has no colour.
    """

    image: torch.Tensor
    mask: torch.Tensor
    depth: torch.Tensor
    fragments: Fragments
    camera: Cameras
    color: torch.Tensor | None = None


def render_mesh(
    verts: torch.Tensor | np.ndarray,
    faces: torch.Tensor | np.ndarray,
    camera: Cameras,
    vertex_colors: torch.Tensor | np.ndarray | None = None,
    uvs: torch.Tensor | np.ndarray | None = None,
    texture: torch.Tensor | np.ndarray | None = None,
    texture_filter: TextureFilter = "bilinear",
) -> Rendering:
    """Render a mesh in Lambertian shading with a head-light (grey, or coloured when colours are given).

    Args:
        verts: world coordinates, shape (V, 3).
        faces: int (F, 3).
        camera: one camera (batch shape ()): intrinsics, extrinsics and image size.
        vertex_colors: optional RGB per vertex (V, 3) in [0, 1], interpolated perspective-correctly.
        uvs: optional texture coordinates per vertex (V, 2) (v up, `gan3d.structures.mesh`); with `texture`.
        texture: optional image, uint8 (H, W, 3) or float (H, W, 3) in [0, 1]; takes precedence over
            `vertex_colors`.
        texture_filter: "nearest" or "bilinear" texture sampling.
    """
    if camera.batch_shape:
        raise ValueError(f"render_mesh takes one camera (batch shape ()); got {tuple(camera.batch_shape)}")
    verts_t = torch.as_tensor(np.asarray(verts) if not torch.is_tensor(verts) else verts, dtype=torch.float32)
    faces_t = torch.as_tensor(faces, dtype=torch.long)
    camera = camera.to(dtype=torch.float32)
    screen = camera.project(verts_t)
    fragments = rasterize(screen, faces_t, RasterSettings(camera.height, camera.width))
    normals_cam = face_normals(verts_t, faces_t) @ camera.rotation.T
    image = shade_headlight(fragments, normals_cam, camera)
    albedo = None
    if texture is not None and uvs is not None:
        tex = torch.as_tensor(np.asarray(texture) if not torch.is_tensor(texture) else texture)
        tex = (tex.float() / 255.0 if tex.dtype == torch.uint8 else tex.float()).permute(2, 0, 1)
        uv = interpolate_vertex_attributes(fragments, faces_t, torch.as_tensor(uvs, dtype=torch.float32))
        albedo = sample_texture(tex, uv, texture_filter)
    elif vertex_colors is not None:
        albedo = interpolate_vertex_attributes(fragments, faces_t, torch.as_tensor(vertex_colors, dtype=torch.float32))
    color = None
    if albedo is not None:
        shaded = (albedo * image[..., None]).clamp(0.0, 1.0)
        color = torch.where(fragments.mask[..., None], shaded, torch.ones_like(shaded))
    return Rendering(image, fragments.mask, fragments.depth, fragments, camera, color)


def render_mesh_object(mesh: Mesh, camera: Cameras, texture_filter: TextureFilter = "bilinear") -> Rendering:
    """`render_mesh` of a `Mesh`, with its vertex colours or texture when it has them."""
    return render_mesh(mesh.verts, mesh.faces, camera, mesh.vertex_colors, mesh.uvs, mesh.texture, texture_filter)
