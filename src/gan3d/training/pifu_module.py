"""Training PIFu (§4.2, loss §4.5) with Lightning.

Each object of a batch comes with V posed views (`ShapeDataset(views=V, cameras=True)`) and Q labelled
query points in the cameras' world frame (`occupancy_points=Q`: surface points perturbed by N(0, σ²)
plus uniform box points, balanced inside/outside). The network sees the first `input_views` views and
predicts the occupancy of every query point; every hourglass stack's prediction is supervised (PIFu's
intermediate supervision), the loss being the mean over stacks of PIFuHD's λ-weighted BCE (§4.5) or
PIFu's MSE. Logged per step and epoch: the loss; validation also logs the point accuracy and the
point IoU (inside ∩ / inside ∪ at 0.5) of the last stack on the test split's fixed query points.
"""

from __future__ import annotations

import os
from typing import Any, Literal

import lightning as L
import torch

from gan3d.errors import ConfigError
from gan3d.losses.occupancy import occupancy_mse, weighted_occupancy_bce
from gan3d.models.pifu import Pifu
from gan3d.registry import get_model

LOSSES = {"bce": weighted_occupancy_bce, "mse": occupancy_mse}


class PifuModule(L.LightningModule):
    """Lightning module of `Pifu` (module docstring for the loss).

    Args:
        model: registered builder (`pifu_64`, `pifu_512`); model_kwargs: its overrides.
        lr: Adam's learning rate (PIFu's release: RMSprop at 1e-3; Adam at 1e-3 trains the CPU size
            faster here); weight_decay: Adam's L2 term.
        loss: "bce" (PIFuHD §4.5, λ-weighted) or "mse" (PIFu).
        input_views: how many of the item's views the network sees (1: single-view PIFu; more: PIFu's
            multi-view mode, features averaged over views).
        preview_every_n_epochs: a sheet of input | predicted occupancy slice | true slice in
            TensorBoard every N epochs (0: none).
        class_names: the data's classes (kept in exports).
    """

    FAMILY = "pifu"

    def __init__(
        self,
        model: str = "pifu_64",
        model_kwargs: dict[str, Any] | None = None,
        lr: float = 1e-3,
        weight_decay: float = 0.0,
        loss: Literal["bce", "mse"] = "bce",
        input_views: int = 1,
        preview_every_n_epochs: int = 5,
        class_names: list[str] | None = None,
    ) -> None:
        super().__init__()
        if loss not in LOSSES:
            raise ConfigError(f"loss must be one of {', '.join(LOSSES)}, got {loss!r}")
        if input_views < 1:
            raise ConfigError(f"input_views must be >= 1, got {input_views}")
        self.save_hyperparameters()
        self.model: Pifu = get_model(model, **(model_kwargs or {}))  # type: ignore[assignment]
        self.loss_fn = LOSSES[loss]

    def setup(self, stage: str) -> None:
        datamodule = getattr(self._trainer, "datamodule", None)
        if self.hparams.class_names is None and getattr(datamodule, "classes", None) is not None:
            self.hparams.class_names = list(datamodule.classes)

    def configure_optimizers(self) -> torch.optim.Optimizer:
        return torch.optim.Adam(self.model.parameters(), lr=self.hparams.lr, weight_decay=self.hparams.weight_decay)

    def configure_callbacks(self) -> list[L.Callback]:
        from gan3d.training.pifu_previews import PifuPreviewCallback

        every = self.hparams.preview_every_n_epochs
        return [PifuPreviewCallback(every_n_epochs=every)] if every > 0 else []

    def predict_logits(self, batch: dict[str, Any]) -> list[torch.Tensor]:
        """Logits (B, Q) of every stack for a batch: images (B, V, 3, H, W), cameras (B, V), query_points
        (B, Q, 3); the first `input_views` views are seen."""
        for key in ("images", "cameras", "query_points", "occupancy"):
            if key not in batch:
                raise ConfigError(f"PIFu needs batches with {key!r}: give the data views, cameras and occupancy_points")
        views = self.hparams.input_views
        if batch["images"].shape[1] < views:
            raise ConfigError(f"input_views is {views} but the data gives {batch['images'].shape[1]} views per object")
        return self.model(batch["images"][:, :views], batch["cameras"][:, :views], batch["query_points"])

    def _shared_step(self, batch: dict[str, Any], stage: str) -> torch.Tensor:
        logits = self.predict_logits(batch)
        labels = batch["occupancy"]
        loss = torch.stack([self.loss_fn(x, labels) for x in logits]).mean()
        n = len(labels)
        self.log(f"{stage}/loss", loss, on_step=stage == "train", on_epoch=True, batch_size=n, prog_bar=True)
        if stage == "val":
            predicted, truth = logits[-1] > 0, labels > 0.5
            inter = (predicted & truth).sum(-1).float()
            union = (predicted | truth).sum(-1).float().clamp(min=1)
            self.log("val/point_iou", (inter / union).mean(), batch_size=n, prog_bar=True)
            self.log("val/point_accuracy", (predicted == truth).float().mean(), batch_size=n)
        return loss

    def training_step(self, batch: dict[str, Any], batch_idx: int) -> torch.Tensor:
        return self._shared_step(batch, "train")

    def validation_step(self, batch: dict[str, Any], batch_idx: int) -> None:
        self._shared_step(batch, "val")

    def export_pretrained(self, directory: str | os.PathLike[str]) -> None:
        """Write the inference export (`config.json` + `model.safetensors`) of the last weights."""
        from gan3d.training.callbacks import export_last_weights

        export_last_weights(self, directory)
