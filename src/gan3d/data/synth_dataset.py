"""Write the built-in dataset to disk: meshes, voxel grids and views in gan3d's ModelNet-like layout."""

from __future__ import annotations

import json
import os
from pathlib import Path

from gan3d.batch import BatchResult, run_batch
from gan3d.data.object_outputs import ObjectOutputs, write_missing_outputs
from gan3d.data.render_views import ViewSettings
from gan3d.data.synthetic import CLASSES, make_shape
from gan3d.errors import ConfigError
from gan3d.files import write_text_atomic


def object_seed(dataset_seed: int, number: int) -> int:
    """The `make_shape` seed of object `number` (1-based, as in its stem `<class>_NNNN`)."""
    return dataset_seed * 1_000_003 + number - 1


def plan(classes: list[str], per_class: int, train_fraction: float, seed: int) -> list[tuple[str, str, int, int]]:
    """(class, split, number, object seed) for every object; numbers run on from train into test."""
    n_train = round(per_class * train_fraction)
    return [
        (name, "train" if i < n_train else "test", i + 1, object_seed(seed, i + 1))
        for name in classes
        for i in range(per_class)
    ]


def synthesize_object(
    item: tuple[str, str, int, int],
    out: Path,
    resolutions: tuple[int, ...],
    settings: ViewSettings,
    color: bool = False,
) -> bool:
    """Generate one object and whatever of its files is missing; False when all existed.

    With `color` the mesh is a textured OBJ (`<stem>.obj` + `.mtl` + `_texture.png`) and the views RGB.
    """
    class_name, split, number, seed = item
    folder = out / class_name / split
    stem = f"{class_name}_{number:04d}"
    outputs = ObjectOutputs(
        folder,
        stem,
        grids={res: folder / f"{stem}_{res}.binvox" for res in resolutions},
        views=settings if settings.views > 0 else None,
        mesh_path=folder / f"{stem}.{'obj' if color else 'off'}",
        color=color,
    )
    return write_missing_outputs(outputs, lambda: make_shape(class_name, seed, color))


def build_synthetic_dataset(
    out: str | os.PathLike[str],
    classes: list[str] | tuple[str, ...] = CLASSES,
    per_class: int = 100,
    resolutions: tuple[int, ...] = (32,),
    views: int = 12,
    size: int = 224,
    train_fraction: float = 0.8,
    seed: int = 0,
    jobs: int = 1,
    color: bool = False,
) -> BatchResult:
    """Generate (or complete: it is resumable) the built-in dataset under `out`, with `dataset.json`.

    `color=True` gives every object per-part colours and procedural textures (textured OBJ meshes) and
    renders RGB views; the default is geometry only with grey MVCNN views.
    """
    classes = list(classes)
    unknown = sorted(set(classes) - set(CLASSES))
    if unknown:
        raise ConfigError(f"unknown classes {', '.join(unknown)}; choose from {', '.join(CLASSES)}")
    if any(r < 2 for r in resolutions) or per_class < 1 or not 0 < train_fraction <= 1:
        raise ConfigError("resolutions must be >= 2, per_class >= 1 and train_fraction in (0, 1]")
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    manifest = {
        "name": "gan3d-synthetic",
        "classes": classes,
        "per_class": per_class,
        "resolutions": list(resolutions),
        "views": views,
        "size": size,
        "train_fraction": train_fraction,
        "seed": seed,
        "up_axis": "z",
        "color": color,
        "layout": "<class>/<split>/<stem>.off, <stem>_<res>.binvox, <stem>_NNN.png, <stem>_views/",
    }
    write_text_atomic(out / "dataset.json", json.dumps(manifest, indent=1))
    settings = ViewSettings(views=views, size=size)
    items = plan(classes, per_class, train_fraction, seed)
    return run_batch(
        synthesize_object,
        items,
        jobs=jobs,
        description="synthesize",
        out=out,
        resolutions=tuple(resolutions),
        settings=settings,
        color=color,
    )
