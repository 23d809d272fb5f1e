"""`gan3d view FILE... -o out.png`: voxel grids and meshes as point-cloud pictures (the paper's style)."""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "view",
        help="picture of voxel grids (.binvox/.npy/.npz) or meshes (.off/.obj/...) as point clouds",
    )
    parser.add_argument("files", nargs="+", type=Path, help="grids or meshes; several make a sheet")
    parser.add_argument("-o", "--out", type=Path, required=True, help="output PNG")
    parser.add_argument("--points", type=int, default=4096, help="surface samples per mesh (default 4096)")
    parser.add_argument("--up", choices=["x", "y", "z"], default="z", help="up axis (ModelNet z, ShapeNet y)")
    parser.set_defaults(run=run)


def cloud_of(path: Path, n_points: int) -> np.ndarray:
    """Occupied voxel centres (mesh coordinates) of a grid, or seeded surface samples of a mesh."""
    from gan3d.data.mesh_io import MESH_SUFFIXES, load_mesh
    from gan3d.data.voxel_grid import GRID_SUFFIXES, load_grid
    from gan3d.errors import DataError

    suffix = path.suffix.lower()
    if suffix in GRID_SUFFIXES:
        grid = load_grid(path)
        return grid.index_to_world(np.argwhere(grid.occupancy))
    if suffix in MESH_SUFFIXES:
        import trimesh

        mesh = load_mesh(path)
        tm = trimesh.Trimesh(mesh.verts, mesh.faces, process=False)
        points, _ = trimesh.sample.sample_surface(tm, n_points, seed=0)
        return np.asarray(points)
    raise DataError(path, f"cannot view {suffix or 'a file without suffix'}; expected {GRID_SUFFIXES + MESH_SUFFIXES}")


def run(args: argparse.Namespace) -> int:
    from gan3d.export.figures import plot_point_clouds

    clouds = [cloud_of(path, args.points) for path in args.files]
    plot_point_clouds(clouds, args.out, titles=[p.name for p in args.files], up_axis="xyz".index(args.up))
    return 0
