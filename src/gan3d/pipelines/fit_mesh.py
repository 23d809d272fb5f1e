"""Multi-view mesh fitting with DIB-R: deform a template until its renders match the posed views.

The end-to-end use of the renderer (Kaolin's DIB-R tutorial; photogrammetry in the paper's introduction):
given V views of one object with their cameras and masks (`gan3d.data.object_views`), optimise per-vertex
offsets of a template and per-vertex albedo with Adam, minimising over a few random views per step

    w_sil · L_IoU(soft silhouette, mask)                      (§3.3; the DIB-R background term's gradients)
  + w_col · L1(albedo × head-light shading, image) on the pixels both silhouettes cover
  + w_smooth · Σ_e (cos θ_e + 1)²  +  w_lap · ‖L δ‖²           (§3.3 regularisers on the offsets δ)

coarse to fine: a 642-vertex icosphere first, then each stage subdivides the fitted mesh (4× the faces)
and continues, up to `vertices`. The shading is the same head-light Lambertian that `gan3d data render`
draws its grey views with, so the albedo of a grey object comes out uniform and the shading's gradient
helps the geometry.

Templates: "sphere" (radius 0.5 at the origin of the unit-sphere frame), or "hull": the visual hull of
the masks (voxels whose projection lies inside every mask), onto which the sphere is shrink-wrapped
radially from the hull's centroid (the outermost hull point along each vertex direction). The hull
start keeps the object's extent from the first step; template deformation cannot change the genus, so
holes (a chair's back slats, the gap under a seat) stay closed (a known limit, README).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from typing import Any, Literal

import numpy as np
import torch

from gan3d.data.object_views import ObjectViews
from gan3d.errors import ConfigError, DataError
from gan3d.losses.mesh_regularizers import interior_edges, laplacian_loss, smoothness_loss, uniform_laplacian
from gan3d.losses.silhouette import color_l1_loss, silhouette_iou_loss
from gan3d.render.dibr import DibrSettings
from gan3d.render.headlit import render_headlit
from gan3d.render.rasterize import RasterSettings, rasterize
from gan3d.structures.cameras import Cameras
from gan3d.structures.mesh import Mesh

ICOSPHERE_VERTICES = {642: 3, 2562: 4, 10242: 5}  # icosphere subdivision level of each template size
Start = Literal["sphere", "hull"]


@dataclass(frozen=True)
class FitSettings:
    """Settings of `fit_mesh` (module docstring).

    Attributes:
        vertices: final vertex count, 642, 2562 or 10242 (icosphere levels 3-5); every stage from 642
            up is fitted in turn (coarse to fine).
        start: "sphere" or "hull" (visual hull of the masks).
        steps: Adam steps over all stages, split evenly (400: about 45 s for 12 views at 128 px on 2 cores).
        views_per_step: random views rendered per step (all views when larger than V).
        lr_verts, lr_color: Adam learning rates of the offsets (unit-sphere units; halved at each
            subdivision, as the edges are) and of the albedo logits.
        silhouette_weight, color_weight, smoothness_weight, laplacian_weight: loss weights (the
            smoothness term is taken per edge, the Laplacian per vertex, so they hold at every stage).
        hull_resolution: voxels per side of the visual-hull grid over [-1, 1]^3.
        sigmainv: DIB-R's soft-silhouette sharpness per pixel² (`DibrSettings`), for 128 px images;
            scaled by (128 / size)² so the reach in image fractions stays the same. Sharp (5: the soft
            edge fades within a pixel) because a wider soft edge biases the fitted silhouette inwards:
            on the bunny (12 views, 128 px) 0.5 gives a view IoU of 0.81, 2 gives 0.90, 5 gives 0.93.
        sigmainv_start: the sharpness at the first step, raised geometrically to `sigmainv` over the
            first half of the steps (SoftRas-style annealing): a soft edge reaching a few pixels pulls a
            template that is far from the silhouette, the sharp one then places the edge.
        seed: the view order.
    """

    vertices: int = 2562
    start: Start = "hull"
    steps: int = 400
    views_per_step: int = 4
    lr_verts: float = 0.01
    lr_color: float = 0.05
    silhouette_weight: float = 1.0
    color_weight: float = 1.0
    smoothness_weight: float = 0.3
    laplacian_weight: float = 5.0
    hull_resolution: int = 64
    sigmainv: float = 5.0
    sigmainv_start: float = 0.2
    seed: int = 0

    def __post_init__(self) -> None:
        if self.vertices not in ICOSPHERE_VERTICES:
            raise ConfigError(f"vertices must be one of {', '.join(map(str, ICOSPHERE_VERTICES))}, got {self.vertices}")
        if self.start not in ("sphere", "hull"):
            raise ConfigError(f"start must be 'sphere' or 'hull', got {self.start!r}")
        if self.steps < 1 or self.views_per_step < 1 or not 8 <= self.hull_resolution <= 256:
            raise ConfigError("steps and views_per_step must be >= 1, hull_resolution in [8, 256]")
        if not 0 < self.sigmainv_start <= self.sigmainv:
            raise ConfigError(f"need 0 < sigmainv_start <= sigmainv, got {self.sigmainv_start}, {self.sigmainv}")


@dataclass(frozen=True)
class FitResult:
    """What a fit gives.

    Attributes:
        mesh: the fitted mesh with vertex colours (albedo), in the views' unit-sphere frame.
        start: the template the fit started from (same frame).
        history: one entry per logged step: step, stage, vertices and each loss term.
        view_iou: hard-silhouette IoU of the fitted mesh in every view, (V,).
        start_view_iou: the same for the template.
        seconds: wall time of the optimisation.
        settings: the settings used.
    """

    mesh: Mesh
    start: Mesh
    history: list[dict[str, float]]
    view_iou: list[float]
    start_view_iou: list[float]
    seconds: float
    settings: FitSettings = field(repr=False)

    def summary(self) -> dict[str, Any]:
        """JSON-ready: settings, time, silhouette IoU before/after, the loss history."""
        return {
            "settings": asdict(self.settings),
            "seconds": self.seconds,
            "vertices": len(self.mesh.verts),
            "faces": len(self.mesh.faces),
            "silhouette_iou": {"start": float(np.mean(self.start_view_iou)), "fit": float(np.mean(self.view_iou))},
            "view_iou": {"start": self.start_view_iou, "fit": self.view_iou},
            "history": self.history,
        }


def icosphere(vertices: int, radius: float = 0.5, center: np.ndarray | None = None) -> Mesh:
    """An icosphere of `vertices` vertices (642, 2562, 10242), outward-facing counter-clockwise faces."""
    import trimesh

    sphere = trimesh.creation.icosphere(subdivisions=ICOSPHERE_VERTICES[vertices], radius=radius)
    verts = np.asarray(sphere.vertices, dtype=np.float64) + (0.0 if center is None else center)
    return Mesh(verts, np.asarray(sphere.faces, dtype=np.int64))


def visual_hull(masks: torch.Tensor, cameras: Cameras, resolution: int = 64, extent: float = 1.05) -> np.ndarray:
    """Occupancy (R, R, R) of the voxels over [-extent, extent]^3 (index order x, y, z) whose centre
    projects inside every mask (V, H, W); a centre outside an image or behind a camera is carved."""
    axis = (torch.arange(resolution, dtype=torch.float32) + 0.5) / resolution * 2 * extent - extent
    grid = torch.stack(torch.meshgrid(axis, axis, axis, indexing="ij"), -1).reshape(-1, 3)
    inside = torch.ones(len(grid), dtype=torch.bool)
    for i in range(len(cameras)):
        screen = cameras[i].project(grid)
        height, width = masks.shape[-2:]
        col, row = screen[:, 0].floor().long(), screen[:, 1].floor().long()
        seen = (screen[:, 2] > 0) & (col >= 0) & (col < width) & (row >= 0) & (row < height)
        hit = torch.zeros_like(inside)
        hit[seen] = masks[i][row[seen], col[seen]] > 0.5
        inside &= hit
    return inside.reshape(resolution, resolution, resolution).numpy()


def hull_template(hull: np.ndarray, vertices: int, extent: float = 1.05) -> Mesh:
    """Shrink-wrap an icosphere onto a visual hull: each vertex moves, along its direction from the
    hull's centroid, to the outermost occupied point (a star-shaped cover of the hull)."""
    resolution = hull.shape[0]
    if not hull.any():
        raise DataError("<masks>", "the masks carve the whole volume away: cameras and masks do not agree")
    cell = 2 * extent / resolution
    occupied = np.argwhere(hull)
    centroid = (occupied.mean(0) + 0.5) * cell - extent
    sphere = icosphere(vertices, radius=1.0)
    directions = sphere.verts
    radii = np.linspace(0.0, 2 * extent * np.sqrt(3), 4 * resolution)
    points = centroid + directions[:, None, :] * radii[None, :, None]  # (V, T, 3)
    index = np.floor((points + extent) / cell).astype(np.int64)
    valid = ((index >= 0) & (index < resolution)).all(-1)
    clipped = index.clip(0, resolution - 1)
    hit = valid & hull[clipped[..., 0], clipped[..., 1], clipped[..., 2]]
    last = np.where(hit.any(1), hit.shape[1] - 1 - np.argmax(hit[:, ::-1], axis=1), 0)
    reach = np.maximum(radii[last] + cell / 2, cell)
    return Mesh(centroid + directions * reach[:, None], sphere.faces)


def render_fit(
    verts: torch.Tensor, faces: torch.Tensor, albedo: torch.Tensor, cameras: Cameras, settings: DibrSettings
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """(colour (N, H, W, 3) on white, soft silhouette (N, H, W), hard mask (N, H, W)) of one mesh
    (verts (V, 3), faces (F, 3), albedo (V, 3) in [0, 1]) seen by N cameras."""
    n = len(cameras)
    return render_headlit(verts[None].expand(n, -1, -1), faces, albedo[None].expand(n, -1, -1), cameras, settings)


def _view_iou(verts: torch.Tensor, faces: torch.Tensor, views: ObjectViews) -> list[float]:
    """Hard-silhouette IoU of a mesh (verts (V, 3)) with every view's mask: the z-buffer's coverage
    alone, no soft silhouette or shading."""
    height, width = views.masks.shape[-2:]
    out = []
    with torch.no_grad():
        for i in range(len(views)):
            mask = rasterize(views.cameras[i].project(verts), faces, RasterSettings(height, width)).mask
            target = views.masks[i] > 0.5
            out.append(float((mask & target).sum() / (mask | target).sum().clamp(min=1)))
    return out


def _subdivide(verts: np.ndarray, faces: np.ndarray, albedo: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Midpoint subdivision (4x the faces), the albedo averaged onto the new vertices."""
    import trimesh

    new_verts, new_faces, attributes = trimesh.remesh.subdivide(verts, faces, vertex_attributes={"albedo": albedo})
    return new_verts, new_faces, attributes["albedo"]


def start_mesh(views: ObjectViews, settings: FitSettings, vertices: int = 642) -> Mesh:
    """The template of `settings.start` with `vertices` vertices, in the views' frame."""
    if settings.start == "sphere":
        return icosphere(vertices)
    return hull_template(visual_hull(views.masks, views.cameras, settings.hull_resolution), vertices)


def fit_mesh(
    views: ObjectViews,
    settings: FitSettings = FitSettings(),
    on_step: Callable[[int, int, dict[str, float]], None] | None = None,
    log_every: int = 10,
) -> FitResult:
    """Fit a coloured mesh to posed views (module docstring); `on_step(step, total, losses)` after every step."""
    size = views.images.shape[1]
    scale = (128 / size) ** 2

    def sharpness(step: int) -> DibrSettings:
        ramp = min(1.0, step / max(1.0, settings.steps / 2))
        value = settings.sigmainv_start * (settings.sigmainv / settings.sigmainv_start) ** ramp
        return DibrSettings(size, views.images.shape[2], sigmainv=value * scale)

    stages = [v for v in ICOSPHERE_VERTICES if v <= settings.vertices]
    per_stage = [
        settings.steps // len(stages) + (1 if k < settings.steps % len(stages) else 0) for k in range(len(stages))
    ]
    start = start_mesh(views, settings)
    rng = np.random.default_rng(settings.seed)
    verts_np, faces_np = start.verts, start.faces
    albedo_np = np.full((len(verts_np), 3), 0.8)
    history: list[dict[str, float]] = []
    began, step = time.perf_counter(), 0
    k = min(settings.views_per_step, len(views))
    for stage, steps in enumerate(per_stage):
        if stage > 0:
            verts_np, faces_np, albedo_np = _subdivide(verts_np, faces_np, albedo_np)
        base = torch.as_tensor(verts_np, dtype=torch.float32)
        faces = torch.as_tensor(faces_np, dtype=torch.long)
        edges, laplacian = interior_edges(faces), uniform_laplacian(faces, len(base))
        offsets = torch.zeros_like(base, requires_grad=True)
        logits = torch.logit(torch.as_tensor(albedo_np, dtype=torch.float32).clamp(1e-3, 1 - 1e-3)).requires_grad_(True)
        optimizer = torch.optim.Adam(
            [{"params": [offsets], "lr": settings.lr_verts / 2**stage}, {"params": [logits], "lr": settings.lr_color}]
        )
        for _ in range(steps):
            pick = torch.as_tensor(rng.choice(len(views), size=k, replace=False))
            verts = base + offsets
            colour, soft, mask = render_fit(verts, faces, torch.sigmoid(logits), views.cameras[pick], sharpness(step))
            target_mask = views.masks[pick]
            terms = {
                "silhouette": silhouette_iou_loss(soft, target_mask),
                "color": color_l1_loss(colour, views.images[pick], mask & (target_mask > 0.5)),
                "smoothness": smoothness_loss(verts, faces, edges) / len(edges[0]),  # per edge: any resolution
                "laplacian": laplacian_loss(offsets, faces, laplacian),
            }
            loss = (
                settings.silhouette_weight * terms["silhouette"]
                + settings.color_weight * terms["color"]
                + settings.smoothness_weight * terms["smoothness"]
                + settings.laplacian_weight * terms["laplacian"]
            )
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            step += 1
            values = {name: float(v.detach()) for name, v in terms.items()} | {"total": float(loss.detach())}
            if step % log_every == 0 or step == 1 or step == settings.steps:
                history.append({"step": step, "stage": stage, "vertices": len(verts_np), **values})
            if on_step is not None:
                on_step(step, settings.steps, values)
        verts_np = (base + offsets).detach().double().numpy()
        albedo_np = torch.sigmoid(logits).detach().double().numpy()
    seconds = time.perf_counter() - began
    fitted = Mesh(verts_np, faces_np.astype(np.int64), vertex_colors=albedo_np.astype(np.float32))
    faces_t = torch.as_tensor(faces_np, dtype=torch.long)
    return FitResult(
        mesh=fitted,
        start=start,
        history=history,
        view_iou=_view_iou(torch.as_tensor(verts_np, dtype=torch.float32), faces_t, views),
        start_view_iou=_view_iou(
            torch.as_tensor(start.verts, dtype=torch.float32), torch.as_tensor(start.faces), views
        ),
        seconds=seconds,
        settings=settings,
    )


def preview_images(views: ObjectViews, result: FitResult, count: int = 4) -> tuple[list[np.ndarray], list[str], int]:
    """The before/after figure's images: `count` evenly spaced views, then the start and the fit
    rendered from the same cameras (the fit in its albedo, head-light shaded), row by row; with titles
    and the column count, for `gan3d.export.figures.plot_image_sheet`."""
    from gan3d.render.renderer import render_mesh

    picks = np.linspace(0, len(views) - 1, min(count, len(views))).round().astype(int)
    rows: list[list[np.ndarray]] = [[], [], []]
    titles: list[list[str]] = [[], [], []]
    for i in picks:
        camera = views.cameras[int(i)]
        rows[0].append(views.images[i].numpy())
        titles[0].append(f"view {i + 1}")
        start = render_mesh(result.start.verts, result.start.faces, camera)
        rows[1].append(np.stack([start.image.numpy()] * 3, -1))
        titles[1].append(f"start IoU {result.start_view_iou[i]:.2f}")
        fit = render_mesh(result.mesh.verts, result.mesh.faces, camera, result.mesh.vertex_colors)
        rows[2].append(fit.color.numpy() if fit.color is not None else np.stack([fit.image.numpy()] * 3, -1))
        titles[2].append(f"fit IoU {result.view_iou[i]:.2f}")
    return [im for row in rows for im in row], [t for row in titles for t in row], len(picks)
