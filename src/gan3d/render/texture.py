"""Texture lookup: per-pixel colours from a UV-mapped image, nearest or bilinear.

UV convention (`gan3d.structures.mesh`): u, v in [0, 1], v up, so (u, v) = (0, 0) is the bottom-left
corner of the image and texel (row r, col c) covers u in [c / W, (c + 1) / W], v in [1 - (r + 1) / H,
1 - r / H]. Bilinear sampling is `grid_sample(..., align_corners=False)` at `(2u - 1, 1 - 2v)`, clamped at
the border, so it is differentiable in both the UVs and the texture.
"""

from __future__ import annotations

from typing import Literal

import torch

TextureFilter = Literal["nearest", "bilinear"]


def sample_texture(texture: torch.Tensor, uv: torch.Tensor, mode: TextureFilter = "bilinear") -> torch.Tensor:
    """Colours of `texture` at texture coordinates `uv`.

    Args:
        texture: float image (C, H, W) (or (N, C, H, W) with `uv` batched alike), values as stored.
        uv: texture coordinates (..., 2) (or (N, ..., 2)), module convention.
        mode: "nearest" (the texel containing the point) or "bilinear".

    Returns:
        Colours (..., C) (or (N, ..., C)).
    """
    batched = texture.ndim == 4
    tex = texture if batched else texture[None]
    coords = uv if batched else uv[None]
    shape = coords.shape[:-1]
    grid = torch.stack([2.0 * coords[..., 0] - 1.0, 1.0 - 2.0 * coords[..., 1]], dim=-1)
    grid = grid.reshape(len(tex), 1, -1, 2).to(tex.dtype)
    out = torch.nn.functional.grid_sample(tex, grid, mode=mode, padding_mode="border", align_corners=False)
    out = out[:, :, 0].transpose(1, 2).reshape(*shape, tex.shape[1])  # (N, ..., C)
    return out if batched else out[0]
