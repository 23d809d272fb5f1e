"""`gan3d reconstruct --ckpt CKPT IMAGE [IMAGE ...] --out FILE.obj`: a 3D shape from 1..V photos."""

from __future__ import annotations

import argparse
from pathlib import Path


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "reconstruct",
        help="reconstruct one object from its views: FILE.obj, FILE.binvox and FILE.png",
    )
    parser.add_argument("images", nargs="+", type=Path, help="1..V views of one object")
    parser.add_argument("--ckpt", type=Path, required=True, help="export folder (config.json) or Lightning .ckpt")
    parser.add_argument("--out", type=Path, required=True, help="output mesh (.obj/.ply/.stl/.glb/.off)")
    parser.add_argument("--class", dest="class_name", help="class of the object (conditional models)")
    parser.add_argument("--threshold", type=float, default=0.5, help="occupancy threshold (default 0.5)")
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    import numpy as np

    from gan3d.errors import DataError
    from gan3d.export.figures import plot_reconstruction, shaded_image
    from gan3d.export.grids import save_probabilities
    from gan3d.export.mesh import export_mesh, voxels_to_mesh
    from gan3d.io.images import load_view_image
    from gan3d.pipelines.voxel_gan import load_model, reconstruct

    loaded = load_model(args.ckpt)
    grid = reconstruct(loaded, args.images, args.class_name)[0, 0].numpy()
    try:
        mesh = voxels_to_mesh(grid, args.threshold)
    except DataError:
        raise DataError(args.out, f"the reconstruction is empty at threshold {args.threshold}") from None
    export_mesh(mesh, args.out)
    save_probabilities(grid, args.out.with_suffix(".binvox"), args.threshold)
    inputs = [(load_view_image(p).numpy().transpose(1, 2, 0) * 255).astype(np.uint8) for p in args.images]
    plot_reconstruction(inputs, shaded_image(mesh.verts, mesh.faces), None, args.out.with_suffix(".png"))
    return 0
