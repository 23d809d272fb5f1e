"""One training step of DIB-R's single-image predictor (`configs/dibr_single_view.yaml` sizes: batch 8,
64 px, 2 views per object, 642-vertex template), broken down into encoder, renderer, losses and critic,
fp32 and bf16-mixed (autocast on the network and the critic; the renderer always runs in float32).

Two steps: the default config's (IoU + colour losses, no critic) and §3.3's full one (`--model.adv_weight`
and `--model.percep_weight` > 0: one WGAN-GP critic step with its gradient penalty, then the predictor's
step with the adversarial and critic-feature perceptual terms), as `DibrModule` runs them.

Run by hand: `python benchmarks/bm_dibr_train.py [--repeats 10]`. Prints one table of milliseconds per
step (best of the repeats after a warm-up). The graph is cut at the renders and at the predicted mesh, so
each backward is timed apart: encoder forward, renderer forward (16 renders), losses, the critic's own
step (forward, penalty, backward, Adam), the critic's forward for the predictor's terms, the backward of
the losses and critic down to the renders, the renderer's backward (renders to mesh), the network's
backward, the optimiser step, and the renderer's share of the step (its forward + backward). The
smoothness and Laplacian terms (a few ms on the mesh alone) are left out.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from gan3d.losses.adversarial import gradient_penalty  # noqa: E402
from gan3d.losses.perceptual import feature_l1  # noqa: E402
from gan3d.losses.silhouette import color_l1_loss, silhouette_iou_loss  # noqa: E402
from gan3d.models.dibr_net import DibrPrediction  # noqa: E402
from gan3d.structures.cameras import orbit_cameras  # noqa: E402
from gan3d.training.dibr_module import DibrModule  # noqa: E402

BATCH, VIEWS, SIZE = 8, 2, 64
COLUMNS = [
    "encoder",
    "renderer",
    "losses",
    "critic step",
    "critic forward",
    "loss backward",
    "renderer backward",
    "network backward",
    "optimiser",
    "step",
]


def batch() -> dict:
    """Random images and masks with real orbit cameras (the step's cost does not depend on content)."""
    gen = torch.Generator().manual_seed(0)
    azimuth = torch.rand(BATCH, VIEWS, generator=gen) * 360
    cameras = orbit_cameras(30.0, azimuth, 2.5, SIZE)
    images = torch.rand(BATCH, VIEWS, 3, SIZE, SIZE, generator=gen)
    masks = (torch.rand(BATCH, VIEWS, 1, SIZE, SIZE, generator=gen) > 0.5).float()
    return {"images": images, "masks": masks, "cameras": cameras}


def step_times(module: DibrModule, data: dict, precision: str, optimizers: list) -> dict[str, float]:
    """Seconds of each part of one step (`module.critic` None: the default config's step)."""
    autocast = torch.autocast("cpu", dtype=torch.bfloat16, enabled=precision == "bf16-mixed")
    predictor_opt = optimizers[0]
    times = [time.perf_counter()]
    with autocast:
        prediction = module.model(data["images"][:, 0])
    verts, albedo = prediction.verts, prediction.albedo
    times.append(time.perf_counter())
    # cut the graph at the predicted mesh ...
    mesh_verts = verts.detach().float().requires_grad_(True)
    mesh_albedo = albedo.detach().float().requires_grad_(True)
    colour, soft, hard = module.render_views(DibrPrediction(mesh_verts, mesh_albedo), data["cameras"])
    times.append(time.perf_counter())
    # ... and at the renders
    render_colour, render_soft = colour.detach().requires_grad_(True), soft.detach().requires_grad_(True)
    masks = data["masks"][:, :, 0]
    target = data["images"].permute(0, 1, 3, 4, 2)
    both = hard & (masks > 0.5)
    loss = silhouette_iou_loss(render_soft.flatten(0, 1), masks.flatten(0, 1))
    loss = loss + 3 * color_l1_loss(render_colour, target, both)
    times.append(time.perf_counter())
    if module.critic is not None:
        critic, critic_opt = module.critic, optimizers[1]
        fake = render_colour.flatten(0, 1).permute(0, 3, 1, 2)
        real = target.flatten(0, 1).permute(0, 3, 1, 2)
        with autocast:

            def score(x: torch.Tensor) -> torch.Tensor:
                return critic(x)[0]

            critic_loss = score(fake.detach()).mean() - score(real).mean()
            penalty = gradient_penalty(score, real, fake.detach())
        critic_opt.zero_grad()
        (critic_loss + 10 * penalty).backward()
        critic_opt.step()
        times.append(time.perf_counter())
        with autocast:
            fake_score, fake_features = critic(fake)
            with torch.no_grad():
                _, real_features = critic(real)
            loss = loss - 0.1 * fake_score.float().mean() + 0.1 * feature_l1(fake_features, real_features).float()
        times.append(time.perf_counter())
    else:
        times += [times[-1], times[-1]]
    loss.backward()
    times.append(time.perf_counter())
    torch.autograd.backward([colour, soft], [render_colour.grad, render_soft.grad])
    times.append(time.perf_counter())
    torch.autograd.backward([verts, albedo], [mesh_verts.grad.to(verts.dtype), mesh_albedo.grad.to(albedo.dtype)])
    times.append(time.perf_counter())
    predictor_opt.step()
    predictor_opt.zero_grad()
    times.append(time.perf_counter())
    out = {name: b - a for name, a, b in zip(COLUMNS[:-1], times[:-1], times[1:], strict=True)}
    out["step"] = times[-1] - times[0]
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=10)
    args = parser.parse_args()
    torch.manual_seed(0)
    data = batch()
    print(f"torch {torch.__version__}, {torch.get_num_threads()} threads; batch {BATCH} x {VIEWS} views, {SIZE} px")
    print("| step | precision | " + " | ".join(f"{c} (ms)" for c in COLUMNS) + " | renderer share |")
    print("|---" * (len(COLUMNS) + 3) + "|")
    for name, adv in (("IoU + colour (default)", 0.0), ("§3.3 with critic", 0.1)):
        for precision in ("fp32", "bf16-mixed"):
            module = DibrModule(adv_weight=adv, percep_weight=adv)
            optimizers = [torch.optim.Adam(module.model.parameters(), lr=1e-4)]
            if module.critic is not None:
                optimizers.append(torch.optim.Adam(module.critic.parameters(), lr=1e-4, betas=(0.5, 0.9)))
            step_times(module, data, precision, optimizers)  # warm-up
            runs = [step_times(module, data, precision, optimizers) for _ in range(args.repeats)]
            best = min(runs, key=lambda r: r["step"])
            share = (best["renderer"] + best["renderer backward"]) / best["step"]
            cells = [f"{best[c] * 1000:.1f}" for c in COLUMNS]
            print(f"| {name} | {precision} | " + " | ".join(cells) + f" | {share:.0%} |")


if __name__ == "__main__":
    main()
