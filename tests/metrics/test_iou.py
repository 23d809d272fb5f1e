from __future__ import annotations

import pytest
import torch

from gan3d.metrics._validate import MetricInputError
from gan3d.metrics.iou import voxel_iou, voxel_iou_best_threshold


def test_hand_computed() -> None:
    target = torch.zeros(2, 1, 4, 4, 4)
    target[0, 0, :2] = 1  # 32 voxels
    pred = torch.zeros(2, 1, 4, 4, 4)
    pred[0, 0, 1:3] = 0.9  # 32 voxels, 16 shared -> 16 / 48
    pred[0, 0, 3] = 0.5  # exactly at the threshold: not occupied (strict >)
    iou = voxel_iou(pred, target)
    assert iou[0].item() == pytest.approx(16 / 48)
    assert iou[1].item() == 1.0  # empty vs empty is defined as 1


def test_one_empty_side_is_zero() -> None:
    target = torch.zeros(1, 3, 3, 3)
    pred = torch.full((1, 3, 3, 3), 0.8)
    assert voxel_iou(pred, target).item() == 0.0
    assert voxel_iou(target, pred.round()).item() == 0.0


def test_against_python_sets() -> None:
    gen = torch.Generator().manual_seed(0)
    pred = torch.rand(5, 6, 6, 6, generator=gen)
    target = (torch.rand(5, 6, 6, 6, generator=gen) > 0.6).float()
    for threshold in (0.3, 0.5):
        got = voxel_iou(pred, target, threshold)
        for n in range(5):
            p = {i for i, v in enumerate(pred[n].flatten().tolist()) if v > threshold}
            t = {i for i, v in enumerate(target[n].flatten().tolist()) if v > 0.5}
            assert got[n].item() == pytest.approx(len(p & t) / len(p | t))


def test_best_of_thresholds_is_labelled_and_at_least_the_fixed_one() -> None:
    gen = torch.Generator().manual_seed(1)
    target = (torch.rand(4, 8, 8, 8, generator=gen) > 0.5).float()
    pred = (target * 0.35 + torch.rand(4, 8, 8, 8, generator=gen) * 0.3).clamp(0, 1)
    best, threshold = voxel_iou_best_threshold(pred, target)
    assert threshold in (0.2, 0.3, 0.4, 0.5)
    assert best.mean() >= voxel_iou(pred, target, 0.5).mean() and best.mean() >= voxel_iou(pred, target, 0.4).mean()


@pytest.mark.parametrize(
    "pred,target",
    [
        (torch.zeros(2, 4, 4, 4), torch.zeros(2, 4, 4, 5)),
        (torch.zeros(4, 4, 4), torch.zeros(4, 4, 4)),
        (torch.full((1, 2, 2, 2), float("nan")), torch.zeros(1, 2, 2, 2)),
    ],
)
def test_bad_inputs(pred: torch.Tensor, target: torch.Tensor) -> None:
    with pytest.raises(MetricInputError):
        voxel_iou(pred, target)
