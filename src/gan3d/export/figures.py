"""Figures: the paper's matplotlib point clouds (§2.6), shaded renders, sample sheets, reconstructions."""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from gan3d.files import atomic_path


def plot_point_clouds(
    clouds: Sequence[np.ndarray],
    path: str | os.PathLike[str],
    titles: Sequence[str] | None = None,
    up_axis: int = 2,
    columns: int = 4,
    dpi: int = 100,
) -> Path:
    """Save a sheet of 3D scatter plots, one per point cloud, coloured by height.

    Args:
        clouds: point sets, each of shape (N, 3) (e.g. occupied voxel centres or surface samples).
        path: output PNG.
        titles: one caption per cloud.
        up_axis: which coordinate points up in the plot (2 for z-up ModelNet data).
        columns: plots per row.
    """
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    n = len(clouds)
    cols = min(columns, n)
    rows = (n + cols - 1) // cols
    fig = plt.figure(figsize=(3.2 * cols, 3.2 * rows), dpi=dpi)
    for i, points in enumerate(clouds):
        ax = fig.add_subplot(rows, cols, i + 1, projection="3d")
        horizontal = [a for a in range(3) if a != up_axis]
        if len(points):
            xs, ys, zs = points[:, horizontal[0]], points[:, horizontal[1]], points[:, up_axis]
            ax.scatter(xs, ys, zs, c=zs, cmap="viridis", s=2, marker="s", depthshade=True)
            center = (points.min(axis=0) + points.max(axis=0)) / 2
            half = float(np.ptp(points, axis=0).max()) / 2 or 1.0
            c = center[[horizontal[0], horizontal[1], up_axis]]
            ax.set_xlim(c[0] - half, c[0] + half)
            ax.set_ylim(c[1] - half, c[1] + half)
            ax.set_zlim(c[2] - half, c[2] + half)
        ax.set_box_aspect((1, 1, 1))
        ax.view_init(elev=25, azim=-60)
        ax.set_axis_off()
        if titles is not None:
            ax.set_title(titles[i], fontsize=9)
    return _save_png(fig, path)


def shaded_image(
    verts: np.ndarray,
    faces: np.ndarray,
    size: int = 256,
    elevation: float = 25.0,
    azimuth: float = -60.0,
    up_axis: str = "z",
) -> np.ndarray:
    """Grey Lambertian render (our rasterizer) of a mesh normalised to the unit sphere, uint8 (H, W)."""
    from gan3d.render.renderer import render_mesh
    from gan3d.structures.cameras import orbit_cameras
    from gan3d.structures.mesh import Mesh

    unit = Mesh(np.asarray(verts, dtype=np.float64), np.asarray(faces)).normalized_to_unit_sphere()
    camera = orbit_cameras(elevation, azimuth, 2.2, size, 60.0, up_axis)  # type: ignore[arg-type]
    rendering = render_mesh(unit.verts, unit.faces, camera)
    return np.round(rendering.image.numpy() * 255).astype(np.uint8)


def grid_thumbnail(grid: np.ndarray, size: int = 128, threshold: float = 0.5) -> np.ndarray:
    """Shaded render of an occupancy grid's marching-cubes surface, uint8 (size, size); a blank
    (white) panel for an empty grid, so one empty sample never breaks a sheet."""
    from gan3d.errors import DataError
    from gan3d.export.mesh import voxels_to_mesh

    try:
        mesh = voxels_to_mesh(np.asarray(grid).squeeze(), threshold)
    except DataError:
        return np.full((size, size), 255, dtype=np.uint8)
    return shaded_image(mesh.verts, mesh.faces, size=size)


def plot_image_sheet(
    images: Sequence[np.ndarray],
    path: str | os.PathLike[str],
    titles: Sequence[str] | None = None,
    columns: int = 4,
    dpi: int = 100,
) -> Path:
    """Save many images (grey (H, W) or RGB (H, W, 3), uint8 or [0, 1]) as one captioned grid PNG."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    n = len(images)
    cols = min(columns, n)
    rows = (n + cols - 1) // cols
    fig, axes = plt.subplots(rows, cols, figsize=(2.6 * cols, 2.8 * rows), dpi=dpi, squeeze=False)
    for ax in axes.flat:
        ax.set_axis_off()
    for i, image in enumerate(images):
        ax = axes.flat[i]
        ax.imshow(image, cmap="gray" if image.ndim == 2 else None, vmin=0, vmax=255 if image.dtype == np.uint8 else 1)
        if titles is not None:
            ax.set_title(titles[i], fontsize=9)
    return _save_png(fig, path)


def plot_reconstruction(
    inputs: Sequence[np.ndarray],
    prediction: np.ndarray,
    target: np.ndarray | None,
    path: str | os.PathLike[str],
    dpi: int = 100,
) -> Path:
    """The reconstruction figure: input views | prediction | ground truth, one row."""
    images = [*inputs, prediction] + ([target] if target is not None else [])
    titles = (
        [f"input {i + 1}" for i in range(len(inputs))]
        + ["prediction"]
        + (["ground truth"] if target is not None else [])
    )
    return plot_image_sheet(images, path, titles, columns=len(images), dpi=dpi)


def read_metrics_csv(path: str | os.PathLike[str]) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """Lightning's `CSVLogger` metrics.csv as {metric: (steps, values)}, each series without its gaps."""
    import csv

    series: dict[str, tuple[list[float], list[float]]] = {}
    with open(path, newline="") as handle:
        for row in csv.DictReader(handle):
            step = float(row.get("step") or 0)
            for name, value in row.items():
                if name in ("step", "epoch") or value in (None, ""):
                    continue
                xs, ys = series.setdefault(name, ([], []))
                xs.append(step)
                ys.append(float(value))
    return {name: (np.asarray(xs), np.asarray(ys)) for name, (xs, ys) in series.items()}


def plot_training_curves(
    series: dict[str, tuple[np.ndarray, np.ndarray]],
    panels: Sequence[tuple[str, Sequence[tuple[str, str]]]],
    path: str | os.PathLike[str],
    smooth: int = 25,
    dpi: int = 100,
) -> Path:
    """One panel per (title, [(metric, label), ...]); raw values faint, a moving average on top.

    Metrics absent from `series` are skipped (a run too short to validate has no validation curve).
    """
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, len(panels), figsize=(4.6 * len(panels), 3.4), dpi=dpi, squeeze=False)
    for ax, (title, metrics) in zip(axes.flat, panels, strict=True):
        for i, (name, label) in enumerate(metrics):
            if name not in series:
                continue
            xs, ys = series[name]
            color = f"C{i}"
            if smooth > 1 and len(ys) >= 4 * smooth:  # dense per-step series: raw faint, average on top
                ax.plot(xs, ys, color=color, alpha=0.25, linewidth=0.8)
                kernel = np.ones(smooth) / smooth
                ax.plot(xs[smooth - 1 :], np.convolve(ys, kernel, mode="valid"), color=color, label=label)
            else:  # a few points (per-validation values): as they are
                ax.plot(xs, ys, color=color, marker="o", markersize=3, label=label)
        ax.set_title(title, fontsize=10)
        ax.set_xlabel("step")
        ax.grid(alpha=0.3)
        if ax.has_data():
            ax.legend(fontsize=8)
    return _save_png(fig, path)


def _save_png(fig, path: str | os.PathLike[str]) -> Path:  # noqa: ANN001
    """Write a matplotlib figure as PNG atomically and free it."""
    import matplotlib.pyplot as plt

    fig.tight_layout()
    target = Path(path)
    with atomic_path(target) as tmp:
        fig.savefig(tmp, format="png")
    plt.close(fig)
    return target
