"""Voxelizer speed and agreement: gan3d's voxelize vs trimesh's voxelized(pitch).fill().

Prints meshes/s at 32^3, 64^3 and 128^3 for both, their IoU agreement, and the IoU of each to a
brute-force reference (winding-number point-in-mesh test at every voxel centre) on watertight meshes.
Run by hand: `python benchmarks/bm_voxelize.py [--quick]`.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np
import trimesh

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tests.reference import voxel_centres_inside  # noqa: E402

from gan3d.data.synthetic import CLASSES, make_shape  # noqa: E402
from gan3d.data.voxelize import voxelize  # noqa: E402
from gan3d.io.mesh import load_mesh  # noqa: E402
from gan3d.structures.mesh import Mesh  # noqa: E402

REAL = Path(__file__).resolve().parents[2] / "shared" / "real"


def trimesh_grid(mesh: Mesh, res: int) -> np.ndarray:
    """trimesh's voxelize + fill, resampled onto our grid (same translate/scale) by voxel centres."""
    tm = trimesh.Trimesh(mesh.verts, mesh.faces, process=False)
    pitch = float(np.ptp(mesh.verts, axis=0).max()) / res
    return tm.voxelized(pitch).fill()


def on_our_grid(vg: trimesh.voxel.VoxelGrid, ours) -> np.ndarray:
    res = ours.resolution
    index = np.stack(np.meshgrid(*[np.arange(res)] * 3, indexing="ij"), -1).reshape(-1, 3)
    return vg.is_filled(ours.index_to_world(index)).reshape((res,) * 3)


def reference(mesh: Mesh, grid) -> np.ndarray:
    return voxel_centres_inside(mesh.verts, mesh.faces, grid)


def iou(a: np.ndarray, b: np.ndarray) -> float:
    return float((a & b).sum() / max((a | b).sum(), 1))


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--quick", action="store_true", help="fewer meshes, no 128^3")
    args = parser.parse_args()
    synthetic = [(f"{c}_{s}", make_shape(c, s)) for c in CLASSES for s in range(1 if args.quick else 3)]
    real = [(p.name, load_mesh(p)) for p in sorted(REAL.glob("*/*/*/*.off"))] if REAL.is_dir() else []
    real += [(p.name, load_mesh(p)) for p in sorted(REAL.glob("classic_*/*/misc/*"))] if REAL.is_dir() else []
    meshes = synthetic + real
    print(f"{len(synthetic)} synthetic (closed) + {len(real)} real meshes (ModelNet OFF, classic models)")
    print()
    header = (
        f"{'res':>4} | {'gan3d mesh/s':>12} | {'trimesh mesh/s':>14} | {'speed-up':>8} | {'IoU gan3d~trimesh':>17}"
        f" | {'IoU ref: gan3d':>14} | {'gan3d centres':>13} | {'trimesh':>7}"
    )
    print(header)
    print("-" * len(header))
    for res in (32, 64) if args.quick else (32, 64, 128):
        t_ours = t_theirs = 0.0
        agree = []
        ref_ours, ref_centres, ref_theirs = [], [], []
        for _name, mesh in meshes:
            start = time.perf_counter()
            ours = voxelize(mesh.verts, mesh.faces, res)
            t_ours += time.perf_counter() - start
            start = time.perf_counter()
            theirs = trimesh_grid(mesh, res)
            t_theirs += time.perf_counter() - start
            theirs_on_ours = on_our_grid(theirs, ours)
            agree.append(iou(ours.occupancy, theirs_on_ours))
        if res <= 64:  # the brute-force reference is O(voxels x faces): watertight synthetic meshes only
            for _name, mesh in synthetic:
                ours = voxelize(mesh.verts, mesh.faces, res)
                ref = reference(mesh, ours)
                ref_ours.append(iou(ours.occupancy, ref))
                ref_centres.append(iou(voxelize(mesh.verts, mesh.faces, res, surface=False).occupancy, ref))
                ref_theirs.append(iou(on_our_grid(trimesh_grid(mesh, res), ours), ref))
        n = len(meshes)
        fmt = lambda xs: f"{np.mean(xs):.3f}" if xs else "-"  # noqa: E731
        print(
            f"{res:>4} | {n / t_ours:>12.1f} | {n / t_theirs:>14.2f} | {t_theirs / t_ours:>7.1f}x | "
            f"{np.mean(agree):>17.3f} | {fmt(ref_ours):>14} | {fmt(ref_centres):>13} | {fmt(ref_theirs):>7}"
        )
    print()
    print("IoU ref: mean IoU to the winding-number point-in-mesh reference at voxel centres (synthetic, watertight).")
    print("gan3d = default (conservative surface + interior); gan3d centres = surface=False (point-in-mesh rule).")


if __name__ == "__main__":
    main()
