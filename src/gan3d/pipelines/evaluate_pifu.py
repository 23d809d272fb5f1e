"""Quality of PIFu on held-out objects (§4.2), beside the mean-shape baseline.

For each object of a `ShapeDataset(views=V, cameras=True, surface_points=P)` the network sees view 0
(or views 0..V−1 for multi-view PIFu), the surface is extracted coarse to fine at `resolution`³ over
[-1, 1]³ (`gan3d.ops.mise`) and scored against the truth:

* 3D IoU: the mesh voxelised into the truth's own grid (`voxel_to_world`);
* Chamfer-L1 and F-score@1% (normalised by the truth's longest side) and normal consistency between
  points sampled on the mesh and the truth's surface points (`gan3d.metrics.chamfer`);
* on the built-in data, per-part IoU of chairs, tables and people (legs vs the rest,
  `gan3d.data.synthetic_parts`).

The baseline is the per-class mean training grid (thresholded where it best fits the training split,
`gan3d.pipelines.evaluate_model.mean_shapes`), placed in each test object's own grid: it is given the
object's bounding box for free, so it is a strong baseline. A model that does not beat it has not
learnt to read the image.
"""

from __future__ import annotations

import os
import warnings
from dataclasses import dataclass, field

import numpy as np
import torch

from gan3d.data.datasets import ShapeDataset
from gan3d.data.synthetic_parts import PART_NAMES, dataset_part_labels
from gan3d.data.voxelize import voxelize_in_grid
from gan3d.errors import DataError
from gan3d.export.mesh import voxels_to_mesh
from gan3d.metrics.chamfer import chamfer_distance, f_score, normal_consistency
from gan3d.metrics.part_iou import part_iou
from gan3d.models.pifu import Pifu
from gan3d.models.pifuhd import PifuHD
from gan3d.ops.mise import ExtractionSettings
from gan3d.pipelines.evaluate_model import mean_shapes
from gan3d.pipelines.pifu_entry import reconstruct_mesh
from gan3d.structures.mesh import Mesh, sample_surface

METRICS = ("iou_3d", "chamfer_l1", "f_score", "normal_consistency", "iou_legs", "iou_rest")
SOURCES = ("model", "mean_shape")


@dataclass
class PifuEvaluation:
    """Per-object scores of the network and of the mean-shape baseline, and their means.

    Attributes:
        rows: one dict per object: id, class_name, queries (points the extraction asked for), and for
            "model" and "mean_shape" each metric of `METRICS` (the part IoUs are NaN off the built-in
            data and for classes without parts).
        summary: {source: {metric: mean}}; per_class: {class: {"count": n, source: {metric: mean}}}.
    """

    rows: list[dict] = field(default_factory=list)
    summary: dict[str, dict[str, float]] = field(default_factory=dict)
    per_class: dict[str, dict] = field(default_factory=dict)

    def to_dict(self) -> dict:
        """JSON-ready: the conventions, every row, the means."""
        return {"conventions": __doc__, "rows": self.rows, "summary": self.summary, "per_class": self.per_class}


def pifu_dataset(
    root: str | os.PathLike[str], image_size: int, split: str = "test", views: int = 1, resolution: int = 32
) -> ShapeDataset:
    """The held-out objects as `evaluate_pifu` reads them: `views` evenly spaced views with cameras, the
    `resolution`³ grid, 4,096 surface points with normals."""
    return ShapeDataset(
        root, resolution=resolution, split=split, views=views, image_size=image_size, cameras=True, surface_points=4096
    )


def mesh_scores(mesh: Mesh | None, item: dict, root: str | os.PathLike[str], n_points: int) -> dict[str, float]:
    """The `METRICS` of one mesh in the cameras' world frame (None: nothing extracted, the worst scores)
    against one dataset item (voxels, voxel_to_world, points, point_normals, class_name, id)."""
    nan = float("nan")
    truth = item["voxels"][0].numpy() > 0.5
    resolution = truth.shape[0]
    if mesh is None:
        return {
            "iou_3d": 0.0,
            "chamfer_l1": nan,
            "f_score": 0.0,
            "normal_consistency": nan,
            "iou_legs": 0.0,
            "iou_rest": 0.0,
        }
    grid = voxelize_in_grid(mesh.verts, mesh.faces, item["voxel_to_world"].double().numpy(), resolution)
    points, normals = sample_surface(mesh, n_points)
    pred = torch.as_tensor(points, dtype=torch.float32)[None]
    target = item["points"][None].float()
    scores = {
        "iou_3d": float((grid & truth).sum() / max((grid | truth).sum(), 1)),
        "chamfer_l1": float(chamfer_distance(pred, target)[0]),
        "f_score": float(f_score(pred, target)[0]),
        "normal_consistency": float(
            normal_consistency(
                pred, torch.as_tensor(normals, dtype=torch.float32)[None], target, item["point_normals"][None].float()
            )[0]
        ),
        "iou_legs": nan,
        "iou_rest": nan,
    }
    if item["class_name"] in PART_NAMES:
        labels = dataset_part_labels(root, item["class_name"], item["id"], truth)
        if labels is not None:
            scores["iou_legs"], scores["iou_rest"] = (float(x) for x in part_iou(grid, labels, 2))
    return scores


def _mean_shape_mesh(mean: torch.Tensor, threshold: float, item: dict) -> Mesh | None:
    """The class's mean grid, thresholded, as a mesh placed in the test object's own grid."""
    try:
        grid_mesh = voxels_to_mesh(mean[0].numpy(), threshold, translate=np.zeros(3), scale=float(mean.shape[-1]))
    except DataError:
        return None
    placement = item["voxel_to_world"].double().numpy()
    return Mesh(grid_mesh.verts @ placement[:3, :3].T + placement[:3, 3], grid_mesh.faces)


@torch.no_grad()
def evaluate_pifu(
    model: Pifu | PifuHD,
    dataset: ShapeDataset,
    train: ShapeDataset,
    root: str | os.PathLike[str],
    resolution: int = 128,
    n_points: int | None = None,
) -> PifuEvaluation:
    """Score `model` on every object of `dataset` (module docstring) beside the mean of `train`'s grids.
    The model runs in eval mode on its device; the metrics on the CPU."""
    model.eval()
    means, thresholds = mean_shapes(train)
    settings = ExtractionSettings(resolution, min(32, resolution))
    result = PifuEvaluation()
    for index in range(len(dataset)):
        item = dataset[index]
        points = n_points or len(item["points"])
        try:
            reconstruction = reconstruct_mesh(model, item["images"], item["cameras"], settings)
            mesh, queries = reconstruction.mesh, reconstruction.queries
        except DataError:  # nothing inside: the worst scores, not a crash
            mesh, queries = None, 0
        row = {"id": item["id"], "class_name": item["class_name"], "queries": queries}
        row["model"] = mesh_scores(mesh, item, root, points)
        label = train.classes.index(item["class_name"]) if item["class_name"] in train.classes else None
        base = _mean_shape_mesh(means[label], thresholds[label], item) if label in means else None
        row["mean_shape"] = mesh_scores(base, item, root, points)
        result.rows.append(row)
    for source in SOURCES:
        result.summary[source] = _means(result.rows, source)
    for name in sorted({r["class_name"] for r in result.rows}):
        rows = [r for r in result.rows if r["class_name"] == name]
        result.per_class[name] = {"count": len(rows), **{source: _means(rows, source) for source in SOURCES}}
    return result


def _means(rows: list[dict], source: str) -> dict[str, float]:
    with warnings.catch_warnings():  # a metric that is NaN for every row (no parts in this class)
        warnings.simplefilter("ignore", RuntimeWarning)
        return {m: float(np.nanmean([r[source][m] for r in rows])) for m in METRICS}
