"""Previews of the DIB-R family, as a PNG beside the logs and an image in TensorBoard: for the §3.3
predictor, fixed validation objects' input view | the predicted mesh rendered from the input view | from
an unseen view | that unseen view; for the §3.4 texture GAN, samples of fixed noise from two sides above
their textures."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import lightning as L
import torch

from gan3d.training.callbacks import save_sheet


class DibrPreviewCallback(L.Callback):
    """Every `every_n_epochs` (and at the last epoch) draw the preview sheet of `n_objects` validation
    objects (module docstring)."""

    def __init__(self, every_n_epochs: int = 10, n_objects: int = 6) -> None:
        self.every_n_epochs, self.n_objects = every_n_epochs, n_objects
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
            n = self.n_objects
            self._val_batch = {k: batch[k][:n] for k in ("images", "masks", "cameras")}

    def on_train_epoch_end(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        epoch = trainer.current_epoch + 1
        last = trainer.max_epochs is not None and epoch >= trainer.max_epochs
        if trainer.sanity_checking or self._val_batch is None or not (epoch % self.every_n_epochs == 0 or last):
            return
        self.draw(trainer, pl_module, epoch)

    @torch.no_grad()
    def draw(self, trainer: L.Trainer, pl_module: L.LightningModule, epoch: int) -> Path:

        assert self._val_batch is not None
        batch = {k: v.to(pl_module.device) for k, v in self._val_batch.items()}
        model = pl_module.model  # type: ignore[attr-defined]
        was_training = model.training
        model.eval()
        colour, _, _ = pl_module.render_views(model(batch["images"][:, 0]), batch["cameras"])  # type: ignore[attr-defined]
        if was_training:
            model.train()
        images = batch["images"].permute(0, 1, 3, 4, 2)  # (B, V, H, W, 3)
        unseen = min(1, images.shape[1] - 1)
        rows = [
            torch.cat([images[b, 0], colour[b, 0], colour[b, unseen], images[b, unseen]], dim=1)
            for b in range(len(images))
        ]
        return save_sheet(trainer, torch.cat(rows, dim=0), f"dibr_epoch{epoch:04d}.png", "sheets/dibr")


class TextureGanPreviewCallback(L.Callback):
    """Every `every_n_epochs` (and at the last epoch): `n_samples` generated meshes from fixed noise,
    rendered from two sides, above their texture maps (a PNG beside the logs and an image in TensorBoard)."""

    def __init__(self, every_n_epochs: int = 5, n_samples: int = 8, size: int = 64) -> None:
        self.every_n_epochs, self.n_samples, self.size = every_n_epochs, n_samples, size

    def on_train_epoch_end(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        epoch = trainer.current_epoch + 1
        last = trainer.max_epochs is not None and epoch >= trainer.max_epochs
        if not (epoch % self.every_n_epochs == 0 or last):
            return
        self.draw(trainer, pl_module, epoch)

    @torch.no_grad()
    def draw(self, trainer: L.Trainer, pl_module: L.LightningModule, epoch: int) -> Path:

        from gan3d.render.dibr import DibrSettings
        from gan3d.structures.cameras import Cameras, orbit_cameras

        model = pl_module.model  # type: ignore[attr-defined]
        was_training = model.training
        model.eval()
        z, z_texture = model.noise(self.n_samples, generator=torch.Generator(model.template.device).manual_seed(0))
        prediction = model(z, z_texture)
        if was_training:
            model.train()
        n, size = self.n_samples, self.size
        cameras = orbit_cameras(30.0, torch.tensor([45.0, 225.0]), 2.5, size).to(model.template.device)
        views = Cameras.stack([cameras] * n).reshape(2 * n)
        colour, _, _ = model.render(prediction.repeat_views(2), views, DibrSettings(size, size))
        texture = torch.nn.functional.interpolate(prediction.texture, size=(size, size)).permute(0, 2, 3, 1)
        columns = [torch.cat([colour[2 * i], colour[2 * i + 1], texture[i]], dim=0) for i in range(n)]
        sheet = torch.cat(columns, dim=1)
        return save_sheet(trainer, sheet, f"texture_gan_epoch{epoch:04d}.png", "sheets/texture_gan")
