"""`gan3d sample --ckpt CKPT --n 16 [--class chair] [--seed 0] --out DIR`: shapes from noise, by the
model's family (`gan3d.pipelines.loading`)."""

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
    parser.add_argument("--jobs", type=int, help="worker processes for meshing (default: all cores from 64 shapes)")
    parser.add_argument("--out", type=Path, required=True, help="output folder")
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    from gan3d.errors import ConfigError
    from gan3d.pipelines.loading import SampleRequest, family_pipeline, load_model

    if args.n < 1 or args.batch_size < 1:
        raise ConfigError("--n and --batch-size must be at least 1")
    loaded = load_model(args.ckpt)
    request = SampleRequest(
        out=args.out,
        n=args.n,
        class_name=args.class_name,
        seed=args.seed,
        threshold=args.threshold,
        mesh_format=None if args.format == "none" else f".{args.format}",
        precision=args.precision,
        batch_size=args.batch_size,
        jobs=args.jobs,
    )
    return family_pipeline(loaded.family).sample_to_folder(loaded, request)
