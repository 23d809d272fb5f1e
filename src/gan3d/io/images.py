"""Read view images and photos as float tensors."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import torch

from gan3d.errors import DataError


def load_view_image(path: str | os.PathLike[str], channels: int = 3, size: int | None = None) -> torch.Tensor:
    """One view as float32 (C, H, W) in [0, 1]; RGBA is composited on white; optionally resized square."""
    from PIL import Image, UnidentifiedImageError

    path = Path(path)
    try:
        with Image.open(path) as image:
            image.load()
            if image.mode in ("RGBA", "LA", "P"):
                rgba = image.convert("RGBA")
                white = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
                image = Image.alpha_composite(white, rgba)
            image = image.convert("L" if channels == 1 else "RGB")
            if size is not None and image.size != (size, size):
                image = image.resize((size, size), Image.Resampling.BILINEAR)
            array = np.asarray(image, dtype=np.float32) / 255.0
    except FileNotFoundError:
        raise DataError(path, "no such file") from None
    except (UnidentifiedImageError, OSError, ValueError) as err:
        raise DataError(path, f"cannot read image ({err})") from None
    return torch.from_numpy(array[None] if channels == 1 else array.transpose(2, 0, 1).copy())
