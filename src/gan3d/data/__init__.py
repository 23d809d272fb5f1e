"""Data pipeline: meshes in, voxel grids and rendered views out, datasets over them."""
