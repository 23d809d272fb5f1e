"""`gan3d data prepare`: bring ModelNet (+ MVCNN views) or ShapeNet R2N2 into gan3d's layout."""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import TYPE_CHECKING

from gan3d.batch import default_jobs, report, run_batch
from gan3d.files import atomic_path

if TYPE_CHECKING:
    from gan3d.data.modelnet import ShapeRecord
    from gan3d.data.render_views import ViewSettings


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "prepare",
        help="voxelize ModelNet (and render or import views), or import ShapeNet R2N2, into DIR",
        description="Write DIR/<class>/<split>/<stem>_<res>.binvox and views <stem>_001.png... (the layout "
        "of `gan3d data synth`). With --modelnet, meshes are voxelized; views come from --views (MVCNN-style "
        "folders, any naming) or are rendered when absent. With --shapenet (an R2N2 root holding "
        "ShapeNetVox32/ and ShapeNetRendering/), grids and renderings are copied. Resumable.",
    )
    source = parser.add_mutually_exclusive_group(required=True)
    source.add_argument("--modelnet", type=Path, help="ModelNet root: <class>/{train,test}/<class>_NNNN.off")
    source.add_argument("--shapenet", type=Path, help="3D-R2N2 root: ShapeNetVox32/ + ShapeNetRendering/")
    parser.add_argument("--views", type=Path, help="MVCNN-style view root for --modelnet (else views are rendered)")
    parser.add_argument("--render-views", type=int, default=12, help="views to render when none given; 0: none")
    parser.add_argument("--res", default="32", help="comma-separated grid resolutions for --modelnet (default 32)")
    parser.add_argument("--classes", help="comma-separated classes to keep (default all)")
    parser.add_argument("--out", type=Path, required=True, help="output folder")
    parser.add_argument("--jobs", type=int, default=default_jobs(), help="worker processes (default: all cores)")
    parser.set_defaults(run=run)


def prepare_modelnet_object(
    record: ShapeRecord, out: Path, resolutions: tuple[int, ...], views: list[Path], settings: ViewSettings
) -> bool:
    """Voxelize one ModelNet mesh and copy or render its views; False when all outputs existed."""
    from gan3d.data.object_outputs import ObjectOutputs, write_missing_outputs
    from gan3d.io.mesh import load_mesh

    folder = out / record.class_name / record.split
    outputs = ObjectOutputs(
        folder,
        record.stem,
        grids={res: folder / f"{record.stem}_{res}.binvox" for res in resolutions},
        views=settings if settings.views > 0 else None,
        copy_views=list(views),
    )
    assert record.mesh is not None  # callers pass records with meshes only
    return write_missing_outputs(outputs, lambda: load_mesh(record.mesh))  # type: ignore[arg-type]


def prepare_r2n2_object(record: ShapeRecord, out: Path) -> bool:
    """Import one R2N2 object into gan3d's layout; False when it existed.

    The 32^3 grid gets its true placement (`r2n2_grid_placement`); each rendering is copied with, in
    `<stem>_views/`, its mask (the render's alpha) and its camera JSON (`r2n2_cameras` from
    `rendering_metadata.txt`, in ShapeNet's model frame: the normalisation is the identity).
    """
    import numpy as np
    from PIL import Image

    from gan3d.data.object_outputs import copy_view_images
    from gan3d.data.shapenet import r2n2_grid_placement, read_rendering_metadata
    from gan3d.files import write_text_atomic
    from gan3d.io.binvox import read_binvox, write_binvox
    from gan3d.io.images import has_alpha, open_image
    from gan3d.structures.cameras import r2n2_cameras

    folder = out / record.class_name / record.split
    stem = record.stem
    grid = folder / f"{stem}_32.binvox"
    views = record.views
    if grid.exists() and (not views or (folder / f"{stem}_{len(views):03d}.png").exists()):
        return False
    if 32 in record.grids:
        write_binvox(r2n2_grid_placement(read_binvox(record.grids[32])), grid)  # decoding validates the file
    rows = read_rendering_metadata(record.metadata) if record.metadata is not None else None
    extras = folder / f"{stem}_views"
    for i, source in enumerate(views, start=1):
        image = open_image(source)
        size = image.size[0]
        alpha = np.asarray(image.convert("RGBA"))[..., 3] if has_alpha(image) else None
        if rows is not None:
            camera = r2n2_cameras([rows[int(source.stem)]], size)[0].to_dict()
            meta = {"view": i, "camera": camera, "normalization": {"center": [0.0, 0.0, 0.0], "radius": 1.0}}
            write_text_atomic(extras / f"{i:03d}.json", json.dumps({**meta, "source": "3D-R2N2 metadata"}, indent=1))
        if alpha is not None:
            with atomic_path(extras / f"{i:03d}_mask.png") as tmp:
                Image.fromarray(((alpha > 127) * 255).astype(np.uint8)).save(tmp, format="PNG")
    copy_view_images(views, folder, stem)  # last: the images mark the object complete
    return True


def run(args: argparse.Namespace) -> int:
    from gan3d.data.modelnet import scan_layout
    from gan3d.data.render_views import ViewSettings
    from gan3d.data.shapenet import scan_r2n2
    from gan3d.errors import ConfigError
    from gan3d.files import write_text_atomic

    classes = [c.strip() for c in args.classes.split(",")] if args.classes else None
    args.out.mkdir(parents=True, exist_ok=True)
    if args.shapenet is not None:
        records = scan_r2n2(args.shapenet, classes)
        manifest = {"name": "shapenet-r2n2", "source": str(args.shapenet), "resolutions": [32], "up_axis": "y"}
        write_text_atomic(args.out / "dataset.json", json.dumps(manifest, indent=1))
        result = run_batch(prepare_r2n2_object, records, jobs=args.jobs, description="import R2N2", out=args.out)
        return report(result, f"prepare into {args.out}")

    try:
        resolutions = tuple(int(r) for r in args.res.split(","))
    except ValueError:
        raise ConfigError(f"--res must be comma-separated integers, got {args.res!r}") from None
    records = [r for r in scan_layout(args.modelnet, classes) if r.mesh is not None]
    if not records:
        raise ConfigError(f"{args.modelnet}: no meshes found under <class>/{{train,test}}/")
    view_lookup = {}
    if args.views is not None:
        view_lookup = {(r.class_name, r.split, r.stem): r.views for r in scan_layout(args.views, classes) if r.views}
    settings = ViewSettings(views=args.render_views)
    manifest = {
        "name": "modelnet",
        "source": str(args.modelnet),
        "views_source": str(args.views) if args.views else "rendered by gan3d",
        "resolutions": list(resolutions),
        "up_axis": "z",
    }
    write_text_atomic(args.out / "dataset.json", json.dumps(manifest, indent=1))
    items = [(r, view_lookup.get((r.class_name, r.split, r.stem), [])) for r in records]
    result = run_batch(
        _prepare_item,
        items,
        jobs=args.jobs,
        description="prepare ModelNet",
        out=args.out,
        resolutions=resolutions,
        settings=settings,
    )
    return report(result, f"prepare into {args.out}")


def _prepare_item(
    item: tuple[ShapeRecord, list[Path]], out: Path, resolutions: tuple[int, ...], settings: ViewSettings
) -> bool:
    record, views = item
    return prepare_modelnet_object(record, out, resolutions, views, settings)
