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
from gan3d.ops.point_triangle import point_triangle_distance_2d
from gan3d.render.rasterize import RasterSettings, barycentric_weights, expand_ranges, rasterize
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
    features, soft, masks, face_index, bary, depth = [], [], [], [], [], []
    for n in range(len(screen_verts)):
        screen = screen_verts[n]
        fragments = rasterize(screen.detach(), faces, raster)
        weights = barycentric_weights(screen, faces, fragments.face_index)  # (H, W, 3), differentiable
        if attributes is not None:
            corner = attributes[n][faces[fragments.face_index.clamp(min=0)]]  # (H, W, 3, C)
            value = (weights[..., None].to(corner.dtype) * corner).sum(-2)
            features.append(torch.where(fragments.mask[..., None], value, torch.zeros_like(value)))
        soft.append(soft_silhouette(screen, faces, fragments.mask, settings))
        masks.append(fragments.mask)
        face_index.append(fragments.face_index)
        bary.append(weights)
        depth.append(fragments.depth)
    return DibrRendering(
        torch.stack(features) if attributes is not None else None,
        torch.stack(soft),
        torch.stack(masks),
        torch.stack(face_index),
        torch.stack(bary),
        torch.stack(depth),
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
    holds the pixel centre, for uncovered pixels; 1 on `covered` (bool (H, W)) pixels. (H, W).

    Args:
        screen_verts: (V, 3) screen coordinates of one mesh (differentiable).
        faces: int64 (F, 3).
        covered: the hard silhouette (H, W) of the same mesh.
    """
    height, width = covered.shape
    tri = screen_verts[faces]  # (F, 3, 3)
    keep = torch.nonzero((tri[:, :, 2] > settings.near).all(dim=1)).squeeze(1)
    tri2d = tri[keep][..., :2]  # (F', 3, 2)
    with torch.no_grad():  # which pairs to consider is a discrete choice
        lo = tri2d.detach().amin(1) - settings.boxlen
        hi = tri2d.detach().amax(1) + settings.boxlen
        col_lo = torch.ceil(lo[:, 0] - 0.5).clamp(0, width).long()
        col_hi = torch.floor(hi[:, 0] - 0.5).clamp(-1, width - 1).long()
        row_lo = torch.ceil(lo[:, 1] - 0.5).clamp(0, height).long()
        row_hi = torch.floor(hi[:, 1] - 0.5).clamp(-1, height - 1).long()
        n_cols = (col_hi - col_lo + 1).clamp(min=0)
        n_rows = (row_hi - row_lo + 1).clamp(min=0)
        pairs_per_face = n_cols * n_rows
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
            span, col = expand_ranges(col_lo[chunk][face], n_cols[chunk][face])
            face, row = chunk[face[span]], row[span]
            pixel = row * width + col
            free = ~covered.view(-1)[pixel]
            face, row, col, pixel = face[free], row[free], col[free], pixel[free]
        centre = torch.stack([col, row], -1).to(tri2d.dtype) + 0.5
        distance = point_triangle_distance_2d(centre, tri2d[face])
        pixel_ids.append(pixel)
        alphas.append(soft_alpha(distance, settings))
        start = stop
    soft = torch.zeros(height * width, dtype=screen_verts.dtype, device=screen_verts.device)
    if pixel_ids:
        pixel, alpha = torch.cat(pixel_ids), torch.cat(alphas)
        pixel, alpha = _nearest_per_pixel(pixel, alpha, settings.knum)
        log_keep = torch.log1p(-alpha.clamp(max=1.0 - 1e-7))
        log_product = torch.zeros_like(soft).index_add(0, pixel, log_keep)
        soft = 1.0 - torch.exp(log_product)
    return torch.where(covered.view(-1), torch.ones_like(soft), soft).view(height, width)


def _nearest_per_pixel(pixel: torch.Tensor, alpha: torch.Tensor, knum: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Keep, per pixel, the `knum` pairs with the largest alpha (the nearest faces)."""
    with torch.no_grad():
        order = torch.argsort(alpha.detach(), descending=True, stable=True)
        order = order[torch.argsort(pixel[order], stable=True)]  # grouped by pixel, nearest first
        grouped = pixel[order]
        first = torch.ones_like(grouped, dtype=torch.bool)
        first[1:] = grouped[1:] != grouped[:-1]
        group_start = torch.cummax(torch.where(first, torch.arange(len(grouped), device=pixel.device), 0), 0).values
        rank = torch.arange(len(grouped), device=pixel.device) - group_start
        chosen = order[rank < knum]
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
