"""`Mesh`: a triangle mesh with optional per-vertex colours and a UV-mapped texture image.

Colour conventions: `vertex_colors` are linear RGB in [0, 1]; `uvs` are per-vertex texture
coordinates in [0, 1] with v pointing *up* the image (OBJ's and glTF-via-trimesh's convention: v = 0 is
the bottom row of `texture`), so the texel of (u, v) is at column `u * W` and row `(1 - v) * H`.
Vertices on a UV seam are duplicated, as trimesh and glTF do.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np


@dataclass(frozen=True)
class Mesh:
    """A triangle mesh.

    Attributes:
        verts: vertex positions, float64, shape (V, 3).
        faces: vertex indices of each triangle, int64, shape (F, 3), counter-clockwise seen from outside
            where the source file is consistently oriented.
        vertex_colors: optional RGB per vertex, float32 (V, 3) in [0, 1].
        uvs: optional texture coordinates per vertex, float32 (V, 2) in [0, 1], v up (module docstring).
        texture: optional texture image, uint8 (H, W, 3), row 0 at the top; needs `uvs`.
    """

    verts: np.ndarray
    faces: np.ndarray
    vertex_colors: np.ndarray | None = None
    uvs: np.ndarray | None = None
    texture: np.ndarray | None = None

    @property
    def bounds(self) -> np.ndarray:
        """Axis-aligned bounding box, shape (2, 3): min corner then max corner."""
        return np.stack([self.verts.min(axis=0), self.verts.max(axis=0)])

    @property
    def has_color(self) -> bool:
        """True when the mesh carries vertex colours or a texture."""
        return self.vertex_colors is not None or (self.uvs is not None and self.texture is not None)

    def with_verts(self, verts: np.ndarray) -> Mesh:
        """The same mesh (faces, colours, UVs, texture) with new vertex positions (V, 3)."""
        return replace(self, verts=np.asarray(verts, dtype=np.float64))

    def unit_sphere_normalization(self) -> tuple[np.ndarray, float]:
        """Centre (3,) and radius that map the mesh into the unit sphere: `(verts - centre) / radius`.

        The centre is the bounding-box centre and the radius the largest vertex distance from it: the
        MVCNN rendering convention (object normalised to the unit sphere), which `gan3d data render`
        records in each view's JSON.
        """
        lo, hi = self.bounds
        center = (lo + hi) / 2.0
        radius = float(np.linalg.norm(self.verts - center, axis=1).max()) or 1.0
        return center, radius

    def normalized_to_unit_sphere(self) -> Mesh:
        """This mesh moved and scaled by `unit_sphere_normalization`."""
        center, radius = self.unit_sphere_normalization()
        return self.with_verts((self.verts - center) / radius)


def sample_surface(mesh: Mesh, n_points: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """`n_points` area-uniform samples on the mesh surface and their face normals, (P, 3) each
    (trimesh's sampler, seeded)."""
    import trimesh

    tm = trimesh.Trimesh(mesh.verts, mesh.faces, process=False)
    points, face_index = trimesh.sample.sample_surface(tm, n_points, seed=seed)
    return np.asarray(points), np.asarray(tm.face_normals[face_index])
