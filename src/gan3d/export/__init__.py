"""Outputs people open: meshes, grids, checkpoints and figures."""
