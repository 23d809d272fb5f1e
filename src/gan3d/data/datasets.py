"""`ShapeDataset`: what every family trains on, per object of a prepared dataset, as tensors.

Reads gan3d's layout (`gan3d data synth` / `render` / `prepare`, see `gan3d.data.modelnet`) or an R2N2
root (`ShapeNetVox32` + `ShapeNetRendering`). Items are dicts; each key is there only when asked for:

* `voxels`: occupancy, float32 (1, R, R, R) in {0, 1}, index order (x, y, z) (`resolution`).
* `voxel_to_world`: float32 (4, 4), with `voxels`: the affine from continuous voxel coordinates (voxel
  centres at index + 0.5) to the world frame of the object's cameras
  (`gan3d.structures.voxel_grid.voxel_to_camera_world`): gan3d's views live in the unit-sphere frame of
  the mesh (the normalisation saved in each view's JSON), R2N2's in ShapeNet's model frame.
* `images`: views, float32 (V, C, H, W) in [0, 1] (`views` > 0); transparent backgrounds are composited
  on white, the MVCNN look.
* `masks`: silhouettes of those views, float32 (V, 1, H, W) in {0, 1} (`masks=True`): gan3d's
  `<stem>_views/NNN_mask.png`, or the alpha channel of RGBA renders (R2N2, MVCNN shaded PNGs).
* `cameras`: `Cameras` of batch shape (V,) for those views, sized to the returned images
  (`cameras=True`): from the view JSONs, or from R2N2's `rendering_metadata.txt` (`r2n2_cameras`).
* `points`: float32 (P, 3) points sampled uniformly by area on the mesh surface, in the cameras' world
  frame, the same every epoch (`surface_points` = P > 0), with `point_normals` (P, 3) (their faces' unit
  normals); `mesh_path`: the mesh file (str), whenever
  the object has one.
* `query_points`, `occupancy`: float32 (Q, 3) points in the cameras' world frame and their labels (Q,)
  in {0, 1} (1 inside the mesh), a balanced draw (fresh every time for the train split, the same every
  time for the test split) from a pool labelled once per object
  and cached beside the mesh (`occupancy_points` = Q > 0; `gan3d.data.occupancy_points`), for implicit
  surfaces (PIFu).
* `normal_maps`: float32 (V, 6, H, W), each view's front (channels 0-2) and back (3-5) unit surface
  normals in that view's camera frame, 0 on background (`normal_maps=True`, with cameras; PIFuHD §4.4).
* `label`: class index (position in `classes`), `class_name`, `id` (the object's stem).

`collate_items` batches items: tensors stack, `Cameras` stack to batch shape (N, V), strings list.
"""

from __future__ import annotations

import os
import zlib
from pathlib import Path
from typing import Any, Literal

import numpy as np
import torch
from torch.utils.data import Dataset

from gan3d.data.augment import AugmentSettings, augment_image, augment_voxels
from gan3d.data.modelnet import ShapeRecord, scan_layout, view_index
from gan3d.data.occupancy_points import OccupancySampling, balanced_draw, cached_occupancy_pool
from gan3d.data.render_views import load_camera, read_normalization
from gan3d.data.shapenet import r2n2_grid_placement, read_rendering_metadata, scan_r2n2
from gan3d.errors import DataError
from gan3d.io.binvox import read_binvox
from gan3d.io.images import has_alpha, image_size, load_view_image, open_image
from gan3d.io.mesh import load_mesh
from gan3d.structures.cameras import Cameras, r2n2_cameras
from gan3d.structures.mesh import sample_surface
from gan3d.structures.voxel_grid import voxel_to_camera_world

ViewMode = Literal["fixed", "random"]


def scan_any(root: str | os.PathLike[str], classes: list[str] | None = None) -> list[ShapeRecord]:
    """Records of an R2N2 root or of a ModelNet-style root, whichever `root` is."""
    root = Path(root)
    if (root / "ShapeNetVox32").is_dir() or (root / "ShapeNetRendering").is_dir():
        return scan_r2n2(root, classes)
    return scan_layout(root, classes)


class ShapeDataset(Dataset):
    """Objects of one split with what `resolution`, `views`, `masks`, `cameras` and `surface_points` ask for.

    Args:
        root: a gan3d/ModelNet-style root or an R2N2 root.
        resolution: grid resolution to load (objects without it are left out); None loads no grid and
            keeps objects that have none.
        split: "train" or "test" (the paper's validation set is ModelNet's test split).
        classes: classes to keep, which also fixes the label order; default all found, sorted.
        views: number of views per item; 0 loads none. Objects with fewer views are left out.
        view_mode: "fixed" takes evenly spaced views (the same every time); "random" a random subset.
        image_size: resize views (and masks, and the cameras' intrinsics) to this square size (default:
            as stored).
        channels: 1 (grey) or 3 (RGB).
        augment: apply the paper's §2.6.6 augmentation (`AugmentSettings`) to grids and images, or None.
            It moves the shapes without moving the cameras, so it cannot be combined with `cameras`,
            `masks` or `surface_points`.
        cache: keep decoded grids (and sampled points) in memory (each worker process keeps its own).
        cache_views: also keep decoded views in memory (as uint8): for small datasets of small views,
            where decoding PNGs every epoch would otherwise cost a good share of a CPU training step.
        masks: also return the views' silhouettes.
        cameras: also return the views' cameras.
        surface_points: also return this many points on the mesh surface (objects need a mesh file).
        occupancy_points: also return this many labelled query points (objects need a mesh file).
        occupancy_sigma, occupancy_uniform: their Gaussian perturbation of surface points and share of
            uniform box samples (`OccupancySampling`).
        normal_maps: also return each view's front and back normal maps (objects need a mesh file).
    """

    def __init__(
        self,
        root: str | os.PathLike[str],
        resolution: int | None = 32,
        split: str = "train",
        classes: list[str] | None = None,
        views: int = 0,
        view_mode: ViewMode = "fixed",
        image_size: int | None = None,
        channels: int = 3,
        augment: AugmentSettings | None = None,
        cache: bool = True,
        cache_views: bool = False,
        masks: bool = False,
        cameras: bool = False,
        surface_points: int = 0,
        occupancy_points: int = 0,
        occupancy_sigma: float = 0.05,
        occupancy_uniform: float = 0.25,
        normal_maps: bool = False,
    ) -> None:
        if split not in ("train", "test"):
            raise DataError(root, f"split must be 'train' or 'test', got {split!r}")
        if channels not in (1, 3):
            raise DataError(root, f"channels must be 1 or 3, got {channels}")
        if normal_maps and not (views >= 1 and cameras):
            raise DataError(root, "normal maps belong to posed views: ask for views >= 1 and cameras")
        if (masks or cameras) and views < 1:
            raise DataError(root, "masks and cameras belong to views: ask for views >= 1")
        if augment is not None and (masks or cameras or surface_points or occupancy_points):
            raise DataError(
                root,
                "augmentation moves shapes but not cameras: it cannot be used with cameras, masks or surface points",
            )
        if surface_points < 0 or views < 0 or occupancy_points < 0:
            raise DataError(root, "views, surface_points and occupancy_points must be >= 0")
        self.occupancy: OccupancySampling | None = None
        if occupancy_points:
            try:
                self.occupancy = OccupancySampling(occupancy_points, occupancy_sigma, occupancy_uniform)
            except ValueError as err:
                raise DataError(root, str(err)) from None
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
            if r.class_name in wanted
            and r.split == split
            and (resolution is None or resolution in r.grids)
            and len(r.views) >= views
            and (not (surface_points or occupancy_points or normal_maps) or r.mesh is not None)
        ]
        if not self.records:
            needs = [f"a {resolution}^3 grid"] if resolution is not None else []
            needs += [f"{views} views"] if views else []
            needs += ["a mesh"] if surface_points or occupancy_points or normal_maps else []
            raise DataError(
                root,
                f"no {split} objects"
                + (" with " + " and ".join(needs) if needs else "")
                + " (prepare the data with `gan3d data synth` or `gan3d data prepare`)",
            )
        self.root = Path(root)
        self.split = split
        self.resolution = resolution
        self.views = views
        self.view_mode = view_mode
        self.image_size = image_size
        self.channels = channels
        self.augment = augment
        self.masks, self.cameras, self.surface_points = masks, cameras, surface_points
        self.normal_maps = normal_maps
        self._cache: dict[Any, Any] | None = {} if cache else None
        self._view_cache: dict[Path, torch.Tensor] | None = {} if cache_views else None

    def __len__(self) -> int:
        return len(self.records)

    def __getitem__(self, index: int) -> dict[str, Any]:
        record = self.records[index]
        item: dict[str, Any] = {
            "label": self.classes.index(record.class_name),
            "class_name": record.class_name,
            "id": record.stem,
        }
        if record.mesh is not None:
            item["mesh_path"] = str(record.mesh)
        if self.resolution is not None:
            voxels, placement = self._voxels(index)
            item["voxels"] = augment_voxels(voxels, self.augment) if self.augment is not None else voxels
            item["voxel_to_world"] = placement
        if self.views:
            picked = self._pick_views(record)
            images = [self._view(record.views[i]) for i in picked]
            if len({tuple(im.shape) for im in images}) != 1:
                raise DataError(record.views[0].parent, "views of one object differ in size; pass image_size")
            if self.augment is not None:
                images = [augment_image(im, self.augment) for im in images]
            item["images"] = torch.stack(images)
            height, width = item["images"].shape[-2:]
            if self.masks:
                item["masks"] = torch.stack([self._mask(record, i) for i in picked])
            if self.cameras:
                item["cameras"] = self._cameras(record, picked).resized(int(width), int(height))
            if self.normal_maps:
                item["normal_maps"] = torch.stack(
                    [
                        self._cached(("normals", index, i, int(width)), lambda i=i, c=c: self._normal_map(index, c))
                        for i, c in zip(picked, item["cameras"], strict=True)
                    ]
                )
        if self.surface_points:
            item["points"], item["point_normals"] = self._surface_points(index)
        if self.occupancy is not None:
            pool = self._cached(("occupancy", index), lambda: self._occupancy_pool(index))
            # the test split draws the same points every epoch (validation curves compare), train a fresh set
            generator = (
                torch.Generator().manual_seed(zlib.crc32(record.stem.encode())) if self.split == "test" else None
            )
            item["query_points"], item["occupancy"] = balanced_draw(*pool, self.occupancy.points, generator)
        return item

    def _view(self, path: Path) -> torch.Tensor:
        if self._view_cache is None:
            return load_view_image(path, self.channels, self.image_size)
        if path not in self._view_cache:
            image = load_view_image(path, self.channels, self.image_size)
            self._view_cache[path] = (image * 255).round().to(torch.uint8)  # exact: decoded from 8-bit pixels
        return self._view_cache[path].float() / 255.0

    def _mask(self, record: ShapeRecord, view: int) -> torch.Tensor:
        path = record.views[view]
        if record.layout == "gan3d":
            mask_path = _extras_dir(path, record.stem) / f"{view_index(path):03d}_mask.png"
            if mask_path.is_file():
                return load_mask(mask_path, self.image_size)
        return load_mask(path, self.image_size, alpha=True)

    def _cameras(self, record: ShapeRecord, picked: list[int]) -> Cameras:
        """The cameras of the picked views, each read once (they do not change between epochs)."""
        return Cameras.stack(
            [self._cached(("camera", record.views[i]), lambda i=i: self._camera(record, i)) for i in picked]
        )

    def _camera(self, record: ShapeRecord, view: int) -> Cameras:
        if record.layout == "r2n2":
            if record.metadata is None:
                raise DataError(record.views[0].parent, "no rendering_metadata.txt: the views have no cameras")
            rows = self._cached(("meta", record.metadata), lambda: read_rendering_metadata(record.metadata))
            if len(rows) < len(record.views):
                raise DataError(record.metadata, f"{len(rows)} camera rows for {len(record.views)} views")
            path = record.views[view]
            return r2n2_cameras([rows[int(path.stem)]], image_size(path)[0])[0]
        json_path = _view_json(record, view)
        if not json_path.is_file():
            raise DataError(
                record.views[view], f"no camera for this view (expected {json_path.name} in {json_path.parent})"
            )
        return load_camera(json_path)

    def _normalization(self, record: ShapeRecord) -> tuple[np.ndarray, float] | None:
        """The mesh-to-camera-world normalisation of a gan3d object with view JSONs (None: mesh frame)."""
        if record.layout != "gan3d" or not record.views or not _view_json(record, 0).is_file():
            return None
        return read_normalization(_view_json(record, 0))

    def _cached(self, key: Any, make: Any) -> Any:
        if self._cache is None:
            return make()
        if key not in self._cache:
            self._cache[key] = make()
        return self._cache[key]

    def _voxels(self, index: int) -> tuple[torch.Tensor, torch.Tensor]:
        return self._cached(("grid", index), lambda: self._load_voxels(index))

    def _load_voxels(self, index: int) -> tuple[torch.Tensor, torch.Tensor]:
        record = self.records[index]
        path = record.grids[self.resolution]  # type: ignore[index]
        grid = read_binvox(path)
        if grid.resolution != self.resolution:
            raise DataError(path, f"grid is {grid.resolution}^3, expected {self.resolution}^3")
        if record.layout == "r2n2":
            grid = r2n2_grid_placement(grid)
        placement = voxel_to_camera_world(grid.translate, grid.scale, grid.resolution, self._normalization(record))
        return torch.from_numpy(grid.occupancy.astype(np.float32))[None], placement

    def _surface_points(self, index: int) -> tuple[torch.Tensor, torch.Tensor]:
        return self._cached(("points", index), lambda: self._sample_points(index))

    def _sample_points(self, index: int) -> tuple[torch.Tensor, torch.Tensor]:
        mesh = self._unit_mesh(index)
        points, normals = sample_surface(mesh, self.surface_points, seed=index)  # a uniform scale keeps normals
        return torch.from_numpy(points.astype(np.float32)), torch.from_numpy(normals.astype(np.float32))

    def _normal_map(self, index: int, camera: Cameras) -> torch.Tensor:
        """Front and back normals (6, H, W) of the object's mesh in `camera`'s frame (`render.normal_maps`)."""
        from gan3d.render.normal_maps import normal_maps

        mesh = self._cached(("mesh", index), lambda: self._unit_mesh(index))
        maps = normal_maps(torch.from_numpy(mesh.verts).float(), torch.from_numpy(mesh.faces), camera[None])
        return torch.cat([maps.front[0], maps.back[0]], dim=-1).permute(2, 0, 1).contiguous()

    def _unit_mesh(self, index: int) -> Any:
        """The object's mesh in its views' world frame (the render's unit-sphere normalisation, if any)."""
        record = self.records[index]
        mesh = load_mesh(record.mesh)  # type: ignore[arg-type]
        normalization = self._normalization(record)
        if normalization is not None:
            center, radius = normalization
            mesh = mesh.with_verts((mesh.verts - center) / radius)
        return mesh

    def _occupancy_pool(self, index: int) -> tuple[np.ndarray, np.ndarray]:
        record = self.records[index]
        assert self.occupancy is not None and record.mesh is not None
        seed = zlib.crc32(record.stem.encode())  # the object's own pool, whatever the split's filters
        return cached_occupancy_pool(record.mesh, self.occupancy, self._normalization(record), seed)

    def _pick_views(self, record: ShapeRecord) -> list[int]:
        available = len(record.views)
        if self.view_mode == "random":
            return sorted(torch.randperm(available)[: self.views].tolist())
        return [int(i * available / self.views) for i in range(self.views)]


def _extras_dir(view: Path, stem: str) -> Path:
    """gan3d's per-object folder of masks, depth maps and camera JSONs beside a view image."""
    return view.parent / f"{stem}_views"


def _view_json(record: ShapeRecord, view: int) -> Path:
    """The camera JSON of a gan3d view (it may not exist)."""
    path = record.views[view]
    return _extras_dir(path, record.stem) / f"{view_index(path):03d}.json"


def load_mask(path: str | os.PathLike[str], size: int | None = None, alpha: bool = False) -> torch.Tensor:
    """A silhouette as float32 (1, H, W) in {0, 1}: a grey mask image (> 127 is object), or with `alpha`
    the alpha channel of an RGBA image. Resizing averages pixels (box filter) and thresholds at 0.5."""
    image = open_image(path)
    if alpha:
        if not has_alpha(image):
            raise DataError(path, "no mask for this view (no mask file and no alpha channel)")
        plane = image.convert("RGBA").getchannel("A")
    else:
        plane = image.convert("L")
    array = (np.asarray(plane) > 127).astype(np.float32)
    mask = torch.from_numpy(array)[None]
    if size is not None and tuple(mask.shape[-2:]) != (size, size):
        resized = torch.nn.functional.interpolate(mask[None], size=(size, size), mode="area")  # box filter
        mask = (resized[0] > 0.5).float()
    return mask


def collate_items(items: list[dict[str, Any]]) -> dict[str, Any]:
    """Batch `ShapeDataset` items: tensors and numbers stack, `Cameras` stack to (N, V), strings list."""
    from torch.utils.data import default_collate

    out: dict[str, Any] = {}
    for key in items[0]:
        values = [item[key] for item in items]
        if isinstance(values[0], Cameras):
            out[key] = Cameras.stack(values)
        elif isinstance(values[0], str):
            out[key] = values
        else:
            out[key] = default_collate(values)
    return out
