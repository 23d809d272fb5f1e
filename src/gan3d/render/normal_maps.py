"""Front and back normal maps of a mesh (PIFuHD §4.4's targets): for each pixel, the outward normal of
the nearest surface the pixel's ray meets (front) and of the farthest (back), in the camera's frame.

Front is the z-buffer's face (`gan3d.render.rasterize`). Back is the same z-buffer run on depths
mirrored about a plane behind the mesh (z' = C − z, C > every depth), which keeps the farthest face
instead; the mirrored depths are interpolated perspective-correctly as if real, which can only swap
faces that nearly touch in depth (a test compares both maps with ray casting). Normals are the faces'
(flat shading), unit length, camera convention x right, y down, z forward: a front surface facing the
camera has n_z < 0, a back surface n_z > 0. Background pixels are 0.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

from gan3d.render.rasterize import RasterSettings, rasterize_batch
from gan3d.structures.cameras import Cameras


@dataclass(frozen=True)
class NormalMaps:
    """Attributes: front, back: (N, H, W, 3) unit normals in each camera's frame (0 on background);
    mask: (N, H, W) bool, where the mesh covers the pixel centre."""

    front: torch.Tensor
    back: torch.Tensor
    mask: torch.Tensor


def face_normals(verts: torch.Tensor, faces: torch.Tensor) -> torch.Tensor:
    """Unit normals (..., F, 3) of counter-clockwise faces of verts (..., V, 3)."""
    corners = verts[..., faces, :]  # (..., F, 3, 3)
    normal = torch.cross(corners[..., 1, :] - corners[..., 0, :], corners[..., 2, :] - corners[..., 0, :], dim=-1)
    return torch.nn.functional.normalize(normal, dim=-1)


@torch.no_grad()
def normal_maps(verts: torch.Tensor, faces: torch.Tensor, cameras: Cameras) -> NormalMaps:
    """Front and back normal maps of one mesh (verts (V, 3) world frame, faces (F, 3) int64) seen by
    N cameras (batch shape (N,)), sized to the cameras' images."""
    n = cameras.batch_shape[0]
    world = verts[None].expand(n, -1, -1).to(cameras.dtype)
    screen = cameras.project(world)  # (N, V, 3)
    settings = RasterSettings(int(cameras.height), int(cameras.width))
    front = rasterize_batch(screen, faces, settings)
    mirrored = screen.clone()
    far = float(screen[..., 2].max()) * 2 + 1.0
    mirrored[..., 2] = far - screen[..., 2]
    back = rasterize_batch(mirrored, faces, settings)
    normals = face_normals(cameras.world_to_camera(world), faces)  # (N, F, 3) in each camera's frame

    def lookup(index: torch.Tensor) -> torch.Tensor:
        picked = torch.gather(normals, 1, index.clamp(min=0).flatten(1)[..., None].expand(-1, -1, 3))
        return picked.view(*index.shape, 3) * (index >= 0)[..., None]

    return NormalMaps(lookup(front.face_index), lookup(back.face_index), front.mask)
