"""`VoxelGrid`: an occupancy grid plus the binvox header that maps it back to mesh coordinates.

Convention (binvox's): voxel `[i, j, k]` covers the mesh-space box
`translate + [i, i+1] * scale / D` along x (and likewise j along y, k along z), so its centre is
`translate + (index + 0.5) * scale / D`. Index order is (x, y, z) in mesh coordinates; the x-z-y order
is only how `.binvox` files store the bits on disk.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch


@dataclass(frozen=True)
class VoxelGrid:
    """An occupancy grid with its placement in mesh coordinates.

    Attributes:
        occupancy: bool array, shape (D, D, D), index order (x, y, z).
        translate: mesh coordinates of the grid's minimum corner, shape (3,).
        scale: side length of the whole grid in mesh units (binvox's `scale`).
    """

    occupancy: np.ndarray
    translate: np.ndarray
    scale: float

    @property
    def resolution(self) -> int:
        return int(self.occupancy.shape[0])

    @property
    def voxel_size(self) -> float:
        return self.scale / self.resolution

    def index_to_world(self, index: np.ndarray) -> np.ndarray:
        """Mesh coordinates of voxel centres; `index` has shape (..., 3) in (i, j, k) order."""
        return self.translate + (np.asarray(index, dtype=np.float64) + 0.5) * self.voxel_size

    def world_to_index(self, points: np.ndarray) -> np.ndarray:
        """Continuous voxel coordinates (voxel i spans [i, i+1)) of mesh-space points, shape (..., 3)."""
        return (np.asarray(points, dtype=np.float64) - self.translate) / self.voxel_size

    @classmethod
    def unit(cls, occupancy: np.ndarray) -> VoxelGrid:
        """A grid placed in the unit cube [-0.5, 0.5]^3 (for grids with no known placement)."""
        return cls(np.asarray(occupancy, dtype=bool), np.full(3, -0.5), 1.0)

    @property
    def index_to_world_matrix(self) -> np.ndarray:
        """The 4x4 affine map from continuous voxel coordinates (voxel i spans [i, i+1)) to mesh space."""
        return placement_matrix(self.translate, self.scale, self.resolution)


def placement_matrix(translate: np.ndarray, scale: float, resolution: int) -> np.ndarray:
    """4x4 affine from continuous voxel coordinates of a `resolution`^3 grid placed at binvox
    (`translate`, `scale`) to mesh coordinates: `p = translate + index * scale / resolution`."""
    matrix = np.eye(4)
    matrix[:3, :3] *= scale / resolution
    matrix[:3, 3] = np.asarray(translate, dtype=np.float64).reshape(3)
    return matrix


def voxel_to_camera_world(
    translate: np.ndarray,
    scale: float,
    resolution: int,
    normalization: tuple[np.ndarray, float] | None = None,
) -> torch.Tensor:
    """The one relation between a voxel grid and the cameras of its object's views.

    Returns the 4x4 affine (float32 tensor) that maps continuous voxel coordinates `(i, j, k)` of the
    grid (index order (x, y, z); voxel centres at `index + 0.5`) to the world frame of the views'
    `Cameras`, so `cameras.project(points)` of those world points lands on the views' pixels.

    Args:
        translate, scale, resolution: the grid's placement in mesh coordinates (binvox header).
        normalization: `(center, radius)` when the cameras live in the unit-sphere frame of the mesh
            (`gan3d data render` / `synth` record it in each view JSON: `world = (mesh - center) / radius`);
            None when the cameras already live in mesh coordinates (3D-R2N2).
    """
    matrix = placement_matrix(translate, scale, resolution)
    if normalization is not None:
        center, radius = normalization
        to_frame = np.eye(4) / radius
        to_frame[3, 3] = 1.0
        to_frame[:3, 3] = -np.asarray(center, dtype=np.float64).reshape(3) / radius
        matrix = to_frame @ matrix
    return torch.as_tensor(matrix, dtype=torch.float32)
