"""Read view images and photos as float tensors, safely.

Every image gan3d reads goes through `open_image`: the pixel count is checked from the header before
any pixel is decoded (at most `MAX_IMAGE_PIXELS`, 64 megapixels by default, or the
`GAN3D_MAX_IMAGE_PIXELS` environment variable), and every decoding failure (truncated or corrupt data,
decompression bombs, unknown formats) is a `DataError` naming the file. 16-bit grey images are scaled
by 65535 (not clipped to white), palette images are expanded, transparency is kept as alpha.
"""

from __future__ import annotations

import os
import struct
import warnings
from pathlib import Path

import numpy as np
import torch

from gan3d.errors import DataError

MAX_IMAGE_PIXELS = int(os.environ.get("GAN3D_MAX_IMAGE_PIXELS", str(64_000_000)))


def open_image(path: str | os.PathLike[str]):  # noqa: ANN201  (a loaded PIL image)
    """The decoded image of a file as PIL gives it, after the size check; 16-bit and float grey images
    are mapped to 8-bit grey ("L") by their full range (65535 -> 255), not clipped."""
    return _read(path, decode=True)


def image_size(path: str | os.PathLike[str]) -> tuple[int, int]:
    """(width, height) of an image file from its header, without decoding the pixels."""
    return _read(path, decode=False)


def _read(path: str | os.PathLike[str], decode: bool):  # noqa: ANN202
    from PIL import Image, UnidentifiedImageError

    path = Path(path)
    if path.is_dir():
        raise DataError(path, "is a folder, not an image")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(path) as image:
                width, height = image.size
                if width * height > MAX_IMAGE_PIXELS:
                    raise DataError(path, f"image of {width}x{height} is above the limit of {MAX_IMAGE_PIXELS} pixels")
                if not decode:
                    return width, height
                image.load()
                return _to_8bit(image)
    except FileNotFoundError:
        raise DataError(path, "no such file") from None
    except DataError:
        raise
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as err:
        raise DataError(path, f"image too large ({err})") from None
    except (UnidentifiedImageError, OSError, ValueError, SyntaxError, EOFError, struct.error) as err:
        raise DataError(path, f"cannot read image ({type(err).__name__}: {str(err)[:200]})") from None


def _to_8bit(image):  # noqa: ANN001, ANN202  (PIL images)
    from PIL import Image

    mode = image.mode
    if mode.startswith("I;16") or mode == "I":
        grey = np.asarray(image).astype(np.float64)
        peak = 65535.0 if mode.startswith("I;16") or grey.max(initial=0) <= 65535 else float(2**32 - 1)
        return Image.fromarray(np.round(grey.clip(0, peak) / peak * 255).astype(np.uint8), "L")
    if mode == "F":
        grey = np.nan_to_num(np.asarray(image, dtype=np.float64)).clip(0, 1)
        return Image.fromarray(np.round(grey * 255).astype(np.uint8), "L")
    return image


def has_alpha(image) -> bool:  # noqa: ANN001
    """True when a PIL image carries transparency (an alpha channel or a transparent palette entry)."""
    return image.mode in ("RGBA", "LA", "PA", "La", "RGBa") or "transparency" in image.info


def load_view_image(path: str | os.PathLike[str], channels: int = 3, size: int | None = None) -> torch.Tensor:
    """One view as float32 (C, H, W) in [0, 1]; transparency is composited on white (the MVCNN look);
    optionally resized square (bilinear)."""
    from PIL import Image

    image = open_image(path)
    if has_alpha(image) or image.mode == "P":
        rgba = image.convert("RGBA")
        white = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
        image = Image.alpha_composite(white, rgba)
    if channels not in (1, 3):
        raise DataError(path, f"channels must be 1 or 3, got {channels}")
    image = image.convert("L" if channels == 1 else "RGB")
    if size is not None and image.size != (size, size):
        image = image.resize((size, size), Image.Resampling.BILINEAR)
    array = np.asarray(image, dtype=np.float32) / 255.0
    return torch.from_numpy(array[None] if channels == 1 else array.transpose(2, 0, 1).copy())
