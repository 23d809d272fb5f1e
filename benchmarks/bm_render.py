"""Renderer speed: 12 MVCNN views at 224x224 of a ~10k-face mesh (target: under 0.5 s on 2 cores).

Run by hand: `python benchmarks/bm_render.py`.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

import numpy as np
import torch
import trimesh

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from gan3d.data.render_views import ViewSettings, render_views  # noqa: E402
from gan3d.io.mesh import load_mesh  # noqa: E402
from gan3d.structures.mesh import Mesh  # noqa: E402

REAL = Path(__file__).resolve().parents[2] / "shared" / "real"


def timed(mesh: Mesh, repeats: int = 5) -> float:
    render_views(mesh, ViewSettings())  # warm-up
    best = np.inf
    for _ in range(repeats):
        start = time.perf_counter()
        render_views(mesh, ViewSettings())
        best = min(best, time.perf_counter() - start)
    return best


def main() -> None:
    uv = trimesh.creation.uv_sphere(count=[36, 72])  # ~10k faces
    ico = trimesh.creation.icosphere(subdivisions=5)  # 20,480 faces
    meshes = [
        ("uv sphere", Mesh(np.asarray(uv.vertices), np.asarray(uv.faces))),
        ("icosphere", Mesh(np.asarray(ico.vertices), np.asarray(ico.faces))),
    ]
    for rel in (
        "modelnet_off_zeaggler/bathtub/train/bathtub_0003.off",
        "classic_common3d/teapot/misc/teapot.obj",
        "modelnet_off_zeaggler/bed/train/bed_0002.off",
    ):
        if (REAL / rel).exists():
            meshes.append((Path(rel).name, load_mesh(REAL / rel)))
    print(f"torch {torch.__version__}, {torch.get_num_threads()} threads; 12 views at 224x224, best of 5")
    print(f"{'mesh':<24} | {'faces':>7} | {'12 views (s)':>12} | {'views/s':>8} | target < 0.5 s")
    for name, mesh in meshes:
        seconds = timed(mesh)
        ok = "yes" if seconds < 0.5 else "NO"
        print(f"{name:<24} | {len(mesh.faces):>7} | {seconds:>12.3f} | {12 / seconds:>8.1f} | {ok}")


if __name__ == "__main__":
    main()
