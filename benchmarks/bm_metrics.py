"""Metric speed: gan3d's ssim3d vs pytorch_msssim on 64^3 grids; Chamfer on 10k-point clouds.

Run by hand: `python benchmarks/bm_metrics.py`. Prints time per call (best of 5) and the largest
difference between the implementations that must agree.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from gan3d.metrics.chamfer import chamfer_distance  # noqa: E402
from gan3d.metrics.ssim3d import ssim3d  # noqa: E402


def best_of(fn, repeats: int = 5) -> float:
    fn()
    best = float("inf")
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - start)
    return best


def cdist_chamfer(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    """The usual one-liner: a full (P, Q) distance matrix per object."""
    d = torch.cdist(a, b)
    return 0.5 * d.min(2).values.mean(1) + 0.5 * d.min(1).values.mean(1)


def main() -> None:
    from pytorch_msssim import ssim as msssim_ssim

    torch.manual_seed(0)
    print(f"torch {torch.__version__}, {torch.get_num_threads()} threads, best of 5")
    print()
    print(f"{'metric':<34} | {'gan3d (s)':>9} | {'reference (s)':>13} | {'ratio':>6} | {'max |diff|':>10}")
    for batch in (4, 16):
        target = (torch.rand(batch, 1, 64, 64, 64) > 0.7).float()
        pred = (0.6 * target + 0.4 * torch.rand_like(target)).clamp(0, 1)
        ours = best_of(lambda: ssim3d(pred, target))  # noqa: B023
        theirs = best_of(lambda: msssim_ssim(pred, target, data_range=1.0, size_average=False))  # noqa: B023
        diff = (ssim3d(pred, target) - msssim_ssim(pred, target, data_range=1.0, size_average=False)).abs().max()
        label = f"ssim3d {batch}x64^3 vs pytorch_msssim"
        print(f"{label:<34} | {ours:>9.3f} | {theirs:>13.3f} | {theirs / ours:>5.2f}x | {diff:>10.2e}")
    for n in (10_000,):
        a, b = torch.rand(4, n, 3), torch.rand(4, n, 3)
        ours = best_of(lambda: chamfer_distance(a, b, "l1", normalize=False))  # noqa: B023
        theirs = best_of(lambda: cdist_chamfer(a, b))  # noqa: B023
        diff = (chamfer_distance(a, b, "l1", normalize=False) - cdist_chamfer(a, b)).abs().max()
        label = f"chamfer 4x{n // 1000}k pts vs torch.cdist"
        print(f"{label:<34} | {ours:>9.3f} | {theirs:>13.3f} | {theirs / ours:>5.2f}x | {diff:>10.2e}")
    print()
    print("ratio = reference time / gan3d time (> 1: gan3d faster).")


if __name__ == "__main__":
    main()
