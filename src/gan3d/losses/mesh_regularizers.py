"""Mesh regularisers of DIB-R's training (§3.3): smoothness over edges and the uniform Laplacian.

Both take the faces of a closed or open triangle mesh; edges with one face only (borders) do not enter
the smoothness term.
"""

from __future__ import annotations

import torch


def interior_edges(faces: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Edges shared by two faces: (E, 2) vertex pairs and (E, 2) the vertices opposite each edge in
    its two faces. Edges on a border (one face) are left out; non-manifold edges (3+ faces) keep the
    first two faces."""
    f = faces.long()
    edges = torch.cat([f[:, [0, 1]], f[:, [1, 2]], f[:, [2, 0]]])  # (3F, 2)
    opposite = torch.cat([f[:, 2], f[:, 0], f[:, 1]])  # (3F,)
    key = edges.sort(dim=1).values
    n = int(f.max()) + 1 if len(f) else 0
    code = key[:, 0] * n + key[:, 1]
    order = torch.argsort(code, stable=True)
    code, key, opposite = code[order], key[order], opposite[order]
    pair = torch.nonzero(code[1:] == code[:-1]).squeeze(1)
    if len(pair) > 1:  # a third face on the same edge would pair with the second: keep the first pair only
        keep = torch.ones_like(pair, dtype=torch.bool)
        keep[1:] = code[pair[1:]] != code[pair[:-1]]
        pair = pair[keep]
    return key[pair], torch.stack([opposite[pair], opposite[pair + 1]], 1)


def smoothness_loss(
    verts: torch.Tensor, faces: torch.Tensor, edges: tuple[torch.Tensor, torch.Tensor] | None = None
) -> torch.Tensor:
    """Σ_e (cos θ_e + 1)² over interior edges e, θ_e the angle between the two faces at e (DIB-R §3.3,
    SoftRas's flatten loss): 0 for a flat pair (θ = 180°), 4 for a pair folded onto itself.

    Args:
        verts: (V, 3) or a batch (N, V, 3) sharing `faces` (F, 3); batches are summed per mesh and averaged.
        edges: `interior_edges(faces)`, when an optimisation loop has it already (the faces do not change).
    """
    batched = verts if verts.ndim == 3 else verts[None]
    edge, opposite = edges if edges is not None else interior_edges(faces)
    v0, v1 = batched[:, edge[:, 0]], batched[:, edge[:, 1]]
    axis = torch.nn.functional.normalize(v1 - v0, dim=-1)

    def arm(v: torch.Tensor) -> torch.Tensor:  # the part of v - v0 perpendicular to the edge
        d = v - v0
        return d - (d * axis).sum(-1, keepdim=True) * axis

    a, b = arm(batched[:, opposite[:, 0]]), arm(batched[:, opposite[:, 1]])
    cos = (a * b).sum(-1) / (a.norm(dim=-1) * b.norm(dim=-1)).clamp(min=1e-12)
    return (cos + 1).square().sum(-1).mean()


def uniform_laplacian(faces: torch.Tensor, n_verts: int, dtype: torch.dtype = torch.float32) -> torch.Tensor:
    """The uniform Laplacian L = I − D⁻¹A as a sparse (V, V) tensor: (L x)_i = x_i − mean of i's neighbours."""
    f = faces.long()
    edges = torch.cat([f[:, [0, 1]], f[:, [1, 2]], f[:, [2, 0]]])
    edges = torch.cat([edges, edges.flip(1)]).unique(dim=0)  # both directions, once each
    degree = torch.zeros(n_verts, dtype=dtype, device=f.device).index_add_(
        0, edges[:, 0], torch.ones(len(edges), dtype=dtype, device=f.device)
    )
    values = -1.0 / degree[edges[:, 0]].clamp(min=1)
    diagonal = torch.arange(n_verts, device=f.device)
    indices = torch.cat([edges.T, torch.stack([diagonal, diagonal])], 1)
    ones = torch.ones(n_verts, dtype=dtype, device=f.device)
    return torch.sparse_coo_tensor(indices, torch.cat([values, ones]), (n_verts, n_verts)).coalesce()


def laplacian_loss(offsets: torch.Tensor, faces: torch.Tensor, laplacian: torch.Tensor | None = None) -> torch.Tensor:
    """Mean squared norm of the uniform Laplacian of vertex offsets, ‖L δ‖² (DIB-R §3.3; the Kaolin
    re-implementation weights it 0.01): 0 when every vertex moves alike (a translation), large for
    offsets that differ from their neighbours'.

    Args:
        offsets: per-vertex displacements from the template, (V, 3) or (N, V, 3).
        laplacian: `uniform_laplacian(faces, V)`, when an optimisation loop has it already.
    """
    batched = offsets if offsets.ndim == 3 else offsets[None]
    lap = (
        laplacian
        if laplacian is not None
        else uniform_laplacian(faces.to(batched.device), batched.shape[1], batched.dtype)
    )
    out = torch.stack([torch.sparse.mm(lap, x) for x in batched])  # (N, V, 3)
    return out.square().sum(-1).mean()
