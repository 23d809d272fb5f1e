from __future__ import annotations

import pytest
import torch

from gan3d.metrics._validate import MetricInputError
from gan3d.metrics.iou import voxel_iou
from gan3d.metrics.recognition import nearest_neighbour_labels, pairwise_iou, recognition_accuracy


def test_pairwise_iou_matches_voxel_iou_pair_by_pair() -> None:
    a = torch.rand(5, 1, 6, 6, 6)
    b = (torch.rand(7, 1, 6, 6, 6) > 0.6).float()
    b[3] = 0  # an empty target
    expected = torch.stack([voxel_iou(a[i : i + 1].expand(7, -1, -1, -1, -1), b) for i in range(5)])
    torch.testing.assert_close(pairwise_iou(a, b), expected)


def test_pairwise_iou_hand_case() -> None:
    a = torch.zeros(1, 1, 2, 2, 2)
    a[0, 0, 0] = 0.9  # 4 voxels
    b = torch.zeros(2, 1, 2, 2, 2)
    b[0, 0, 0, 0] = 1  # 2 voxels inside a: IoU 2/4
    b[1, 0, 1] = 1  # 4 voxels disjoint from a: IoU 0
    torch.testing.assert_close(pairwise_iou(a, b), torch.tensor([[0.5, 0.0]]))


def test_nearest_neighbour_finds_noisy_copies_class() -> None:
    reference = (torch.rand(12, 1, 8, 8, 8) > 0.5).float()
    labels = torch.arange(12) % 3
    noisy = (reference - 0.3 * torch.rand_like(reference)).clamp(0, 1)  # still above 0.4 where occupied
    found = nearest_neighbour_labels(noisy, reference, labels, chunk=5)
    assert torch.equal(found, labels)
    scores = recognition_accuracy(noisy[:6], torch.tensor([0, 1, 2, 1, 1, 0]), reference, labels)
    assert scores == {0: 0.5, 1: pytest.approx(2 / 3), 2: 1.0}  # true classes of noisy[:6]: 0 1 2 0 1 2


def test_label_count_must_match() -> None:
    with pytest.raises(MetricInputError, match="one label per reference"):
        nearest_neighbour_labels(torch.rand(2, 1, 4, 4, 4), torch.rand(3, 1, 4, 4, 4), torch.arange(2))
