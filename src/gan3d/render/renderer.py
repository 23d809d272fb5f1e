"""The forward render of a mesh through one camera: project, rasterize, shade."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from gan3d.render.camera import Camera
from gan3d.render.rasterize import Fragments, RasterSettings, rasterize
from gan3d.render.shading import face_normals, shade_headlight


@dataclass(frozen=True)
class Rendering:
    """One rendered view.

    Attributes:
        image: grey shading on a white background, float (H, W) in [0, 1].
        mask: silhouette, bool (H, W).
        depth: camera-space z, float (H, W), +inf on background.
        fragments: the rasterizer's per-pixel face index and barycentrics.
        camera: the camera used.
    """

    image: torch.Tensor
    mask: torch.Tensor
    depth: torch.Tensor
    fragments: Fragments
    camera: Camera


def render_mesh(verts: torch.Tensor | np.ndarray, faces: torch.Tensor | np.ndarray, camera: Camera) -> Rendering:
    """Render a mesh in grey Lambertian shading with a head-light.

    Args:
        verts: world coordinates, shape (V, 3).
        faces: int (F, 3).
        camera: intrinsics, extrinsics and image size.
    """
    verts_t = torch.as_tensor(verts, dtype=torch.float32)
    faces_t = torch.as_tensor(faces, dtype=torch.long)
    screen = camera.project(verts_t)
    fragments = rasterize(screen, faces_t, RasterSettings(camera.height, camera.width))
    rot = torch.as_tensor(camera.rotation, dtype=verts_t.dtype)
    normals_cam = face_normals(verts_t, faces_t) @ rot.T
    image = shade_headlight(fragments, normals_cam, camera)
    return Rendering(image, fragments.mask, fragments.depth, fragments, camera)
