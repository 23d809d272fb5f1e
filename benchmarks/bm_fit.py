"""`gan3d fit` on real meshes: render, fit, and score the fit against the true mesh in 3D.

For each mesh of `../shared/real` (bunny, spot, cow, teapot, ModelNet chairs, ...): render V views at
128 px with `gan3d data render` (elevation 30), fit with `gan3d.pipelines.fit_mesh` (the CLI's
defaults unless told), and score the fitted mesh and the template it started from against the true
mesh with the metrics harness (`gan3d.pipelines.evaluate_files`: IoU voxelised at 64^3 in the truth's
grid, Chamfer-L1 on 10,000 surface points with the truth's longest side 1). One table, one run:

    python benchmarks/bm_fit.py [--real ../shared/real] [--out /tmp/bm_fit] [--views 12 24]
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

# (name, path under the real folder, up axis, genus > 0)
MESHES = [
    ("bunny", "classic_common3d/bunny/misc/stanford-bunny.obj", "y", False),
    ("spot", "classic_common3d/spot/misc/spot.obj", "y", False),
    ("cow", "classic_common3d/cow/misc/cow.obj", "y", False),
    ("teapot", "classic_common3d/teapot/misc/teapot.obj", "y", True),
    ("modelnet chair_0001", "modelnet_off_tf3dgan/chair/train/chair.off", "z", True),
    ("modelnet toilet_0001", "modelnet_off_gomesh/toilet/train/toilet_0001.off", "z", False),
    ("modelnet airplane_0627", "mvcnn12_vencia/airplane/test/airplane_0627.off", "z", False),
]


def score(mesh_path: Path, truth: Path) -> dict[str, float]:
    from gan3d.pipelines.evaluate_files import evaluate_pairs

    result = evaluate_pairs([(mesh_path.stem, "x", mesh_path, truth)], metrics=("iou", "chamfer"), resolution=64)
    return result.per_object[mesh_path.stem]


def main() -> None:
    from gan3d.cli.main import main as gan3d
    from gan3d.data.object_views import load_object_views
    from gan3d.io.mesh import save_mesh
    from gan3d.pipelines.fit_mesh import FitSettings, fit_mesh

    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--real", type=Path, default=Path(__file__).resolve().parents[2] / "shared" / "real")
    parser.add_argument("--out", type=Path, default=Path("/tmp/bm_fit"))
    parser.add_argument("--views", type=int, nargs="+", default=[12])
    parser.add_argument("--size", type=int, default=128)
    parser.add_argument("--starts", nargs="+", default=["hull"], choices=("hull", "sphere"))
    parser.add_argument("--only", nargs="*", help="names to run (default all)")
    args = parser.parse_args()
    lines = [
        "| mesh | views | start | start IoU | fit IoU | start CD-L1 | fit CD-L1 | view IoU start → fit | seconds |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for name, rel, up, holes in MESHES:
        if args.only and name not in args.only:
            continue
        truth = args.real / rel
        if not truth.exists():
            print(f"skip {name}: {truth} not found")
            continue
        for n_views in args.views:
            views_dir = args.out / f"{truth.stem}_{n_views}"
            if not views_dir.exists():
                render = ["data", "render", str(truth), "--views", str(n_views), "--size", str(args.size)]
                assert gan3d([*render, "--up", up, "--out", str(views_dir), "--jobs", "1"]) == 0
            views = load_object_views(views_dir, size=args.size)
            for start in args.starts:
                began = time.perf_counter()
                result = fit_mesh(views, FitSettings(start=start))
                seconds = time.perf_counter() - began
                scores = {}
                for what, mesh in (("start", result.start), ("fit", result.mesh)):
                    path = args.out / f"{truth.stem}_{n_views}_{start}_{what}.obj"
                    save_mesh(mesh.with_verts(mesh.verts * views.radius + views.center), path)
                    scores[what] = score(path, truth)
                lines.append(
                    f"| {name}{' (genus > 0)' if holes else ''} | {n_views} | {start} | {scores['start']['iou']:.3f} | "
                    f"{scores['fit']['iou']:.3f} | {scores['start']['chamfer']:.4f} | {scores['fit']['chamfer']:.4f} | "
                    f"{np.mean(result.start_view_iou):.3f} → {np.mean(result.view_iou):.3f} | {seconds:.0f} |"
                )
                print(lines[-1], flush=True)
    print("\n".join(lines))


if __name__ == "__main__":
    main()
