"""`gan3d features --ckpt CKPT --data DIR`: classify shapes with the discriminator's features."""

from __future__ import annotations

import argparse
from pathlib import Path


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "features",
        help="linear classifier on trained vs untrained D's features vs raw voxels (3D-GAN's ModelNet result)",
    )
    parser.add_argument("--ckpt", type=Path, required=True, help="export folder (config.json) or Lightning .ckpt")
    parser.add_argument("--data", type=Path, required=True, help="prepared dataset with >= 2 classes")
    parser.add_argument("--classes", help="comma-separated classes (default all)")
    parser.add_argument(
        "--classifier", choices=("svm", "logistic"), default="svm", help="linear SVM (the paper's) or logistic"
    )
    parser.add_argument(
        "--train-per-class", type=int, help="train on this many objects per class (a seeded draw; default all)"
    )
    parser.add_argument("--seed", type=int, default=0, help="the untrained D's initialisation and the draw")
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    from rich.console import Console
    from rich.table import Table

    from gan3d.pipelines.features import classify
    from gan3d.pipelines.voxel_gan import load_model

    classes = [c.strip() for c in args.classes.split(",")] if args.classes else None
    report = classify(load_model(args.ckpt), args.data, classes, args.classifier, args.seed, args.train_per_class)
    table = Table(
        title=f"test accuracy, linear {report.classifier} ({report.n_train} train / {report.n_test} test objects)"
    )
    table.add_column("class")
    for name, score in report.scores.items():
        table.add_column(f"{name} ({score.n_features})", justify="right")
    for name in report.classes:
        if name in next(iter(report.scores.values())).per_class:
            table.add_row(name, *(f"{s.per_class[name]:.3f}" for s in report.scores.values()))
    table.add_row("[bold]overall", *(f"[bold]{s.accuracy:.3f}" for s in report.scores.values()))
    table.add_row("chance (commonest class)", *(f"{report.chance:.3f}" for _ in report.scores))
    Console(width=120).print(table)
    return 0
