"""One training step of DIB-R's single-image predictor (`configs/dibr_single_view.yaml` sizes: batch 8,
64 px, 2 views per object, 642-vertex template), broken down into encoder, renderer and loss, fp32 and
bf16-mixed (autocast on the network; the renderer always runs in float32).

Run by hand: `python benchmarks/bm_dibr_train.py [--repeats 10]`. Prints one table of milliseconds per
step (best of the repeats after a warm-up): encoder forward, renderer forward (16 renders), losses,
the backward of the renderer's part (a backward from the IoU + colour losses to the predicted mesh),
the rest of the backward (the network's), the optimiser step, and the renderer's share of the step. The
smoothness and Laplacian terms (a few ms on the mesh alone) are left out. The critic of
§3.3's adversarial loss is not built yet, so it has no column.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from gan3d.losses.silhouette import color_l1_loss, silhouette_iou_loss  # noqa: E402
from gan3d.models.dibr_net import DibrPrediction  # noqa: E402
from gan3d.structures.cameras import orbit_cameras  # noqa: E402
from gan3d.training.dibr_module import DibrModule  # noqa: E402

BATCH, VIEWS, SIZE = 8, 2, 64


def batch() -> dict:
    """Random images and masks with real orbit cameras (the step's cost does not depend on content)."""
    gen = torch.Generator().manual_seed(0)
    azimuth = torch.rand(BATCH, VIEWS, generator=gen) * 360
    cameras = orbit_cameras(30.0, azimuth, 2.5, SIZE)
    images = torch.rand(BATCH, VIEWS, 3, SIZE, SIZE, generator=gen)
    masks = (torch.rand(BATCH, VIEWS, 1, SIZE, SIZE, generator=gen) > 0.5).float()
    return {"images": images, "masks": masks, "cameras": cameras}


def step_times(module: DibrModule, data: dict, precision: str) -> dict[str, float]:
    """Seconds of each part of one step."""
    optimizer = torch.optim.Adam(module.model.parameters(), lr=1e-4)
    autocast = torch.autocast("cpu", dtype=torch.bfloat16, enabled=precision == "bf16-mixed")
    out: dict[str, float] = {}
    t0 = time.perf_counter()
    with autocast:
        prediction = module.model(data["images"][:, 0])
    verts, albedo = prediction.verts, prediction.albedo
    t1 = time.perf_counter()
    # the renderer's backward apart: cut the graph at the predicted mesh
    mesh_verts = verts.detach().float().requires_grad_(True)
    mesh_albedo = albedo.detach().float().requires_grad_(True)
    colour, soft, hard = module.render_views(DibrPrediction(mesh_verts, mesh_albedo), data["cameras"])
    t2 = time.perf_counter()
    masks = data["masks"][:, :, 0]
    target = data["images"].permute(0, 1, 3, 4, 2)
    both = hard & (masks > 0.5)
    loss = silhouette_iou_loss(soft.flatten(0, 1), masks.flatten(0, 1)) + 3 * color_l1_loss(colour, target, both)
    t3 = time.perf_counter()
    loss.backward()
    t4 = time.perf_counter()
    torch.autograd.backward([verts, albedo], [mesh_verts.grad.to(verts.dtype), mesh_albedo.grad.to(albedo.dtype)])
    t5 = time.perf_counter()
    optimizer.step()
    optimizer.zero_grad()
    t6 = time.perf_counter()
    out = {
        "encoder": t1 - t0,
        "renderer": t2 - t1,
        "losses": t3 - t2,
        "renderer backward": t4 - t3,
        "network backward": t5 - t4,
        "optimiser": t6 - t5,
    }
    out["step"] = t6 - t0
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=10)
    args = parser.parse_args()
    torch.manual_seed(0)
    data = batch()
    print(f"torch {torch.__version__}, {torch.get_num_threads()} threads; batch {BATCH} x {VIEWS} views, {SIZE} px")
    columns = ["encoder", "renderer", "losses", "renderer backward", "network backward", "optimiser", "step"]
    print("| precision | " + " | ".join(f"{c} (ms)" for c in columns) + " | renderer share |")
    print("|---" * (len(columns) + 2) + "|")
    for precision in ("fp32", "bf16-mixed"):
        module = DibrModule()
        step_times(module, data, precision)  # warm-up
        runs = [step_times(module, data, precision) for _ in range(args.repeats)]
        best = min(runs, key=lambda r: r["step"])
        share = (best["renderer"] + best["renderer backward"]) / best["step"]
        cells = [f"{best[c] * 1000:.1f}" for c in columns]
        print(f"| {precision} | " + " | ".join(cells) + f" | {share:.0%} |")


if __name__ == "__main__":
    main()
