"""The DIB-R family's inference entry: what `gan3d reconstruct` does with the single-image mesh predictor
(a coloured mesh and a figure of input | the prediction from 4 views around it). See
`gan3d.pipelines.loading`."""

from __future__ import annotations

import numpy as np
import torch
from torch import nn

from gan3d.errors import ConfigError
from gan3d.models.dibr_net import DibrNet, DibrPrediction
from gan3d.pipelines.loading import LoadedModel, ReconstructRequest, SampleRequest

__all__ = ["for_inference", "reconstruct_to_files", "sample_to_folder"]

FIGURE_AZIMUTHS = (0.0, 90.0, 180.0, 270.0)
SHEET_SIZE = 96  # pixels per render on the texture GAN's samples.png
SHEET_MAX = 16  # samples drawn on it (every sample gets its mesh)


def for_inference(model: nn.Module) -> nn.Module:
    """The predictor in eval mode (it has no layout to change)."""
    return model.eval()


def sample_to_folder(loaded: LoadedModel, request: SampleRequest) -> int:
    """The texture GAN (§3.4): `request.n` textured meshes from seeded noise, `sample_NNNN.obj` (+ .mtl
    + texture PNG; or `--format glb`) each, and `samples.png`: each sample rendered from two sides above
    its texture map. The single-image predictor does not generate from noise."""
    from PIL import Image

    from gan3d.export.mesh import export_mesh
    from gan3d.export.samples import sample_stems
    from gan3d.files import atomic_path
    from gan3d.models.texture_gan import TextureGanGenerator
    from gan3d.render.dibr import DibrSettings
    from gan3d.structures.cameras import Cameras, orbit_cameras

    model = loaded.model
    if not isinstance(model, TextureGanGenerator):
        raise ConfigError(f"{loaded.builder} predicts a mesh from an image: use gan3d reconstruct, not sample")
    if request.class_name is not None:
        raise ConfigError(f"{loaded.builder} is unconditional: --class does not apply")
    suffix = request.mesh_format or ".obj"
    request.out.mkdir(parents=True, exist_ok=True)
    stems = sample_stems(request.out, request.n)
    generator = torch.Generator().manual_seed(request.seed)
    size = SHEET_SIZE
    cameras = orbit_cameras(30.0, torch.tensor([45.0, 225.0]), 2.5, size)
    columns: list[np.ndarray] = []
    with torch.no_grad():
        for start in range(0, request.n, request.batch_size):
            count = min(request.batch_size, request.n - start)
            z, z_texture = model.noise(count, generator=generator)
            prediction = model(z, z_texture)
            views = Cameras.stack([cameras] * count).reshape(2 * count)  # object-major, like repeat_views
            colour, _, _ = model.render(prediction.repeat_views(2), views, DibrSettings(size, size))
            for offset in range(count):
                export_mesh(model.to_mesh(prediction, offset), stems[start + offset].with_suffix(suffix))
                if len(columns) < SHEET_MAX:
                    texture = prediction.texture[offset : offset + 1]
                    texture = torch.nn.functional.interpolate(texture, size=(size, size))
                    shown = [*colour[2 * offset : 2 * offset + 2].numpy(), texture[0].permute(1, 2, 0).numpy()]
                    columns.append(np.concatenate(shown, axis=0))
    sheet = np.concatenate(columns, axis=1)
    with atomic_path(request.out / "samples.png") as tmp:
        Image.fromarray((sheet.clip(0, 1) * 255).astype(np.uint8)).save(tmp, format="PNG")
    return 0


@torch.no_grad()
def predict_mesh(loaded: LoadedModel, request: ReconstructRequest) -> tuple[DibrPrediction, np.ndarray]:
    """(the prediction of batch 1, the network's input (S, S, 3)) of the first photo of `request`."""
    from gan3d.data.photos import prepare_photo
    from gan3d.io.images import load_view_image

    model = loaded.model
    size = model.image_size  # type: ignore[attr-defined]
    if len(request.images) != 1:
        raise ConfigError(f"{loaded.builder} reconstructs from one image; got {len(request.images)}")
    path = request.images[0]
    if request.prepare:
        image = prepare_photo(path, size).image
    else:
        image = load_view_image(path, size=size)
    return model(image[None].float()), image.numpy().transpose(1, 2, 0)


def reconstruct_to_files(loaded: LoadedModel, request: ReconstructRequest) -> int:
    """The coloured mesh at `request.out` (vertex colours: PLY / OBJ / GLB keep them; a texture: OBJ
    (+ MTL + PNG) / GLB) and a figure (`.png` beside it): the input, then the mesh rendered by DIB-R from
    four azimuths."""
    from PIL import Image

    from gan3d.export.mesh import export_mesh
    from gan3d.files import atomic_path
    from gan3d.render.dibr import DibrSettings
    from gan3d.structures.cameras import orbit_cameras

    model: DibrNet = loaded.model  # type: ignore[assignment]
    if request.resolution is not None:
        raise ConfigError(f"{loaded.builder} predicts a mesh directly: --resolution does not apply")
    prediction, shown = predict_mesh(loaded, request)
    export_mesh(model.to_mesh(prediction), request.out)
    size = shown.shape[0]
    cameras = orbit_cameras(30.0, torch.tensor(FIGURE_AZIMUTHS), 2.5, size)
    with torch.no_grad():
        colour, _, _ = model.render(prediction.repeat_views(len(FIGURE_AZIMUTHS)), cameras, DibrSettings(size, size))
    row = np.concatenate([shown, *colour.numpy()], axis=1)
    with atomic_path(request.out.with_suffix(".png")) as tmp:
        Image.fromarray((row.clip(0, 1) * 255).astype(np.uint8)).save(tmp, format="PNG")
    return 0
