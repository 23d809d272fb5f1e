"""Callbacks and helpers every family shares: the inference export (config.json + model.safetensors) at
the end of training, and preview sheets. Previews themselves are per family (`voxel_previews.py`, ...),
added by each module's `configure_callbacks`."""

from __future__ import annotations

import os
from pathlib import Path

import lightning as L
import numpy as np
import torch


class InferenceExportCallback(L.Callback):
    """At the end of training, write `<log_dir>/export/{config.json, model.safetensors}` for
    `gan3d sample` / `gan3d reconstruct` (no pickles; Lightning's .ckpt remain for resuming).

    The module writes its own export (`export_pretrained(directory)`), naming its family in config.json,
    so inference can dispatch on it.
    """

    def on_train_end(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        if trainer.is_global_zero and hasattr(pl_module, "export_pretrained"):
            pl_module.export_pretrained(Path(trainer.log_dir or trainer.default_root_dir) / "export")


def export_last_weights(module: L.LightningModule, directory: str | os.PathLike[str]) -> None:
    """Write `module.model` as an inference export (`config.json` + `model.safetensors`) of its last
    weights, with the module's `FAMILY`, builder (`hparams.model`) and `hparams.class_names`: the
    `export_pretrained` of families whose export is simply the network as it ended training."""
    from gan3d.export.checkpoint import save_pretrained

    save_pretrained(
        module.model,
        directory,
        builder=module.hparams.model,
        family=module.FAMILY,
        class_names=module.hparams.class_names,
        weights={"source": "end of training", "epoch": module.current_epoch, "step": module.global_step},
    )


def save_sheet(trainer: L.Trainer, sheet: torch.Tensor, name: str, tag: str) -> Path:
    """An RGB sheet (H, W, 3) in [0, 1] as `<log dir>/samples/<name>` and, with TensorBoard, image `tag`."""
    from PIL import Image

    image = (sheet.clamp(0, 1).cpu().numpy() * 255).astype(np.uint8)
    out_dir = Path(trainer.log_dir or trainer.default_root_dir) / "samples"
    out_dir.mkdir(parents=True, exist_ok=True)
    path = out_dir / name
    Image.fromarray(image).save(path)
    experiment = getattr(trainer.logger, "experiment", None)
    if hasattr(experiment, "add_image"):
        experiment.add_image(tag, image, global_step=trainer.global_step, dataformats="HWC")
    return path
