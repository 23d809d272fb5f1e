from __future__ import annotations

import itertools

import numpy as np
import pytest

from gan3d.metrics.part_iou import part_iou, part_regions


def _brute_regions(labels: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Nearest labelled voxel by explicit distances; also a mask of cells with a tie between parts."""
    cells = np.array(list(itertools.product(*(range(n) for n in labels.shape))))
    occupied = np.argwhere(labels > 0)
    d = ((cells[:, None, :] - occupied[None, :, :]) ** 2).sum(-1)
    best = d.min(1)
    region = labels[tuple(occupied[d.argmin(1)].T)]
    tied = np.array([len(set(labels[tuple(occupied[d[i] == best[i]].T)])) > 1 for i in range(len(cells))])
    return region.reshape(labels.shape), tied.reshape(labels.shape)


def test_regions_match_brute_force_nearest_part() -> None:
    rng = np.random.default_rng(0)
    labels = np.zeros((9, 9, 9), dtype=np.uint8)
    labels[rng.random(labels.shape) < 0.04] = 1
    labels[rng.random(labels.shape) < 0.04] = 2
    expected, tied = _brute_regions(labels)
    got = part_regions(labels)
    assert (~tied).sum() > 600
    assert np.array_equal(got[~tied], expected[~tied])


def _chair() -> np.ndarray:
    labels = np.zeros((16, 16, 16), dtype=np.uint8)
    labels[2:14, 2:14, 8:10] = 2  # seat
    for x, y in ((2, 2), (2, 13), (13, 2), (13, 13)):
        labels[x, y, 0:8] = 1  # legs, one voxel thick
    return labels


def test_part_iou_scores_each_part_in_its_own_region() -> None:
    labels = _chair()
    truth = labels > 0
    assert part_iou(truth, labels, 2) == pytest.approx([1.0, 1.0])
    no_legs = labels == 2
    assert part_iou(no_legs, labels, 2) == pytest.approx([0.0, 1.0])  # the whole-shape IoU would be 0.82
    # each leg thickened by 4 voxels at its foot (1 from the leg, 5 from the seat): against the legs only
    bloated = truth.copy()
    for x, y in ((3, 2), (3, 13), (12, 2), (12, 13)):
        bloated[x, y, 0:4] = True
    assert part_iou(bloated, labels, 2) == pytest.approx([32 / 48, 1.0])
    # one leg missing: 8 of 32 leg voxels lost
    one_off = truth.copy()
    one_off[2, 2, 0:8] = False
    assert part_iou(one_off, labels, 2) == pytest.approx([24 / 32, 1.0])


def test_a_missing_part_is_nan_and_shapes_are_checked() -> None:
    labels = _chair()
    labels[labels == 1] = 0
    legs, seat = part_iou(labels > 0, labels, 2)
    assert np.isnan(legs) and seat == 1.0
    with pytest.raises(ValueError, match="shape"):
        part_iou(np.zeros((4, 4, 4), bool), labels, 2)
    with pytest.raises(ValueError, match="no labelled"):
        part_regions(np.zeros((4, 4, 4), np.uint8))
