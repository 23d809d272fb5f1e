"""DIB-R (Chen et al. 2019; the paper's §3.2): differentiable interpolation-based rendering, in pure PyTorch.

Foreground: the z-buffer (`rasterize`, not differentiable: which face is nearest is a discrete choice)
picks the face of each pixel; the barycentric weights w0, w1, w2 of the pixel centre are then recomputed
with autograd from the projected vertices (`barycentric_weights`), and any per-vertex attribute u
(colour, UV, normal, depth, features of any width) is interpolated as I = Σ_k w_k u_k, so gradients
reach vertex positions and attributes.

Background: every pixel not covered by a face gets the soft silhouette A = 1 − Π_j (1 − A_j) over the
faces j near it, with A_j = exp(−d(p, f_j) / δ) (`distance="euclidean"`, the paper's form) or Kaolin's
A_j = exp(−d(p, f_j)² · σ⁻¹) (`distance="squared"`), d the screen-space distance (pixels) from the pixel
centre to the projected triangle. Covered pixels have A = 1. So pixels outside the mesh pass gradients
to the vertices too, which is what lets a silhouette loss pull a mesh outwards.

Written by hand because the anchors are CUDA-only (Kaolin's `dibr_rasterization`, nvdiffrast, SoftRas);
this runs on any device PyTorch runs on, with the same code, and never names one. Memory stays bounded:
candidate (pixel, face) pairs come only from each face's bounding box widened by `boxlen`, processed in
chunks of faces, never as a (pixels × faces) tensor.

Recommended ranges (pixels; Kaolin's NDC settings convert by `px = ndc * size / 2`):
* `delta` 0.5 – 2 (euclidean); `sigmainv` 0.1 – 1 per px² (squared; Kaolin's default 7000 in NDC² is
  0.43 / px² at 256², 1.7 / px² at 128²). Smaller δ / larger σ⁻¹: sharper silhouettes, shorter reach.
* `boxlen` 2 – 5 px (Kaolin: 0.02 NDC = 2.6 px at 256²): beyond it A_j is ignored (exp(−boxlen/δ) should
  be small). `knum` 20 – 30 (Kaolin: 30): at most this many nearest faces per pixel enter the product.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import torch

from gan3d.errors import DataError
from gan3d.ops.point_triangle import point_triangle_boundary_distance_2d
from gan3d.render.rasterize import RasterSettings, expand_ranges, foreground_weights, gather_corners, rasterize_batch
from gan3d.render.texture import TextureFilter, sample_texture

SoftDistance = Literal["euclidean", "squared"]


@dataclass(frozen=True)
class DibrSettings:
    """Non-learned DIB-R settings (module docstring for the ranges).

    Attributes:
        height, width: image size in pixels.
        distance: "squared" (Kaolin's exp(−d²σ⁻¹)) or "euclidean" (the paper's exp(−d/δ)).
        delta: δ in pixels for "euclidean".
        sigmainv: σ⁻¹ in 1/pixels² for "squared".
        boxlen: how far (pixels) beyond a face's bounding box its soft silhouette reaches.
        knum: the most faces per background pixel that enter the product (the nearest ones).
        near: faces with a vertex closer than this (camera z) are dropped.
        max_pairs: candidate (pixel, face) pairs per chunk of faces: bounds memory.
    """

    height: int
    width: int
    distance: SoftDistance = "squared"
    delta: float = 1.0
    sigmainv: float = 0.5
    boxlen: float = 3.0
    knum: int = 30
    near: float = 1e-4
    max_pairs: int = 1 << 21


@dataclass(frozen=True)
class DibrRendering:
    """A batch of DIB-R renders (N images).

    Attributes:
        features: interpolated attributes, (N, H, W, C); 0 on background (None without attributes).
        soft_mask: soft silhouette in [0, 1], (N, H, W): 1 on covered pixels, A on the others.
        mask: hard silhouette, bool (N, H, W) (the z-buffer's coverage).
        face_index: nearest face per pixel, int64 (N, H, W), -1 on background.
        bary: differentiable perspective-correct barycentrics, (N, H, W, 3); 0 on background.
        depth: camera z of the surface, (N, H, W), +inf on background (not differentiable).
    """

    features: torch.Tensor | None
    soft_mask: torch.Tensor
    mask: torch.Tensor
    face_index: torch.Tensor
    bary: torch.Tensor
    depth: torch.Tensor


def dibr_render(
    screen_verts: torch.Tensor,
    faces: torch.Tensor,
    attributes: torch.Tensor | None,
    settings: DibrSettings,
) -> DibrRendering:
    """Render N meshes (or one mesh from N cameras) with DIB-R.

    Args:
        screen_verts: (u, v, z) per vertex, (N, V, 3): pixels (centres at +0.5) and camera depth, as
            `Cameras.project` returns them (flatten N objects x V views into N first).
        faces: vertex indices, int64 (F, 3), shared by the batch.
        attributes: per-vertex attributes to interpolate, (N, V, C), or None.
        settings: image size and soft-silhouette settings.
    """
    _validate(screen_verts, faces, attributes)
    raster = RasterSettings(settings.height, settings.width, settings.near)
    fragments = rasterize_batch(screen_verts.detach(), faces, raster)
    pixels, weights = foreground_weights(screen_verts, faces, fragments.face_index)  # differentiable
    features = None
    if attributes is not None:
        images, rows, cols = pixels
        corner = gather_corners(attributes, faces, images, fragments.face_index[pixels])  # (M, 3, C)
        value = (weights[..., None].to(corner.dtype) * corner).sum(-2)
        features = corner.new_zeros((*fragments.face_index.shape, attributes.shape[-1])).index_put(pixels, value)
    return DibrRendering(
        features,
        soft_silhouette(screen_verts, faces, fragments.mask, settings),
        fragments.mask,
        fragments.face_index,
        screen_verts.new_zeros((*fragments.face_index.shape, 3)).index_put(pixels, weights),
        fragments.depth,
    )


def sample_rendered_texture(
    rendering: DibrRendering, texture: torch.Tensor, mode: TextureFilter = "bilinear"
) -> torch.Tensor:
    """Texture colours of a render whose attributes were UVs: `rendering.features` (N, H, W, 2) (v up,
    `gan3d.structures.mesh`) looked up in `texture` (N, C, Ht, Wt) with `grid_sample`, so gradients reach
    the texture and, through the interpolated UVs, the vertices. (N, H, W, C); 0 on background."""
    if rendering.features is None or rendering.features.shape[-1] != 2:
        raise DataError("<dibr>", "render UVs (attributes of width 2) to sample a texture")
    colours = sample_texture(texture, rendering.features, mode)
    return torch.where(rendering.mask[..., None], colours, torch.zeros_like(colours))


def soft_alpha(distance: torch.Tensor, settings: DibrSettings) -> torch.Tensor:
    """A_j of the module docstring from pixel distances."""
    if settings.distance == "euclidean":
        return torch.exp(-distance / settings.delta)
    return torch.exp(-distance.square() * settings.sigmainv)


def soft_silhouette(
    screen_verts: torch.Tensor, faces: torch.Tensor, covered: torch.Tensor, settings: DibrSettings
) -> torch.Tensor:
    """DIB-R's background: A = 1 − Π_j (1 − A_j) over the `knum` nearest faces whose widened bounding box
    holds the pixel centre, for uncovered pixels; 1 on `covered` pixels.

    Args:
        screen_verts: (N, V, 3) (or (V, 3)) screen coordinates (differentiable).
        faces: int64 (F, 3), shared by the batch.
        covered: the hard silhouettes, bool (N, H, W) (or (H, W)).

    Returns:
        (N, H, W) (or (H, W)). The batch is one pass over N x F faces and N x H x W pixels.
    """
    if screen_verts.ndim == 2:
        return soft_silhouette(screen_verts[None], faces, covered[None], settings)[0]
    n_images, height, width = covered.shape
    n_faces = faces.shape[0]
    tri = screen_verts[:, faces].reshape(-1, 3, 3)  # (N * F, 3, 3): face g of image g // F
    with torch.no_grad():  # which pairs to consider is a discrete choice
        keep = torch.nonzero((tri[:, :, 2] > settings.near).all(dim=1)).squeeze(1)
        corners = tri.detach()[keep][..., :2]
        lo = corners.amin(1) - settings.boxlen
        hi = corners.amax(1) + settings.boxlen
        col_lo = torch.ceil(lo[:, 0] - 0.5).clamp(0, width).long()
        col_hi = torch.floor(hi[:, 0] - 0.5).clamp(-1, width - 1).long()
        row_lo = torch.ceil(lo[:, 1] - 0.5).clamp(0, height).long()
        row_hi = torch.floor(hi[:, 1] - 0.5).clamp(-1, height - 1).long()
        image = torch.div(keep, n_faces, rounding_mode="floor")
        free_pixels = ~covered.reshape(-1)
        # a face whose widened box holds no uncovered pixel adds nothing (most faces inside the
        # silhouette): count the box's uncovered pixels from a summed-area table and drop those faces
        # before any (pixel, face) pair exists
        box_free = free_pixels_in_boxes(~covered, image, row_lo, row_hi, col_lo, col_hi)
        near_background = box_free > 0
        keep, image = keep[near_background], image[near_background]
        row_lo, col_lo = row_lo[near_background], col_lo[near_background]
        n_cols = (col_hi[near_background] - col_lo + 1).clamp(min=0)
        n_rows = (row_hi[near_background] - row_lo + 1).clamp(min=0)
        pairs_per_face = n_cols * n_rows
        line_base = image * height  # line (image, row) = image * height + row: one row of one image
        next_free, prev_free = free_run_tables(~covered)
    tri2d = tri[keep][..., :2]  # (F', 3, 2), differentiable
    pixel_ids, alphas = [], []
    start = 0
    cumulative = torch.cumsum(pairs_per_face, 0)
    while start < len(keep):
        # the largest run of faces from `start` whose candidate pairs fit in max_pairs (at least one face)
        budget = (cumulative[start - 1] if start else 0) + settings.max_pairs
        stop = max(start + 1, int(torch.searchsorted(cumulative, budget, right=True)))
        chunk = torch.arange(start, stop, device=faces.device)
        with torch.no_grad():
            face, row = expand_ranges(row_lo[chunk], n_rows[chunk])
            face = chunk.index_select(0, face)
            # trim each (face, row) span to its first and last uncovered pixel: spans that cross the
            # silhouette lose their covered end, and spans with no uncovered pixel vanish, before any
            # per-pixel pair exists (the pairs are most of the background's cost)
            # (every kept face's box is non-empty and inside the image: `near_background` above)
            first = (line_base.index_select(0, face) + row) * width  # pixel id of the row's column 0
            lo = first + col_lo.index_select(0, face)
            hi = lo + n_cols.index_select(0, face) - 1
            lo, hi = next_free.index_select(0, lo), prev_free.index_select(0, hi)
            count = (hi - lo + 1).clamp(min=0)
            # one gather of the per-span values for all their pixels: (face, first pixel id, row)
            per_span = torch.stack([face, first + lo, row, lo], 1)
            span, offset = expand_ranges(torch.zeros_like(count), count)
            face, pixel, row, col = per_span.index_select(0, span).unbind(1)
            pixel, col = pixel + offset, col + offset
            free = free_pixels.index_select(0, pixel)
            if not bool(free.all()):  # a span may still cross a covered hole
                kept = torch.nonzero(free).squeeze(1)
                face, pixel, row, col = (x.index_select(0, kept) for x in (face, pixel, row, col))
        centre = torch.stack([col, row], -1).to(tri2d.dtype) + 0.5
        distance = point_triangle_boundary_distance_2d(centre, tri2d, face)  # no face holds a free centre
        pixel_ids.append(pixel)
        alphas.append(soft_alpha(distance, settings))
        start = stop
    soft = screen_verts.new_zeros(n_images * height * width)
    if pixel_ids:
        soft = _union_of_nearest(torch.cat(pixel_ids), torch.cat(alphas), settings.knum, len(soft))
    return torch.where(covered.reshape(-1), torch.ones_like(soft), soft).view(n_images, height, width)


def free_pixels_in_boxes(
    free: torch.Tensor,
    image: torch.Tensor,
    row_lo: torch.Tensor,
    row_hi: torch.Tensor,
    col_lo: torch.Tensor,
    col_hi: torch.Tensor,
) -> torch.Tensor:
    """How many True pixels of `free` (bool (N, H, W)) lie in each box: rows row_lo..row_hi and columns
    col_lo..col_hi (inclusive, int64 (B,), inside the image or empty) of image `image` (int64 (B,)).

    A summed-area table gives every box's count in O(1), whatever its size. int64 (B,).
    """
    n_images, height, width = free.shape
    table = torch.zeros((n_images, height + 1, width + 1), dtype=torch.int64, device=free.device)
    table[:, 1:, 1:] = free.long().cumsum(1).cumsum(2)
    r0, r1 = row_lo.clamp(0, height), (row_hi + 1).clamp(0, height)
    c0, c1 = col_lo.clamp(0, width), (col_hi + 1).clamp(0, width)
    count = table[image, r1, c1] - table[image, r0, c1] - table[image, r1, c0] + table[image, r0, c0]
    return torch.where((row_hi >= row_lo) & (col_hi >= col_lo), count, torch.zeros_like(count))


def free_run_tables(free: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """For every pixel of `free` (bool (N, H, W)), flattened: the column of the first True pixel at or
    after it in its row (W where none) and of the last True pixel at or before it (-1 where none).
    int64 (N * H * W,) each, indexed by the pixel id (image * H + row) * W + column."""
    n_images, height, width = free.shape
    lines = free.reshape(n_images * height, width)
    cols = torch.arange(width, device=free.device).expand_as(lines)
    ahead = torch.where(lines, cols, torch.full_like(cols, width))
    next_free = ahead.flip(1).cummin(1).values.flip(1)
    behind = torch.where(lines, cols, torch.full_like(cols, -1))
    return next_free.reshape(-1), behind.cummax(1).values.reshape(-1)


DENSE_SLOTS_PER_PAIR = 4  # the (pixel, slot) table may hold this many entries per pair, else sort instead


def _union_of_nearest(pixel: torch.Tensor, alpha: torch.Tensor, knum: int, n_pixels: int) -> torch.Tensor:
    """1 − Π (1 − A_j) over the `knum` largest alphas of each pixel, from (pixel id, alpha) pairs; (n_pixels,).

    When some pixel has more than `knum` pairs, the pairs go into a (pixels with pairs, most pairs) table
    (ranked within their pixel by one integer sort), zeros elsewhere (a factor of 1), and `topk` picks
    each row's nearest: cheaper than sorting every pair by alpha. A table that would be much larger than
    the pairs (a few pixels with very many faces) falls back to `_nearest_per_pixel`.
    """
    with torch.no_grad():
        counts = torch.bincount(pixel, minlength=n_pixels)
        most = int(counts.max())
    if most > knum:
        with torch.no_grad():
            used = torch.nonzero(counts).squeeze(1)
            dense = len(used) * most <= DENSE_SLOTS_PER_PAIR * len(pixel) + (1 << 16)
        if dense:
            with torch.no_grad():
                row_of = torch.full((n_pixels,), -1, dtype=torch.long, device=pixel.device)
                row_of[used] = torch.arange(len(used), device=pixel.device)
                order = torch.argsort(pixel, stable=True)
                starts = torch.cumsum(counts[used], 0) - counts[used]
                rows = row_of[pixel]
                slot = torch.empty_like(pixel)
                slot[order] = torch.arange(len(pixel), device=pixel.device) - starts[rows[order]]
            table = alpha.new_zeros((len(used), most)).index_put((rows, slot), alpha)
            nearest = table.topk(knum, dim=1, sorted=False).values
            inside = 1.0 - torch.exp(torch.log1p(-nearest.clamp(max=1.0 - 1e-7)).sum(1))
            return alpha.new_zeros(n_pixels).index_put((used,), inside)
        pixel, alpha = _nearest_per_pixel(pixel, alpha, knum, n_pixels)
    log_keep = torch.log1p(-alpha.clamp(max=1.0 - 1e-7))
    return 1.0 - torch.exp(alpha.new_zeros(n_pixels).index_add(0, pixel, log_keep))


def _nearest_per_pixel(
    pixel: torch.Tensor, alpha: torch.Tensor, knum: int, n_pixels: int
) -> tuple[torch.Tensor, torch.Tensor]:
    """Keep, per pixel, the `knum` pairs with the largest alpha (the nearest faces).

    Only the pairs of pixels with more than `knum` candidates are sorted (usually a small share): the
    sort is the costliest step of the background at small image sizes.
    """
    with torch.no_grad():
        crowded = torch.bincount(pixel, minlength=n_pixels)[pixel] > knum
        if not bool(crowded.any()):
            return pixel, alpha
        keep = ~crowded
        candidates = torch.nonzero(crowded).squeeze(1)
        sub_alpha, sub_pixel = alpha.detach()[candidates], pixel[candidates]
        order = torch.argsort(sub_alpha, descending=True, stable=True)
        order = order[torch.argsort(sub_pixel[order], stable=True)]  # grouped by pixel, nearest first
        grouped = sub_pixel[order]
        first = torch.ones_like(grouped, dtype=torch.bool)
        first[1:] = grouped[1:] != grouped[:-1]
        index = torch.arange(len(grouped), device=pixel.device)
        group_start = torch.cummax(torch.where(first, index, 0), 0).values
        keep[candidates[order[index - group_start < knum]]] = True
        chosen = torch.nonzero(keep).squeeze(1)
    return pixel[chosen], alpha[chosen]


def _validate(screen_verts: torch.Tensor, faces: torch.Tensor, attributes: torch.Tensor | None) -> None:
    if screen_verts.ndim != 3 or screen_verts.shape[-1] != 3:
        raise DataError("<dibr>", f"screen_verts must have shape (N, V, 3), got {tuple(screen_verts.shape)}")
    if faces.ndim != 2 or faces.shape[1] != 3 or faces.dtype not in (torch.int64, torch.int32):
        raise DataError("<dibr>", f"faces must be integer (F, 3), got {faces.dtype} {tuple(faces.shape)}")
    if attributes is not None and (attributes.ndim != 3 or attributes.shape[:2] != screen_verts.shape[:2]):
        raise DataError(
            "<dibr>",
            f"attributes must have shape (N, V, C) = {tuple(screen_verts.shape[:2])} + (C,); "
            f"got {tuple(attributes.shape)}",
        )
