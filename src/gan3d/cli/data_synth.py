"""`gan3d data synth --out DIR`: the built-in procedural dataset in the ModelNet-like layout."""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import TYPE_CHECKING

from gan3d.cli.batch import default_jobs, report, run_batch

if TYPE_CHECKING:
    from gan3d.data.render_views import ViewSettings


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
    parser.add_argument("--jobs", type=int, default=default_jobs(), help="worker processes (default: all cores)")
    parser.set_defaults(run=run)


def synth_object(
    item: tuple[str, str, int, int], out: Path, resolutions: tuple[int, ...], settings: ViewSettings
) -> bool:
    """Generate one object and whatever of its files is missing; False when all existed."""
    from gan3d.data.binvox import write_binvox
    from gan3d.data.mesh_io import save_mesh
    from gan3d.data.render_views import render_views, save_views, view_paths
    from gan3d.data.synthetic import make_shape
    from gan3d.data.voxelize import voxelize

    class_name, split, number, seed = item
    folder = out / class_name / split
    stem = f"{class_name}_{number:04d}"
    mesh_path = folder / f"{stem}.off"
    grid_paths = {res: folder / f"{stem}_{res}.binvox" for res in resolutions}
    views = settings.views
    missing_views = views > 0 and not view_paths(folder, stem, views)[-1].exists()
    missing_grids = [res for res, path in grid_paths.items() if not path.exists()]
    if mesh_path.exists() and not missing_grids and not missing_views:
        return False
    mesh = make_shape(class_name, seed)
    for res in missing_grids:
        write_binvox(voxelize(mesh.verts, mesh.faces, res), grid_paths[res])
    if missing_views:
        save_views(render_views(mesh, settings), mesh, folder, stem, settings)
    save_mesh(mesh, mesh_path)  # last: its presence means the object is complete
    return True


def plan(classes: list[str], per_class: int, train_fraction: float, seed: int) -> list[tuple[str, str, int, int]]:
    """(class, split, number, object seed) for every object; numbers run on from train into test."""
    n_train = round(per_class * train_fraction)
    return [
        (name, "train" if i < n_train else "test", i + 1, seed * 1_000_003 + i)
        for name in classes
        for i in range(per_class)
    ]


def run(args: argparse.Namespace) -> int:
    from gan3d.data.render_views import ViewSettings
    from gan3d.data.synthetic import CLASSES
    from gan3d.errors import ConfigError
    from gan3d.files import write_text_atomic

    classes = [c.strip() for c in args.classes.split(",") if c.strip()]
    unknown = sorted(set(classes) - set(CLASSES))
    if unknown:
        raise ConfigError(f"unknown classes {', '.join(unknown)}; choose from {', '.join(CLASSES)}")
    try:
        resolutions = tuple(int(r) for r in args.res.split(","))
    except ValueError:
        raise ConfigError(f"--res must be comma-separated integers, got {args.res!r}") from None
    if any(r < 2 for r in resolutions) or args.per_class < 1 or not 0 < args.train_fraction <= 1:
        raise ConfigError("--res must be >= 2, --per-class >= 1 and --train-fraction in (0, 1]")
    settings = ViewSettings(views=args.views, size=args.size)
    manifest = {
        "name": "gan3d-synthetic",
        "classes": classes,
        "per_class": args.per_class,
        "resolutions": list(resolutions),
        "views": args.views,
        "size": args.size,
        "train_fraction": args.train_fraction,
        "seed": args.seed,
        "up_axis": "z",
        "layout": "<class>/<split>/<stem>.off, <stem>_<res>.binvox, <stem>_NNN.png, <stem>_views/",
    }
    args.out.mkdir(parents=True, exist_ok=True)
    write_text_atomic(args.out / "dataset.json", json.dumps(manifest, indent=1))
    items = plan(classes, args.per_class, args.train_fraction, args.seed)
    result = run_batch(
        synth_object,
        items,
        jobs=args.jobs,
        description="synthesize",
        out=args.out,
        resolutions=resolutions,
        settings=settings,
    )
    return report(result, f"synthesize into {args.out}")
