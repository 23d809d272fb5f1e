"""Write generated shapes to disk: one job per shape (grid + mesh), run in parallel worker processes.

Marching cubes and mesh writing are single-threaded numpy work, so a batch of 1,000 shapes at 64^3
goes as fast as the cores allow only when the shapes are exported in parallel (`gan3d.batch`).
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from gan3d.errors import DataError


@dataclass(frozen=True)
class SampleJob:
    """One generated grid (probabilities, (D, D, D) float32) to write as `<stem>.binvox` + a mesh."""

    stem: Path
    grid: np.ndarray

    def __str__(self) -> str:  # what a failure report names
        return str(self.stem)


def export_sample(
    job: SampleJob, threshold: float = 0.5, mesh_format: str | None = ".obj", grid_format: str = ".binvox"
) -> bool:
    """Write the thresholded grid and (unless `mesh_format` is None) its marching-cubes mesh.

    An empty sample gets its grid but no mesh (there is no surface); returns True (work done).
    """
    from gan3d.export.grids import save_probabilities
    from gan3d.export.mesh import export_mesh, voxels_to_mesh

    save_probabilities(job.grid, job.stem.with_suffix(grid_format), threshold)
    if mesh_format is not None:
        try:
            mesh = voxels_to_mesh(job.grid, threshold)
        except DataError:
            return True
        export_mesh(mesh, job.stem.with_suffix(mesh_format))
    return True


def sample_stems(out: str | os.PathLike[str], n: int) -> list[Path]:
    """`out/sample_0001` ... : zero-padded to at least 4 digits so names sort in order."""
    width = max(4, len(str(n)))
    return [Path(out) / f"sample_{i:0{width}d}" for i in range(1, n + 1)]
