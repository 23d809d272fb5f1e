"""Previews of the PIFu family, as a PNG beside the logs and an image in TensorBoard: for fixed
validation objects, the input view | the predicted occupancy on the world's x-z plane (front slice,
z up) | on the y-z plane (side slice), both through the origin over [-1, 1]² (white: inside)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import lightning as L
import torch

from gan3d.training.callbacks import save_sheet


def slice_points(size: int, axis: int, device: torch.device | None = None) -> torch.Tensor:
    """(size², 3) points on the plane through the origin normal to world `axis` (0: x, 1: y), over
    [-1, 1]², row-major from the top (z = +1) down, so the slice reads as an image with z up."""
    t = (torch.arange(size, device=device, dtype=torch.float32) + 0.5) / size * 2 - 1
    rows, cols = torch.meshgrid(-t, t, indexing="ij")  # z down the rows, the other axis across
    zeros = torch.zeros_like(rows)
    across = (cols, zeros) if axis == 1 else (zeros, cols)
    return torch.stack([across[0], across[1], rows], dim=-1).reshape(-1, 3)


class PifuPreviewCallback(L.Callback):
    """Every `every_n_epochs` (and at the last epoch) draw the preview sheet of `n_objects` validation
    objects (module docstring)."""

    def __init__(self, every_n_epochs: int = 5, n_objects: int = 6, per_class: int = 2) -> None:
        self.every_n_epochs, self.n_objects, self.per_class = every_n_epochs, n_objects, per_class
        self._val_batch: dict[str, Any] | None = None
        self._picked: list[tuple[torch.Tensor, Any]] = []
        self._counts: dict[str, int] = {}

    def on_validation_batch_end(
        self,
        trainer: L.Trainer,
        pl_module: L.LightningModule,
        outputs: Any,
        batch: Any,
        batch_idx: int,
        dataloader_idx: int = 0,
    ) -> None:
        """Keep up to `per_class` objects of each class from the first validation pass (the loader is
        sorted by class: the first batch alone would show one class)."""
        if self._val_batch is not None or trainer.sanity_checking:
            return
        for i, name in enumerate(batch.get("class_name", [])):
            if self._counts.get(name, 0) < self.per_class and len(self._picked) < self.n_objects:
                self._counts[name] = self._counts.get(name, 0) + 1
                self._picked.append((batch["images"][i], batch["cameras"][i]))

    def on_validation_epoch_end(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        if self._val_batch is None and self._picked:
            from gan3d.structures.cameras import Cameras

            images = torch.stack([p[0] for p in self._picked])
            self._val_batch = {"images": images, "cameras": Cameras.stack([p[1] for p in self._picked])}

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
        views = getattr(pl_module.hparams, "input_views", 1)  # PIFuHD: one view
        images, cameras = batch["images"][:, :views], batch["cameras"][:, :views]
        size = images.shape[-1]
        points = torch.cat([slice_points(size, 1, images.device), slice_points(size, 0, images.device)])
        was_training = model.training
        model.eval()
        occupancy = model.occupancy(images, cameras, points[None].expand(len(images), -1, -1))
        if was_training:
            model.train()
        slices = occupancy.view(len(images), 2, size, size, 1).expand(-1, -1, -1, -1, 3)
        rows = [
            torch.cat([images[b, 0].permute(1, 2, 0), slices[b, 0], slices[b, 1]], dim=1) for b in range(len(images))
        ]
        return save_sheet(trainer, torch.cat(rows, dim=0), f"pifu_epoch{epoch:04d}.png", "sheets/pifu")
