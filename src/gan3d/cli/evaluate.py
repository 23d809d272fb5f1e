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
    parser.add_argument("pred_dir", type=Path, nargs="?", help="folder of predictions (searched recursively)")
    parser.add_argument("target_dir", type=Path, nargs="?", help="folder of ground truth (classes = first sub-folder)")
    parser.add_argument(
        "--ckpt", type=Path, help="evaluate a trained model instead (with --data), beside the mean-shape baseline"
    )
    parser.add_argument("--data", type=Path, help="prepared dataset for --ckpt")
    parser.add_argument("--split", default="test", choices=["train", "test"], help="split for --ckpt (default test)")
    parser.add_argument("--views", type=int, help="views per object for --ckpt (default 1, or 5 for multi-view)")
    parser.add_argument("--metrics", default="iou,ssim,chamfer,fscore", help="comma-separated (default all)")
    parser.add_argument("--res", type=int, default=32, help="grid resolution when both sides are meshes (default 32)")
    parser.add_argument("--points", type=int, default=10_000, help="surface points for chamfer/fscore (default 10000)")
    parser.add_argument("--fscore-threshold", type=float, default=0.01, help="F-score distance (default 0.01)")
    parser.add_argument(
        "--grid", type=int, default=128, help="surface extraction grid for implicit models (PIFu; default 128)"
    )
    parser.add_argument("--json", type=Path, help="write all results here")
    parser.add_argument(
        "--generation",
        action="store_true",
        help="with --ckpt: score generated samples (MMD/COV/1-NNA, recognition, diversity), the default for a pure GAN",
    )
    parser.add_argument("--gen-points", type=int, default=1024, help="surface points per shape for --generation")
    parser.add_argument(
        "--teacher",
        type=Path,
        help="with a texture GAN --ckpt: the §3.3 texture predictor's export, whose reconstructions of train views "
        "are scored beside the samples (what the template reaches with supervision)",
    )
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    from rich.console import Console
    from rich.table import Table

    from gan3d.errors import ConfigError
    from gan3d.files import write_text_atomic
    from gan3d.pipelines.evaluate_files import evaluate_pairs, find_pairs

    if args.ckpt is not None:
        return _run_model(args)
    if args.pred_dir is None or args.target_dir is None:
        raise ConfigError("give PRED_DIR TARGET_DIR, or --ckpt CKPT --data DIR")

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


def _run_dibr(args: argparse.Namespace, loaded) -> int:  # noqa: ANN001
    """A DIB-R predictor on held-out objects, beside the template (`gan3d.pipelines.evaluate_dibr`)."""
    from rich.console import Console
    from rich.table import Table

    from gan3d.errors import ConfigError
    from gan3d.files import write_text_atomic
    from gan3d.models.texture_gan import TextureGanGenerator
    from gan3d.pipelines.evaluate_dibr import METRICS, dibr_dataset, evaluate_mesh_predictor

    if isinstance(loaded.model, TextureGanGenerator):
        return _run_texture_gan(args, loaded)
    if args.generation:
        raise ConfigError(f"{loaded.builder} predicts meshes from images: --generation does not apply")
    views = args.views if args.views is not None else 4
    if views < 1:
        raise ConfigError(f"--views must be >= 1, got {views}")
    dataset = dibr_dataset(args.data, loaded.model.image_size, args.split, views, args.res)
    result = evaluate_mesh_predictor(loaded.model, dataset)
    table = Table(title=f"{loaded.builder} on {args.data} ({args.split}): view 0 in, {views - 1} unseen views")
    table.add_column("class")
    table.add_column("n", justify="right")
    table.add_column("mesh")
    labels = {"iou_3d": "IoU 3D", "chamfer_l1": "CD-L1", "f_score": "F@1%", "silhouette_iou_input": "sil in"}
    labels |= {"silhouette_iou_unseen": "sil unseen", "color_l1_input": "col in", "color_l1_unseen": "col unseen"}
    for metric in METRICS:
        table.add_column(labels[metric], justify="right")
    rows = [(name, c["count"], c) for name, c in result.per_class.items()]
    rows.append(("[bold]overall", len(result.rows), result.summary))
    for name, count, means in rows:
        for source in ("model", "template"):
            cells = [f"{means[source][m]:.4f}" for m in METRICS]
            table.add_row(name if source == "model" else "", str(count) if source == "model" else "", source, *cells)
    console = Console()
    Console(width=max(console.width, 132)).print(table)  # ten columns: wider than a default pipe's 80
    if args.json is not None:
        write_text_atomic(args.json, json.dumps(result.to_dict(), indent=1))
    return 0


def _run_pifu(args: argparse.Namespace, loaded) -> int:  # noqa: ANN001
    """PIFu on held-out objects, beside the mean shape (`gan3d.pipelines.evaluate_pifu`)."""
    from rich.console import Console
    from rich.table import Table

    from gan3d.data.datasets import ShapeDataset
    from gan3d.errors import ConfigError
    from gan3d.files import write_text_atomic
    from gan3d.models.pifu import Pifu
    from gan3d.models.pifuhd import PifuHD
    from gan3d.pipelines.evaluate_pifu import METRICS, SOURCES, evaluate_pifu, pifu_dataset
    from gan3d.pipelines.pifu_entry import check_views

    if not isinstance(loaded.model, (Pifu, PifuHD)):
        raise ConfigError(
            f"{loaded.builder} predicts normal maps: its training logs val/angle_front and val/angle_back; "
            "gan3d evaluate scores reconstructions"
        )
    if args.generation:
        raise ConfigError(f"{loaded.builder} reconstructs from images: --generation does not apply")
    views = args.views if args.views is not None else 1
    if views < 1:
        raise ConfigError(f"--views must be >= 1, got {views}")
    check_views(loaded.model, loaded.builder, views)
    test = pifu_dataset(args.data, loaded.model.image_size, args.split, views, args.res)
    train = ShapeDataset(args.data, args.res, "train", classes=test.classes)
    result = evaluate_pifu(loaded.model, test, train, args.data, resolution=args.grid)
    title = f"{loaded.builder} on {args.data} ({args.split}): {views} view(s) in, surface at {args.grid}^3"
    table = Table(title=title)
    for column in ("class", "n", "source"):
        table.add_column(column)
    labels = {"iou_3d": "IoU 3D", "chamfer_l1": "CD-L1", "f_score": "F@1%", "normal_consistency": "NC"}
    labels |= {"iou_legs": "IoU legs", "iou_rest": "IoU rest"}
    for metric in METRICS:
        table.add_column(labels[metric], justify="right")
    rows = [(name, c["count"], c) for name, c in result.per_class.items()]
    rows.append(("[bold]overall", len(result.rows), result.summary))
    for name, count, means in rows:
        for source in SOURCES:
            first = source == SOURCES[0]
            cells = [f"{means[source][m]:.4f}" for m in METRICS]
            table.add_row(name if first else "", str(count) if first else "", source.replace("_", " "), *cells)
    Console(width=max(Console().width, 132)).print(table)
    if args.json is not None:
        write_text_atomic(args.json, json.dumps(result.to_dict(), indent=1))
    return 0


def _run_texture_gan(args: argparse.Namespace, loaded) -> int:  # noqa: ANN001
    """The texture GAN's samples against the split, beside the train split and the untrained generator."""
    from rich.console import Console
    from rich.table import Table

    from gan3d.data.datasets import ShapeDataset
    from gan3d.errors import ConfigError
    from gan3d.files import write_text_atomic
    from gan3d.models.dibr_net import DibrNet
    from gan3d.pipelines.evaluate_texture_gan import evaluate_texture_gan

    def split(name: str) -> ShapeDataset:
        return ShapeDataset(args.data, resolution=args.res, split=name, surface_points=2048)

    teacher = None
    if args.teacher is not None:
        from gan3d.pipelines.evaluate_dibr import dibr_dataset
        from gan3d.pipelines.loading import load_model

        predictor = load_model(args.teacher)
        if not isinstance(predictor.model, DibrNet):
            raise ConfigError(f"{args.teacher}: --teacher must be a DIB-R predictor's export, got {predictor.builder}")
        teacher = (predictor.model, dibr_dataset(args.data, predictor.model.image_size, "train", 1, args.res))
    result = evaluate_texture_gan(loaded.model, split(args.split), split("train"), teacher=teacher)
    table = Table(title=f"{loaded.builder} samples against {args.data} ({args.split}), 2,048 surface points each")
    console = Console(width=max(Console().width, 140))
    columns = ("source", "MMD-CD", "COV-CD", "1-NNA-CD", "diversity (mean pairwise CD)", "nearest train class")
    for column in columns:
        table.add_column(column, justify="left" if column in ("source", columns[-1]) else "right")
    for name, row in result.items():
        shares = " ".join(f"{c} {v:.0%}" for c, v in row.get("nearest_class", {}).items() if v > 0) or "-"
        table.add_row(
            name,
            f"{row['mmd_cd']:.5f}",
            f"{row['cov_cd']:.1%}",
            f"{row['nna_cd']:.1%}",
            f"{row['diversity']:.5f}",
            shares,
        )
    console.print(table)
    if args.json is not None:
        write_text_atomic(args.json, json.dumps(result, indent=1))
    return 0


def _run_model(args: argparse.Namespace) -> int:
    from rich.console import Console
    from rich.table import Table

    from gan3d.errors import ConfigError
    from gan3d.files import write_text_atomic
    from gan3d.pipelines.evaluate_model import evaluate_reconstruction
    from gan3d.pipelines.loading import load_model

    if args.data is None:
        raise ConfigError("--ckpt needs --data DIR (a prepared dataset)")
    loaded = load_model(args.ckpt)
    from gan3d.models.texture_gan import TextureGanGenerator

    if args.teacher is not None and not isinstance(loaded.model, TextureGanGenerator):
        raise ConfigError(f"--teacher applies to a texture GAN's export; {args.ckpt} is {loaded.builder}")
    if loaded.family == "dibr":
        return _run_dibr(args, loaded)
    if loaded.family == "pifu":
        return _run_pifu(args, loaded)
    if args.generation or loaded.model.encoder is None:
        return _run_generation(args, loaded)
    result = evaluate_reconstruction(loaded, args.data, args.split, args.views)
    table = Table(title=f"{loaded.builder} on {args.data} ({args.split}); baseline = per-class mean training shape")
    for column in ("class", "n", "IoU", "baseline IoU", "SSIM", "baseline SSIM", "recon"):
        table.add_column(column, justify="left" if column == "class" else "right")
    rows = list(result["per_class"].items()) + [("[bold]overall", result["overall"])]
    for name, r in rows:
        table.add_row(
            name,
            str(int(r["count"])),
            f"{r['iou']:.4f}",
            f"{r['baseline_iou']:.4f}",
            f"{r['ssim']:.4f}",
            f"{r['baseline_ssim']:.4f}",
            f"{r['recon']:.2f}",
        )
    Console().print(table)
    if "per_part" in result:
        parts = Table(title="per-part IoU (built-in chairs and tables; each voxel scored with its nearest part)")
        for column in ("class", "part", "n", "IoU", "baseline IoU"):
            parts.add_column(column, justify="left" if column in ("class", "part") else "right")
        for name, per_part in result["per_part"].items():
            for part, r in per_part.items():
                parts.add_row(name, part, str(int(r["count"])), f"{r['iou']:.4f}", f"{r['baseline_iou']:.4f}")
        Console().print(parts)
    if args.json is not None:
        write_text_atomic(args.json, json.dumps(result, indent=1))
    return 0


def _run_generation(args: argparse.Namespace, loaded) -> int:  # noqa: ANN001
    from rich.console import Console
    from rich.table import Table

    from gan3d.errors import ConfigError
    from gan3d.files import write_text_atomic
    from gan3d.pipelines.evaluate_generation import evaluate_generation

    if not 16 <= args.gen_points <= 100_000:
        raise ConfigError(f"--gen-points must be in [16, 100000], got {args.gen_points}")
    result = evaluate_generation(loaded, args.data, args.split, args.gen_points)
    settings = result["settings"]
    table = Table(
        title=f"{loaded.builder}: {settings['samples']} samples vs {args.data} ({args.split}), "
        f"{settings['n_points']} points per shape"
    )
    columns = ("MMD-CD", "COV-CD", "1-NNA-CD", "recognised", "pairwise IoU", "empty", "volume ratio")
    keys = ("mmd_cd", "cov_cd", "nna_cd", "recognised", "diversity_mean_pairwise_iou", "empty", "volume_ratio")
    table.add_column("generator")
    for column in columns:
        table.add_column(column, justify="right")
    for name, label in (
        ("model", "[bold]this model"),
        ("train_split", "train split (ceiling)"),
        ("mean_shape", "mean shape (collapse)"),
    ):
        row = result[name]
        table.add_row(label, *(f"{row[k]:.4f}" if k in row else "-" for k in keys))
    Console().print(table)
    if args.json is not None:
        write_text_atomic(args.json, json.dumps(result, indent=1))
    return 0
