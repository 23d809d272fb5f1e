"""Callbacks every family shares: the inference export (config.json + model.safetensors) at the end of
training. Previews are per family (`voxel_previews.py`, ...), added by each module's `configure_callbacks`."""

from __future__ import annotations

from pathlib import Path

import lightning as L


class InferenceExportCallback(L.Callback):
    """At the end of training, write `<log_dir>/export/{config.json, model.safetensors}` for
    `gan3d sample` / `gan3d reconstruct` (no pickles; Lightning's .ckpt remain for resuming).

    The module writes its own export (`export_pretrained(directory)`), naming its family in config.json,
    so inference can dispatch on it.
    """

    def on_train_end(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        if trainer.is_global_zero and hasattr(pl_module, "export_pretrained"):
            pl_module.export_pretrained(Path(trainer.log_dir or trainer.default_root_dir) / "export")
