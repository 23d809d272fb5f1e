"""A self-contained interactive 3D viewer page (plotly `Mesh3d`, JavaScript inlined: works offline)."""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from gan3d.files import write_text_atomic
from gan3d.structures.mesh import Mesh


def write_mesh_viewer(
    meshes: Sequence[Mesh], path: str | os.PathLike[str], titles: Sequence[str] | None = None, columns: int = 3
) -> Path:
    """Write one HTML page showing each mesh in its own rotatable, zoomable 3D scene.

    The plotly.js library is embedded in the page (about 4 MB), so it opens with no network.
    """
    html = mesh_viewer_figure(meshes, titles, columns).to_html(include_plotlyjs=True, full_html=True)
    target = Path(path)
    write_text_atomic(target, html)
    return target


def mesh_viewer_html(
    meshes: Sequence[Mesh], titles: Sequence[str] | None = None, columns: int = 3, panel_size: int = 300
) -> str:
    """The viewer as an HTML fragment (a `<div>` with plotly.js inlined) to embed in a larger page."""
    figure = mesh_viewer_figure(meshes, titles, columns, panel_size)
    return figure.to_html(include_plotlyjs=True, full_html=False)


def mesh_viewer_figure(  # noqa: ANN201
    meshes: Sequence[Mesh], titles: Sequence[str] | None = None, columns: int = 3, panel_size: int = 420
):
    """A plotly figure with one 3D scene (grey, flat-shaded `Mesh3d`) per mesh."""
    import plotly.graph_objects as go
    from plotly.subplots import make_subplots

    n = len(meshes)
    cols = min(columns, n)
    rows = (n + cols - 1) // cols
    fig = make_subplots(
        rows=rows,
        cols=cols,
        specs=[[{"type": "scene"}] * cols for _ in range(rows)],
        subplot_titles=list(titles) if titles is not None else None,
    )
    for i, mesh in enumerate(meshes):
        v, f = np.asarray(mesh.verts), np.asarray(mesh.faces)
        fig.add_trace(
            go.Mesh3d(
                x=v[:, 0],
                y=v[:, 1],
                z=v[:, 2],
                i=f[:, 0],
                j=f[:, 1],
                k=f[:, 2],
                color="lightgrey",
                flatshading=True,
                lighting={
                    "ambient": 0.35,
                    "diffuse": 0.8,
                    "specular": 0.1,
                    "facenormalsepsilon": 0,
                    "vertexnormalsepsilon": 0,
                },
                name=titles[i] if titles is not None else f"mesh {i + 1}",
            ),
            row=i // cols + 1,
            col=i % cols + 1,
        )
    fig.update_scenes(aspectmode="data", xaxis_visible=False, yaxis_visible=False, zaxis_visible=False)
    fig.update_layout(
        height=panel_size * rows, width=panel_size * cols, margin={"l": 0, "r": 0, "t": 40, "b": 0}, showlegend=False
    )
    return fig
