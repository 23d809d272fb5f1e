"""The voxel family's inference entry: what `gan3d sample` and `gan3d reconstruct` do with a voxel GAN
(grids as `.binvox`, marching-cubes meshes, PNG sheets and figures). See `gan3d.pipelines.loading`."""

from __future__ import annotations

import sys
from collections.abc import Iterator

import numpy as np

from gan3d.pipelines.loading import LoadedModel, ReconstructRequest, SampleRequest
from gan3d.pipelines.voxel_gan import class_names_of, for_inference, generate_batches, reconstruct

__all__ = ["for_inference", "reconstruct_to_files", "sample_to_folder"]

SHEET_MAX = 64  # shapes drawn on samples.png (the first ones); every shape gets its grid and mesh
PARALLEL_FROM = 64  # below this many shapes, starting worker processes costs more than it saves


def sample_to_folder(loaded: LoadedModel, request: SampleRequest) -> int:
    """`request.n` shapes from seeded noise: `sample_NNNN.binvox`, a mesh each and `samples.png`;
    returns the exit code of the batch (0, or 1 when some shapes failed to export)."""
    from gan3d.batch import default_jobs, report, run_batch
    from gan3d.export.figures import grid_thumbnail, plot_image_sheet
    from gan3d.export.samples import SampleJob, export_sample, sample_stems

    if loaded.model.num_classes and request.class_name is None:  # type: ignore[attr-defined]
        names = ", ".join(class_names_of(loaded))
        sys.stderr.write(f"gan3d: note: no --class: samples cycle through {names}\n")
    stems = sample_stems(request.out, request.n)
    sheet: list[np.ndarray] = []
    empty = 0

    def jobs() -> Iterator[SampleJob]:
        nonlocal empty
        batches = generate_batches(
            loaded, request.n, request.class_name, request.seed, request.batch_size, request.precision
        )
        for start, grids in batches:
            for offset, grid in enumerate(grids[:, 0].numpy()):
                if start + offset < SHEET_MAX:
                    sheet.append(grid)
                empty += int(not grid.max() > request.threshold)
                yield SampleJob(stems[start + offset], grid)

    workers = request.jobs or (default_jobs() if request.n >= PARALLEL_FROM else 1)
    result = run_batch(
        export_sample,
        jobs(),
        jobs=workers,
        description="sample",
        total=request.n,
        threshold=request.threshold,
        mesh_format=request.mesh_format,
    )
    images = [grid_thumbnail(grid, 128, request.threshold) for grid in sheet]
    names = [s.name for s in stems[: len(sheet)]]
    plot_image_sheet(images, request.out / "samples.png", names, min(8, len(sheet)))
    if empty:
        sys.stderr.write(f"gan3d: note: {empty} of {request.n} samples were empty at threshold {request.threshold}\n")
    return report(result, f"sample into {request.out}")


def reconstruct_to_files(loaded: LoadedModel, request: ReconstructRequest) -> int:
    """One object from its photos: the mesh at `request.out`, its grid (`.binvox`) and a figure (`.png`)
    of input | prediction beside it."""
    from gan3d.data.photos import prepare_photo
    from gan3d.errors import ConfigError, DataError
    from gan3d.export.figures import plot_reconstruction, shaded_image
    from gan3d.export.grids import save_probabilities
    from gan3d.export.mesh import export_mesh, voxels_to_mesh
    from gan3d.io.images import load_view_image

    if request.resolution is not None:
        raise ConfigError(f"{loaded.builder} predicts a fixed grid: --resolution does not apply")
    grid = reconstruct(loaded, request.images, request.class_name, request.prepare)[0, 0].numpy()
    try:
        mesh = voxels_to_mesh(grid, request.threshold)
    except DataError:
        raise DataError(request.out, f"the reconstruction is empty at threshold {request.threshold}") from None
    export_mesh(mesh, request.out)
    save_probabilities(grid, request.out.with_suffix(".binvox"), request.threshold)
    if request.prepare:
        size = loaded.model.image_size  # type: ignore[attr-defined]
        shown = [prepare_photo(p, size).image for p in request.images]
    else:
        shown = [load_view_image(p) for p in request.images]
    inputs = [(image.numpy().transpose(1, 2, 0) * 255).astype(np.uint8) for image in shown]
    plot_reconstruction(inputs, shaded_image(mesh.verts, mesh.faces), None, request.out.with_suffix(".png"))
    return 0
