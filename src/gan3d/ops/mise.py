"""Coarse-to-fine occupancy on a grid (Occupancy Networks' MISE, Mescheder et al. 2019), for extracting
the surface of an implicit function (PIFu §4.2: "the space is sampled ... marching cubes").

The function is evaluated at the cell centres of a coarse grid; each level then halves the cells and
evaluates only the children of cells near the level set: cells whose inside/outside label differs
from one of their 26 neighbours, dilated by `band` cells. Children of the other cells inherit their
parent's value. The result is a dense grid of the final resolution, as dense evaluation would give
wherever the surface is, for a fraction of the queries (thin parts smaller than a coarse cell that no
coarse centre sees are the method's known blind spot: start finer to keep them).

Grid convention: `resolution` cells per side over [lo, hi]³; cell (i, j, k) has its centre at
lo + (index + 0.5) · (hi − lo) / resolution, index order (x, y, z): `voxels_to_mesh(grid, translate=lo,
scale=hi − lo)` puts the mesh back in world coordinates.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace

import torch
import torch.nn.functional as F

from gan3d.errors import ConfigError

QueryFn = Callable[[torch.Tensor], torch.Tensor]  # points (P, 3) -> values (P,)


@dataclass(frozen=True)
class ExtractionSettings:
    """Attributes:
    resolution: cells per side of the final grid (PIFu: 256; 512 on a GPU).
    initial_resolution: the first, dense level; `resolution` must be it times a power of two.
    threshold: the level set (0.5 for occupancy probabilities).
    bounds: (lo, hi) of the cube (the unit-sphere frame: -1, 1).
    batch_points: points per call of the function (bounds memory).
    band: cells of dilation around the detected boundary at each level.
    """

    resolution: int = 256
    initial_resolution: int = 32
    threshold: float = 0.5
    bounds: tuple[float, float] = (-1.0, 1.0)
    batch_points: int = 65_536
    band: int = 1

    def __post_init__(self) -> None:
        ratio = self.resolution // max(self.initial_resolution, 1)
        if (
            self.initial_resolution < 2
            or ratio * self.initial_resolution != self.resolution
            or ratio & (ratio - 1)
            or self.resolution > 1024
        ):
            raise ConfigError(
                f"resolution ({self.resolution}) must be initial_resolution ({self.initial_resolution}) times a "
                "power of two, at most 1024"
            )
        if self.bounds[1] <= self.bounds[0] or self.batch_points < 1 or self.band < 0:
            raise ConfigError("bounds must be (lo, hi) with lo < hi, batch_points >= 1, band >= 0")


def cell_centres(indices: torch.Tensor, resolution: int, bounds: tuple[float, float]) -> torch.Tensor:
    """World positions (M, 3) of the centres of cells `indices` (M, 3) of a `resolution`³ grid over bounds."""
    lo, hi = bounds
    return lo + (indices.to(torch.float32) + 0.5) * ((hi - lo) / resolution)


def _evaluate(fn: QueryFn, points: torch.Tensor, batch: int) -> torch.Tensor:
    if len(points) == 0:
        return points.new_zeros(0)
    return torch.cat([fn(points[i : i + batch]).reshape(-1).float() for i in range(0, len(points), batch)])


def dense_occupancy(fn: QueryFn, settings: ExtractionSettings, device: torch.device | None = None) -> torch.Tensor:
    """`fn` at every cell centre of the `settings.resolution`³ grid: (R, R, R), the reference that
    `coarse_to_fine_occupancy` saves queries against."""
    r = settings.resolution
    index = torch.stack(torch.meshgrid(*[torch.arange(r, device=device)] * 3, indexing="ij"), -1).reshape(-1, 3)
    return _evaluate(fn, cell_centres(index, r, settings.bounds), settings.batch_points).view(r, r, r)


def _boundary(values: torch.Tensor, threshold: float, band: int) -> torch.Tensor:
    """Cells (R, R, R) bool whose label differs from a neighbour's, dilated by `band`."""
    inside = (values > threshold).float()[None, None]
    grown = F.max_pool3d(inside, 3, stride=1, padding=1)
    shrunk = -F.max_pool3d(-inside, 3, stride=1, padding=1)
    edge = grown != shrunk
    if band:
        edge = F.max_pool3d(edge.float(), 2 * band + 1, stride=1, padding=band) > 0
    return edge[0, 0]


@torch.no_grad()
def coarse_to_fine_occupancy(
    fn: QueryFn, settings: ExtractionSettings, device: torch.device | None = None
) -> tuple[torch.Tensor, int]:
    """(grid (R, R, R) float32 of `fn`'s values, number of points queried) by coarse-to-fine evaluation
    (module docstring). Memory is the final grid plus one batch of queries."""
    first = replace(settings, resolution=settings.initial_resolution)
    values = dense_occupancy(fn, first, device)
    queries = values.numel()
    r = settings.initial_resolution
    while r < settings.resolution:
        active = _boundary(values, settings.threshold, settings.band)
        r *= 2
        values = values.repeat_interleave(2, 0).repeat_interleave(2, 1).repeat_interleave(2, 2)  # inherit
        children = active.repeat_interleave(2, 0).repeat_interleave(2, 1).repeat_interleave(2, 2)
        index = children.nonzero()
        values[children] = _evaluate(fn, cell_centres(index, r, settings.bounds), settings.batch_points)
        queries += len(index)
    return values, queries
