"""One inference entry for every family: load an export or a training checkpoint, find its family, and
dispatch `gan3d sample` / `gan3d reconstruct` to that family's pipeline.

An export (`config.json` + `model.safetensors`) names its family in `config.json` (`"family"`); a
Lightning checkpoint names its LightningModule (`hyper_parameters._class_path`). Exports and checkpoints
written before families existed are the voxel family's. By convention a family's LightningModule keeps
its network as `self.model`, built by `gan3d.registry.get_model(hparams.model, **hparams.model_kwargs)`.

A family's pipeline module (`FAMILIES`) provides `for_inference(model) -> model`,
`sample_to_folder(loaded, SampleRequest) -> exit code` and
`reconstruct_to_files(loaded, ReconstructRequest) -> exit code`; a family whose reconstruction reads the
photos' cameras (`ReconstructRequest.cameras`) says so with `ACCEPTS_CAMERAS = True`.
"""

from __future__ import annotations

import importlib
import os
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType

from torch import nn

from gan3d.errors import CheckpointError, ConfigError

FAMILIES: dict[str, str] = {  # family -> its pipeline module
    "voxel_gan": "gan3d.pipelines.voxel_entry",
    "dibr": "gan3d.pipelines.dibr_entry",
    "pifu": "gan3d.pipelines.pifu_entry",
}
MODULE_FAMILIES: dict[str, str] = {  # module -> family
    "gan3d.training.vae_gan_module.VaeGanModule": "voxel_gan",
    "gan3d.training.dibr_module.DibrModule": "dibr",
    "gan3d.training.texture_gan_module.TextureGanModule": "dibr",
    "gan3d.training.pifu_module.PifuModule": "pifu",
    "gan3d.training.normal_module.NormalModule": "pifu",
    "gan3d.training.pifuhd_module.PifuHDModule": "pifu",
}
LEGACY_FAMILY = "voxel_gan"  # what exports and checkpoints without a family are
LEGACY_MODULE = "gan3d.training.vae_gan_module.VaeGanModule"  # the module of checkpoints without `_class_path`


@dataclass(frozen=True)
class LoadedModel:
    """A trained model in eval mode and what it was trained on.

    Attributes:
        model: the network (a registered builder's module).
        builder: the registered builder name.
        class_names: class names in label order (conditional models), or None.
        family: the family it belongs to (a key of `FAMILIES`).
    """

    model: nn.Module
    builder: str
    class_names: list[str] | None
    family: str = LEGACY_FAMILY


@dataclass(frozen=True)
class SampleRequest:
    """What `gan3d sample` asks of a family: `n` shapes from seeded noise into folder `out`."""

    out: Path
    n: int = 16
    class_name: str | None = None
    seed: int = 0
    threshold: float = 0.5
    mesh_format: str | None = ".obj"
    precision: str = "fp32"
    batch_size: int = 32
    jobs: int | None = None


@dataclass(frozen=True)
class ReconstructRequest:
    """What `gan3d reconstruct` asks of a family: one object from its photos, written to `out` (a mesh)
    and beside it; `prepare` first finds, crops and centres the object in each photo
    (`gan3d.data.photos.prepare_photo`)."""

    images: list[Path]
    out: Path
    class_name: str | None = None
    threshold: float = 0.5
    prepare: bool = True
    resolution: int | None = None  # grid cells per side for families that extract a surface (None: theirs)
    cameras: list[Path] | None = None  # a camera JSON per image, for families that read cameras


def family_pipeline(family: str) -> ModuleType:
    """The pipeline module of `family`."""
    if family not in FAMILIES:
        raise ConfigError(f"unknown model family {family!r}; this gan3d knows {', '.join(sorted(FAMILIES))}")
    return importlib.import_module(FAMILIES[family])


def load_model(path: str | os.PathLike[str]) -> LoadedModel:
    """Load an inference export folder (`config.json` + `model.safetensors`) or a Lightning `.ckpt`,
    ready for inference in its family's layout.

    Lightning checkpoints are read with `weights_only=True` (no unpickling of arbitrary objects); a
    generator's moving average, where training kept one, replaces the live generator, as in the export.
    """
    from gan3d.export.checkpoint import CONFIG_NAME, load_training_checkpoint
    from gan3d.registry import get_model, load_pretrained

    path = Path(path)
    if path.is_dir() or path.name == CONFIG_NAME:
        folder = path if path.is_dir() else path.parent
        model, config = load_pretrained(folder)
        family = str(config.get("family", LEGACY_FAMILY))
        prepared = family_pipeline(family).for_inference(model)
        return LoadedModel(prepared, config["builder"], config.get("class_names"), family)
    checkpoint = load_training_checkpoint(path)
    try:
        hp = checkpoint["hyper_parameters"]
        module = hp.get("_class_path", LEGACY_MODULE)
        if module not in MODULE_FAMILIES:
            raise CheckpointError(f"{path}: trained by {module}, which has no inference pipeline here")
        family = MODULE_FAMILIES[module]
        model = get_model(hp["model"], **(hp.get("model_kwargs") or {}))
        saved = checkpoint["state_dict"]
        state = {k[len("model.") :]: v for k, v in saved.items() if k.startswith("model.")}
        # a generator's moving average (`VaeGanModule(g_ema=...)`) is the generator inference uses
        ema = "generator_ema."
        state.update({"generator." + k[len(ema) :]: v for k, v in saved.items() if k.startswith(ema)})
        model.load_state_dict(state)
    except (KeyError, RuntimeError, TypeError, AttributeError) as err:
        raise CheckpointError(
            f"{path}: not a gan3d training checkpoint ({type(err).__name__}: {str(err)[:200]})"
        ) from None
    return LoadedModel(family_pipeline(family).for_inference(model), hp["model"], hp.get("class_names"), family)
