"""DIB-R speed: forward + backward of a batch of 8 meshes (642 vertices, 1,280 faces) x 1 view, gan3d's
bounded-memory renderer beside a naive dense one (every pixel against every face) and beside Mitsuba 3's
CPU differentiable renderer, at 64^2, 128^2, 256^2.

Run by hand: `python benchmarks/bm_dibr.py [--repeats 5] [--no-mitsuba]`. Mitsuba is optional
(`pip install -e ".[bench]"`); without it its columns say so. Prints one table: seconds per call (best
of the repeats, after a warm-up), the largest difference of the soft silhouettes against the dense
version (must be < 1e-5), and gan3d's peak resident memory for one forward + backward, above the
process's own, measured in a fresh process per size (sampled every 2 ms).

Mitsuba 3.9 needs LLVM >= 16 for its CPU variants: on Debian 12 (LLVM 14/15) `apt install libllvm19`
and `export DRJIT_LIBLLVM_PATH=/usr/lib/x86_64-linux-gnu/libLLVM.so.19.1`, or its kernels abort.

Mitsuba renders the same 8 meshes through the same cameras (`orbit_cameras`: 30 degrees up, azimuths
0, 45, ..., 315, distance 2.5, vertical field of view 60 degrees) with its `llvm_ad_rgb` variant, one
sample per pixel, a diffuse BSDF under a constant environment, and the `direct_projective` integrator
(projective sampling of the silhouette edges, which gives visibility gradients w.r.t. vertex positions;
it replaced the issue's `direct_reparam` / `prb_reparam`, which Mitsuba 3.6 removed). "fwd+grad" is the render,
an image loss (sum of squares) and `dr.backward` to the vertex positions. The two renderers do not
compute the same image (DIB-R: interpolated attributes and a soft silhouette; Mitsuba: direct
illumination by ray tracing); the comparison is what a CPU user would pick instead for the same job.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path

import torch
import trimesh

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tests.reference import point_triangle_distance_2d_torch  # noqa: E402

from gan3d.render.dibr import DibrSettings, dibr_render, soft_alpha  # noqa: E402
from gan3d.structures.cameras import orbit_cameras, orbit_eye  # noqa: E402

N_MESHES = 8
AZIMUTHS = torch.arange(float(N_MESHES)) * 45


def dense_soft(screen: torch.Tensor, faces: torch.Tensor, covered: torch.Tensor, s: DibrSettings) -> torch.Tensor:
    """The naive version: (pixels x faces) textbook distances in chunks of pixels, the same box and knum
    rules."""
    h, w = s.height, s.width
    rows, cols = torch.meshgrid(torch.arange(h), torch.arange(w), indexing="ij")
    centres = torch.stack([cols, rows], -1).reshape(-1, 2).to(screen.dtype) + 0.5
    tri = screen[faces][..., :2]
    lo, hi = tri.amin(1) - s.boxlen, tri.amax(1) + s.boxlen
    out = []
    for chunk in centres.split(1024):
        p, f = chunk.shape[0], tri.shape[0]
        d = point_triangle_distance_2d_torch(
            chunk[:, None].expand(p, f, 2).reshape(-1, 2), tri[None].expand(p, f, 3, 2).reshape(-1, 3, 2)
        )
        alpha = soft_alpha(d.view(p, f), s)
        near = ((chunk[:, None] >= lo[None]) & (chunk[:, None] <= hi[None])).all(-1)
        alpha = torch.where(near, alpha, torch.zeros_like(alpha)).topk(min(s.knum, f), dim=1).values
        out.append(1 - torch.exp(torch.log1p(-alpha.clamp(max=1 - 1e-7)).sum(1)))
    soft = torch.cat(out).view(h, w)
    return torch.where(covered, torch.ones_like(soft), soft)


class PeakMemory:
    """Peak resident memory (MiB) above its start, sampled from /proc every 2 ms in a thread."""

    def __enter__(self) -> PeakMemory:
        self.start = self.peak = _rss_mib()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._poll, daemon=True)
        self._thread.start()
        return self

    def _poll(self) -> None:
        while not self._stop.wait(0.002):
            self.peak = max(self.peak, _rss_mib())

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()
        self.peak = max(self.peak, _rss_mib())

    @property
    def grown(self) -> float:
        return self.peak - self.start


def _rss_mib() -> float:
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20


def timed(fn: Callable[[], object], repeats: int, warmup: int = 1) -> tuple[float, object]:
    """Best wall time of `repeats` calls after `warmup` untimed ones, and the last result."""
    result = None
    for _ in range(warmup):
        result = fn()
    best = float("inf")
    for _ in range(repeats):
        start = time.perf_counter()
        result = fn()
        best = min(best, time.perf_counter() - start)
    return best, result


class MitsubaScenes:
    """The 8 meshes, each in its own Mitsuba scene with its camera (`llvm_ad_rgb`, `direct_projective`)."""

    def __init__(self, verts: torch.Tensor, faces: torch.Tensor, size: int) -> None:
        import drjit as dr
        import mitsuba as mi

        mi.set_variant("llvm_ad_rgb")
        mi.set_log_level(mi.LogLevel.Error)
        self.dr, self.mi = dr, mi
        self.scenes, self.params = [], []
        eyes = orbit_eye(torch.full((N_MESHES,), 30.0), AZIMUTHS.double(), torch.full((N_MESHES,), 2.5), "z")
        for n in range(N_MESHES):
            mesh = mi.Mesh(f"mesh{n}", verts.shape[1], faces.shape[0], has_vertex_normals=False)
            mesh_params = mi.traverse(mesh)
            mesh_params["vertex_positions"] = dr.ravel(mi.Point3f(*(verts[n].double().T.numpy())))
            mesh_params["faces"] = dr.ravel(mi.Vector3u(*(faces.T.numpy())))
            mesh_params.update()
            scene = mi.load_dict(
                {
                    "type": "scene",
                    "integrator": {"type": "direct_projective", "sppi": 0},  # no indirect visibility here,
                    "sensor": {
                        "type": "perspective",
                        "fov": 60.0,
                        "fov_axis": "y",
                        "to_world": mi.ScalarTransform4f().look_at(
                            origin=eyes[n].tolist(), target=[0.0, 0.0, 0.0], up=[0.0, 0.0, 1.0]
                        ),
                        "film": {
                            "type": "hdrfilm",
                            "width": size,
                            "height": size,
                            "rfilter": {"type": "box"},
                            "sample_border": True,
                        },
                        "sampler": {"type": "independent", "sample_count": 1},
                    },
                    "light": {"type": "constant"},
                    "mesh": mesh,
                }
            )
            self.scenes.append(scene)
            self.params.append(mi.traverse(scene))

    def forward(self) -> None:
        for scene in self.scenes:
            self.dr.eval(self.mi.render(scene, spp=1))

    def forward_grad(self) -> float:
        """Render, loss, backward to the vertex positions of every mesh; the gradients' total |g|."""
        dr, total = self.dr, 0.0
        for scene, params in zip(self.scenes, self.params, strict=True):
            key = next(k for k in params.keys() if k.endswith("vertex_positions"))
            dr.enable_grad(params[key])
            params.update()
            image = self.mi.render(scene, params, spp=1)
            loss = dr.sum(dr.square(image), axis=None)
            dr.backward(loss)
            grad = dr.grad(params[key])
            total += float(dr.sum(dr.abs(grad), axis=None)[0])
            dr.disable_grad(params[key])
        return total


def meshes_and_faces() -> tuple[torch.Tensor, torch.Tensor]:
    """The 8 benchmark meshes (an icosphere of 642 vertices, radius 0.7, seeded noise) and their faces."""
    sphere = trimesh.creation.icosphere(3)
    verts = torch.tensor(sphere.vertices, dtype=torch.float32) * 0.7
    noise = torch.randn(N_MESHES, *verts.shape, generator=torch.Generator().manual_seed(0)) * 0.02
    return verts[None] + noise, torch.tensor(sphere.faces)


def peak_of(size: int) -> float:
    """Peak resident memory (MiB) above the process's own before one forward + backward at `size`²."""
    meshes, faces = meshes_and_faces()
    cams = orbit_cameras(30, AZIMUTHS, 2.5, size)
    with PeakMemory() as memory:
        v = meshes.clone().requires_grad_(True)
        out = dibr_render(cams.project(v), faces, v, DibrSettings(size, size))
        (out.soft_mask.sum() + out.features.sum()).backward()
    return memory.grown


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--no-mitsuba", action="store_true", help="skip the Mitsuba 3 columns")
    parser.add_argument("--peak-of", type=int, help=argparse.SUPPRESS)  # internal: one size's peak, fresh process
    args = parser.parse_args()
    if args.peak_of:
        print(peak_of(args.peak_of))
        return
    meshes, faces = meshes_and_faces()
    mitsuba_note = ""
    use_mitsuba = not args.no_mitsuba
    if use_mitsuba:
        try:
            import mitsuba

            mitsuba_note = f"Mitsuba {mitsuba.__version__} (llvm_ad_rgb, direct_projective, 1 spp)"
        except ImportError:
            use_mitsuba, mitsuba_note = False, "Mitsuba 3 not installed (pip install -e '.[bench]')"
    print(f"torch {torch.__version__}, {torch.get_num_threads()} threads; {N_MESHES} meshes x {len(faces)} faces")
    print(f"{mitsuba_note}\n")
    print(
        "| size | gan3d fwd (s) | gan3d fwd+bwd (s) | gan3d peak (MiB) | dense fwd+bwd (s) | dense / gan3d "
        "| max soft diff | Mitsuba fwd (s) | Mitsuba fwd+grad (s) | Mitsuba / gan3d (fwd, fwd+grad) |"
    )
    print("|---|---|---|---|---|---|---|---|---|---|")
    for size in (64, 128, 256):
        settings = DibrSettings(size, size)
        cams = orbit_cameras(30, AZIMUTHS, 2.5, size)

        def ours_forward(cams=cams, settings=settings) -> torch.Tensor:  # noqa: ANN001
            with torch.no_grad():
                return dibr_render(cams.project(meshes), faces, meshes, settings).soft_mask

        def ours(cams=cams, settings=settings) -> torch.Tensor:  # noqa: ANN001
            v = meshes.clone().requires_grad_(True)
            out = dibr_render(cams.project(v), faces, v, settings)
            (out.soft_mask.sum() + out.features.sum()).backward()
            return out.soft_mask.detach()

        t_fwd, _ = timed(ours_forward, args.repeats)
        t_ours, soft = timed(ours, args.repeats)
        command = [sys.executable, __file__, "--peak-of", str(size)]
        peak = float(subprocess.run(command, capture_output=True, text=True, check=True).stdout)
        if size <= 128:
            # the dense graph for backward holds every (pixel, face) pair: at 128^2 one mesh is ~2 GB, so
            # the batch of 8 is timed as 8 x one mesh there (noted in the table)
            n_dense = N_MESHES if size <= 64 else 1

            def dense(cams=cams, settings=settings, n_dense=n_dense) -> torch.Tensor:  # noqa: ANN001
                v = meshes.clone().requires_grad_(True)
                screen = cams.project(v)
                out = dibr_render(screen, faces, v, settings)  # the same foreground
                masks = torch.stack([dense_soft(screen[n], faces, out.mask[n], settings) for n in range(n_dense)])
                (masks.sum() + out.features[:n_dense].sum()).backward()
                return masks.detach()

            t_dense, reference = timed(dense, 1, warmup=0)
            t_dense *= N_MESHES / n_dense
            diff = float((reference - soft[:n_dense]).abs().max())
            note = "" if n_dense == N_MESHES else " (8 x 1 mesh)"
            dense_cells = [f"{t_dense:.3f}{note}", f"{t_dense / t_ours:.0f}x", f"{diff:.1e}"]
        else:
            dense_cells = ["-", "-", "-"]  # 65k pixels x 1,280 faces x 8: the dense version is too slow here
        if use_mitsuba:
            scenes = MitsubaScenes(meshes, faces, size)
            repeats = min(args.repeats, 2)  # its kernels are compiled in the warm-up call; 2 timed calls
            t_mi_fwd, _ = timed(scenes.forward, repeats)
            t_mi, _ = timed(scenes.forward_grad, repeats)
            mi_cells = [f"{t_mi_fwd:.3f}", f"{t_mi:.3f}", f"{t_mi_fwd / t_fwd:.1f}x, {t_mi / t_ours:.1f}x"]
        else:
            mi_cells = ["-", "-", "-"]
        cells = [f"{size}^2", f"{t_fwd:.3f}", f"{t_ours:.3f}", f"{peak:.0f}", *dense_cells, *mi_cells]
        print("| " + " | ".join(cells) + " |")


if __name__ == "__main__":
    main()
