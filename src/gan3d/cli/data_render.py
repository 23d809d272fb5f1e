"""`gan3d data render MESH... --views 12 --size 224 --out DIR`: MVCNN-style rendered views."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import TYPE_CHECKING

from gan3d.batch import default_jobs, report, run_batch

if TYPE_CHECKING:  # imported lazily at run time: torch is heavy and `gan3d --help` should be quick
    from gan3d.data.render_views import ViewSettings


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "render",
        help="render views: DIR/<stem>_001.png..., masks, depth and cameras in DIR/<stem>_views/",
        description="Render each mesh from cameras orbiting it (MVCNN: 12 views, elevation 30, every 30 "
        "degrees of azimuth, unit sphere, 224x224). Writes DIR/<stem>_NNN.png (grey on white) and, in "
        "DIR/<stem>_views/, NNN_mask.png, NNN_depth.png (16-bit, value/1000 = depth) and NNN.json (camera).",
    )
    parser.add_argument("meshes", nargs="+", type=Path, help="mesh files")
    parser.add_argument("--views", type=int, default=12, help="number of views (default 12)")
    parser.add_argument("--size", type=int, default=224, help="image side in pixels (default 224)")
    parser.add_argument("--elevation", type=float, default=30.0, help="camera elevation, degrees (default 30)")
    parser.add_argument("--up", choices=["x", "y", "z"], default="z", help="mesh up axis (ModelNet z, ShapeNet y)")
    parser.add_argument("--out", type=Path, required=True, help="output folder")
    parser.add_argument("--jobs", type=int, default=default_jobs(), help="worker processes (default: all cores)")
    parser.add_argument("--force", action="store_true", help="redo meshes whose views exist")
    parser.add_argument(
        "--color", action="store_true", help="RGB views in the meshes' vertex colours or textures (default: grey)"
    )
    parser.set_defaults(run=run)


def render_file(
    item: tuple[Path, Path], out_dir: Path, settings: ViewSettings, force: bool, color: bool = False
) -> bool:
    """Render one mesh; False when its last view already existed."""
    from gan3d.data.object_outputs import ObjectOutputs, write_missing_outputs
    from gan3d.io.mesh import load_mesh

    mesh_path, name = item  # the mesh and its output name (relative path, see `output_names`)
    outputs = ObjectOutputs((out_dir / name).parent, name.name, views=settings, color=color)
    return write_missing_outputs(outputs, lambda: load_mesh(mesh_path), force)


def run(args: argparse.Namespace) -> int:
    from gan3d.data.render_views import ViewSettings
    from gan3d.errors import ConfigError
    from gan3d.files import output_names

    if args.views < 1 or args.size < 8:
        raise ConfigError(f"--views must be >= 1 and --size >= 8; got {args.views} and {args.size}")
    settings = ViewSettings(views=args.views, size=args.size, elevation=args.elevation, up_axis=args.up)
    result = run_batch(
        render_file,
        list(zip(args.meshes, output_names(args.meshes), strict=True)),
        jobs=args.jobs,
        description="render views",
        out_dir=args.out,
        settings=settings,
        force=args.force,
        color=args.color,
    )
    return report(result, f"render into {args.out}")
