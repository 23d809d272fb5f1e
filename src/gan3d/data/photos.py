"""Prepare a real photo the way the training views look: object found, cropped, centred, padded, resized.

Steps (`prepare_photo`):

1. Foreground: the alpha channel when the image has one (alpha > 127). Otherwise the background colour
   is the median of the border pixels (a one-pixel frame), and a pixel is foreground when its colour
   differs from it by more than `tolerance` (max over RGB channels, 0..255). Only the largest
   connected component (8-connected) is kept, so specks of noise and a shadow touching nothing are
   dropped (holes stay: between a chair's legs is background).
2. Crop to the foreground's bounding box; pad it to a square whose side is the box's longer side /
   `fill` (so the object fills `fill` of the side, like the object in a rendered view), centred; the
   padding and everything outside the object are the dataset's background (white: MVCNN views, R2N2
   renders composited on white).
3. Resize to `size` x `size` (bilinear, antialiased).

A photo whose foreground is empty (one flat colour) is refused with a `DataError`.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from gan3d.errors import DataError


@dataclass(frozen=True)
class PreparedPhoto:
    """A photo made ready for an image encoder.

    Attributes:
        image: float32 (C, size, size) in [0, 1], object centred on the background colour.
        mask: bool (size, size), the foreground after cropping and resizing.
        box: the foreground's bounding box in the original photo, (left, top, right, bottom) pixels,
            right/bottom exclusive.
    """

    image: torch.Tensor
    mask: np.ndarray
    box: tuple[int, int, int, int]


def foreground_mask(rgb: np.ndarray, alpha: np.ndarray | None = None, tolerance: float = 30.0) -> np.ndarray:
    """The object's pixels, bool (H, W), from `alpha` (H, W) uint8 or from the border colour of `rgb`
    (H, W, 3) uint8, as step 1 of the module docstring."""
    from scipy import ndimage

    if alpha is not None:
        mask = alpha > 127
    else:
        border = np.concatenate([rgb[0], rgb[-1], rgb[:, 0], rgb[:, -1]]).astype(np.float64)
        background = np.median(border, axis=0)
        mask = np.abs(rgb.astype(np.float64) - background).max(axis=-1) > tolerance
    labels, count = ndimage.label(mask, structure=np.ones((3, 3)))
    if count == 0:
        return mask
    sizes = ndimage.sum(mask, labels, index=np.arange(1, count + 1))
    return labels == 1 + int(np.argmax(sizes))


def prepare_photo(
    path: str | os.PathLike[str],
    size: int,
    channels: int = 3,
    fill: float = 0.7,
    tolerance: float = 30.0,
    background: float = 1.0,
) -> PreparedPhoto:
    """Load a photo and prepare it (module docstring).

    Args:
        path: an image file (PNG, JPEG, ...; RGBA uses its alpha as the mask).
        size: output side in pixels (the encoder's input size).
        channels: 1 (grey) or 3 (RGB).
        fill: fraction of the output side the object's longer side fills; 0.7 matches gan3d's rendered
            views (unit sphere at distance 2.2, 60 degree field of view) for typical objects.
        tolerance: colour distance (0..255) from the border colour that counts as foreground.
        background: the background value in [0, 1] (white by default, as the training views).
    """
    from gan3d.io.images import has_alpha, open_image

    if not 0 < fill <= 1:
        raise DataError(path, f"fill must be in (0, 1], got {fill}")
    path = Path(path)
    image = open_image(path)
    rgba = np.asarray(image.convert("RGBA"))
    rgb, alpha = rgba[..., :3], (rgba[..., 3] if has_alpha(image) else None)
    mask = foreground_mask(rgb, alpha, tolerance)
    if not mask.any():
        raise DataError(path, "no object found (the photo is one flat colour)")
    rows, cols = np.nonzero(mask)
    top, bottom, left, right = rows.min(), rows.max() + 1, cols.min(), cols.max() + 1
    side = int(np.ceil(max(bottom - top, right - left) / fill))
    canvas = np.full((side, side, 3), background, dtype=np.float32)
    canvas_mask = np.zeros((side, side), dtype=np.float32)
    y0, x0 = (side - (bottom - top)) // 2, (side - (right - left)) // 2
    crop = rgb[top:bottom, left:right].astype(np.float32) / 255.0
    crop_mask = mask[top:bottom, left:right]
    region = canvas[y0 : y0 + bottom - top, x0 : x0 + right - left]
    region[crop_mask] = crop[crop_mask]  # the object on the dataset's background
    canvas_mask[y0 : y0 + bottom - top, x0 : x0 + right - left] = crop_mask
    tensor = torch.from_numpy(canvas).permute(2, 0, 1)[None]
    resized = torch.nn.functional.interpolate(tensor, size=(size, size), mode="bilinear", antialias=True)[0]
    resized = resized.clamp(0.0, 1.0)
    if channels == 1:  # ITU-R 601 luma, what PIL's convert("L") uses for the training views
        resized = (resized * torch.tensor([0.299, 0.587, 0.114])[:, None, None]).sum(0, keepdim=True)
    elif channels != 3:
        raise DataError(path, f"channels must be 1 or 3, got {channels}")
    small_mask = torch.nn.functional.interpolate(
        torch.from_numpy(canvas_mask)[None, None], size=(size, size), mode="area"
    )
    return PreparedPhoto(
        resized.float(), small_mask[0, 0].numpy() > 0.5, (int(left), int(top), int(right), int(bottom))
    )
