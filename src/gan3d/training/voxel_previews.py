"""Previews of the voxel family: sample sheets from fixed noise and validation reconstructions (§2.6's
figures), as PNGs beside the logs and images in TensorBoard."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import lightning as L
import numpy as np
import torch


class SampleSheetCallback(L.Callback):
    """Every `every_n_epochs` (20, as the paper), save a PNG sheet of samples from fixed noise and of
    reconstructions of fixed validation inputs, and add them to TensorBoard when it is the logger.

    Args:
        every_n_epochs: period in epochs (the last epoch is always drawn).
        n_samples: samples (and reconstructions) per sheet.
        seed: seed of the fixed noise.
    """

    def __init__(self, every_n_epochs: int = 20, n_samples: int = 8, seed: int = 0) -> None:
        self.every_n_epochs, self.n_samples, self.seed = every_n_epochs, n_samples, seed
        self._noise: torch.Tensor | None = None
        self._val_batch: dict[str, Any] | None = None

    def on_validation_batch_end(
        self,
        trainer: L.Trainer,
        pl_module: L.LightningModule,
        outputs: Any,
        batch: Any,
        batch_idx: int,
        dataloader_idx: int = 0,
    ) -> None:
        if self._val_batch is None and batch_idx == 0:
            self._val_batch = {k: v[: self.n_samples] for k, v in batch.items()}

    def on_train_epoch_end(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        epoch = trainer.current_epoch + 1
        last = trainer.max_epochs is not None and epoch >= trainer.max_epochs
        if not (epoch % self.every_n_epochs == 0 or last) or trainer.sanity_checking:
            return
        self.draw(trainer, pl_module, epoch)

    @torch.no_grad()
    def draw(self, trainer: L.Trainer, pl_module: L.LightningModule, epoch: int) -> list[Path]:
        from gan3d.training.generation_metrics import inference_weights

        with inference_weights(pl_module):  # a generator's moving average, where the module keeps one
            return self._draw(trainer, pl_module, epoch)

    def _draw(self, trainer: L.Trainer, pl_module: L.LightningModule, epoch: int) -> list[Path]:
        from gan3d.export.figures import grid_thumbnail, plot_image_sheet

        model = pl_module.model  # type: ignore[attr-defined]
        was_training = model.training
        model.eval()
        if self._noise is None:
            self._noise = model.sample_latent(self.n_samples, self.seed)
        sheets = {"samples": model.generate(self._noise.to(pl_module.device), model.cycling_labels(self.n_samples))}
        if model.encoder is not None and self._val_batch is not None:
            batch = {
                k: v.to(pl_module.device) if isinstance(v, torch.Tensor) else v for k, v in self._val_batch.items()
            }
            sheets["reconstructions"] = model.reconstruct(
                batch["images"], batch["label"] if model.num_classes else None
            )
            sheets["ground_truth"] = batch["voxels"]
        if was_training:
            model.train()
        out_dir = Path(trainer.log_dir or trainer.default_root_dir) / "samples"
        written = []
        for name, grids in sheets.items():
            images = [grid_thumbnail(grid[0], size=128) for grid in grids.cpu().numpy()]
            path = plot_image_sheet(images, out_dir / f"{name}_epoch{epoch:04d}.png", columns=4)
            written.append(path)
            experiment = getattr(trainer.logger, "experiment", None)
            if hasattr(experiment, "add_image"):
                from PIL import Image

                array = np.asarray(Image.open(path).convert("RGB"))
                experiment.add_image(f"sheets/{name}", array, global_step=trainer.global_step, dataformats="HWC")
        return written
