"""`gan3d sample --ckpt CKPT --n 16 [--class chair] [--seed 0] --out DIR`: shapes from noise."""

from __future__ import annotations

import argparse
from pathlib import Path

SHEET_MAX = 64  # shapes drawn on samples.png (the first ones); every shape gets its grid and mesh
PARALLEL_FROM = 64  # below this many shapes, starting worker processes costs more than it saves


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser("sample", help="generate shapes from noise: .binvox, .obj and a PNG sheet")
    parser.add_argument("--ckpt", type=Path, required=True, help="export folder (config.json) or Lightning .ckpt")
    parser.add_argument("--n", type=int, default=16, help="number of shapes (default 16)")
    parser.add_argument("--class", dest="class_name", help="class to generate (conditional models)")
    parser.add_argument("--seed", type=int, default=0, help="noise seed (default 0)")
    parser.add_argument("--threshold", type=float, default=0.5, help="occupancy threshold (default 0.5)")
    parser.add_argument(
        "--format", default="obj", choices=["obj", "ply", "stl", "glb", "off", "none"], help="mesh format (default obj)"
    )
    parser.add_argument(
        "--precision",
        default="fp32",
        choices=["fp32", "bf16"],
        help="generator arithmetic (bf16: faster on recent CPUs)",
    )
    parser.add_argument("--batch-size", type=int, default=32, help="shapes per generator forward (default 32)")
    parser.add_argument(
        "--jobs", type=int, help=f"worker processes for meshing (default: all cores from {PARALLEL_FROM} shapes)"
    )
    parser.add_argument("--out", type=Path, required=True, help="output folder")
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    import sys
    from collections.abc import Iterator

    import numpy as np

    from gan3d.batch import default_jobs, report, run_batch
    from gan3d.errors import ConfigError
    from gan3d.export.figures import grid_thumbnail, plot_image_sheet
    from gan3d.export.samples import SampleJob, export_sample, sample_stems
    from gan3d.pipelines.voxel_gan import generate_batches, load_model

    if args.n < 1 or args.batch_size < 1:
        raise ConfigError("--n and --batch-size must be at least 1")
    loaded = load_model(args.ckpt)
    stems = sample_stems(args.out, args.n)
    sheet: list[np.ndarray] = []
    empty = 0

    def jobs() -> Iterator[SampleJob]:
        nonlocal empty
        for start, grids in generate_batches(
            loaded, args.n, args.class_name, args.seed, args.batch_size, args.precision
        ):
            for offset, grid in enumerate(grids[:, 0].numpy()):
                if start + offset < SHEET_MAX:
                    sheet.append(grid)
                empty += int(not grid.max() > args.threshold)
                yield SampleJob(stems[start + offset], grid)

    workers = args.jobs or (default_jobs() if args.n >= PARALLEL_FROM else 1)
    result = run_batch(
        export_sample,
        jobs(),
        jobs=workers,
        description="sample",
        total=args.n,
        threshold=args.threshold,
        mesh_format=None if args.format == "none" else f".{args.format}",
    )
    images = [grid_thumbnail(grid, 128, args.threshold) for grid in sheet]
    plot_image_sheet(images, args.out / "samples.png", [s.name for s in stems[: len(sheet)]], min(8, len(sheet)))
    if empty:
        sys.stderr.write(f"gan3d: note: {empty} of {args.n} samples were empty at threshold {args.threshold}\n")
    return report(result, f"sample into {args.out}")
