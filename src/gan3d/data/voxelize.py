"""Solid voxelization of triangle meshes, robust to the holes and overlaps of real datasets.

Method (binvox-like, documented because results depend on it):

1. **Conservative surface**: every voxel a triangle passes through is occupied (exact triangle-box
   overlap by the separating-axis test of Akenine-Möller 2001, on triangles bisected along their
   longest edge until each spans at most one voxel). Thin parts — chair legs, lamp cords — survive.
2. **Enclosed space**: voxels not reachable from the grid border without crossing the surface
   (flood fill of the exterior). Exact for closed meshes, and for meshes whose holes and cracks are
   smaller than a voxel, since the conservative surface seals them.
3. **Ray-parity vote**: for meshes with larger holes the flood fill leaks, so a voxel is also inside
   when rays through its centre along at least two of the three axes cross the surface an odd number
   of times before reaching it (binvox's parity voting). A ray through a hole miscounts, the two
   other axes outvote it. Optionally (`carve=True`) voxels visible from outside the grid along one of
   the six axis directions are excluded (binvox's carving), which keeps single-sheet open shapes
   such as a bowl made of one surface from being filled, at the price of tunnels behind holes.

The result is `surface | enclosed | vote` (minus carved voxels with `carve=True`). On watertight
meshes the interior agrees with a point-in-mesh test at every voxel centre; the surface layer adds
the voxels the boundary passes through; a face lying exactly on a voxel boundary marks only the voxel
behind it (the inside one, for outward-facing normals), so marching-cubes meshes of a grid voxelize
back to the same grid.

Written by hand because no maintained library offers a fast *solid and conservative* voxelizer:
trimesh's `voxelized(pitch).fill()` samples the surface at vertices of a subdivided mesh (not
conservative) and is ~10x slower (see `benchmarks/bm_voxelize.py`).
"""

from __future__ import annotations

from typing import Literal

import numpy as np
from scipy import ndimage

from gan3d.errors import DataError
from gan3d.io.mesh import validate_mesh
from gan3d.structures.mesh import Mesh
from gan3d.structures.voxel_grid import VoxelGrid

Fill = Literal["solid", "surface"]

# Offsets of the parity rays from exact voxel centres, in voxels: tiny and irrational, so that rays
# never hit a mesh edge or vertex exactly (axis-aligned primitives put many on half-integers).
_RAY_JITTER = (1.0e-4 * np.sqrt(2.0), 1.0e-4 * np.sqrt(3.0))
# Faces are pushed this far (in voxels) against their normal before the surface test, so that a face
# lying exactly on a voxel boundary marks only the voxel behind it: the inside one for meshes wound
# counter-clockwise seen from outside (trimesh primitives, marching-cubes output). A closed surface
# stays closed when pushed, so the shell still seals; with inconsistent winding the side is arbitrary.
_INWARD_PUSH = 1e-6
# Larger triangles are bisected first, so that a sliver's bounding box does not cost its square.
_MAX_TRIANGLE_EXTENT = 8.0


def voxelize(
    verts: np.ndarray,
    faces: np.ndarray,
    res: int = 32,
    fill: Fill = "solid",
    surface: bool = True,
    carve: bool = False,
    placement: tuple[np.ndarray, float] | None = None,
) -> VoxelGrid:
    """Voxelize a triangle mesh into a `res`^3 occupancy grid, binvox conventions.

    The mesh is scaled uniformly so the longest side of its bounding box spans the grid and centred
    in it; `translate` and `scale` of the returned grid map voxels back to mesh coordinates.

    Args:
        verts: vertex positions, shape (V, 3).
        faces: triangle vertex indices, shape (F, 3).
        res: grid resolution D; 32 and 64 are the paper's (§2.6.2, §2.6.7).
        fill: "solid" fills the inside of closed parts; "surface" returns only the surface voxels.
        surface: include the conservative surface layer (keeps sub-voxel parts). With False only voxels
            whose centre is inside are set, the convention of a point-in-mesh test.
        carve: also clear voxels seen from outside the grid along an axis (binvox's carving). Keeps
            single-sheet open shapes (a bowl made of one surface) open, but digs tunnels through
            closed objects behind holes; off by default, since holes are the commoner defect.
        placement: voxelize into this grid instead, given as binvox (translate, scale) — e.g. the
            placement of another grid, to compare two shapes voxel by voxel. Geometry outside it is
            flattened onto the border voxels.

    Returns:
        A `VoxelGrid` with bool occupancy of shape (res, res, res), index order (x, y, z).
    """
    if res < 2:
        raise DataError("<voxelize>", f"res must be at least 2, got {res}")
    mesh = validate_mesh(Mesh(np.asarray(verts), np.asarray(faces)), "<voxelize input>")
    if placement is None:
        lo, hi = mesh.bounds
        scale = float((hi - lo).max())
        translate = (lo + hi) / 2.0 - scale / 2.0
    else:
        translate, scale = np.asarray(placement[0], dtype=np.float64).reshape(3), float(placement[1])
    if not scale > 0:
        raise DataError("<voxelize input>", "mesh has zero extent" if placement is None else "placement scale <= 0")
    tris = ((mesh.verts - translate) * (res / scale))[mesh.faces]  # (F, 3, 3) in voxel units, [0, res]
    normal = np.cross(tris[:, 1] - tris[:, 0], tris[:, 2] - tris[:, 0])
    length = np.linalg.norm(normal, axis=1, keepdims=True)
    tris = tris - (_INWARD_PUSH * normal / np.where(length > 0, length, 1.0))[:, None, :]
    # keep faces on the far grid boundary (and any pushed outside it) in the last voxel
    tris = np.clip(tris, 0.0, res - 1e-5)

    shell = surface_voxels(tris, res)
    if fill == "surface":
        return VoxelGrid(shell, translate, scale)
    # a closed surface seals its inside, so with the shell kept the flood fill alone is exact
    inside = solid_interior(tris, shell, res, closed=surface and is_closed(mesh), carve=carve)
    return VoxelGrid(inside | shell if surface else inside, translate, scale)


def surface_voxels(tris: np.ndarray, res: int) -> np.ndarray:
    """Conservative surface voxelization: every voxel any triangle overlaps, shape (res, res, res).

    Exact triangle-box overlap (Akenine-Möller's 13 separating axes) organised as in Schwarz & Seidel
    2010: each triangle walks the columns of its dominant axis; the plane test gives a short depth
    range per column, and the 9 edge axes each depend on two indices only.
    """
    occupancy = np.zeros((res, res, res), dtype=bool)
    tris = _bisect_until_small(tris, max_extent=_MAX_TRIANGLE_EXTENT)
    # fast path: a triangle inside a single voxel marks just that voxel (most faces of dense meshes)
    lo = np.floor(np.minimum(np.minimum(tris[:, 0], tris[:, 1]), tris[:, 2]))
    hi = np.floor(np.maximum(np.maximum(tris[:, 0], tris[:, 1]), tris[:, 2]))
    single = (lo == hi).all(axis=1)
    cell = np.clip(lo[single], 0, res - 1).astype(np.int64)
    occupancy[cell[:, 0], cell[:, 1], cell[:, 2]] = True
    tris = tris[~single]
    e = np.stack([tris[:, 1] - tris[:, 0], tris[:, 2] - tris[:, 1], tris[:, 0] - tris[:, 2]], axis=1)
    normal = np.cross(e[:, 0], e[:, 1])
    dominant = np.abs(normal).argmax(axis=1)
    for axis in range(3):
        sel = dominant == axis
        if sel.any():
            _surface_along_axis(tris[sel], e[sel], normal[sel], axis, res, occupancy)
    return occupancy


def _surface_along_axis(
    tris: np.ndarray, edges: np.ndarray, normal: np.ndarray, axis: int, res: int, out: np.ndarray
) -> None:
    """Mark voxels of triangles whose normal is dominant along `axis` (so the depth slope is <= 1)."""
    u_axis, w_axis = [a for a in range(3) if a != axis]
    lo = np.clip(np.floor(tris.min(axis=1)), 0, res - 1).astype(np.int64)  # (T, 3)
    hi = np.clip(np.floor(tris.max(axis=1)), 0, res - 1).astype(np.int64)
    face, cu, cw = _enumerate_cells(lo[:, u_axis], hi[:, u_axis], lo[:, w_axis], hi[:, w_axis])
    # per candidate column: depth range of the triangle's plane over the cell [cu, cu+1] x [cw, cw+1]
    n = normal[face]
    v0 = tris[face, 0]
    nu, nw, nd = n[:, u_axis], n[:, w_axis], n[:, axis]
    flat = nd == 0  # zero-area triangle (a segment): no plane to test, only its bbox and edges
    nd = np.where(flat, 1.0, nd)
    depth_centre = v0[:, axis] - (nu * (cu + 0.5 - v0[:, u_axis]) + nw * (cw + 0.5 - v0[:, w_axis])) / nd
    slack = np.where(flat, 2.0 * res, 0.5 * (np.abs(nu) + np.abs(nw)) / np.abs(nd))
    k_lo = np.maximum(np.floor(depth_centre - slack), lo[face, axis]).astype(np.int64)
    k_hi = np.minimum(np.floor(depth_centre + slack), hi[face, axis]).astype(np.int64)
    centre = np.zeros((len(face), 3))
    centre[:, u_axis], centre[:, w_axis] = cu + 0.5, cw + 0.5
    keep = _edge_axes_overlap(tris[face], edges[face], centre, skip_axis=None, only_axis=axis)
    face, k_lo, k_hi, centre = face[keep], k_lo[keep], k_hi[keep], centre[keep]
    # the plane spans at most 2 voxels of depth per column (slope <= 1 per axis); segments their bbox
    for dk in range(int((k_hi - k_lo).max(initial=-1)) + 1):
        k = k_lo + dk
        valid = k <= k_hi
        c = centre[valid].copy()
        c[:, axis] = k[valid] + 0.5
        hit = _edge_axes_overlap(tris[face[valid]], edges[face[valid]], c, skip_axis=axis, only_axis=None)
        idx = np.floor(c[hit]).astype(np.int64)
        out[idx[:, 0], idx[:, 1], idx[:, 2]] = True


def _edge_axes_overlap(
    tris: np.ndarray, edges: np.ndarray, centres: np.ndarray, skip_axis: int | None, only_axis: int | None
) -> np.ndarray:
    """SAT on the axes `edge x unit_a` for the unit voxel boxes at `centres` (N, 3); touching counts.

    `only_axis=a` tests the three axes `e_k x unit_a` (those depend only on the two other indices, so
    they can prune whole columns); `skip_axis=a` tests the other six.
    """
    overlap = np.ones(len(tris), dtype=bool)
    v = tris - centres[:, None, :]  # (N, 3, 3)
    for a in range(3):
        if a == skip_axis or (only_axis is not None and a != only_axis):
            continue
        b, c = (a + 1) % 3, (a + 2) % 3
        for k in range(3):
            # axis e x unit_a has components (b: e_c, c: -e_b); vertex k and k+1 project alike
            eb, ec = edges[:, k, b], edges[:, k, c]
            pa = ec * v[:, k, b] - eb * v[:, k, c]
            k2 = (k + 2) % 3
            pb = ec * v[:, k2, b] - eb * v[:, k2, c]
            r = 0.5 * (np.abs(eb) + np.abs(ec))
            overlap &= (np.minimum(pa, pb) <= r) & (np.maximum(pa, pb) >= -r)
    return overlap


def _enumerate_cells(
    u_lo: np.ndarray, u_hi: np.ndarray, w_lo: np.ndarray, w_hi: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """All integer cells (u, w) in each item's inclusive box, flattened: (item index, u, w)."""
    n_u = np.maximum(u_hi - u_lo + 1, 0)
    n_w = np.maximum(w_hi - w_lo + 1, 0)
    counts = n_u * n_w
    item = np.repeat(np.arange(len(counts)), counts)
    local = np.arange(int(counts.sum())) - np.repeat(np.cumsum(counts) - counts, counts)
    n_u_item = n_u[item]
    return item, u_lo[item] + local % n_u_item, w_lo[item] + local // n_u_item


def is_closed(mesh: Mesh) -> bool:
    """True when every edge is shared by exactly two faces (by vertex index).

    A closed surface (self-intersections allowed) has no holes, so its conservative surface shell
    seals the inside and the flood fill alone is exact: the parity vote can be skipped.
    """
    faces = mesh.faces
    edges = np.sort(np.concatenate([faces[:, [0, 1]], faces[:, [1, 2]], faces[:, [2, 0]]]), axis=1)
    keys = edges[:, 0] * (int(faces.max()) + 1) + edges[:, 1]
    _, counts = np.unique(keys, return_counts=True)
    return bool((counts == 2).all())


def solid_interior(
    tris: np.ndarray, shell: np.ndarray, res: int, closed: bool = False, carve: bool = False
) -> np.ndarray:
    """Voxels whose centre is inside: enclosed by the surface, or inside by a parity vote.

    Args:
        tris: triangles in voxel units, shape (F, 3, 3).
        shell: conservative surface voxels, shape (res, res, res).
        res: grid resolution.
        closed: the mesh is closed (see `is_closed`) and only voxels off the shell are asked for, so
            the flood fill alone answers and the parity vote is skipped.
        carve: voxels seen from outside along an axis are never inside by vote (binvox's carving).
    """
    enclosed = ndimage.binary_fill_holes(shell) & ~shell
    if closed:
        return enclosed
    votes = np.zeros((res, res, res), dtype=np.uint8)
    for axis in range(3):
        votes += _parity_along_axis(tris, res, axis)
    # the vote also decides the shell voxels themselves (a shell voxel is never carved)
    by_vote = votes >= 2
    return enclosed | (by_vote & ~_carved(shell) if carve else by_vote)


def _bisect_until_small(tris: np.ndarray, max_extent: float) -> np.ndarray:
    """Split triangles at the midpoint of their longest edge until every edge is <= `max_extent`.

    Longest-edge bisection keeps the piece count proportional to area for fat triangles and to
    length for slivers (4-way midpoint subdivision would be quadratic in length for slivers).
    """
    done = []
    todo = tris
    while len(todo):
        edges = np.stack([todo[:, 1] - todo[:, 0], todo[:, 2] - todo[:, 1], todo[:, 0] - todo[:, 2]], axis=1)
        length2 = (edges**2).sum(axis=2)  # (T, 3)
        longest = length2.argmax(axis=1)
        small = length2.max(axis=1) <= max_extent**2
        done.append(todo[small])
        big = todo[~small]
        if not len(big):
            break
        k = longest[~small]
        # rotate so the longest edge is (v0, v1): v_k -> v0
        order = (k[:, None] + np.arange(3)[None, :]) % 3
        rot = np.take_along_axis(big, order[:, :, None], axis=1)
        mid = (rot[:, 0] + rot[:, 1]) / 2.0
        first = np.stack([rot[:, 0], mid, rot[:, 2]], axis=1)
        second = np.stack([mid, rot[:, 1], rot[:, 2]], axis=1)
        todo = np.concatenate([first, second])
    return np.concatenate(done) if done else tris[:0]


def _parity_along_axis(tris: np.ndarray, res: int, axis: int) -> np.ndarray:
    """1 where rays along `axis` cross the surface an odd number of times before the voxel centre."""
    u_axis, w_axis = [a for a in range(3) if a != axis]
    tri_u, tri_w, tri_d = tris[:, :, u_axis], tris[:, :, w_axis], tris[:, :, axis]  # (F, 3) each
    ju, jw = _RAY_JITTER
    # ray (p, q) passes at u = p + 0.5 + ju, w = q + 0.5 + jw
    p_lo = np.clip(np.ceil(tri_u.min(axis=1) - 0.5 - ju), 0, res).astype(np.int64)
    p_hi = np.clip(np.floor(tri_u.max(axis=1) - 0.5 - ju), -1, res - 1).astype(np.int64)
    q_lo = np.clip(np.ceil(tri_w.min(axis=1) - 0.5 - jw), 0, res).astype(np.int64)
    q_hi = np.clip(np.floor(tri_w.max(axis=1) - 0.5 - jw), -1, res - 1).astype(np.int64)
    face, p, q = _enumerate_cells(p_lo, p_hi, q_lo, q_hi)
    ru, rw = p + 0.5 + ju, q + 0.5 + jw
    u, w, d = tri_u[face], tri_w[face], tri_d[face]  # (N, 3)
    # 2D edge functions; a point is inside when all three share the sign of the triangle's area
    e0 = (u[:, 1] - u[:, 0]) * (rw - w[:, 0]) - (w[:, 1] - w[:, 0]) * (ru - u[:, 0])
    e1 = (u[:, 2] - u[:, 1]) * (rw - w[:, 1]) - (w[:, 2] - w[:, 1]) * (ru - u[:, 1])
    e2 = (u[:, 0] - u[:, 2]) * (rw - w[:, 2]) - (w[:, 0] - w[:, 2]) * (ru - u[:, 2])
    area = e0 + e1 + e2
    hit = (area != 0) & (((e0 > 0) & (e1 > 0) & (e2 > 0)) | ((e0 < 0) & (e1 < 0) & (e2 < 0)))
    # barycentric weight of vertex k is the edge function of the edge opposite it
    depth = (e1 * d[:, 0] + e2 * d[:, 1] + e0 * d[:, 2])[hit] / area[hit]
    # a crossing at depth t lies below the centres of voxels k >= ceil(t - 0.5)
    first_above = np.clip(np.ceil(depth - 0.5), 0, res).astype(np.int64)
    flat = (p[hit] * res + q[hit]) * (res + 1) + first_above
    crossings = np.bincount(flat, minlength=res * res * (res + 1)).reshape(res, res, res + 1)
    parity = (np.cumsum(crossings[:, :, :res], axis=2) & 1).astype(np.uint8)  # (p, q, depth)
    # back to (x, y, z) order
    order = [0, 0, 0]
    order[u_axis], order[w_axis], order[axis] = 0, 1, 2
    return parity.transpose(order)


def _carved(shell: np.ndarray) -> np.ndarray:
    """Voxels visible from outside the grid along one of the six axis directions."""
    carved = np.zeros_like(shell)
    for axis in range(3):
        seen = np.logical_or.accumulate(shell, axis=axis)
        seen_back = np.flip(np.logical_or.accumulate(np.flip(shell, axis), axis=axis), axis)
        carved |= ~seen | ~seen_back
    return carved


def voxelize_in_grid(verts: np.ndarray, faces: np.ndarray, voxel_to_world: np.ndarray, res: int) -> np.ndarray:
    """Solid occupancy (res, res, res) bool of a mesh in world coordinates (verts (V, 3)), voxelised into
    an existing grid whose continuous voxel coordinates map to the world by `voxel_to_world` (4, 4)
    (`ShapeDataset`'s item of that name): how a predicted mesh is compared with a true grid."""
    to_voxel = np.linalg.inv(np.asarray(voxel_to_world, dtype=np.float64))
    in_grid = np.asarray(verts, dtype=np.float64) @ to_voxel[:3, :3].T + to_voxel[:3, 3]
    return voxelize(in_grid, faces, res=res, placement=(np.zeros(3), float(res))).occupancy
