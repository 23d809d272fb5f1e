"""Distance from 2D points to triangles in the plane, differentiable (DIB-R's background term, §3.2)."""

from __future__ import annotations

import torch


def point_triangle_distance_2d(points: torch.Tensor, tri: torch.Tensor) -> torch.Tensor:
    """Distance from points (M, 2) to triangles (M, 3, 2) in the plane, (M,): 0 inside (or on the
    boundary), else the distance to the nearest edge. Either orientation; degenerate triangles are
    their segments.

    Which edge is nearest and where on it the closest point lies (t in [0, 1]) are found without
    autograd; the distance is then rebuilt differentiably from that edge alone with t held fixed. The
    gradient is exact: at an interior t the distance is stationary in t (the envelope theorem), and a
    clamped t does not move. This keeps the backward graph a few ops over M pairs instead of three
    full segment distances, which is most of the soft silhouette's cost.
    """
    with torch.no_grad():
        # x and y apart: reductions over a last dimension of 2 are a slow path on CPU
        px, py = points[:, 0:1].detach(), points[:, 1:2].detach()  # (M, 1)
        ax, ay = tri[..., 0].detach(), tri[..., 1].detach()  # (M, 3): edge i runs from corner i to i + 1
        abx, aby = ax.roll(-1, dims=1) - ax, ay.roll(-1, dims=1) - ay
        apx, apy = px - ax, py - ay
        t = ((apx * abx + apy * aby) / (abx * abx + aby * aby).clamp(min=1e-12)).clamp(0.0, 1.0)  # (M, 3)
        dx, dy = apx - t * abx, apy - t * aby
        edge = (dx * dx + dy * dy).argmin(1)
        cross = abx * apy - aby * apx  # edge functions: the inside test
        inside = (cross >= 0).all(1) | (cross <= 0).all(1)
        t_edge = t.gather(1, edge[:, None])
    # gather, not advanced indexing (a slow path on CPU)
    start = tri.gather(1, edge.view(-1, 1, 1).expand(-1, 1, 2)).squeeze(1)
    end = tri.gather(1, ((edge + 1) % 3).view(-1, 1, 1).expand(-1, 1, 2)).squeeze(1)
    closest = start + t_edge * (end - start)
    offset = points - closest
    distance = (offset[:, 0] * offset[:, 0] + offset[:, 1] * offset[:, 1]).clamp(min=1e-20).sqrt()
    return torch.where(inside, torch.zeros_like(distance), distance)
