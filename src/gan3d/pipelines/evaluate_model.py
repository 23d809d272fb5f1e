"""Evaluate a trained model on a dataset split, beside the mean-shape baseline.

Reconstruction models (with an image encoder) are scored per object (IoU §2.6.1, 3D SSIM §2.6.5,
reconstruction loss) against the ground truth; the **mean-shape baseline** predicts, for every
object, the per-class mean training grid thresholded at the threshold that maximises its mean IoU on
the training split, so a number shows at once whether the model learned more than the average chair.
Pure 3D-GANs (no encoder) have nothing to reconstruct with: `gan3d.pipelines.evaluate_generation` scores
what they generate (MMD / COV / 1-NNA, recognition, diversity, beside the train split and the mean shape).
"""

from __future__ import annotations

import os
from collections import defaultdict
from typing import Any

import numpy as np
import torch
from torch.utils.data import DataLoader

from gan3d.data.datasets import ShapeDataset
from gan3d.data.synthetic_parts import PART_NAMES, dataset_part_labels
from gan3d.losses.reconstruction import reconstruction_distance
from gan3d.metrics.iou import PAPER_THRESHOLD, voxel_iou
from gan3d.metrics.part_iou import part_iou
from gan3d.metrics.ssim3d import ssim3d
from gan3d.pipelines.voxel_gan import LoadedModel, dataset_for, stack_grids

BASELINE_THRESHOLDS = tuple(np.round(np.arange(0.05, 1.0, 0.05), 2))


def mean_shapes(train: ShapeDataset) -> tuple[dict[int, torch.Tensor], dict[int, float]]:
    """Per-class mean training grid (1, R, R, R) and its IoU-maximising threshold on the training split."""
    sums: dict[int, torch.Tensor] = {}
    voxels, labels = stack_grids(train)
    thresholds = {}
    for label in sorted(set(labels.tolist())):
        stack = voxels[labels == label]
        sums[label] = stack.mean(0)
        mean = sums[label].expand_as(stack)
        scores = [float(voxel_iou(mean, stack, t).mean()) for t in BASELINE_THRESHOLDS]
        thresholds[label] = float(BASELINE_THRESHOLDS[int(np.argmax(scores))])
    return sums, thresholds


@torch.no_grad()
def evaluate_reconstruction(
    loaded: LoadedModel,
    root: str | os.PathLike[str],
    split: str = "test",
    views: int | None = None,
    batch_size: int = 8,
) -> dict[str, Any]:
    """Per-object and per-class scores of the model and of the mean-shape baseline; on the built-in
    dataset also per-part IoU of chairs and tables (legs vs the rest, `gan3d.data.synthetic_parts`)."""
    model = loaded.model
    n_views = views or (5 if model.multiview else 1)
    test = dataset_for(loaded, root, split, views=n_views)
    train = dataset_for(loaded, root, "train", classes=test.classes)
    means, thresholds = mean_shapes(train)
    rows: list[dict[str, Any]] = []
    for batch in DataLoader(test, batch_size=batch_size):
        labels = batch["label"] if model.num_classes else None
        images = batch["images"] if model.multiview else batch["images"][:, 0]
        pred = model.reconstruct(images, labels)
        target = batch["voxels"]
        base = torch.stack([means[int(lab)] for lab in batch["label"]])
        base_iou = torch.stack(
            [
                voxel_iou(b[None], t[None], thresholds[int(lab)])[0]
                for b, t, lab in zip(base, target, batch["label"], strict=True)
            ]
        )
        for i in range(len(target)):
            rows.append(
                {
                    "id": batch["id"][i],
                    "class": batch["class_name"][i],
                    "iou": float(voxel_iou(pred[i : i + 1], target[i : i + 1])[0]),
                    "ssim": float(ssim3d(pred[i : i + 1], target[i : i + 1])[0]),
                    "recon": float(reconstruction_distance(pred[i : i + 1], target[i : i + 1])[0]),
                    "baseline_iou": float(base_iou[i]),
                    "baseline_ssim": float(ssim3d(base[i : i + 1], target[i : i + 1])[0]),
                }
            )
            parts = dataset_part_labels(root, batch["class_name"][i], batch["id"][i], target[i, 0].numpy() > 0.5)
            if parts is not None:
                names = PART_NAMES[batch["class_name"][i]]
                threshold = thresholds[int(batch["label"][i])]
                rows[-1]["parts"] = dict(
                    zip(names, part_iou(pred[i, 0].numpy() > PAPER_THRESHOLD, parts, 2), strict=True)
                )
                rows[-1]["baseline_parts"] = dict(
                    zip(names, part_iou(base[i, 0].numpy() > threshold, parts, 2), strict=True)
                )
    return _summarise(
        rows,
        {"split": split, "views": n_views, "baseline_thresholds": {test.classes[k]: v for k, v in thresholds.items()}},
    )


PART_KEYS = ("parts", "baseline_parts")


def _summarise(rows: list[dict[str, Any]], settings: dict[str, Any]) -> dict[str, Any]:
    keys = [k for k in rows[0] if k not in ("id", "class", *PART_KEYS)]
    by_class: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for row in rows:
        by_class[row["class"]].append(row)

    def mean(rs: list[dict[str, Any]]) -> dict[str, float]:
        return {"count": float(len(rs)), **{k: float(np.mean([r[k] for r in rs])) for k in keys}}

    summary = {
        "settings": settings,
        "overall": mean(rows),
        "per_class": {c: mean(rs) for c, rs in sorted(by_class.items())},
        "per_object": rows,
    }
    per_part = {c: _part_means(rs) for c, rs in sorted(by_class.items()) if any("parts" in r for r in rs)}
    if per_part:
        summary["per_part"] = per_part
    return summary


def _part_means(rows: list[dict[str, Any]]) -> dict[str, dict[str, float]]:
    """{part: {count, iou, baseline_iou}}: means over the objects that have the part."""
    scored = [r for r in rows if "parts" in r]
    out = {}
    for name in scored[0]["parts"]:
        have = [r for r in scored if not np.isnan(r["parts"][name])]
        out[name] = {
            "count": float(len(have)),
            "iou": float(np.mean([r["parts"][name] for r in have])) if have else float("nan"),
            "baseline_iou": float(np.mean([r["baseline_parts"][name] for r in have])) if have else float("nan"),
        }
    return out
