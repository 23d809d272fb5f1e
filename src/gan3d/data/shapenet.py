"""Find the objects of ShapeNet's 3D-R2N2 release (Choy et al. 2016).

Layout: `ShapeNetVox32/<synset>/<model id>/model.binvox` (32^3, y-up) and
`ShapeNetRendering/<synset>/<model id>/rendering/00.png ... 23.png` (137x137 RGBA, with
`rendering_metadata.txt`: azimuth, elevation, in-plane rotation, distance ratio, field of view per view).
The release has no split in its folders; we assign a deterministic 80/20 split by model id.
"""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

import numpy as np

from gan3d.data.modelnet import ShapeRecord
from gan3d.errors import DataError
from gan3d.files import read_bytes
from gan3d.structures.voxel_grid import VoxelGrid

# the 13 ShapeNet categories of 3D-R2N2
SYNSETS = {
    "02691156": "airplane",
    "02828884": "bench",
    "02933112": "cabinet",
    "02958343": "car",
    "03001627": "chair",
    "03211117": "monitor",
    "03636649": "lamp",
    "03691459": "speaker",
    "04090263": "rifle",
    "04256520": "sofa",
    "04379243": "table",
    "04401088": "telephone",
    "04530566": "watercraft",
}


def r2n2_split(model_id: str, train_fraction: float = 0.8) -> str:
    """Deterministic split by a hash of the model id (stable across machines and runs)."""
    bucket = int(hashlib.sha1(model_id.encode()).hexdigest()[:8], 16) / 0xFFFFFFFF
    return "train" if bucket < train_fraction else "test"


def scan_r2n2(root: str | os.PathLike[str], classes: list[str] | None = None) -> list[ShapeRecord]:
    """Objects of an R2N2 root holding `ShapeNetVox32/` and/or `ShapeNetRendering/`.

    Records carry the 32^3 grid and the 24 rendered views (ordered 00..23); class names come from
    the synset ids (unknown synsets keep their id as class name).
    """
    root = Path(root)
    vox_root, render_root = root / "ShapeNetVox32", root / "ShapeNetRendering"
    if not vox_root.is_dir() and not render_root.is_dir():
        raise DataError(root, "no ShapeNetVox32/ or ShapeNetRendering/ folder (expected the 3D-R2N2 layout)")
    records: dict[tuple[str, str], ShapeRecord] = {}

    def record(synset: str, model_id: str) -> ShapeRecord:
        name = SYNSETS.get(synset, synset)
        return records.setdefault((name, model_id), ShapeRecord(name, r2n2_split(model_id), model_id, layout="r2n2"))

    if vox_root.is_dir():
        for path in sorted(vox_root.glob("*/*/model.binvox")):
            synset, model_id = path.parent.parent.name, path.parent.name
            record(synset, model_id).grids[32] = path
    if render_root.is_dir():
        for folder in sorted(render_root.glob("*/*/rendering")):
            synset, model_id = folder.parent.parent.name, folder.parent.name
            views = sorted(folder.glob("[0-9][0-9].png"), key=lambda p: int(p.stem))
            rec = record(synset, model_id)
            rec.views = views
            if (folder / "rendering_metadata.txt").is_file():
                rec.metadata = folder / "rendering_metadata.txt"
    out = [records[key] for key in sorted(records)]
    return [r for r in out if classes is None or r.class_name in classes]


def read_rendering_metadata(path: str | os.PathLike[str]) -> list[dict[str, float]]:
    """Per-view camera parameters of `rendering_metadata.txt`: azimuth, elevation, in-plane
    rotation (degrees), distance ratio and field of view (degrees)."""
    path = Path(path)
    try:
        lines = read_bytes(path).decode("ascii").split("\n")
    except UnicodeDecodeError:
        raise DataError(path, "not a text file of numbers (non-ASCII bytes)") from None
    views = []
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        try:
            azimuth, elevation, in_plane, distance, fov = (float(x) for x in line.split()[:5])
        except ValueError:
            raise DataError(path, f"line {number}: expected 5 numbers") from None
        if not all(np.isfinite([azimuth, elevation, in_plane, distance, fov])) or distance <= 0:
            raise DataError(path, f"line {number}: non-finite numbers or a non-positive distance")
        views.append(
            {"azimuth": azimuth, "elevation": elevation, "in_plane": in_plane, "distance": distance, "fov": fov}
        )
    return views


def r2n2_grid_placement(grid: VoxelGrid) -> VoxelGrid:
    """The true placement of a `ShapeNetVox32` grid, in the frame of the renders' cameras.

    The release's binvox headers are misleading: `translate` is the model's bounding-box minimum, as
    binvox writes it, but the occupancy was re-centred in the grid afterwards. The models are ShapeNet v1
    (centred at the origin, unit bounding-box diagonal), so the grid is a cube of side `scale` centred at
    the origin: `translate = -scale / 2`. Checked on the real release (`tests/structures/test_cameras.py`:
    the grids projected with `r2n2_cameras` cover the renders' alpha masks; the header's translate does not).
    """
    return VoxelGrid(grid.occupancy, np.full(3, -grid.scale / 2.0), grid.scale)
