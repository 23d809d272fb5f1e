"""`gan3d interpolate --ckpt CKPT --n 8 --out DIR [--from A.png --to B.png]`: walks in latent space."""

from __future__ import annotations

import argparse
from pathlib import Path


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "interpolate",
        help="shapes along a line in latent space: between two samples or two reconstructions",
    )
    parser.add_argument("--ckpt", type=Path, required=True, help="export folder (config.json) or Lightning .ckpt")
    parser.add_argument("--n", type=int, default=8, help="shapes along the line, ends included (default 8)")
    parser.add_argument("--from", dest="start", nargs="+", type=Path, help="views of the first object (else noise)")
    parser.add_argument("--to", dest="end", nargs="+", type=Path, help="views of the last object (else noise)")
    parser.add_argument("--class", dest="class_name", help="class (conditional models)")
    parser.add_argument("--seed", type=int, default=0, help="seed of the noise ends (default 0)")
    parser.add_argument("--out", type=Path, required=True, help="output folder: meshes and interpolation.png")
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    import numpy as np

    from gan3d.errors import ConfigError, DataError
    from gan3d.export.figures import plot_image_sheet, shaded_image
    from gan3d.export.mesh import export_mesh, voxels_to_mesh
    from gan3d.pipelines.voxel_gan import encode_images, interpolate, load_model

    if args.n < 2:
        raise ConfigError("--n must be at least 2")
    if (args.start is None) != (args.end is None):
        raise ConfigError("give both --from and --to, or neither (two noise samples)")
    loaded = load_model(args.ckpt)
    if args.start is not None:
        start, end = encode_images(loaded, args.start), encode_images(loaded, args.end)
    else:
        noise = loaded.model.sample_latent(2, args.seed)
        start, end = noise[:1], noise[1:]
    grids = interpolate(loaded, start, end, args.n, args.class_name)[:, 0].numpy()
    images = []
    for i, grid in enumerate(grids, start=1):
        try:
            mesh = voxels_to_mesh(grid, 0.5)
        except DataError:
            images.append(np.full((128, 128), 255, dtype=np.uint8))
            continue
        export_mesh(mesh, args.out / f"interp_{i:02d}.obj")
        images.append(shaded_image(mesh.verts, mesh.faces, size=128))
    plot_image_sheet(
        images, args.out / "interpolation.png", [f"{i / (args.n - 1):.2f}" for i in range(args.n)], columns=args.n
    )
    return 0
