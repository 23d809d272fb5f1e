"""Brute-force reference implementations that the fast code is tested against (slow, obvious)."""

from __future__ import annotations

import numpy as np


def winding_number_inside(verts: np.ndarray, faces: np.ndarray, points: np.ndarray) -> np.ndarray:
    """Point-in-mesh test by the generalized winding number (van Oosterom & Strackee solid angles).

    Exact for closed, consistently oriented meshes, whatever the point's position; O(P * F).
    """
    inside = np.zeros(len(points), dtype=bool)
    tri = verts[faces]  # (F, 3, 3)
    for start in range(0, len(points), 512):
        p = points[start : start + 512]
        a = tri[None, :, 0] - p[:, None]  # (P, F, 3)
        b = tri[None, :, 1] - p[:, None]
        c = tri[None, :, 2] - p[:, None]
        la, lb, lc = (np.linalg.norm(x, axis=2) for x in (a, b, c))
        det = np.einsum("pfk,pfk->pf", a, np.cross(b, c))
        denom = (
            la * lb * lc
            + np.einsum("pfk,pfk->pf", a, b) * lc
            + np.einsum("pfk,pfk->pf", b, c) * la
            + np.einsum("pfk,pfk->pf", c, a) * lb
        )
        winding = 2 * np.arctan2(det, denom).sum(axis=1) / (4 * np.pi)
        inside[start : start + 512] = np.abs(winding) > 0.5
    return inside


def voxel_centres_inside(verts: np.ndarray, faces: np.ndarray, grid) -> np.ndarray:  # noqa: ANN001
    """The brute-force voxelization: winding-number test at every voxel centre of `grid`, (D, D, D) bool."""
    res = grid.resolution
    index = np.stack(np.meshgrid(*[np.arange(res)] * 3, indexing="ij"), -1).reshape(-1, 3)
    return winding_number_inside(verts, faces, grid.index_to_world(index)).reshape((res,) * 3)


def sample_triangles(tris: np.ndarray, per_edge: int = 24) -> np.ndarray:
    """Points on a regular barycentric lattice of every triangle (corners and edges included), (N, 3)."""
    i, j = np.meshgrid(np.arange(per_edge + 1), np.arange(per_edge + 1), indexing="ij")
    keep = i + j <= per_edge
    w1, w2 = i[keep] / per_edge, j[keep] / per_edge
    w0 = 1 - w1 - w2
    weights = np.stack([w0, w1, w2], axis=1)  # (S, 3)
    return np.einsum("sk,fkd->fsd", weights, tris).reshape(-1, 3)


def point_in_triangle_raster(screen: np.ndarray, faces: np.ndarray, height: int, width: int) -> np.ndarray:
    """Silhouette by testing every pixel centre against every projected triangle (loops over faces)."""
    ys, xs = np.mgrid[0:height, 0:width] + 0.5
    mask = np.zeros((height, width), dtype=bool)
    for f in faces:
        (x0, y0), (x1, y1), (x2, y2) = screen[f, :2]
        d0 = (x1 - x0) * (ys - y0) - (y1 - y0) * (xs - x0)
        d1 = (x2 - x1) * (ys - y1) - (y2 - y1) * (xs - x1)
        d2 = (x0 - x2) * (ys - y2) - (y0 - y2) * (xs - x2)
        mask |= ((d0 >= 0) & (d1 >= 0) & (d2 >= 0)) | ((d0 <= 0) & (d1 <= 0) & (d2 <= 0))
    return mask


def point_triangle_distance(point: np.ndarray, tri: np.ndarray) -> float:
    """Euclidean distance from a point to a triangle, by projection or the nearest edge (textbook)."""
    a, b, c = tri
    n = np.cross(b - a, c - a)
    nn = float(n @ n)
    if nn > 0:
        q = point - (point - a) @ n / nn * n
        w = np.array([np.cross(c - b, q - b) @ n, np.cross(a - c, q - c) @ n, np.cross(b - a, q - a) @ n])
        if (w >= 0).all():
            return float(np.linalg.norm(point - q))
    best = np.inf
    for p0, p1 in ((a, b), (b, c), (c, a)):
        d = p1 - p0
        t = np.clip((point - p0) @ d / max(float(d @ d), 1e-30), 0, 1)
        best = min(best, float(np.linalg.norm(point - (p0 + t * d))))
    return best


def chamfer_triple_loop(a: np.ndarray, b: np.ndarray, power: int) -> float:
    """½ (mean_a min_b |a-b|^p + mean_b min_a |a-b|^p) by explicit loops over point pairs."""

    def one_way(x: np.ndarray, y: np.ndarray) -> float:
        total = 0.0
        for p in x:
            best = np.inf
            for q in y:
                best = min(best, float(np.sqrt(((p - q) ** 2).sum())))
            total += best**power
        return total / len(x)

    return 0.5 * one_way(a, b) + 0.5 * one_way(b, a)


def ssim3d_direct(x: np.ndarray, y: np.ndarray, size: int = 11, sigma: float = 1.5) -> float:
    """Mean SSIM over every valid 11^3 window, each window weighted by the full 3D Gaussian (no separability)."""
    coords = np.arange(size) - size // 2
    g1 = np.exp(-(coords**2) / (2 * sigma**2))
    g1 /= g1.sum()
    w = g1[:, None, None] * g1[None, :, None] * g1[None, None, :]
    c1, c2 = 0.01**2, 0.03**2
    d, h, wd = (s - size + 1 for s in x.shape)
    values = []
    for i in range(d):
        for j in range(h):
            for k in range(wd):
                px, py = x[i : i + size, j : j + size, k : k + size], y[i : i + size, j : j + size, k : k + size]
                mx, my = (w * px).sum(), (w * py).sum()
                vx, vy = (w * px * px).sum() - mx**2, (w * py * py).sum() - my**2
                cov = (w * px * py).sum() - mx * my
                values.append(((2 * mx * my + c1) * (2 * cov + c2)) / ((mx**2 + my**2 + c1) * (vx + vy + c2)))
    return float(np.mean(values))


def voxel_cube_mesh(grid) -> tuple[np.ndarray, np.ndarray]:  # noqa: ANN001
    """The exact surface of a voxel grid's occupied cubes: two triangles per exposed square, in the
    grid's mesh coordinates (`VoxelGrid.index_to_world` placement), outward-facing. (V, 3), (F, 3)."""
    occ = np.pad(np.asarray(grid.occupancy, bool), 1)
    verts, faces = [], []
    for axis in range(3):
        others = [a for a in range(3) if a != axis]
        for step in (-1, 1):
            neighbour = np.roll(occ, -step, axis=axis)
            for idx in np.argwhere(occ & ~neighbour):
                base = idx.astype(float) - 1.0  # undo the padding
                base[axis] += step > 0
                corners = []
                for du, dv in ((0, 0), (1, 0), (1, 1), (0, 1)):
                    corner = base.copy()
                    corner[others[0]] += du
                    corner[others[1]] += dv
                    corners.append(corner)
                n = len(verts)
                verts += corners
                quad = [[n, n + 1, n + 2], [n, n + 2, n + 3]]
                # outward normal along +axis * step: flip the winding where (u, v, axis) is left-handed
                flip = (step > 0) == (others == [0, 2])
                faces += [f[::-1] for f in quad] if flip else quad
    points = np.asarray(verts) * grid.voxel_size + grid.translate
    return points, np.asarray(faces, dtype=np.int64).reshape(-1, 3)


def point_triangle_distance_2d_torch(points, tri):  # noqa: ANN001, ANN201
    """Textbook distance from points (M, 2) to triangles (M, 3, 2), in torch so autograd differentiates
    every step: the three clamped point-segment distances, their minimum, 0 where all edge functions
    share a sign. (M,)."""
    import torch

    edges = []
    signs = []
    for i in range(3):
        a, b = tri[:, i], tri[:, (i + 1) % 3]
        ab = b - a
        t = (((points - a) * ab).sum(-1) / (ab * ab).sum(-1).clamp(min=1e-12)).clamp(0.0, 1.0)
        edges.append((points - (a + t[:, None] * ab)).square().sum(-1).clamp(min=1e-20).sqrt())
        signs.append(ab[:, 0] * (points[:, 1] - a[:, 1]) - ab[:, 1] * (points[:, 0] - a[:, 0]))
    distance = torch.stack(edges, -1).amin(-1)
    s = torch.stack(signs, -1)
    inside = (s >= 0).all(-1) | (s <= 0).all(-1)
    return torch.where(inside, torch.zeros_like(distance), distance)
