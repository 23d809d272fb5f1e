"""Quality of DIB-R's single-image mesh predictor on held-out objects (§3.3), beside the template.

For each object of a `ShapeDataset(views=V, masks=True, cameras=True, surface_points=P)` the network
sees view 0 and predicts a mesh, which is scored

* in 3D: voxelised into the truth's own grid (`voxel_to_world`) and compared by IoU; Chamfer-L1 and
  F-score@1% between points sampled on it and the truth's surface points (`gan3d.metrics.chamfer`,
  normalised by the truth's longest side);
* in 2D: hard-silhouette IoU and colour L1 (on the pixels both silhouettes cover) in the input view
  and in the V − 1 views it did not see.

The baseline is the template deformed by nothing (the sphere, mid-grey): a predictor that does not
beat it has learnt nothing about the object.
"""

from __future__ import annotations

import os
import warnings
from dataclasses import dataclass, field

import numpy as np
import torch

from gan3d.data.datasets import ShapeDataset, collate_items
from gan3d.data.voxelize import voxelize_in_grid
from gan3d.losses.silhouette import color_l1_loss
from gan3d.metrics.chamfer import chamfer_distance, f_score
from gan3d.models.dibr_net import DibrNet, DibrPrediction
from gan3d.render.dibr import DibrSettings
from gan3d.structures.mesh import Mesh, sample_surface

METRICS = (
    "iou_3d",
    "chamfer_l1",
    "f_score",
    "silhouette_iou_input",
    "silhouette_iou_unseen",
    "color_l1_input",
    "color_l1_unseen",
)


@dataclass
class DibrEvaluation:
    """Per-object scores of the network and of the template baseline, and their means.

    Attributes:
        rows: one dict per object: id, class_name, and for "model" and "template" each metric of
            `METRICS` (the unseen-view ones are NaN with a single view).
        summary: {"model": {metric: mean}, "template": {...}}.
        per_class: {class name: {"count": n, "model": {metric: mean}, "template": {...}}}.
    """

    rows: list[dict] = field(default_factory=list)
    summary: dict[str, dict[str, float]] = field(default_factory=dict)
    per_class: dict[str, dict] = field(default_factory=dict)

    def to_dict(self) -> dict:
        """JSON-ready: the conventions, every row, the means."""
        return {
            "conventions": __doc__,
            "rows": self.rows,
            "summary": self.summary,
            "per_class": self.per_class,
        }


def dibr_dataset(
    root: str | os.PathLike[str], image_size: int, split: str = "test", views: int = 4, resolution: int = 32
) -> ShapeDataset:
    """The held-out objects as `evaluate_mesh_predictor` reads them: `views` evenly spaced views (the
    first is the input) with masks and cameras, the `resolution`³ grid, 2,048 surface points."""
    return ShapeDataset(
        root,
        resolution=resolution,
        split=split,
        views=views,
        image_size=image_size,
        masks=True,
        cameras=True,
        surface_points=2048,
    )


def mesh_scores(
    model: DibrNet,
    prediction: DibrPrediction,
    item: dict,
    resolution: int,
    n_points: int,
    settings: DibrSettings,
) -> dict[str, float]:
    """The `METRICS` of one predicted mesh (a `DibrPrediction` of batch 1, on the CPU like `model`) against
    one dataset item (images (Vw, 3, H, W), masks, cameras (Vw,), voxels, voxel_to_world, points)."""
    verts, faces = prediction.verts[0], model.faces
    v = verts.detach().double().numpy()
    grid = voxelize_in_grid(v, faces.numpy(), item["voxel_to_world"].double().numpy(), resolution)
    truth = item["voxels"][0].numpy() > 0.5
    iou = float((grid & truth).sum() / max((grid | truth).sum(), 1))
    points, _ = sample_surface(Mesh(v, faces.numpy()), n_points)
    pred = torch.as_tensor(points, dtype=torch.float32)[None]
    target = item["points"][None].float()
    cameras = item["cameras"]
    n_views = cameras.batch_shape[0]
    colour, _, hard = model.render(prediction.repeat_views(n_views), cameras, settings)
    masks = item["masks"][:, 0] > 0.5
    target_rgb = item["images"].permute(0, 2, 3, 1)
    sil = ((hard & masks).flatten(1).sum(1) / (hard | masks).flatten(1).sum(1).clamp(min=1)).tolist()
    both = hard & masks
    colour_l1 = [float(color_l1_loss(colour[i], target_rgb[i], both[i])) for i in range(n_views)]
    nan = float("nan")
    return {
        "iou_3d": iou,
        "chamfer_l1": float(chamfer_distance(pred, target)[0]),
        "f_score": float(f_score(pred, target)[0]),
        "silhouette_iou_input": sil[0],
        "silhouette_iou_unseen": float(np.mean(sil[1:])) if n_views > 1 else nan,
        "color_l1_input": colour_l1[0],
        "color_l1_unseen": float(np.mean(colour_l1[1:])) if n_views > 1 else nan,
    }


@torch.no_grad()
def evaluate_mesh_predictor(
    model: DibrNet, dataset: ShapeDataset, n_points: int | None = None, sigmainv: float = 1.0
) -> DibrEvaluation:
    """Score `model` on every object of `dataset` (module docstring) against the template baseline. The
    model is put in eval mode on the CPU, where the voxeliser and the metrics run."""
    model.eval().cpu()
    template = model.template_prediction()
    result = DibrEvaluation()
    for index in range(len(dataset)):
        item = dataset[index]
        batch = collate_items([item])
        prediction = model(batch["images"][:, 0])
        cameras = item["cameras"]
        settings = DibrSettings(int(cameras.height), int(cameras.width), sigmainv=sigmainv)
        resolution = item["voxels"].shape[-1]
        points = n_points or len(item["points"])
        row = {"id": item["id"], "class_name": item["class_name"]}
        row["model"] = mesh_scores(model, prediction, item, resolution, points, settings)
        row["template"] = mesh_scores(model, template, item, resolution, points, settings)
        result.rows.append(row)
    for source in ("model", "template"):
        result.summary[source] = _means(result.rows, source)
    for name in sorted({r["class_name"] for r in result.rows}):
        rows = [r for r in result.rows if r["class_name"] == name]
        means = {source: _means(rows, source) for source in ("model", "template")}
        result.per_class[name] = {"count": len(rows), **means}
    return result


def _means(rows: list[dict], source: str) -> dict[str, float]:
    with warnings.catch_warnings():  # a metric that is NaN for every row (one view: no unseen views)
        warnings.simplefilter("ignore", RuntimeWarning)
        return {m: float(np.nanmean([r[source][m] for r in rows])) for m in METRICS}
