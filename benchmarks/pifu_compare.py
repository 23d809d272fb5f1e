"""PIFu against PIFuHD on the same held-out objects: the quality table and a figure, in one run.

Run by hand: `python benchmarks/pifu_compare.py --pifu RUN_A/export --pifuhd RUN_B/export --data ROOT
[--grid 128] [--figure docs/pifuhd_people.png] [--figure-view 3] [--json out.json]`. Each export is
scored by `gan3d.pipelines.evaluate_pifu` (view 0 in, each model at its own image size, surface at
`--grid`³) beside the mean shape; the table gives per class and overall 3D IoU, Chamfer-L1, F@1%,
normal consistency and the leg / rest IoUs. The figure shows held-out people seen from view
`--figure-view`: the input, the truth from the side, then PIFu's and PIFuHD's reconstructions from the
front and from the side.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from gan3d.data.datasets import ShapeDataset  # noqa: E402
from gan3d.ops.mise import ExtractionSettings  # noqa: E402
from gan3d.pipelines.evaluate_pifu import METRICS, evaluate_pifu, pifu_dataset  # noqa: E402
from gan3d.pipelines.loading import load_model  # noqa: E402
from gan3d.pipelines.pifu_entry import reconstruct_mesh  # noqa: E402


def render(verts: np.ndarray, faces: np.ndarray, camera, size: int) -> np.ndarray:  # noqa: ANN001
    """A grey head-lit render (size, size, 3) in [0, 1] of one mesh through one camera."""
    from gan3d.render.dibr import DibrSettings
    from gan3d.render.headlit import render_headlit

    v = torch.as_tensor(verts, dtype=torch.float32)[None]
    f = torch.as_tensor(faces, dtype=torch.int64)
    with torch.no_grad():
        colour, _, _ = render_headlit(v, f, torch.full_like(v, 0.7), camera.reshape(1), DibrSettings(size, size))
    return colour[0].numpy()


def figure(models: dict, root: Path, view: int, path: Path, rows: int = 4, size: int = 128) -> None:  # noqa: ANN001
    """Held-out people seen from `view`: input | truth (side) | each model from the front and the side."""
    from PIL import Image

    from gan3d.structures.cameras import orbit_cameras

    people = ShapeDataset(root, None, "test", classes=["person"], views=12, image_size=size, cameras=True)
    side = orbit_cameras([30.0], [0.0], 2.2, size)[0]  # azimuth 0: people from the side
    lines = []
    for index in range(min(rows, len(people))):
        item = people[index]
        front = item["cameras"][view]
        truth = people._unit_mesh(index)  # the mesh in the views' frame
        cells = [item["images"][view].permute(1, 2, 0).numpy(), render(truth.verts, truth.faces, side, size)]
        for model in models.values():
            s = model.image_size
            image = torch.nn.functional.interpolate(item["images"][view : view + 1], size=s, mode="area")
            camera = front.resized(s, s).reshape(1)
            mesh = reconstruct_mesh(model, image, camera, ExtractionSettings(128, 32)).mesh
            cells += [render(mesh.verts, mesh.faces, front, size), render(mesh.verts, mesh.faces, side, size)]
        lines.append(np.concatenate(cells, axis=1))
    sheet = (np.concatenate(lines, axis=0).clip(0, 1) * 255).astype(np.uint8)
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(sheet).save(path)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--pifu", type=Path, required=True)
    parser.add_argument("--pifuhd", type=Path, required=True)
    parser.add_argument("--data", type=Path, required=True)
    parser.add_argument("--grid", type=int, default=128)
    parser.add_argument("--figure", type=Path)
    parser.add_argument("--figure-view", type=int, default=3)
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()
    torch.manual_seed(0)
    models = {"PIFu": load_model(args.pifu).model, "PIFuHD": load_model(args.pifuhd).model}
    results = {}
    for name, model in models.items():
        test = pifu_dataset(args.data, model.image_size)
        train = ShapeDataset(args.data, 32, "train", classes=test.classes)
        start = time.perf_counter()
        results[name] = evaluate_pifu(model, test, train, args.data, resolution=args.grid)
        print(f"{name}: {len(test)} objects scored in {time.perf_counter() - start:.0f} s")
    print(f"\n| class | source | {' | '.join(METRICS)} |\n|---|---|{'---|' * len(METRICS)}")
    classes = list(results["PIFu"].per_class) + ["all"]
    for cls in classes:
        means = {name: r.summary if cls == "all" else r.per_class[cls] for name, r in results.items()}
        rows = [(name, m["model"]) for name, m in means.items()] + [("mean shape", means["PIFu"]["mean_shape"])]
        for name, means in rows:
            print(f"| {cls} | {name} | " + " | ".join(f"{means[m]:.3f}" for m in METRICS) + " |")
    if args.json:
        args.json.write_text(json.dumps({k: v.to_dict() for k, v in results.items()}, indent=1))
    if args.figure:
        figure(models, args.data, args.figure_view, args.figure)
        print(f"figure: {args.figure}")


if __name__ == "__main__":
    main()
