"""Distance from 2D points to triangles in the plane, differentiable (DIB-R's background term, §3.2)."""

from __future__ import annotations

import torch


def point_segment_distance_2d(points: torch.Tensor, a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    """Euclidean distance from points (M, 2) to segments a-b (M, 2 each), (M,)."""
    ab = b - a
    t = ((points - a) * ab).sum(-1) / (ab * ab).sum(-1).clamp(min=1e-12)
    closest = a + t.clamp(0.0, 1.0)[:, None] * ab
    return (points - closest).square().sum(-1).clamp(min=1e-20).sqrt()


def point_triangle_distance_2d(points: torch.Tensor, tri: torch.Tensor) -> torch.Tensor:
    """Distance from points (M, 2) to triangles (M, 3, 2) in the plane, (M,): 0 inside (or on the
    boundary), else the distance to the nearest edge. Either orientation; degenerate triangles are
    their segments."""
    edges = [point_segment_distance_2d(points, tri[:, i], tri[:, (i + 1) % 3]) for i in range(3)]
    distance = torch.stack(edges, -1).amin(-1)
    # inside test by the signs of the three edge functions
    signs = []
    for i in range(3):
        a, b = tri[:, i], tri[:, (i + 1) % 3]
        signs.append((b[:, 0] - a[:, 0]) * (points[:, 1] - a[:, 1]) - (b[:, 1] - a[:, 1]) * (points[:, 0] - a[:, 0]))
    s = torch.stack(signs, -1)
    inside = (s >= 0).all(-1) | (s <= 0).all(-1)
    return torch.where(inside, torch.zeros_like(distance), distance)
