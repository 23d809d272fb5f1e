"""Training PIFuHD (§4.3, loss §4.5) with Lightning: both levels in one run.

Each object comes with one posed view at the fine resolution and Q labelled query points
(`ShapeDataset(views=1, cameras=True, occupancy_points=Q)`, as PIFu). A step encodes the coarse level
on the downscaled image and the fine level on a random `crop_size` window of the full image (PIFuHD's
sliding window), both reading the front/back normal maps (§4.4): by default those the carried normal
network predicts (`normal_net`: an export of `configs/pifuhd_normals.yaml`, frozen: trained on its own,
§4.5's L_N), so training sees the maps inference will see; `train_normals="truth"` feeds the rendered
maps instead (the data must give `normal_maps`). The loss is the coarse level's λ-weighted BCE (§4.5)
averaged over its stacks (all query points) plus `fine_weight` × the fine level's on the points that
project into its window; Ω(X) is detached by default, so the fine level learns on a coarse level it
does not move (PIFuHD trains the fine level with the coarse one fixed).

Validation runs as inference does (the whole image, predicted normals) and logs the point IoU and
accuracy of the fine level (`val/point_iou`, the answer) and of the coarse one (`val/point_iou_coarse`).
"""

from __future__ import annotations

import os
from typing import Any, Literal

import lightning as L
import torch

from gan3d.errors import ConfigError
from gan3d.models.normal_net import NormalNet
from gan3d.models.pifuhd import PifuHD, crop_offsets
from gan3d.registry import get_model, load_pretrained
from gan3d.training.pifu_module import LOSSES


def _point_iou(logits: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
    """Mean over objects of inside ∩ / inside ∪ at 0.5, logits and labels (B, Q)."""
    predicted, truth = logits > 0, labels > 0.5
    return ((predicted & truth).sum(-1).float() / (predicted | truth).sum(-1).float().clamp(min=1)).mean()


class PifuHDModule(L.LightningModule):
    """Lightning module of `PifuHD` (module docstring for the step and the loss).

    Args:
        model: registered builder (`pifuhd_128`, `pifuhd_1024`); model_kwargs: its overrides.
        normal_net: folder of a `NormalModule` export whose network PIFuHD carries and reads (required
            when the model reads normal maps; `model_kwargs: {normals: false}` trains without them).
        train_normals: "predicted" (the carried network's maps, as at test time) or "truth" (rendered).
        lr: Adam's learning rate (as `PifuModule`).
        loss: "bce" (PIFuHD §4.5, λ-weighted) or "mse" (PIFu).
        fine_weight: weight of the fine level's loss beside the coarse level's.
        detach_omega: stop the fine level's gradient at Ω(X) (PIFuHD: the coarse level is fixed while
            the fine one trains).
        preview_every_n_epochs: occupancy slices in TensorBoard every N epochs (0: none).
        class_names: the data's classes (kept in exports).
    """

    FAMILY = "pifu"

    def __init__(
        self,
        model: str = "pifuhd_128",
        model_kwargs: dict[str, Any] | None = None,
        normal_net: str | None = None,
        train_normals: Literal["predicted", "truth"] = "predicted",
        lr: float = 1e-3,
        loss: Literal["bce", "mse"] = "bce",
        fine_weight: float = 1.0,
        detach_omega: bool = True,
        preview_every_n_epochs: int = 5,
        class_names: list[str] | None = None,
    ) -> None:
        super().__init__()
        if loss not in LOSSES:
            raise ConfigError(f"loss must be one of {', '.join(LOSSES)}, got {loss!r}")
        if train_normals not in ("predicted", "truth"):
            raise ConfigError(f"train_normals must be 'predicted' or 'truth', got {train_normals!r}")
        if fine_weight < 0:
            raise ConfigError(f"fine_weight must be >= 0, got {fine_weight}")
        kwargs = dict(model_kwargs or {})
        predictor: NormalNet | None = None
        if normal_net is not None:
            loaded, config = load_pretrained(normal_net)
            if not isinstance(loaded, NormalNet):
                raise ConfigError(f"{normal_net}: not a normal-map network export ({config['builder']})")
            predictor, kwargs["normal_net"] = loaded, dict(config["kwargs"])
        else:
            kwargs["normal_net"] = None  # never an untrained normal network (the builder's default shape)
        self.save_hyperparameters()
        self.hparams["model_kwargs"] = kwargs  # the normal network's shape too: checkpoints rebuild the model
        try:
            self.model: PifuHD = get_model(model, **kwargs)  # type: ignore[assignment]
        except ValueError as err:
            raise ConfigError(f"{model}: {err}") from None
        if not isinstance(self.model, PifuHD):
            raise ConfigError(f"{model} is not a PIFuHD model")
        if self.model.normals and predictor is None:
            raise ConfigError(
                "PIFuHD reads normal maps: give normal_net (the export of a `gan3d train --config "
                "configs/pifuhd_normals.yaml` run), or model_kwargs {normals: false}"
            )
        if predictor is not None:
            assert self.model.normal_net is not None
            self.model.normal_net.load_state_dict(predictor.state_dict())
        if self.model.normal_net is not None:
            self.model.normal_net.requires_grad_(False)
        self.loss_fn = LOSSES[loss]

    def setup(self, stage: str) -> None:
        datamodule = getattr(self._trainer, "datamodule", None)
        if self.hparams.class_names is None and getattr(datamodule, "classes", None) is not None:
            self.hparams.class_names = list(datamodule.classes)

    def configure_optimizers(self) -> torch.optim.Optimizer:
        trainable = [p for p in self.model.parameters() if p.requires_grad]
        return torch.optim.Adam(trainable, lr=self.hparams.lr)

    def configure_callbacks(self) -> list[L.Callback]:
        from gan3d.training.pifu_previews import PifuPreviewCallback

        every = self.hparams.preview_every_n_epochs
        return [PifuPreviewCallback(every_n_epochs=every)] if every > 0 else []

    def _levels(self, batch: dict[str, Any], stage: str) -> tuple[list[torch.Tensor], torch.Tensor, torch.Tensor]:
        for key in ("images", "cameras", "query_points", "occupancy"):
            if key not in batch:
                raise ConfigError(
                    f"PIFuHD needs batches with {key!r}: give the data views, cameras and occupancy_points"
                )
        images, cameras = batch["images"][:, :1], batch["cameras"][:, :1]
        if images.shape[-1] != self.model.image_size:
            raise ConfigError(
                f"{self.hparams.model} reads {self.model.image_size} px views; the data gives {images.shape[-1]}"
            )
        normal_maps = None
        training = stage == "train"
        truth = training and self.hparams.train_normals == "truth"
        if self.model.normals and (self.model.normal_net is None or truth):
            if "normal_maps" not in batch:
                raise ConfigError("train_normals 'truth' needs batches with 'normal_maps': give the data normal_maps")
            normal_maps = batch["normal_maps"][:, :1]
        offsets = None
        if training:
            offsets = crop_offsets(len(images), self.model.image_size, self.model.crop_size).to(images.device)
        features = self.model.encode(images, normal_maps, offsets)[-1]
        detach = self.hparams.detach_omega
        return self.model.query_levels(features, cameras, batch["query_points"], detach_omega=detach)

    def _shared_step(self, batch: dict[str, Any], stage: str) -> torch.Tensor:
        coarse, fine, inside = self._levels(batch, stage)
        labels = batch["occupancy"]
        loss_coarse = torch.stack([self.loss_fn(x, labels) for x in coarse]).mean()
        loss_fine = self.loss_fn(fine[inside], labels[inside]) if inside.any() else fine.sum() * 0
        loss = loss_coarse + self.hparams.fine_weight * loss_fine
        n = len(labels)
        self.log(f"{stage}/loss_coarse", loss_coarse, batch_size=n)
        self.log(f"{stage}/loss_fine", loss_fine, batch_size=n)
        self.log(f"{stage}/loss", loss, on_step=stage == "train", on_epoch=True, batch_size=n, prog_bar=True)
        if stage == "train":
            self.log("train/window_share", inside.float().mean(), batch_size=n)
        if stage == "val":
            self.log("val/point_iou", _point_iou(fine, labels), batch_size=n, prog_bar=True)
            self.log("val/point_iou_coarse", _point_iou(coarse[-1], labels), batch_size=n)
            self.log("val/point_accuracy", ((fine > 0) == (labels > 0.5)).float().mean(), batch_size=n)
        return loss

    def training_step(self, batch: dict[str, Any], batch_idx: int) -> torch.Tensor:
        return self._shared_step(batch, "train")

    def validation_step(self, batch: dict[str, Any], batch_idx: int) -> None:
        self._shared_step(batch, "val")

    def export_pretrained(self, directory: str | os.PathLike[str]) -> None:
        """Write the inference export (`config.json` + `model.safetensors`, the normal network's weights
        included) of the last weights."""
        from gan3d.training.callbacks import export_last_weights

        export_last_weights(self, directory)
