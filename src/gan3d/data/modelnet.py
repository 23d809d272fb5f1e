"""Find the objects of ModelNet-style layouts: meshes, voxel grids and MVCNN view images.

Layouts read (each `<class>/{train,test}/...` below a root):

* ModelNet10/40 meshes: `<class>_NNNN.off`.
* gan3d's own layout (what `gan3d data synth` and `gan3d data prepare` write): the mesh, grids
  `<stem>_<res>.binvox`, views `<stem>_001.png` ...
* MVCNN-style view folders, whose names differ between releases; all are accepted, ordered by view index:
  `<stem>_001.png` (modelnet40v1png), `<stem>.obj_whiteshaded_v0000.png`, `<stem>.off/<stem>.0.png`,
  and one folder per object, `<stem>/001.png`.
"""

from __future__ import annotations

import os
import re
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path

from gan3d.errors import DataError
from gan3d.io.mesh import MESH_SUFFIXES

SPLITS = ("train", "test")
_GRID = re.compile(r"^(?P<stem>.+)_(?P<res>\d+)\.binvox$")
_VIEW_PATTERNS = (
    re.compile(r"^(?P<stem>.+)_(?P<view>\d{3})\.png$"),  # modelnet40v1png, gan3d
    re.compile(r"^(?P<stem>.+?)\.(?:obj|off)_whiteshaded_v(?P<view>\d+)\.png$"),  # MVCNN shaded images
)
_VIEW_IN_FOLDER = re.compile(r"(?P<view>\d+)\.png$")  # <stem>/001.png, <stem>.off/<stem>.0.png
_IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg")


@dataclass
class ShapeRecord:
    """Everything known about one object.

    Attributes:
        class_name: object class, from the folder name.
        split: "train" or "test".
        stem: object name, e.g. `chair_0001`.
        mesh: the mesh file, if any.
        grids: voxel grids by resolution.
        views: view images in view order.
        layout: "gan3d" (ModelNet-style folders; views may have `<stem>_views/` masks and camera JSONs)
            or "r2n2" (3D-R2N2's release: cameras from `metadata`, masks from the renders' alpha).
        metadata: 3D-R2N2's `rendering_metadata.txt` of the object, if any.
    """

    class_name: str
    split: str
    stem: str
    mesh: Path | None = None
    grids: dict[int, Path] = field(default_factory=dict)
    views: list[Path] = field(default_factory=list)
    layout: str = "gan3d"
    metadata: Path | None = None


def scan_layout(root: str | os.PathLike[str], classes: list[str] | None = None) -> list[ShapeRecord]:
    """All objects under `root/<class>/<split>/`, sorted by class, split and name.

    Args:
        root: dataset root (ModelNet, MVCNN view folders or gan3d layout).
        classes: keep only these classes (default all).

    Raises:
        DataError: `root` is not a folder or holds no `<class>/{train,test}` folders.
    """
    root = Path(root)
    if not root.is_dir():
        raise DataError(root, "not a folder")
    records: dict[tuple[str, str, str], ShapeRecord] = {}
    found_split = False
    for class_dir in sorted(p for p in root.iterdir() if p.is_dir()):
        if classes is not None and class_dir.name not in classes:
            continue
        for split in SPLITS:
            folder = class_dir / split
            if not folder.is_dir():
                continue
            found_split = True
            for stem, kind, value in _scan_folder(folder):
                key = (class_dir.name, split, stem)
                record = records.setdefault(key, ShapeRecord(class_dir.name, split, stem))
                if kind == "mesh":
                    record.mesh = value  # type: ignore[assignment]
                elif kind == "grid":
                    res, path = value  # type: ignore[misc]
                    record.grids[res] = path
                else:
                    record.views.append(value)  # type: ignore[arg-type]
    if not found_split:
        raise DataError(root, "no <class>/train or <class>/test folders (expected a ModelNet-style layout)")
    for record in records.values():
        record.views = _order_views(record.views)
    return [records[key] for key in sorted(records)]


def view_index(path: Path) -> int:
    """The view number encoded in an MVCNN-style image name (any of the accepted schemes)."""
    for pattern in _VIEW_PATTERNS:
        match = pattern.match(path.name)
        if match:
            return int(match["view"])
    match = _VIEW_IN_FOLDER.search(path.name)
    if match:
        return int(match["view"])
    raise DataError(path, "no view number in the file name")


def _order_views(views: list[Path]) -> list[Path]:
    return sorted(views, key=view_index)


def _scan_folder(folder: Path):  # -> Iterator[tuple[str, str, object]]
    """(stem, kind, value) for the meshes, grids and views directly in `folder` and its per-object folders."""
    for path in sorted(folder.iterdir()):
        name = path.name
        if name.startswith("."):
            continue  # hidden: a killed run's temp file (`.<name>.XXXX.tmp`) or an editor's, never data
        if path.is_dir():
            # one folder per object: <stem>/001.png or <stem>.off/<stem>.0.png; gan3d's <stem>_views/ are extras
            if name.endswith("_views"):
                continue
            stem = name[: -len(path.suffix)] if path.suffix.lower() in MESH_SUFFIXES else name
            for image in sorted(path.iterdir()):
                if image.suffix.lower() in _IMAGE_SUFFIXES and _VIEW_IN_FOLDER.search(image.name):
                    yield stem, "view", image
            continue
        suffix = path.suffix.lower()
        if suffix in MESH_SUFFIXES:
            yield path.stem, "mesh", path
        elif suffix == ".binvox":
            # <stem>_<res>.binvox, or a bare <stem>.binvox (`gan3d data voxelize`, `chair_0002.binvox`):
            # the header's resolution tells them apart
            res = _binvox_resolution(path)
            match = _GRID.match(name)
            stem = match["stem"] if match and int(match["res"]) == res else path.stem
            yield stem, "grid", (res, path)
        elif suffix == ".png":
            for pattern in _VIEW_PATTERNS:
                match = pattern.match(name)
                if match:
                    yield match["stem"], "view", path
                    break


def _binvox_resolution(path: Path) -> int:
    """The resolution in a binvox header, reading only its first bytes."""
    with open(path, "rb") as fh:
        head = fh.read(256).split(b"\n")
    for line in head:
        if line.startswith(b"dim"):
            try:
                return int(line.split()[1])
            except (IndexError, ValueError):
                break
    raise DataError(path, "binvox header has no valid 'dim' line")


def group_by_class(records: list[ShapeRecord]) -> dict[str, list[ShapeRecord]]:
    """Records by class name, in the records' order."""
    grouped: dict[str, list[ShapeRecord]] = defaultdict(list)
    for record in records:
        grouped[record.class_name].append(record)
    return dict(grouped)
