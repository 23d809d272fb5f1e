"""File formats of the core types: meshes (through trimesh), `.binvox`, `.npy`/`.npz` grids and images."""
