"""`gan3d evaluate PRED_DIR TARGET_DIR`: per-class and overall IoU, SSIM, Chamfer, F-score."""

from __future__ import annotations

import argparse
import json
from pathlib import Path


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "evaluate",
        help="score predictions against targets (files paired by name), table + JSON",
        description="Pairs files by stem (.binvox/.npy/.npz grids, .off/.obj/.ply/.stl meshes) and prints a "
        "per-class and overall table. The JSON holds every number with the conventions used.",
    )
    parser.add_argument("pred_dir", type=Path, help="folder of predictions (searched recursively)")
    parser.add_argument("target_dir", type=Path, help="folder of ground truth (classes = first sub-folder)")
    parser.add_argument("--metrics", default="iou,ssim,chamfer,fscore", help="comma-separated (default all)")
    parser.add_argument("--res", type=int, default=32, help="grid resolution when both sides are meshes (default 32)")
    parser.add_argument("--points", type=int, default=10_000, help="surface points for chamfer/fscore (default 10000)")
    parser.add_argument("--fscore-threshold", type=float, default=0.01, help="F-score distance (default 0.01)")
    parser.add_argument("--json", type=Path, help="write all results here")
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    from rich.console import Console
    from rich.table import Table

    from gan3d.files import write_text_atomic
    from gan3d.metrics.evaluate import evaluate_pairs, find_pairs

    metrics = tuple(m.strip() for m in args.metrics.split(",") if m.strip())
    pairs = find_pairs(args.pred_dir, args.target_dir)
    result = evaluate_pairs(pairs, metrics, args.res, args.points, args.fscore_threshold)
    table = Table(title=f"{len(pairs)} objects")
    table.add_column("class")
    table.add_column("n", justify="right")
    for m in metrics:
        table.add_column(m, justify="right")
    for cls, row in result.class_means().items():
        table.add_row(cls, str(int(row["count"])), *(f"{row[m]:.4f}" for m in metrics))
    overall = result.overall()
    table.add_row("[bold]overall", str(int(overall["count"])), *(f"[bold]{overall[m]:.4f}" for m in metrics))
    Console().print(table)
    if args.json is not None:
        write_text_atomic(args.json, json.dumps(result.to_json(), indent=1))
    return 0
