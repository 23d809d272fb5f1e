"""Nearest neighbours between point clouds: a KD-tree on CPU, chunked `torch.cdist` elsewhere."""

from __future__ import annotations

import torch


def nearest_neighbors(
    query: torch.Tensor, reference: torch.Tensor, chunk: int = 4096
) -> tuple[torch.Tensor, torch.Tensor]:
    """For every query point, the Euclidean distance to and index of its nearest reference point.

    Args:
        query: points, shape (Q, 3).
        reference: points, shape (R, 3).
        chunk: query rows per `cdist` block on the tensor path (bounds memory at chunk x R).

    Returns:
        distances (Q,) and indices (Q,) into `reference`. Differentiable in `query` and `reference`
        through the distances when they require grad (the tensor path is used then).
    """
    if query.device.type == "cpu" and not (query.requires_grad or reference.requires_grad):
        from scipy.spatial import cKDTree  # O((Q + R) log R) instead of O(Q R)

        dist, idx = cKDTree(reference.double().numpy()).query(query.double().numpy(), k=1)
        return torch.as_tensor(dist, dtype=query.dtype), torch.as_tensor(idx, dtype=torch.long)
    dists, idxs = [], []
    for start in range(0, len(query), chunk):
        d = torch.cdist(query[start : start + chunk][None], reference[None])[0]  # (c, R)
        best, arg = d.min(dim=1)
        dists.append(best)
        idxs.append(arg)
    return torch.cat(dists), torch.cat(idxs)
