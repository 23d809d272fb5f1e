"""Write whatever is missing of one object's files: voxel grids, views and the mesh, resumably.

`gan3d data synth`, `prepare`, `voxelize` and `render` all do the same thing per object: find which of
its outputs are missing, load (or make) the mesh once if anything is, write the missing grids and
views, and write the file whose presence marks the object complete last. A crash leaves no partial
file (every write is atomic), so rerunning the command finishes the job.
"""

from __future__ import annotations

import shutil
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from gan3d.data.render_views import ViewSettings, render_views, save_views, view_paths
from gan3d.data.voxelize import voxelize
from gan3d.files import atomic_path
from gan3d.io.binvox import write_binvox
from gan3d.io.mesh import save_mesh
from gan3d.structures.mesh import Mesh


@dataclass(frozen=True)
class ObjectOutputs:
    """The files of one object.

    Attributes:
        folder: where they go.
        stem: the object's name (views are `<stem>_NNN.png`, extras in `<stem>_views/`).
        grids: grid path by resolution.
        views: the views to render, or None for none (`views.views` of them).
        copy_views: existing view images to copy instead of rendering (in view order).
        mesh_path: write the mesh here, last (its presence marks the object complete), or None.
        color: render views in the mesh's colours.
        voxelize_options: keyword arguments of `voxelize` (surface, carve).
    """

    folder: Path
    stem: str
    grids: dict[int, Path] = field(default_factory=dict)
    views: ViewSettings | None = None
    copy_views: list[Path] = field(default_factory=list)
    mesh_path: Path | None = None
    color: bool = False
    voxelize_options: dict[str, bool] = field(default_factory=dict)

    def _view_images(self) -> list[Path]:
        if self.copy_views:
            return copied_view_paths(self.copy_views, self.folder, self.stem)
        return view_paths(self.folder, self.stem, self.views.views) if self.views and self.views.views else []


def write_missing_outputs(outputs: ObjectOutputs, mesh: Callable[[], Mesh], force: bool = False) -> bool:
    """Write the missing files of `outputs` (all of them with `force`); `mesh()` is called once, only
    when something is missing. Returns False when everything existed."""
    missing_grids = [res for res, path in outputs.grids.items() if force or not path.exists()]
    images = outputs._view_images()
    missing_views = bool(images) and (force or not images[-1].exists())  # the last view is written last
    missing_mesh = outputs.mesh_path is not None and (force or not outputs.mesh_path.exists())
    if not (missing_grids or missing_views or missing_mesh):
        return False
    shape = mesh()
    for res in missing_grids:
        write_binvox(voxelize(shape.verts, shape.faces, res, **outputs.voxelize_options), outputs.grids[res])
    if missing_views and outputs.copy_views:
        copy_view_images(outputs.copy_views, outputs.folder, outputs.stem)
    elif missing_views:
        assert outputs.views is not None
        renderings = render_views(shape, outputs.views, outputs.color)
        save_views(renderings, shape, outputs.folder, outputs.stem, outputs.views)
    if outputs.mesh_path is not None:
        save_mesh(shape, outputs.mesh_path)  # last: its presence means the object is complete
    return True


def copied_view_paths(sources: list[Path], folder: Path, stem: str) -> list[Path]:
    """Where `copy_view_images` puts existing views: `<stem>_001.<ext>`, ... in view order."""
    return [folder / f"{stem}_{i:03d}{source.suffix.lower()}" for i, source in enumerate(sources, start=1)]


def copy_view_images(sources: list[Path], folder: Path, stem: str) -> list[Path]:
    """Copy existing view images into gan3d's naming, each atomically; returns the new paths."""
    targets = copied_view_paths(sources, folder, stem)
    for source, target in zip(sources, targets, strict=True):
        with atomic_path(target) as tmp:
            shutil.copyfile(source, tmp)
    return targets
