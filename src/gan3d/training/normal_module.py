"""Training PIFuHD's normal-map network (§4.4) with Lightning: L_N = L_VGG + λ_l1 · L_L1 (§4.5).

Each item brings V posed views with their front and back normal maps (`ShapeDataset(views=V,
masks=True, cameras=True, normal_maps=True)`); every view is a training image. L1 is the mean absolute
difference of the unit normals over the pixels the object covers (the mask; a photo's background is
cut away before PIFuHD looks at it). L_VGG is the perceptual term on VGG16 features of the normal maps
shown as images ((n + 1) / 2), when the user gives local VGG16 weights (`gan3d.models.vgg`). Without
them the perceptual term can come from a discriminator's features instead (`critic_weight`):
pix2pixHD's PatchGAN (`PatchCritic`) on the image with the true or predicted maps, trained with the
least-squares GAN loss one step per network step, and the L1 between its activations on the prediction
and on the truth (pix2pixHD's feature matching); `adv_weight` adds its LSGAN term for the network. With
neither, the loss is the L1 term alone. Validation logs the mean angle (degrees) between predicted and true
normals, front and back, beside the flat baseline in the same run (every front normal facing the
camera, (0, 0, −1), every back normal away, (0, 0, 1)).
"""

from __future__ import annotations

import os
from typing import Any

import lightning as L
import torch

from gan3d.errors import ConfigError
from gan3d.losses.perceptual import feature_l1
from gan3d.models.normal_net import NormalNet, PatchCritic
from gan3d.models.vgg import Vgg16Features, load_vgg16
from gan3d.registry import get_model


def mean_angle(pred: torch.Tensor, target: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """Mean angle in degrees between unit normals pred, target (B, 3, H, W) over mask (B, H, W)."""
    cos = (pred * target).sum(1).clamp(-1, 1)
    return torch.rad2deg(torch.acos(cos))[mask].mean()


class NormalModule(L.LightningModule):
    """Lightning module of `NormalNet` (module docstring).

    Args:
        model: registered builder (`normal_net_64`, `normal_net_512`); model_kwargs: its overrides.
        lr: Adam's learning rate (pix2pixHD: 2e-4, betas 0.5, 0.999).
        l1_weight: λ_l1 (PIFuHD: 5).
        percep_weight: weight of the VGG term (used with `vgg_weights` only).
        vgg_weights: a local VGG16 weights file (never downloaded; not part of exports).
        critic_weight: weight of the discriminator-feature perceptual term (pix2pixHD's feature
            matching: 10; 0: no discriminator unless `adv_weight`).
        adv_weight: weight of the LSGAN term for the network (pix2pixHD: 1).
        lr_critic: the discriminator's Adam learning rate (pix2pixHD: 2e-4, betas 0.5, 0.999).
        class_names: the data's classes (kept in exports).
    """

    FAMILY = "pifu"

    def __init__(
        self,
        model: str = "normal_net_64",
        model_kwargs: dict[str, Any] | None = None,
        lr: float = 2e-4,
        l1_weight: float = 5.0,
        percep_weight: float = 1.0,
        vgg_weights: str | None = None,
        critic_weight: float = 0.0,
        adv_weight: float = 0.0,
        lr_critic: float = 2e-4,
        class_names: list[str] | None = None,
    ) -> None:
        super().__init__()
        if min(l1_weight, percep_weight, critic_weight, adv_weight) < 0:
            raise ConfigError("loss weights must be >= 0")
        self.save_hyperparameters()
        self.model: NormalNet = get_model(model, **(model_kwargs or {}))  # type: ignore[assignment]
        self.critic = PatchCritic(base_channels=32) if critic_weight > 0 or adv_weight > 0 else None
        self.automatic_optimization = self.critic is None  # with a discriminator: two steps per batch
        self._vgg: list[Vgg16Features] = []  # not a submodule: not in checkpoints or exports
        if vgg_weights is not None and percep_weight > 0:
            self._vgg.append(load_vgg16(vgg_weights))

    def setup(self, stage: str) -> None:
        datamodule = getattr(self._trainer, "datamodule", None)
        if self.hparams.class_names is None and getattr(datamodule, "classes", None) is not None:
            self.hparams.class_names = list(datamodule.classes)

    def configure_optimizers(self) -> torch.optim.Optimizer | list[torch.optim.Optimizer]:
        network = torch.optim.Adam(self.model.parameters(), lr=self.hparams.lr, betas=(0.5, 0.999))
        if self.critic is None:
            return network
        return [network, torch.optim.Adam(self.critic.parameters(), lr=self.hparams.lr_critic, betas=(0.5, 0.999))]

    def _shared_step(self, batch: dict[str, Any], stage: str) -> torch.Tensor:
        return self._losses(batch, stage)[0]

    def _losses(self, batch: dict[str, Any], stage: str) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
        """(L1 + VGG loss, the tensors the discriminator needs: images, pred, target, weight (B V, 1, H, W))."""
        for key in ("images", "masks", "normal_maps"):
            if key not in batch:
                raise ConfigError(f"the normal network needs batches with {key!r}: give the data masks and normal_maps")
        images = batch["images"].flatten(0, 1)
        target = batch["normal_maps"].flatten(0, 1)
        mask = batch["masks"].flatten(0, 1)[:, 0] > 0.5  # (B V, H, W)
        pred = self.model(images)
        weight = mask[:, None].float()
        l1 = ((pred - target).abs() * weight).sum() / (weight.sum() * 6).clamp(min=1)
        loss = self.hparams.l1_weight * l1
        n = len(images)
        if self._vgg:
            vgg = self._vgg[0].to(pred.device)
            shown = [(x * weight + 1) / 2 for x in (pred[:, :3], pred[:, 3:], target[:, :3], target[:, 3:])]
            with torch.no_grad():
                real = [vgg(shown[2]), vgg(shown[3])]
            perceptual = feature_l1(vgg(shown[0]), real[0]) + feature_l1(vgg(shown[1]), real[1])
            loss = loss + self.hparams.percep_weight * perceptual
            self.log(f"{stage}/perceptual_vgg", perceptual, batch_size=n)
        self.log(f"{stage}/l1", l1, batch_size=n)
        self.log(f"{stage}/loss", loss, on_step=stage == "train", on_epoch=True, batch_size=n, prog_bar=True)
        if stage == "val":
            flat_front = torch.zeros_like(pred[:, :3])
            flat_front[:, 2] = -1
            self.log("val/angle_front", mean_angle(pred[:, :3], target[:, :3], mask), batch_size=n, prog_bar=True)
            self.log("val/angle_back", mean_angle(pred[:, 3:], target[:, 3:], mask), batch_size=n)
            self.log("val/flat_angle_front", mean_angle(flat_front, target[:, :3], mask), batch_size=n)
            self.log("val/flat_angle_back", mean_angle(-flat_front, target[:, 3:], mask), batch_size=n)
        return loss, {"images": images, "pred": pred, "target": target, "weight": weight}

    def training_step(self, batch: dict[str, Any], batch_idx: int) -> torch.Tensor:
        loss, parts = self._losses(batch, "train")
        if self.critic is None:
            return loss
        return self._adversarial_step(loss, parts)

    def _adversarial_step(self, loss: torch.Tensor, parts: dict[str, torch.Tensor]) -> torch.Tensor:
        """One LSGAN step of the discriminator on (image, true maps) vs (image, predicted maps), then the
        network's step with `loss` + critic_weight · feature L1 + adv_weight · LSGAN (pix2pixHD)."""
        assert self.critic is not None
        hp = self.hparams
        network_opt, critic_opt = self.optimizers()  # type: ignore[misc]
        shown = parts["images"] * 2 - 1
        real = torch.cat([shown, parts["target"] * parts["weight"]], dim=1)
        fake = torch.cat([shown, parts["pred"] * parts["weight"]], dim=1)  # the background cut, as the truth's
        real_score, _ = self.critic(real)
        fake_score, _ = self.critic(fake.detach())
        critic_loss = 0.5 * ((real_score - 1) ** 2).mean() + 0.5 * (fake_score**2).mean()
        critic_opt.zero_grad()
        self.manual_backward(critic_loss)
        critic_opt.step()
        score, features = self.critic(fake)
        with torch.no_grad():
            _, real_features = self.critic(real)
        matching = feature_l1(features, real_features)
        adversarial = 0.5 * ((score - 1) ** 2).mean()
        total = loss + hp.critic_weight * matching + hp.adv_weight * adversarial
        network_opt.zero_grad()
        self.manual_backward(total)
        network_opt.step()
        n = len(real)
        self.log("train/perceptual_critic", matching, batch_size=n)
        self.log("train/adversarial", adversarial, batch_size=n)
        self.log("train/critic_loss", critic_loss, batch_size=n)
        self.log("train/total", total, on_step=True, on_epoch=True, batch_size=n)
        return total.detach()

    def validation_step(self, batch: dict[str, Any], batch_idx: int) -> None:
        self._shared_step(batch, "val")

    def export_pretrained(self, directory: str | os.PathLike[str]) -> None:
        """Write the inference export (`config.json` + `model.safetensors`) of the last weights."""
        from gan3d.training.callbacks import export_last_weights

        export_last_weights(self, directory)
