"""Render the 12 MVCNN views of a mesh and save them with masks, depth and cameras.

Layout written by `save_views` for a mesh `<stem>` (MVCNN `modelnet40v1png` names for the images):

    OUT/<stem>_001.png ... <stem>_012.png   RGB: grey Lambertian shading on white, 224x224 (with
                                            `color=True`, the mesh's colours or texture times it)
    OUT/<stem>_views/001_mask.png           silhouette, 8-bit, 255 = object
    OUT/<stem>_views/001_depth.png          16-bit camera-space depth: value / depth_scale; 0 = background
    OUT/<stem>_views/001.json               camera (intrinsics, extrinsics, elevation, azimuth,
                                            distance) + the mesh normalisation, see `Cameras.to_dict`

Cameras live in the *normalised* frame (mesh centred and scaled into the unit sphere); the JSON's
`normalization` gives `center` and `radius` so that `normalised = (mesh_point - center) / radius`.
"""

from __future__ import annotations

import json
import os
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

from gan3d.files import atomic_path, write_text_atomic
from gan3d.render.renderer import Rendering, render_mesh
from gan3d.structures.cameras import Cameras, UpAxis, orbit_cameras
from gan3d.structures.mesh import Mesh

DEPTH_SCALE = 1000.0  # depth PNG units per world unit (the normalised mesh has radius 1)


@dataclass(frozen=True)
class ViewSettings:
    """Where the cameras are. Defaults are MVCNN's (Su et al. 2015): 12 views every 30 degrees of
    azimuth at 30 degrees elevation, object in the unit sphere, 224x224 images.

    Attributes:
        views: number of views, evenly spaced in azimuth.
        size: image side in pixels.
        elevation: camera elevation in degrees.
        distance: camera distance from the object centre (unit-sphere units).
        fov_y: vertical field of view in degrees; with distance 2.2 the unit sphere fills ~90%.
        up_axis: the mesh's up axis (ModelNet and our synthetic data: z; ShapeNet: y).
    """

    views: int = 12
    size: int = 224
    elevation: float = 30.0
    distance: float = 2.2
    fov_y: float = 60.0
    up_axis: UpAxis = "z"


def view_azimuths(settings: ViewSettings = ViewSettings()) -> list[float]:
    """Azimuth (degrees) of each view, view 1 at 0."""
    return [360.0 * i / settings.views for i in range(settings.views)]


def view_cameras(settings: ViewSettings = ViewSettings()) -> Cameras:
    """The cameras of `settings`, batch shape (views,), view 1 at azimuth 0."""
    return orbit_cameras(
        settings.elevation, view_azimuths(settings), settings.distance, settings.size, settings.fov_y, settings.up_axis
    )


def render_views(mesh: Mesh, settings: ViewSettings = ViewSettings(), color: bool = False) -> list[Rendering]:
    """Render `mesh`, normalised to the unit sphere, from every camera of `settings`; with `color`, in the
    mesh's vertex colours or texture (grey when it has none)."""
    unit = mesh.normalized_to_unit_sphere()
    cameras = view_cameras(settings)
    colors = (unit.vertex_colors, unit.uvs, unit.texture) if color else (None, None, None)
    return [render_mesh(unit.verts, unit.faces, cameras[i], *colors) for i in range(settings.views)]


def view_paths(out_dir: str | os.PathLike[str], stem: str, n_views: int) -> list[Path]:
    """The RGB image paths `save_views` writes, in view order."""
    return [Path(out_dir) / f"{stem}_{i:03d}.png" for i in range(1, n_views + 1)]


def save_views(
    renderings: list[Rendering],
    mesh: Mesh,
    out_dir: str | os.PathLike[str],
    stem: str,
    settings: ViewSettings = ViewSettings(),
) -> list[Path]:
    """Write images, masks, depth maps and camera JSONs in the layout of the module docstring.

    The RGB images are written last, so a view whose image exists is complete (resumable jobs check
    the images only).
    """
    from PIL import Image

    out_dir = Path(out_dir)
    extra_dir = out_dir / f"{stem}_views"
    center, radius = mesh.unit_sphere_normalization()
    images = view_paths(out_dir, stem, len(renderings))
    for i, (rendering, image_path) in enumerate(zip(renderings, images, strict=True), start=1):
        mask = rendering.mask.numpy()
        depth = rendering.depth.numpy()
        depth_png = np.where(mask, np.clip(np.round(depth * DEPTH_SCALE), 1, 65535), 0).astype(np.uint16)
        if rendering.color is not None:
            rgb = np.round(rendering.color.numpy() * 255.0).astype(np.uint8)
        else:
            rgb = np.stack([np.round(rendering.image.numpy() * 255.0).astype(np.uint8)] * 3, axis=-1)
        azimuth = view_azimuths(settings)[i - 1]
        orbit = {"elevation": settings.elevation, "azimuth": azimuth, "distance": settings.distance}
        meta = {
            "view": i,
            "camera": {**rendering.camera.to_dict(), **orbit},
            "normalization": {"center": center.tolist(), "radius": radius},
            "depth_scale": DEPTH_SCALE,
            "settings": asdict(settings),
        }
        write_text_atomic(extra_dir / f"{i:03d}.json", json.dumps(meta, indent=1))
        _save_png(Image.fromarray(mask.astype(np.uint8) * 255), extra_dir / f"{i:03d}_mask.png")
        _save_png(Image.fromarray(depth_png), extra_dir / f"{i:03d}_depth.png")
        _save_png(Image.fromarray(rgb), image_path)
    return images


def _read_view_json(path: Path) -> dict:
    from gan3d.errors import DataError

    try:
        data = json.loads(path.read_text())
    except FileNotFoundError:
        raise DataError(path, "no such file") from None
    except (json.JSONDecodeError, UnicodeDecodeError) as err:
        raise DataError(path, f"not valid JSON ({err})") from None
    if not isinstance(data, dict):
        raise DataError(path, "not a view description (expected a JSON object)")
    return data


def read_normalization(json_path: str | os.PathLike[str]) -> tuple[np.ndarray, float]:
    """The (center, radius) of a view JSON: `normalised = (mesh_point - center) / radius`."""
    from gan3d.errors import DataError

    path = Path(json_path)
    try:
        norm = _read_view_json(path)["normalization"]
        center, radius = np.asarray(norm["center"], dtype=np.float64).reshape(3), float(norm["radius"])
    except (KeyError, TypeError, ValueError) as err:
        raise DataError(path, f"malformed normalization ({type(err).__name__}: {err})") from None
    if not (np.isfinite(center).all() and np.isfinite(radius) and radius > 0):
        raise DataError(path, "malformed normalization (non-finite centre or non-positive radius)")
    return center, radius


def load_camera(json_path: str | os.PathLike[str]) -> Cameras:
    """The camera (batch shape ()) of one view from its JSON file."""
    path = Path(json_path)
    data = _read_view_json(path)
    camera = data.get("camera", data)
    return Cameras.from_dict(camera if isinstance(camera, dict) else {}, str(path))


def _save_png(image: object, path: Path) -> None:
    with atomic_path(path) as tmp:
        image.save(tmp, format="PNG")  # type: ignore[attr-defined]
