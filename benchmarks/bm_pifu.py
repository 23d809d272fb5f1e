"""PIFu's and PIFuHD's speed (`configs/pifu_single_view.yaml` / `configs/pifuhd_single_view.yaml` sizes
unless told): the implicit function's queries per second, coarse-to-fine (MISE) against dense surface
extraction, and one training step broken down.

Run by hand: `python benchmarks/bm_pifu.py [--model pifuhd_128] [--export RUN/export --data ROOT]
[--repeats 3]`. With a trained export and its dataset, extraction is timed on a real held-out view (the
work MISE saves depends on how much surface there is); without, on an untrained `--model` (whose
occupancy is a noisy blob, a pessimistic case for MISE). PIFuHD's queries run both levels (the fine
level reads Ω from the coarse MLP). Prints three tables:

1. queries/s of f for 100,000 points (features computed once), fp32 and bf16 autocast;
2. dense vs coarse-to-fine extraction at 128³ and 256³: seconds, points queried, their ratio, and the
   IoU of the two grids at 0.5;
3. one training step (batch 8, 2,048 points per object, the model's image size): encoder forward (PIFuHD:
   the normal network, then both levels' encoders, the fine one on its window), pixel-aligned query
   (projection + sampling + MLP) forward, loss, backward, optimiser step, in milliseconds.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from gan3d.losses.occupancy import weighted_occupancy_bce  # noqa: E402
from gan3d.models.pifuhd import PifuHD, crop_offsets  # noqa: E402
from gan3d.ops.mise import ExtractionSettings, coarse_to_fine_occupancy, dense_occupancy  # noqa: E402
from gan3d.registry import get_model  # noqa: E402
from gan3d.structures.cameras import orbit_cameras  # noqa: E402

BATCH, POINTS = 8, 2048


def best(fn, repeats: int) -> float:  # noqa: ANN001
    fn()  # warm-up
    times = []
    for _ in range(repeats):
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    return min(times)


def subject(args: argparse.Namespace):  # noqa: ANN201
    """(model, images (1, 1, 3, S, S), cameras (1, 1))."""
    if args.export:
        from gan3d.pipelines.evaluate_pifu import pifu_dataset
        from gan3d.pipelines.loading import load_model

        model = load_model(args.export).model
        item = pifu_dataset(args.data, model.image_size)[0]
        return model, item["images"][None], item["cameras"].reshape(1, 1)
    model = get_model(args.model).eval()
    size = model.image_size
    return model, torch.rand(1, 1, 3, size, size), orbit_cameras(30.0, 0.0, 2.2, size).reshape(1, 1)


def encode_for_training(model, images, cameras, points):  # noqa: ANN001, ANN201
    """Encode a training batch as the family's module does and return the query step as a closure giving
    (coarse logits per stack, fine logits or None, fine in-window mask or None)."""
    if isinstance(model, PifuHD):
        offsets = crop_offsets(len(images), model.image_size, model.crop_size)
        features = model.encode(images, None, offsets)[-1]  # normals predicted, fine level on its window
        return lambda: model.query_levels(features, cameras, points, detach_omega=True)
    maps = model.encode(images)
    return lambda: ([model.query(m, cameras, points) for m in maps], None, None)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--model", default="pifu_64", help="untrained builder to time (pifu_64, pifuhd_128)")
    parser.add_argument("--export", type=Path, help="a trained PIFu or PIFuHD export (default: untrained --model)")
    parser.add_argument("--data", type=Path, help="its dataset (with --export)")
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    torch.manual_seed(0)
    model, images, cameras = subject(args)
    name = f"export {args.export}" if args.export else f"untrained {args.model}"
    print(f"torch {torch.__version__}, {torch.get_num_threads()} threads, {name}")

    with torch.no_grad():
        features = model.encode(images)[-1]
    points = torch.rand(1, 100_000, 3) * 2 - 1
    print("\n| precision | queries/s (100k points) |\n|---|---|")
    for precision in ("fp32", "bf16"):

        def query(bf16: bool = precision == "bf16") -> None:
            with torch.no_grad(), torch.autocast("cpu", dtype=torch.bfloat16, enabled=bf16):
                model.query(features, cameras, points)

        seconds = best(query, args.repeats)
        print(f"| {precision} | {100_000 / seconds:,.0f} |")

    def occupancy(p: torch.Tensor) -> torch.Tensor:
        return torch.sigmoid(model.query(features, cameras, p[None]))[0]

    print("\n| grid | dense s | dense queries | MISE s | MISE queries | fewer | IoU |\n|---|---|---|---|---|---|---|")
    for resolution in (128, 256):
        settings = ExtractionSettings(resolution, 32)
        with torch.no_grad():
            t = time.perf_counter()
            dense = dense_occupancy(occupancy, settings)
            dense_s = time.perf_counter() - t
            t = time.perf_counter()
            fine, queries = coarse_to_fine_occupancy(occupancy, settings)
            fine_s = time.perf_counter() - t
        a, b = dense > 0.5, fine > 0.5
        iou = float((a & b).sum() / (a | b).sum().clamp(min=1))
        print(
            f"| {resolution}³ | {dense_s:.2f} | {dense.numel():,} | {fine_s:.2f} | {queries:,} | "
            f"{dense.numel() / queries:.1f}x | {iou:.4f} |"
        )

    train = get_model(args.model).train()
    if isinstance(train, PifuHD) and train.normal_net is not None:
        train.normal_net.requires_grad_(False)
    optimizer = torch.optim.Adam([p for p in train.parameters() if p.requires_grad], lr=1e-3)
    size = train.image_size
    azimuth = torch.rand(BATCH) * 360
    batch_cameras = orbit_cameras(30.0, azimuth, 2.2, size).reshape(BATCH, 1)
    batch_images = torch.rand(BATCH, 1, 3, size, size)
    batch_points = torch.rand(BATCH, POINTS, 3) * 2 - 1
    labels = (torch.rand(BATCH, POINTS) > 0.5).float()
    parts: dict[str, list[float]] = {k: [] for k in ("encoder", "query", "loss", "backward", "step")}
    for i in range(args.repeats + 1):
        t0 = time.perf_counter()
        query = encode_for_training(train, batch_images, batch_cameras, batch_points)
        t1 = time.perf_counter()
        coarse, fine, inside = query()
        t2 = time.perf_counter()
        loss = torch.stack([weighted_occupancy_bce(x, labels) for x in coarse]).mean()
        if fine is not None:
            loss = loss + weighted_occupancy_bce(fine[inside], labels[inside])
        t3 = time.perf_counter()
        optimizer.zero_grad()
        loss.backward()
        t4 = time.perf_counter()
        optimizer.step()
        t5 = time.perf_counter()
        if i:  # the first is the warm-up
            for key, value in zip(parts, (t1 - t0, t2 - t1, t3 - t2, t4 - t3, t5 - t4), strict=True):
                parts[key].append(value)
    print(f"\n| part (batch 8, 2,048 points, {size} px, {args.model}) | ms |\n|---|---|")
    for key, values in parts.items():
        print(f"| {key} | {1000 * min(values):.1f} |")
    print(f"| step (sum of bests) | {1000 * sum(min(v) for v in parts.values()):.1f} |")


if __name__ == "__main__":
    main()
