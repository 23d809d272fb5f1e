from __future__ import annotations

import pytest
import torch

from gan3d.errors import ConfigError
from gan3d.ops.mise import ExtractionSettings, cell_centres, coarse_to_fine_occupancy, dense_occupancy


def _box(points: torch.Tensor, center: tuple[float, float, float], half: tuple[float, float, float]) -> torch.Tensor:
    return ((points - torch.tensor(center)).abs() < torch.tensor(half)).all(-1)


def chair_occupancy(points: torch.Tensor) -> torch.Tensor:
    """A smooth-edged occupancy of a chair: a seat, a back and four legs 0.08 wide (a little more than a
    32³ cell of [-1, 1]³), as an implicit network would answer (values in (0, 1), 0.5 on the surface)."""
    inside = _box(points, (0, 0, 0), (0.5, 0.5, 0.05)) | _box(points, (0, 0.45, 0.45), (0.5, 0.05, 0.45))
    for sx in (-1, 1):
        for sy in (-1, 1):
            inside |= _box(points, (0.45 * sx, 0.45 * sy, -0.45), (0.04, 0.04, 0.45))
    return inside.float() * 0.8 + 0.1


def test_cell_centres_convention() -> None:
    centres = cell_centres(torch.tensor([[0, 0, 0], [3, 1, 2]]), 4, (-1.0, 1.0))
    torch.testing.assert_close(centres, torch.tensor([[-0.75, -0.75, -0.75], [0.75, -0.25, 0.25]]))


def test_coarse_to_fine_matches_dense_with_5x_fewer_queries_at_128() -> None:
    settings = ExtractionSettings(resolution=128, initial_resolution=32)
    calls = []

    def counted(points: torch.Tensor) -> torch.Tensor:
        calls.append(len(points))
        assert len(points) <= settings.batch_points  # bounded batches
        return chair_occupancy(points)

    fine, queries = coarse_to_fine_occupancy(counted, settings)
    dense = dense_occupancy(chair_occupancy, settings)
    assert sum(calls) == queries
    a, b = fine > 0.5, dense > 0.5
    iou = (a & b).sum() / (a | b).sum()
    assert iou >= 0.99, float(iou)
    assert dense.numel() / queries >= 5, dense.numel() / queries
    # the legs survive: the grid has occupied cells at leg height under each corner
    legs = a[:, :, 10:40]
    for xs in (slice(0, 64), slice(64, 128)):
        for ys in (slice(0, 64), slice(64, 128)):
            assert legs[xs, ys].any()


def test_without_refinement_it_is_dense_and_bad_settings_are_refused() -> None:
    settings = ExtractionSettings(resolution=32, initial_resolution=32)
    grid, queries = coarse_to_fine_occupancy(chair_occupancy, settings)
    assert queries == 32**3 and torch.equal(grid, dense_occupancy(chair_occupancy, settings))
    with pytest.raises(ConfigError, match="power of two"):
        ExtractionSettings(resolution=96, initial_resolution=32)
