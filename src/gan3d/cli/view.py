"""`gan3d view FILE...`: pictures of voxel grids and meshes.

* `-o out.png`: a sheet, one panel per file: the paper's point clouds (`--style points`) or shaded
  marching-cubes renders through gan3d's own rasterizer (`--style shaded`).
* `-o fig.png --inputs IMG... [--target GT]`: the reconstruction figure, input views | prediction | truth.
* `--html out.html`: one self-contained page with an interactive (rotate / zoom) 3D viewer per file.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "view",
        help="pictures of grids (.binvox/.npy/.npz) or meshes: point clouds, shaded sheets, HTML viewer",
    )
    parser.add_argument("files", nargs="+", type=Path, help="grids or meshes; several make a sheet")
    parser.add_argument("-o", "--out", type=Path, help="output PNG")
    parser.add_argument("--style", choices=["points", "shaded"], default="points", help="PNG style (default points)")
    parser.add_argument("--columns", type=int, default=4, help="panels per row (default 4)")
    parser.add_argument("--inputs", nargs="+", type=Path, help="input images: draw a reconstruction figure")
    parser.add_argument("--target", type=Path, help="ground truth for the reconstruction figure")
    parser.add_argument("--html", type=Path, help="also write an interactive 3D viewer page here")
    parser.add_argument("--points", type=int, default=4096, help="surface samples per mesh (default 4096)")
    parser.add_argument("--threshold", type=float, default=0.5, help="grid threshold (default 0.5)")
    parser.add_argument("--up", choices=["x", "y", "z"], default="z", help="up axis (ModelNet z, ShapeNet y)")
    parser.set_defaults(run=run)


def cloud_of(path: Path, n_points: int, threshold: float = 0.5) -> np.ndarray:
    """Occupied voxel centres (mesh coordinates) of a grid, or seeded surface samples of a mesh."""
    from gan3d.errors import DataError
    from gan3d.io.grids import GRID_SUFFIXES, load_grid_values
    from gan3d.io.mesh import MESH_SUFFIXES
    from gan3d.structures.mesh import sample_surface

    suffix = path.suffix.lower()
    if suffix in GRID_SUFFIXES:
        values, grid = load_grid_values(path)
        return grid.index_to_world(np.argwhere(values > threshold))
    if suffix in MESH_SUFFIXES:
        return sample_surface(mesh_of(path, threshold), n_points)[0]
    raise DataError(path, f"cannot view {suffix or 'a file without suffix'}; expected {GRID_SUFFIXES + MESH_SUFFIXES}")


def mesh_of(path: Path, threshold: float = 0.5):  # -> Mesh
    """The mesh in a file, or the marching-cubes surface of a grid file."""
    from gan3d.errors import DataError
    from gan3d.export.mesh import voxels_to_mesh
    from gan3d.io.grids import GRID_SUFFIXES, load_grid_values
    from gan3d.io.mesh import MESH_SUFFIXES, load_mesh

    suffix = path.suffix.lower()
    if suffix in MESH_SUFFIXES:
        return load_mesh(path)
    if suffix in GRID_SUFFIXES:
        values, grid = load_grid_values(path)
        try:
            return voxels_to_mesh(values, threshold, grid.translate, grid.scale)
        except DataError as err:
            raise DataError(path, err.problem) from None
    raise DataError(path, f"cannot view {suffix or 'a file without suffix'}; expected {GRID_SUFFIXES + MESH_SUFFIXES}")


def run(args: argparse.Namespace) -> int:
    from gan3d.errors import ConfigError
    from gan3d.export.figures import plot_image_sheet, plot_point_clouds, plot_reconstruction, shaded_image
    from gan3d.export.html import write_mesh_viewer
    from gan3d.io.images import load_view_image

    if args.out is None and args.html is None:
        raise ConfigError("give -o out.png and/or --html out.html")
    if args.out is not None and args.out.suffix.lower() != ".png":
        raise ConfigError(f"{args.out}: -o writes a PNG image; name it .png")
    if args.html is not None and args.html.suffix.lower() not in (".html", ".htm"):
        raise ConfigError(f"{args.html}: --html writes a web page; name it .html")
    if (args.inputs or args.target) and len(args.files) != 1:
        raise ConfigError("a reconstruction figure (--inputs/--target) takes exactly one prediction file")
    names = [p.name for p in args.files]
    if args.html is not None:
        write_mesh_viewer([mesh_of(p, args.threshold) for p in args.files], args.html, names, args.columns)
    if args.out is None:
        return 0

    def shaded(path: Path) -> np.ndarray:
        mesh = mesh_of(path, args.threshold)
        return shaded_image(mesh.verts, mesh.faces, up_axis=args.up)

    if args.inputs or args.target:
        inputs = [(load_view_image(p).numpy().transpose(1, 2, 0) * 255).astype(np.uint8) for p in args.inputs or []]
        target = shaded(args.target) if args.target is not None else None
        plot_reconstruction(inputs, shaded(args.files[0]), target, args.out)
    elif args.style == "shaded":
        plot_image_sheet([shaded(p) for p in args.files], args.out, names, args.columns)
    else:
        clouds = [cloud_of(p, args.points, args.threshold) for p in args.files]
        plot_point_clouds(clouds, args.out, titles=names, up_axis="xyz".index(args.up), columns=args.columns)
    return 0
