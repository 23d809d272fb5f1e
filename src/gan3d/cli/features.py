"""`gan3d features --ckpt CKPT --data DIR`: classify shapes with the discriminator's features."""

from __future__ import annotations

import argparse
from pathlib import Path


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "features",
        help="linear classifier on D's features vs raw voxels vs chance (3D-GAN's ModelNet result)",
    )
    parser.add_argument("--ckpt", type=Path, required=True, help="export folder (config.json) or Lightning .ckpt")
    parser.add_argument("--data", type=Path, required=True, help="prepared dataset with >= 2 classes")
    parser.add_argument("--classes", help="comma-separated classes (default all)")
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    from rich.console import Console
    from rich.table import Table

    from gan3d.pipelines.features import classify
    from gan3d.pipelines.voxel_gan import load_model

    classes = [c.strip() for c in args.classes.split(",")] if args.classes else None
    report = classify(load_model(args.ckpt), args.data, classes)
    table = Table(title=f"test accuracy ({report.n_train} train / {report.n_test} test objects)")
    for column in ("class", f"D features ({report.d_features})", f"raw voxels ({report.voxel_features})"):
        table.add_column(column, justify="left" if column == "class" else "right")
    for name in report.classes:
        if name in report.d_per_class:
            table.add_row(name, f"{report.d_per_class[name]:.3f}", f"{report.voxel_per_class[name]:.3f}")
    table.add_row("[bold]overall", f"[bold]{report.d_accuracy:.3f}", f"[bold]{report.voxel_accuracy:.3f}")
    table.add_row("chance (commonest class)", f"{report.chance:.3f}", f"{report.chance:.3f}")
    Console().print(table)
    return 0
