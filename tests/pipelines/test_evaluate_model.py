from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch

from gan3d.cli.main import main
from gan3d.data.datasets import ShapeDataset
from gan3d.data.synth_dataset import build_synthetic_dataset
from gan3d.export.checkpoint import save_pretrained
from gan3d.metrics.iou import voxel_iou
from gan3d.pipelines.evaluate_model import mean_shapes
from gan3d.registry import get_model


@pytest.fixture(scope="module")
def root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("synth")
    build_synthetic_dataset(out, ["bottle", "table"], per_class=5, resolutions=(32,), views=2, size=32)
    return out


def test_mean_shape_threshold_maximises_training_iou(root: Path) -> None:
    train = ShapeDataset(root, 32, "train")
    means, thresholds = mean_shapes(train)
    assert set(means) == {0, 1}
    grids = torch.stack([train[i]["voxels"] for i in range(len(train)) if train[i]["label"] == 0])
    best = voxel_iou(means[0].expand_as(grids), grids, thresholds[0]).mean()
    for t in (0.1, 0.3, 0.5, 0.7, 0.9):
        assert best >= voxel_iou(means[0].expand_as(grids), grids, t).mean() - 1e-6


def test_evaluate_checkpoint_beside_the_baseline(root: Path, tmp_path: Path) -> None:
    model = get_model("vae_gan_simple_32", channels=1, image_size=32, base_channels=4)
    export = save_pretrained(model, tmp_path / "export", builder="vae_gan_simple_32", class_names=["bottle", "table"])
    out = tmp_path / "scores.json"
    assert main(["evaluate", "--ckpt", str(export), "--data", str(root), "--json", str(out)]) == 0
    result = json.loads(out.read_text())
    assert result["overall"]["count"] == 2 and set(result["per_class"]) == {"bottle", "table"}
    for row in result["per_object"]:
        assert 0 <= row["iou"] <= 1 and 0 < row["baseline_iou"] <= 1
    # the untrained model is no better than the mean shape
    assert result["overall"]["baseline_iou"] > result["overall"]["iou"]
    # built-in tables are scored per part too (bottles have none)
    assert set(result["per_part"]) == {"table"} and set(result["per_part"]["table"]) == {"legs", "top"}
    for part in result["per_part"]["table"].values():
        assert part["count"] == 1 and 0 <= part["iou"] <= 1 and 0 <= part["baseline_iou"] <= 1
    table_row = next(r for r in result["per_object"] if r["class"] == "table")
    assert table_row["parts"]["legs"] == result["per_part"]["table"]["legs"]["iou"]


def test_evaluate_needs_data(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["evaluate", "--ckpt", str(tmp_path)]) == 2
    assert "--data" in capsys.readouterr().err
    assert main(["evaluate"]) == 2
