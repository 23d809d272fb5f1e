"""Thin parts in the demo's reconstructions: train the demo model (gan3d.training.demo) with each
reconstruction loss for a fixed number of epochs on the same data and seed, and print single-view IoU
per class and per part (legs vs the rest of chairs and tables) beside the mean-shape baseline.

    python benchmarks/demo_recon_losses.py --out /tmp/recon --epochs 60 --variants l2,bce,focal

Variants: NAME[:key=value,...] with keys of DemoSettings, e.g. `bce_w07:recon_loss=bce,recon_pos_weight=0.7`;
the names l2, bce and focal need no keys. Finished variants (OUT/<name>/scores.json) are reused.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import time
from pathlib import Path

PRESETS = {
    "l2": {"recon_loss": "l2"},
    "bce": {"recon_loss": "bce"},
    "focal": {"recon_loss": "focal"},
}


def parse_variant(text: str) -> tuple[str, dict]:
    name, _, rest = text.partition(":")
    overrides = dict(PRESETS.get(name, {}))
    for pair in filter(None, rest.split(";")):
        key, _, value = pair.partition("=")
        try:
            overrides[key] = json.loads(value)
        except json.JSONDecodeError:
            overrides[key] = value
    return name, overrides


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--epochs", type=int, default=60)
    parser.add_argument("--variants", default="l2,bce,focal", help="comma-separated; keys after ':' split by ';'")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()

    from gan3d.data.synth_dataset import build_synthetic_dataset
    from gan3d.pipelines.demo_report import score_demo
    from gan3d.pipelines.voxel_gan import LoadedModel
    from gan3d.training.demo import BUILDER, DemoSettings, train_demo_model

    base = DemoSettings(seed=args.seed, max_epochs=args.epochs)
    data = args.out / "data"
    build_synthetic_dataset(
        data, base.classes, base.per_class, (base.resolution,), base.rendered_views, base.image_size, seed=args.seed
    )
    results = {}
    for text in args.variants.split(","):
        name, overrides = parse_variant(text)
        path = args.out / name / "scores.json"
        if path.exists():
            results[name] = json.loads(path.read_text())
            continue
        settings = dataclasses.replace(base, **overrides)
        start = time.monotonic()
        run = train_demo_model(data, args.out / name / "runs", settings, budget_s=10 * 3600)
        minutes = (time.monotonic() - start) / 60
        loaded = LoadedModel(run.module.model, BUILDER, list(settings.classes))
        scores = score_demo(loaded, data, settings.train_views, seed=settings.seed)
        single = scores.single_view
        record = {
            "overrides": overrides,
            "epochs": run.epochs,
            "minutes": minutes,
            "per_class": {c: {k: r[k] for k in ("iou", "baseline_iou")} for c, r in single["per_class"].items()},
            "overall": {k: single["overall"][k] for k in ("iou", "baseline_iou")},
            "per_part": single.get("per_part", {}),
            "recognised": scores.recognised,
        }
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(record, indent=1))
        results[name] = record
        print(f"{name}: {run.epochs} epochs, {minutes:.1f} min", flush=True)

    classes = list(base.classes)
    head = ["variant", "epochs", "min", *classes, "all", "chair legs", "chair rest", "table legs", "table top"]
    head.append("samples recognised")
    print("| " + " | ".join(head) + " |")
    print("|" + "---|" * len(head))
    for name, r in results.items():
        cells = [name, str(r["epochs"]), f"{r['minutes']:.1f}"]
        cells += [f"{r['per_class'][c]['iou']:.3f}" for c in classes] + [f"{r['overall']['iou']:.3f}"]
        for cls in ("chair", "table"):
            for part in r["per_part"].get(cls, {}).values():
                cells.append(f"{part['iou']:.3f}")
        cells.append(f"{r['recognised']:.0%}" if "recognised" in r else "-")
        print("| " + " | ".join(cells) + " |")
    first = next(iter(results.values()))
    cells = ["mean-shape baseline", "-", "-"]
    cells += [f"{first['per_class'][c]['baseline_iou']:.3f}" for c in classes] + [
        f"{first['overall']['baseline_iou']:.3f}"
    ]
    for cls in ("chair", "table"):
        for part in first["per_part"].get(cls, {}).values():
            cells.append(f"{part['baseline_iou']:.3f}")
    print("| " + " | ".join(cells) + " |")


if __name__ == "__main__":
    main()
