"""`gan3d sample --ckpt CKPT --n 16 [--class chair] [--seed 0] --out DIR`: shapes from noise."""

from __future__ import annotations

import argparse
from pathlib import Path


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser("sample", help="generate shapes from noise: .binvox, .obj and a PNG sheet")
    parser.add_argument("--ckpt", type=Path, required=True, help="export folder (config.json) or Lightning .ckpt")
    parser.add_argument("--n", type=int, default=16, help="number of shapes (default 16)")
    parser.add_argument("--class", dest="class_name", help="class to generate (conditional models)")
    parser.add_argument("--seed", type=int, default=0, help="noise seed (default 0)")
    parser.add_argument("--threshold", type=float, default=0.5, help="occupancy threshold (default 0.5)")
    parser.add_argument("--out", type=Path, required=True, help="output folder")
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    import numpy as np

    from gan3d.errors import ConfigError, DataError
    from gan3d.export.figures import plot_image_sheet, shaded_image
    from gan3d.export.grids import save_probabilities
    from gan3d.export.mesh import export_mesh, voxels_to_mesh
    from gan3d.pipelines.voxel_gan import generate, load_model

    if args.n < 1:
        raise ConfigError("--n must be at least 1")
    loaded = load_model(args.ckpt)
    probs = generate(loaded, args.n, args.class_name, args.seed)
    images, names, empty = [], [], 0
    for i, grid in enumerate(probs[:, 0].numpy(), start=1):
        stem = args.out / f"sample_{i:04d}"
        save_probabilities(grid, stem.with_suffix(".binvox"), args.threshold)
        try:
            mesh = voxels_to_mesh(grid, args.threshold)
        except DataError:  # an empty sample: nothing to mesh
            empty += 1
            images.append(np.full((128, 128), 255, dtype=np.uint8))
        else:
            export_mesh(mesh, stem.with_suffix(".obj"))
            images.append(shaded_image(mesh.verts, mesh.faces, size=128))
        names.append(stem.name)
    plot_image_sheet(images, args.out / "samples.png", names, columns=min(8, args.n))
    if empty:
        import sys

        sys.stderr.write(f"gan3d: note: {empty} of {args.n} samples were empty at threshold {args.threshold}\n")
    return 0
