"""`gan3d fit VIEWS_DIR --out mesh.obj`: fit a coloured mesh to an object's posed views with DIB-R
(`gan3d.pipelines.fit_mesh`). VIEWS_DIR is what `gan3d data render` writes (images, masks, camera
JSONs). Writes the mesh (in the source mesh's frame, with vertex colours), `<out stem>_fit.png` (views,
the start, the fit) and `<out stem>_fit.json` (settings, time, silhouette IoU before and after, losses)."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "fit",
        help="fit a coloured mesh to posed views (gan3d data render output) with the DIB-R renderer",
        description=__doc__.split("\n\n")[0].replace("`", ""),
    )
    parser.add_argument("views_dir", type=Path, help="folder of one object's views (gan3d data render --out)")
    parser.add_argument("--out", type=Path, required=True, help="output mesh (.obj/.ply/.glb: with colours)")
    parser.add_argument("--stem", help="the object to fit when VIEWS_DIR holds several")
    parser.add_argument("--size", type=int, default=128, help="image side the fit renders at (default 128)")
    parser.add_argument(
        "--vertices", type=int, default=2562, choices=(642, 2562, 10242), help="final vertex count (default 2562)"
    )
    parser.add_argument("--start", choices=("hull", "sphere"), default="hull", help="template (default: visual hull)")
    parser.add_argument("--steps", type=int, default=400, help="Adam steps over all stages (default 400)")
    parser.add_argument("--views-per-step", type=int, default=4, help="random views rendered per step (default 4)")
    parser.add_argument("--seed", type=int, default=0)
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn, TimeRemainingColumn

    from gan3d.data.object_views import load_object_views
    from gan3d.errors import ConfigError
    from gan3d.export.figures import plot_image_sheet
    from gan3d.files import write_text_atomic
    from gan3d.io.mesh import save_mesh
    from gan3d.pipelines.fit_mesh import FitSettings, fit_mesh, preview_images

    if args.out.suffix.lower() not in (".obj", ".ply", ".glb"):
        raise ConfigError(f"--out must be .obj, .ply or .glb (formats with vertex colours), got {args.out.name}")
    settings = FitSettings(args.vertices, args.start, args.steps, args.views_per_step, seed=args.seed)
    views = load_object_views(args.views_dir, size=args.size, stem=args.stem)
    columns = (TextColumn("fit {task.fields[what]}"), BarColumn(), TextColumn("{task.completed}/{task.total}"))
    with Progress(*columns, TextColumn("{task.fields[loss]}"), TimeElapsedColumn(), TimeRemainingColumn()) as bar:
        task = bar.add_task("fit", total=settings.steps, what=views.stem, loss="")

        def on_step(step: int, total: int, losses: dict[str, float]) -> None:
            text = f"IoU loss {losses['silhouette']:.3f} colour {losses['color']:.3f}"
            bar.update(task, completed=step, loss=text)

        result = fit_mesh(views, settings, on_step=on_step)
    mesh = result.mesh.with_verts(result.mesh.verts * views.radius + views.center)  # back to the source frame
    args.out.parent.mkdir(parents=True, exist_ok=True)
    figure = args.out.with_name(f"{args.out.stem}_fit.png")
    images, titles, columns_n = preview_images(views, result)
    plot_image_sheet(images, figure, titles, columns=columns_n)
    record = {"views_dir": str(args.views_dir), "stem": views.stem, "views": len(views), "size": args.size}
    record |= result.summary()
    write_text_atomic(args.out.with_name(f"{args.out.stem}_fit.json"), json.dumps(record, indent=1))
    save_mesh(mesh, args.out)  # last: a mesh that exists comes with its figure and record
    iou = record["silhouette_iou"]
    sys.stdout.write(
        f"gan3d fit: {args.out} ({len(mesh.verts)} vertices) in {result.seconds:.0f} s; silhouette IoU over "
        f"{len(views)} views {iou['start']:.3f} (start) -> {iou['fit']:.3f}; {figure.name}, {args.out.stem}_fit.json\n"
    )
    return 0
