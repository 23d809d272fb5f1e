"""The posed views of one object, as `gan3d data render` writes them: for mesh fitting.

Layout (`gan3d.data.render_views`): `DIR/<stem>_NNN.png` (RGB view) and `DIR/<stem>_views/NNN_mask.png`
(silhouette), `DIR/<stem>_views/NNN.json` (camera, and the normalisation that put the mesh in the unit
sphere). A view counts when its image, mask and camera JSON all exist.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from gan3d.data.datasets import load_mask
from gan3d.data.render_views import load_camera, read_normalization
from gan3d.errors import DataError
from gan3d.io.images import load_view_image
from gan3d.structures.cameras import Cameras

MAX_VIEWS = 256  # more views than this is not a turntable render: refuse rather than load without end


@dataclass(frozen=True)
class ObjectViews:
    """V posed views of one object.

    Attributes:
        images: RGB in [0, 1], (V, H, W, 3); white background.
        masks: silhouettes in {0, 1}, (V, H, W).
        cameras: batch shape (V,), sized to the images; world frame = the unit-sphere frame of the render.
        center, radius: the render's normalisation, `unit = (mesh - center) / radius` (to write the fit
            back in the source mesh's frame).
        stem: the object's name.
        paths: the image of each view.
    """

    images: torch.Tensor
    masks: torch.Tensor
    cameras: Cameras
    center: np.ndarray
    radius: float
    stem: str
    paths: list[Path]

    def __len__(self) -> int:
        return len(self.paths)


def find_stem(views_dir: Path) -> str:
    """The one object rendered into `views_dir` (a `<stem>_views` folder beside its images), or the
    object whose `<stem>_views` folder `views_dir` is."""
    if views_dir.name.endswith("_views") and (views_dir / "001.json").exists():
        return views_dir.name[: -len("_views")]
    stems = sorted(p.name[: -len("_views")] for p in views_dir.glob("*_views") if p.is_dir())
    if not stems:
        raise DataError(
            views_dir, "no rendered views here (expected <stem>_NNN.png and <stem>_views/ from gan3d data render)"
        )
    if len(stems) > 1:
        raise DataError(
            views_dir, f"views of {len(stems)} objects ({', '.join(stems[:4])}...): pass --stem to pick one"
        )
    return stems[0]


def load_object_views(
    views_dir: str | os.PathLike[str], size: int | None = None, stem: str | None = None
) -> ObjectViews:
    """Read every complete view of one object from a `gan3d data render` folder, resized square to
    `size` (cameras resized to match); `stem` picks the object when the folder holds several."""
    views_dir = Path(views_dir)
    if not views_dir.is_dir():
        raise DataError(views_dir, "not a folder")
    stem = stem or find_stem(views_dir)
    image_dir = views_dir.parent if views_dir.name == f"{stem}_views" else views_dir
    extras = image_dir / f"{stem}_views"
    numbers = sorted(int(m.group(1)) for p in extras.glob("*.json") if (m := re.fullmatch(r"(\d{3,})\.json", p.name)))
    if len(numbers) > MAX_VIEWS:
        raise DataError(extras, f"{len(numbers)} views, more than the {MAX_VIEWS} a fit reads")
    images, masks, cameras, paths = [], [], [], []
    for i in numbers:
        image_path, mask_path = image_dir / f"{stem}_{i:03d}.png", extras / f"{i:03d}_mask.png"
        if not (image_path.exists() and mask_path.exists()):
            continue
        image = load_view_image(image_path, channels=3, size=size)
        if image.shape[-1] != image.shape[-2]:
            raise DataError(image_path, f"views must be square, got {image.shape[-1]}x{image.shape[-2]}")
        camera = load_camera(extras / f"{i:03d}.json")
        side = image.shape[-1]
        images.append(image.permute(1, 2, 0))
        masks.append(load_mask(mask_path, size=side)[0])
        cameras.append(camera.resized(side, side))
        paths.append(image_path)
    if not paths:
        raise DataError(extras, f"no complete view of {stem!r} (each needs <stem>_NNN.png, NNN_mask.png and NNN.json)")
    center, radius = read_normalization(extras / f"{numbers[0]:03d}.json")
    return ObjectViews(torch.stack(images), torch.stack(masks), Cameras.stack(cameras), center, radius, stem, paths)
