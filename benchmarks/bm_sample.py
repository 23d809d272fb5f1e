"""`gan3d sample` throughput: 1,000 shapes at 64^3 with mesh export, shapes/s per pipeline variant.

Variants, each on the same noise: the weights in PyTorch's default layout with sequential export (the
straightforward loop), channels-last-3d weights, marching cubes + OBJ writing in worker processes,
and bfloat16 generation. The generator is the paper's 3D-GAN at 64^3 with random weights, its last
layer scaled so the shapes are sparse blobs with larger meshes than a trained model's (export is,
if anything, cheaper in real use than here). Run by hand: `python benchmarks/bm_sample.py [--n 1000]`.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from gan3d.batch import default_jobs, run_batch  # noqa: E402
from gan3d.export.samples import SampleJob, export_sample, sample_stems  # noqa: E402
from gan3d.pipelines.voxel_gan import LoadedModel, for_inference, generate_batches  # noqa: E402
from gan3d.registry import get_model  # noqa: E402


def build(channels_last: bool) -> LoadedModel:
    torch.manual_seed(0)
    model = get_model("gan_64").eval()
    with torch.no_grad():
        # pre-sigmoid ~ N(-2, 1): ~1% occupied in scattered blobs, ~26k faces a mesh (a 64^3 chair: ~15k)
        model.generator.net[-1].weight.mul_(3000)
        model.generator.net[-1].bias.fill_(-2.0)
    return LoadedModel(for_inference(model) if channels_last else model, "gan_64", None)


def run(loaded: LoadedModel, n: int, jobs: int, precision: str, out: Path) -> tuple[float, float, int]:
    """(total seconds, generation seconds, faces of the first mesh) for n shapes written to `out`."""
    stems = sample_stems(out, n)
    generation = 0.0

    def items():  # noqa: ANN202
        nonlocal generation
        batches = generate_batches(loaded, n, seed=0, batch_size=32, precision=precision)
        while True:
            start = time.perf_counter()
            try:
                first, grids = next(batches)
            except StopIteration:
                return
            generation += time.perf_counter() - start
            for offset, grid in enumerate(grids[:, 0].numpy()):
                yield SampleJob(stems[first + offset], grid)

    start = time.perf_counter()
    result = run_batch(export_sample, items(), jobs=jobs, total=n, threshold=0.5, mesh_format=".obj")
    total = time.perf_counter() - start
    assert not result.failures, result.failures[:3]
    import trimesh

    faces = len(trimesh.load(stems[0].with_suffix(".obj"), force="mesh").faces)
    return total, generation, faces


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=1000)
    args = parser.parse_args()
    workers = default_jobs()
    variants = [
        ("default layout, fp32, sequential export", False, 1, "fp32"),
        ("channels-last-3d, fp32, sequential export", True, 1, "fp32"),
        (f"channels-last-3d, fp32, {workers} export workers", True, workers, "fp32"),
        (f"channels-last-3d, bf16, {workers} export workers", True, workers, "bf16"),
    ]
    print(f"gan3d sample: {args.n} shapes at 64^3 (paper 3D-GAN, batch 32), .binvox + .obj each; {workers} cores")
    print("| variant | total (s) | generation (s) | shapes/s | vs first | faces of shape 1 |")
    print("|---|---|---|---|---|---|")
    first = None
    for label, channels_last, jobs, precision in variants:
        with tempfile.TemporaryDirectory() as tmp:
            total, generation, faces = run(build(channels_last), args.n, jobs, precision, Path(tmp))
        rate = args.n / total
        first = first or rate
        print(f"| {label} | {total:.1f} | {generation:.1f} | {rate:.1f} | {rate / first:.2f}x | {faces} |", flush=True)


if __name__ == "__main__":
    main()
