"""A UV atlas for a sphere-like template: equirectangular (longitude, latitude) coordinates with the seam
cut, so a predicted texture map can be sampled through it (DIB-R's UV-texture variant, §3.3).

u is the longitude around a pole, v the latitude (v up, `gan3d.structures.mesh`'s convention: v = 1 at
the pole, v = 0 at its antipode). The pole is the vertex nearest the chosen axis, so the cap around it is
a fan of faces with a corner on the pole (a face with the pole *inside* it has no proper UV triangle).
Faces that straddle the seam (longitude ±180°) get their low-u corners shifted by one turn, and a corner
on a pole takes the mean longitude of its face's other corners; u is then rescaled into [0, 1], so every
face maps to its own, unflipped patch of the image. Vertices whose corners got different UVs are
duplicated (as trimesh and glTF do), and the atlas says which template vertex each UV vertex is a copy
of, so the geometry stays the template's.
"""

from __future__ import annotations

import math

import numpy as np
import torch

from gan3d.errors import ConfigError

POLE_AXES = {"x": 0, "y": 1, "z": 2}


def spherical_uv_atlas(
    verts: torch.Tensor, faces: torch.Tensor, pole_axis: str = "z"
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """UVs for a mesh whose vertices lie around the origin (a sphere, or a star-shaped template).

    Args:
        verts: (V, 3), none at the origin; faces: int64 (F, 3).
        pole_axis: the pole is the vertex nearest this axis's positive end ("z": the built-in data's up axis).

    Returns:
        (source (V',) int64: the template vertex of each UV vertex, uvs (V', 2) float32 in [0, 1],
        uv_faces (F, 3) int64 into the UV vertices, the same triangles as `faces`).
    """
    if pole_axis not in POLE_AXES:
        raise ConfigError(f"pole_axis must be one of {sorted(POLE_AXES)}, got {pole_axis!r}")
    d = verts.double().numpy()
    d = d / np.linalg.norm(d, axis=1, keepdims=True)
    pole_dir = d[np.argmax(d[:, POLE_AXES[pole_axis]])]
    a = np.cross(pole_dir, np.eye(3)[np.argmin(np.abs(pole_dir))])
    a /= np.linalg.norm(a)
    b = np.cross(pole_dir, a)  # (a, b, pole) right-handed
    height = np.clip(d @ pole_dir, -1.0, 1.0)
    lon = 0.5 + np.arctan2(d @ b, d @ a) / (2 * math.pi)  # [0, 1]
    lat = 0.5 + np.arcsin(height) / math.pi
    f = faces.numpy()
    u, v = lon[f].copy(), lat[f]  # (F, 3) per corner
    pole = np.abs(height)[f] > 1.0 - 1e-9
    off = np.where(pole, np.nan, u)
    straddle = (np.nanmax(off, 1) - np.nanmin(off, 1)) > 0.5
    u = np.where(straddle[:, None] & (u < 0.5) & ~pole, u + 1.0, u)
    if pole.any():  # a pole corner: the mean longitude of the face's other corners
        rest = np.where(pole, np.nan, u)
        u = np.where(pole, np.nanmean(rest, axis=1, keepdims=True), u)
    u = u / u.max()
    keys = np.stack([f.ravel().astype(np.float64), np.round(u.ravel(), 9), np.round(v.ravel(), 9)], 1)
    unique, inverse = np.unique(keys, axis=0, return_inverse=True)
    source = torch.as_tensor(unique[:, 0].astype(np.int64))
    uvs = torch.as_tensor(unique[:, 1:], dtype=torch.float32)
    return source, uvs, torch.as_tensor(inverse.reshape(-1, 3).astype(np.int64))
