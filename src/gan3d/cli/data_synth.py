"""`gan3d data synth --out DIR`: the built-in procedural dataset in the ModelNet-like layout."""

from __future__ import annotations

import argparse
from pathlib import Path

from gan3d.batch import default_jobs, report


def register(subparsers: argparse._SubParsersAction) -> None:
    from gan3d.data.synthetic import CLASSES

    parser = subparsers.add_parser(
        "synth",
        help="generate the built-in dataset: meshes, voxel grids and rendered views",
        description="Write DIR/<class>/{train,test}/<class>_NNNN.off with <stem>_<res>.binvox grids and the "
        "rendered views (<stem>_001.png..., <stem>_views/) beside each mesh, and DIR/dataset.json. "
        f"Classes: {', '.join(CLASSES)}. Deterministic by --seed; resumable.",
    )
    parser.add_argument("--out", type=Path, required=True, help="output folder")
    parser.add_argument("--classes", default=",".join(CLASSES), help="comma-separated classes (default: all)")
    parser.add_argument("--per-class", type=int, default=100, help="objects per class (default 100)")
    parser.add_argument("--res", default="32", help="comma-separated grid resolutions (default 32), e.g. 32,64")
    parser.add_argument("--views", type=int, default=12, help="rendered views per object; 0 for none (default 12)")
    parser.add_argument("--size", type=int, default=224, help="view image side (default 224)")
    parser.add_argument("--train-fraction", type=float, default=0.8, help="train split fraction (default 0.8)")
    parser.add_argument("--seed", type=int, default=0, help="dataset seed (default 0)")
    parser.add_argument(
        "--color",
        action="store_true",
        help="per-part colours and procedural textures: textured OBJ meshes and RGB views (default: grey)",
    )
    parser.add_argument("--jobs", type=int, default=default_jobs(), help="worker processes (default: all cores)")
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    from gan3d.data.synth_dataset import build_synthetic_dataset
    from gan3d.errors import ConfigError

    classes = [c.strip() for c in args.classes.split(",") if c.strip()]
    try:
        resolutions = tuple(int(r) for r in args.res.split(","))
    except ValueError:
        raise ConfigError(f"--res must be comma-separated integers, got {args.res!r}") from None
    result = build_synthetic_dataset(
        args.out,
        classes,
        args.per_class,
        resolutions,
        args.views,
        args.size,
        args.train_fraction,
        args.seed,
        args.jobs,
        color=args.color,
    )
    return report(result, f"synthesize into {args.out}")
