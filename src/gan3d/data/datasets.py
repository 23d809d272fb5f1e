"""`ShapeDataset`: voxel grids, view images and class labels of a prepared dataset, as tensors.

Reads gan3d's layout (`gan3d data synth` / `gan3d data prepare`, see `gan3d.data.modelnet`) or an
R2N2 root (`ShapeNetVox32` + `ShapeNetRendering`). Items are dicts:

* `voxels`: occupancy, float32 (1, R, R, R) in {0, 1}, index order (x, y, z).
* `images`: views, float32 (V, C, H, W) in [0, 1] (absent when `views=0`); transparent backgrounds
  are composited on white, the MVCNN look.
* `label`: class index (position in `classes`), `class_name`, `id` (the object's stem).
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any, Literal

import numpy as np
import torch
from torch.utils.data import Dataset

from gan3d.data.augment import AugmentSettings, augment_image, augment_voxels
from gan3d.data.modelnet import ShapeRecord, scan_layout
from gan3d.data.shapenet import scan_r2n2
from gan3d.errors import DataError
from gan3d.io.binvox import read_binvox
from gan3d.io.images import load_view_image

ViewMode = Literal["fixed", "random"]


def scan_any(root: str | os.PathLike[str], classes: list[str] | None = None) -> list[ShapeRecord]:
    """Records of an R2N2 root or of a ModelNet-style root, whichever `root` is."""
    root = Path(root)
    if (root / "ShapeNetVox32").is_dir() or (root / "ShapeNetRendering").is_dir():
        return scan_r2n2(root, classes)
    return scan_layout(root, classes)


class ShapeDataset(Dataset):
    """Objects of one split with a voxel grid at `resolution` (and, when asked, their views).

    Args:
        root: a gan3d/ModelNet-style root or an R2N2 root.
        resolution: grid resolution to load (objects without it are left out).
        split: "train" or "test" (the paper's validation set is ModelNet's test split).
        classes: classes to keep, which also fixes the label order; default all found, sorted.
        views: number of views per item; 0 loads none. Objects with fewer views are left out.
        view_mode: "fixed" takes evenly spaced views (the same every time); "random" a random subset.
        image_size: resize views to this square size (default: as stored).
        channels: 1 (grey) or 3 (RGB).
        augment: apply the paper's §2.6.6 augmentation (`AugmentSettings`), or None.
        cache: keep decoded grids in memory (each worker process keeps its own).
        cache_views: also keep decoded views in memory (as uint8): for small datasets of small views,
            where decoding PNGs every epoch would otherwise cost a good share of a CPU training step.
    """

    def __init__(
        self,
        root: str | os.PathLike[str],
        resolution: int = 32,
        split: str = "train",
        classes: list[str] | None = None,
        views: int = 0,
        view_mode: ViewMode = "fixed",
        image_size: int | None = None,
        channels: int = 3,
        augment: AugmentSettings | None = None,
        cache: bool = True,
        cache_views: bool = False,
    ) -> None:
        if split not in ("train", "test"):
            raise DataError(root, f"split must be 'train' or 'test', got {split!r}")
        if channels not in (1, 3):
            raise DataError(root, f"channels must be 1 or 3, got {channels}")
        records = scan_any(root)
        found = sorted({r.class_name for r in records})
        self.classes = list(classes) if classes is not None else found
        missing = sorted(set(self.classes) - set(found))
        if missing:
            raise DataError(root, f"no objects of class {', '.join(missing)} (found: {', '.join(found) or 'none'})")
        wanted = set(self.classes)
        self.records = [
            r
            for r in records
            if r.class_name in wanted and r.split == split and resolution in r.grids and len(r.views) >= views
        ]
        if not self.records:
            raise DataError(
                root,
                f"no {split} objects with a {resolution}^3 grid"
                + (f" and {views} views" if views else "")
                + " (prepare the data with `gan3d data synth` or `gan3d data prepare`)",
            )
        self.root = Path(root)
        self.resolution = resolution
        self.views = views
        self.view_mode = view_mode
        self.image_size = image_size
        self.channels = channels
        self.augment = augment
        self._cache: dict[int, torch.Tensor] | None = {} if cache else None
        self._view_cache: dict[Path, torch.Tensor] | None = {} if cache_views else None

    def __len__(self) -> int:
        return len(self.records)

    def __getitem__(self, index: int) -> dict[str, Any]:
        record = self.records[index]
        voxels = self._voxels(index)
        if self.augment is not None:
            voxels = augment_voxels(voxels, self.augment)
        item: dict[str, Any] = {
            "voxels": voxels,
            "label": self.classes.index(record.class_name),
            "class_name": record.class_name,
            "id": record.stem,
        }
        if self.views:
            images = [self._view(record.views[i]) for i in self._pick_views(record)]
            if len({tuple(im.shape) for im in images}) != 1:
                raise DataError(record.views[0].parent, "views of one object differ in size; pass image_size")
            if self.augment is not None:
                images = [augment_image(im, self.augment) for im in images]
            item["images"] = torch.stack(images)
        return item

    def _view(self, path: Path) -> torch.Tensor:
        if self._view_cache is None:
            return load_view_image(path, self.channels, self.image_size)
        if path not in self._view_cache:
            image = load_view_image(path, self.channels, self.image_size)
            self._view_cache[path] = (image * 255).round().to(torch.uint8)  # exact: decoded from 8-bit pixels
        return self._view_cache[path].float() / 255.0

    def _voxels(self, index: int) -> torch.Tensor:
        if self._cache is not None and index in self._cache:
            return self._cache[index]
        path = self.records[index].grids[self.resolution]
        grid = read_binvox(path)
        if grid.resolution != self.resolution:
            raise DataError(path, f"grid is {grid.resolution}^3, expected {self.resolution}^3")
        voxels = torch.from_numpy(grid.occupancy.astype(np.float32))[None]
        if self._cache is not None:
            self._cache[index] = voxels
        return voxels

    def _pick_views(self, record: ShapeRecord) -> list[int]:
        available = len(record.views)
        if self.view_mode == "random":
            return sorted(torch.randperm(available)[: self.views].tolist())
        return [int(i * available / self.views) for i in range(self.views)]
