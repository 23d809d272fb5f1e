"""`gan3d export GRID -o out.(obj|ply|stl|glb|off|binvox|npy)`: grids to meshes Blender opens."""

from __future__ import annotations

import argparse
from pathlib import Path


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "export",
        help="voxel grid (.binvox/.npy/.npz) to a mesh (marching cubes) or another grid format",
        description="Marching cubes at --threshold, in the grid's mesh coordinates (binvox translate/scale), "
        "watertight for closed grids; optional Taubin smoothing. To .binvox the grid is thresholded; to "
        ".npy the raw values are kept. Writes atomically: a failed export leaves no file.",
    )
    parser.add_argument("grid", type=Path, help="input grid: .binvox, .npy (raw probabilities allowed) or .npz")
    parser.add_argument("-o", "--out", type=Path, required=True, help="output .obj/.ply/.stl/.glb/.off/.binvox/.npy")
    parser.add_argument("--threshold", type=float, default=0.5, help="iso-level / occupancy threshold (default 0.5)")
    parser.add_argument("--smooth", type=int, default=0, help="Taubin smoothing iterations (default 0)")
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    import numpy as np

    from gan3d.errors import ConfigError, DataError
    from gan3d.export.mesh import EXPORT_SUFFIXES, export_mesh, voxels_to_mesh
    from gan3d.files import atomic_path
    from gan3d.io.grids import load_grid_values, save_grid
    from gan3d.structures.voxel_grid import VoxelGrid

    suffix = args.out.suffix.lower()
    if suffix not in EXPORT_SUFFIXES + (".binvox", ".npy"):
        raise ConfigError(f"{args.out}: unsupported output format; use one of {EXPORT_SUFFIXES + ('.binvox', '.npy')}")
    if not 0.0 <= args.threshold < 1.0 or args.smooth < 0:
        raise ConfigError("--threshold must be in [0, 1) and --smooth >= 0")
    values, grid = load_grid_values(args.grid)
    if suffix == ".npy":
        with atomic_path(args.out) as tmp, open(tmp, "wb") as fh:
            np.save(fh, values)
        return 0
    if suffix == ".binvox":
        save_grid(VoxelGrid(values > args.threshold, grid.translate, grid.scale), args.out)
        return 0
    try:
        mesh = voxels_to_mesh(values, args.threshold, grid.translate, grid.scale, args.smooth)
    except DataError as err:
        raise DataError(args.grid, err.problem) from None
    export_mesh(mesh, args.out)
    return 0
