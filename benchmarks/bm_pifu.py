"""PIFu's speed (`configs/pifu_single_view.yaml` sizes unless told): the implicit function's queries per
second, coarse-to-fine (MISE) against dense surface extraction, and one training step broken down.

Run by hand: `python benchmarks/bm_pifu.py [--export RUN/export --data ROOT] [--repeats 3]`. With a
trained export and its dataset, extraction is timed on a real held-out view (the work MISE saves
depends on how much surface there is); without, on an untrained `pifu_64` (whose occupancy is a noisy
blob, a pessimistic case for MISE). Prints three tables:

1. queries/s of f for 100,000 points (features computed once), fp32 and bf16 autocast;
2. dense vs coarse-to-fine extraction at 128³ and 256³: seconds, points queried, their ratio, and the
   IoU of the two grids at 0.5;
3. one training step (batch 8, 2,048 points per object, 64 px): encoder forward, pixel-aligned query
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
from gan3d.ops.mise import ExtractionSettings, coarse_to_fine_occupancy, dense_occupancy  # noqa: E402
from gan3d.registry import get_model  # noqa: E402
from gan3d.structures.cameras import orbit_cameras  # noqa: E402

BATCH, POINTS, SIZE = 8, 2048, 64


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
    model = get_model("pifu_64").eval()
    return model, torch.rand(1, 1, 3, SIZE, SIZE), orbit_cameras(30.0, 0.0, 2.2, SIZE).reshape(1, 1)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--export", type=Path, help="a trained PIFu export (default: untrained pifu_64)")
    parser.add_argument("--data", type=Path, help="its dataset (with --export)")
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    torch.manual_seed(0)
    model, images, cameras = subject(args)
    name = "export" if args.export else "untrained pifu_64"
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

    train = get_model("pifu_64").train()
    optimizer = torch.optim.Adam(train.parameters(), lr=1e-3)
    azimuth = torch.rand(BATCH) * 360
    batch_cameras = orbit_cameras(30.0, azimuth, 2.2, SIZE).reshape(BATCH, 1)
    batch_images = torch.rand(BATCH, 1, 3, SIZE, SIZE)
    batch_points = torch.rand(BATCH, POINTS, 3) * 2 - 1
    labels = (torch.rand(BATCH, POINTS) > 0.5).float()
    parts: dict[str, list[float]] = {k: [] for k in ("encoder", "query", "loss", "backward", "step")}
    for i in range(args.repeats + 1):
        t0 = time.perf_counter()
        maps = train.encode(batch_images)
        t1 = time.perf_counter()
        logits = [train.query(m, batch_cameras, batch_points) for m in maps]
        t2 = time.perf_counter()
        loss = torch.stack([weighted_occupancy_bce(x, labels) for x in logits]).mean()
        t3 = time.perf_counter()
        optimizer.zero_grad()
        loss.backward()
        t4 = time.perf_counter()
        optimizer.step()
        t5 = time.perf_counter()
        if i:  # the first is the warm-up
            for key, value in zip(parts, (t1 - t0, t2 - t1, t3 - t2, t4 - t3, t5 - t4), strict=True):
                parts[key].append(value)
    print("\n| part (batch 8, 2,048 points, 64 px) | ms |\n|---|---|")
    for key, values in parts.items():
        print(f"| {key} | {1000 * min(values):.1f} |")
    print(f"| step (sum of bests) | {1000 * sum(min(v) for v in parts.values()):.1f} |")


if __name__ == "__main__":
    main()
