"""`gan3d data voxelize MESH... --res 32 --out DIR`: meshes to solid `.binvox` grids."""

from __future__ import annotations

import argparse
from pathlib import Path

from gan3d.batch import default_jobs, report, run_batch


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "voxelize",
        help="voxelize meshes into DIR/<stem>.binvox (resumable, parallel)",
        description="Voxelize meshes (OFF/OBJ/STL/PLY) into solid binvox grids. Files already in DIR are "
        "skipped, so an interrupted run continues where it stopped; failures are listed at the end. When "
        "two meshes share a name (ShapeNet's <id>/model.obj), outputs keep the inputs' relative paths.",
    )
    parser.add_argument("meshes", nargs="+", type=Path, help="mesh files")
    parser.add_argument("--res", type=int, default=32, help="grid resolution (default 32)")
    parser.add_argument("--out", type=Path, required=True, help="output folder")
    parser.add_argument("--jobs", type=int, default=default_jobs(), help="worker processes (default: all cores)")
    parser.add_argument(
        "--surface",
        choices=["conservative", "none"],
        default="conservative",
        help="keep every voxel the surface passes through (default), or centres inside only",
    )
    parser.add_argument(
        "--carve",
        action="store_true",
        help="binvox-style carving: keep single-sheet open shapes open (digs tunnels behind holes)",
    )
    parser.add_argument("--force", action="store_true", help="redo files that already exist")
    parser.set_defaults(run=run)


def voxelize_file(item: tuple[Path, Path], out_dir: Path, res: int, surface: str, carve: bool, force: bool) -> bool:
    """Voxelize one mesh (path, output name) into `out_dir/<name>.binvox`; False when it already existed."""
    mesh_path, name = item
    from gan3d.data.object_outputs import ObjectOutputs, write_missing_outputs
    from gan3d.io.mesh import load_mesh

    outputs = ObjectOutputs(
        (out_dir / name).parent,
        name.name,
        grids={res: out_dir / f"{name}.binvox"},
        voxelize_options={"surface": surface == "conservative", "carve": carve},
    )
    return write_missing_outputs(outputs, lambda: load_mesh(mesh_path), force)


def run(args: argparse.Namespace) -> int:
    from gan3d.files import output_names

    result = run_batch(
        voxelize_file,
        list(zip(args.meshes, output_names(args.meshes), strict=True)),
        jobs=args.jobs,
        description=f"voxelize {args.res}^3",
        out_dir=args.out,
        res=args.res,
        surface=args.surface,
        carve=args.carve,
        force=args.force,
    )
    return report(result, f"voxelize into {args.out}")
