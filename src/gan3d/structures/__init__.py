"""The ground floor every room may use: meshes, voxel grids and batched cameras."""

from gan3d.structures.cameras import Cameras
from gan3d.structures.mesh import Mesh
from gan3d.structures.voxel_grid import VoxelGrid

__all__ = ["Cameras", "Mesh", "VoxelGrid"]
