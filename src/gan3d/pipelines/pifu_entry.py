"""The PIFu family's inference entry: what `gan3d reconstruct` does with a pixel-aligned implicit
function (a watertight mesh from 1..V photos, and a figure of the inputs | the mesh from 4 azimuths).
See `gan3d.pipelines.loading`.

Cameras: a view rendered by `gan3d data render` / `gan3d data synth` (`<stem>_NNN.png` beside
`<stem>_views/NNN.json`) carries its camera, which is used, with the image as it is (no preparation:
cropping would move it off that camera); the mesh then comes out in the render's unit-sphere frame. A
photo carries none, so photo i of V is taken to be where the built-in views put their cameras
(`gan3d.data.render_views.ViewSettings`: 30° elevation, distance 2.2, 60° field of view), at azimuth
360° · i / V; the mesh comes out in that world frame (z up, the first view's camera at azimuth 0).
Prepared photos (`gan3d.data.photos`) are framed as those views are. Mixing the two is refused. Photos
given with their own cameras (`gan3d reconstruct --camera CAM.json` per photo, the view-JSON format)
are used as they are through those cameras, like gan3d's renders.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from torch import nn

from gan3d.errors import ConfigError
from gan3d.models.pifu import Pifu
from gan3d.models.pifuhd import PifuHD
from gan3d.ops.mise import ExtractionSettings, coarse_to_fine_occupancy
from gan3d.pipelines.loading import LoadedModel, ReconstructRequest, SampleRequest
from gan3d.structures.cameras import Cameras
from gan3d.structures.mesh import Mesh

__all__ = ["check_views", "for_inference", "reconstruct_mesh", "reconstruct_to_files", "sample_to_folder"]

ACCEPTS_CAMERAS = True  # `ReconstructRequest.cameras` is read (module docstring)
DEFAULT_RESOLUTION = 128  # CPU default of `gan3d reconstruct --resolution` (PIFu: 256, 512 on a GPU)
FIGURE_AZIMUTHS = (0.0, 90.0, 180.0, 270.0)
MAX_VIEWS = 16


def for_inference(model: nn.Module) -> nn.Module:
    """The network in eval mode (it has no layout to change)."""
    return model.eval()


def sample_to_folder(loaded: LoadedModel, request: SampleRequest) -> int:
    """PIFu reconstructs from images; it does not generate from noise."""
    if not isinstance(loaded.model, (Pifu, PifuHD)):
        raise ConfigError(f"{loaded.builder} predicts normal maps from photos; it does not sample from noise")
    raise ConfigError(f"{loaded.builder} reconstructs objects from photos: use gan3d reconstruct, not sample")


def default_cameras(views: int, size: int) -> Cameras:
    """The cameras of V photos (module docstring), batch shape (V,), sized `size`²."""
    from gan3d.data.render_views import ViewSettings, view_cameras

    return view_cameras(ViewSettings(views=views, size=size))


@dataclass(frozen=True)
class PifuReconstruction:
    """A reconstructed object: the mesh (world frame of the cameras), the occupancy grid it was
    extracted from ((R, R, R) over `bounds`, index order x, y, z), and how many points were queried."""

    mesh: Mesh
    grid: torch.Tensor
    queries: int
    bounds: tuple[float, float]


@torch.no_grad()
def reconstruct_mesh(
    model: Pifu | PifuHD, images: torch.Tensor, cameras: Cameras, settings: ExtractionSettings | None = None
) -> PifuReconstruction:
    """The surface `occupancy = settings.threshold` of one object seen in `images` (V, 3, S, S) in [0, 1]
    by `cameras` (V,) (default settings: 256³ from 32³; PIFuHD: one view, its fine level answers, the
    normal maps predicted by the normal network it carries): the image features are computed once, the
    occupancy on the grid coarse to fine (`gan3d.ops.mise`), the mesh by marching cubes. Raises
    `DataError` when nothing is inside."""
    from gan3d.export.mesh import voxels_to_mesh

    settings = settings or ExtractionSettings()
    device = next(model.parameters()).device
    batch_images, batch_cameras = images[None].to(device), cameras.reshape(1, -1).to(device)
    features = model.encode(batch_images)[-1]

    def occupancy(points: torch.Tensor) -> torch.Tensor:
        return torch.sigmoid(model.query(features, batch_cameras, points[None].to(device)))[0]

    grid, queries = coarse_to_fine_occupancy(occupancy, settings, device)
    lo, hi = settings.bounds
    mesh = voxels_to_mesh(grid.cpu().numpy(), settings.threshold, translate=np.full(3, lo), scale=hi - lo)
    return PifuReconstruction(mesh, grid, queries, settings.bounds)


def rendered_camera(path: Path) -> Path | None:
    """The camera JSON of a gan3d-rendered view (`<stem>_NNN.png` → `<stem>_views/NNN.json`), or None."""
    import re

    match = re.fullmatch(r"(?P<stem>.+)_(?P<view>\d{3,})\.png", path.name)
    if match is None:
        return None
    json_path = path.parent / f"{match['stem']}_views" / f"{match['view']}.json"
    return json_path if json_path.is_file() else None


def photo_cameras(paths: list[Path], size: int) -> tuple[Cameras, bool]:
    """(cameras (V,) sized `size`², whether they are the views' own) for the request's images (module
    docstring)."""
    from gan3d.data.render_views import load_camera

    found = [rendered_camera(p) for p in paths]
    if all(f is not None for f in found):
        return Cameras.stack([load_camera(f).resized(size, size) for f in found if f is not None]), True
    if any(f is not None for f in found):
        raise ConfigError("some views carry a camera (gan3d renders) and some do not: give one kind")
    return default_cameras(len(paths), size), False


def load_photos(request: ReconstructRequest, size: int, prepare: bool | None = None) -> torch.Tensor:
    """The request's photos as the network's input, (V, 3, size, size) in [0, 1]; `prepare` overrides
    the request's."""
    from gan3d.data.photos import prepare_photo
    from gan3d.io.images import load_view_image

    if not 1 <= len(request.images) <= MAX_VIEWS:
        raise ConfigError(f"PIFu reconstructs from 1 to {MAX_VIEWS} views; got {len(request.images)}")
    prepare = request.prepare if prepare is None else prepare
    images = []
    for path in request.images:
        image = prepare_photo(path, size).image if prepare else load_view_image(path, size=size)
        if image.shape[-1] != image.shape[-2]:
            raise ConfigError(f"{path}: views must be square (or prepared), got {image.shape[-1]}x{image.shape[-2]}")
        images.append(image.float())
    return torch.stack(images)


def check_views(model: Pifu | PifuHD, builder: str, views: int) -> None:
    """Refuse what a PIFuHD export cannot read: more than one view, or photos without the normal network
    its maps come from (PIFu's 1 to `MAX_VIEWS` views are checked where the photos are loaded)."""
    if isinstance(model, PifuHD) and views != 1:
        raise ConfigError(f"{builder} (PIFuHD) reconstructs from one view; got {views}")
    if isinstance(model, PifuHD) and model.normals and model.normal_net is None:
        raise ConfigError(f"{builder} reads normal maps but its export carries no normal network")


def reconstruct_to_files(loaded: LoadedModel, request: ReconstructRequest) -> int:
    """The mesh at `request.out` (`--resolution` cells per side, default 128) and a figure (`.png`
    beside it): the inputs, then the mesh from four azimuths (grey, head light)."""
    from PIL import Image

    from gan3d.export.mesh import export_mesh
    from gan3d.files import atomic_path
    from gan3d.render.dibr import DibrSettings
    from gan3d.render.headlit import render_headlit
    from gan3d.structures.cameras import orbit_cameras

    model: Pifu | PifuHD = loaded.model  # type: ignore[assignment]
    if not isinstance(model, (Pifu, PifuHD)):
        raise ConfigError(f"{loaded.builder} predicts normal maps (PIFuHD's input); it does not reconstruct alone")
    check_views(model, loaded.builder, len(request.images))
    if request.class_name is not None:
        raise ConfigError(f"{loaded.builder} is not conditional: --class does not apply")
    size = model.image_size
    if not 1 <= len(request.images) <= MAX_VIEWS:
        raise ConfigError(f"PIFu reconstructs from 1 to {MAX_VIEWS} views; got {len(request.images)}")
    if request.cameras:
        from gan3d.data.render_views import load_camera

        if len(request.cameras) != len(request.images):
            raise ConfigError(f"{len(request.cameras)} --camera files for {len(request.images)} images: give one each")
        cameras, own = Cameras.stack([load_camera(p).resized(size, size) for p in request.cameras]), True
    else:
        cameras, own = photo_cameras(request.images, size)
    images = load_photos(request, size, prepare=request.prepare and not own)
    resolution = request.resolution or DEFAULT_RESOLUTION
    settings = ExtractionSettings(resolution, min(32, resolution), request.threshold)
    result = reconstruct_mesh(model, images, cameras, settings)
    export_mesh(result.mesh, request.out)
    verts = torch.as_tensor(result.mesh.verts, dtype=torch.float32)
    faces = torch.as_tensor(result.mesh.faces, dtype=torch.int64)
    n = len(FIGURE_AZIMUTHS)
    cameras = orbit_cameras(30.0, torch.tensor(FIGURE_AZIMUTHS), 2.2, size)
    grey = torch.full((n, len(verts), 3), 0.7)
    with torch.no_grad():
        colour, _, _ = render_headlit(verts[None].expand(n, -1, -1), faces, grey, cameras, DibrSettings(size, size))
    shown = [im.permute(1, 2, 0).numpy() for im in images]
    row = np.concatenate([*shown, *colour.numpy()], axis=1)
    with atomic_path(request.out.with_suffix(".png")) as tmp:
        Image.fromarray((row.clip(0, 1) * 255).astype(np.uint8)).save(tmp, format="PNG")
    return 0
