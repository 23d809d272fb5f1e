"""Training DIB-R's texture GAN (the paper's §3.4) with Lightning: WGAN-GP with two critics.

Per batch of real objects (`ShapeDataset(views=1, cameras=True)`, coloured views):

* D1 (renders): real = the dataset's views, fake = the generated meshes rendered by DIB-R through the
  same cameras (so the pose distribution is the data's), head-lit on white like the views. With
  `alpha_channel` (default) D1 reads RGB + alpha: the views' masks, and for the renders DIB-R's soft
  silhouette passed straight through (the forward value is the hard mask, as a real mask is binary; the
  gradient is the soft silhouette's). Without it D1 sees colour only, and a colour composited on white
  with the hard mask gives the vertices no gradient at the outline: only shading and texture
  coordinates inside the silhouette move them (measured: crumpled shapes, the same for every z);
* D2 (textures): real = the texture maps the trained §3.3 texture predictor (`teacher`, an export of
  `dibr_net_texture_*`) predicts for those views, fake = G2's textures (§3.4: "the textures from the
  original network are used as ground truth");
* optionally (`shape_weight` > 0; not in §3.4) D3 (shapes): real = the teacher's predicted vertex offsets
  for those views, fake = G1's offsets (`ShapeCritic`): §3.4's rule for textures applied to shapes;
* the critics' step: Σ_k E[D_k(fake)] − E[D_k(real)] + gp_weight · GP_k; the generator's step:
  −E[D1(render)] − texture_weight · E[D2(texture)] − shape_weight · E[D3(offsets)] + laplacian_weight ·
  ‖L δ‖² + smoothness_weight · flatten (§3.3's mesh regularisers, which keep the offsets a surface).

`n_critic` critic steps per generator step (1 by default; 5 in `configs/dibr_texture_gan.yaml`, with the
minibatch-spread channel and D3: README for why), Adam with WGAN-GP's betas (0.5, 0.9), manual
optimisation. Logged: every term, every Wasserstein estimate; previews of generated renders and textures.
"""

from __future__ import annotations

from typing import Any

import lightning as L
import torch

from gan3d.errors import ConfigError
from gan3d.losses.adversarial import gradient_penalty
from gan3d.losses.mesh_regularizers import interior_edges, laplacian_loss, smoothness_loss, uniform_laplacian
from gan3d.models.dibr_net import DibrNet, RenderCritic
from gan3d.models.texture_gan import ShapeCritic, TextureGanGenerator
from gan3d.registry import get_model, load_pretrained
from gan3d.render.dibr import DibrSettings
from gan3d.training.dibr_module import DibrModule

CRITIC_BLOCKS = 4  # §3.4: both discriminators have 4 convolutional layers


class TextureGanModule(L.LightningModule):
    """Lightning module of `TextureGanGenerator` (module docstring).

    Args:
        teacher: directory of a trained §3.3 texture predictor's export (its textures are D2's reals).
        model: registered generator builder (`texture_gan_64`); model_kwargs: its overrides.
        lr, lr_critic: Adam learning rates of the generator and of the critics.
        gp_weight: WGAN-GP's penalty weight (10).
        texture_weight: weight of D2's term for the generator.
        minibatch_std: both critics also read their batch's spread (`RenderCritic(minibatch_std=True)`), so
            samples that are all alike are told apart from real batches (against mode collapse).
        alpha_channel: D1 reads RGB + alpha (the views' masks; the renders' soft silhouette, straight
            through) instead of RGB only (the data needs masks).
        shape_weight: weight of D3's term (0: no shape critic, as §3.4). D3 judges G1's vertex offsets
            against the teacher's for the batch's views; the teacher must deform the same template.
        laplacian_weight, smoothness_weight: §3.3's mesh regularisers on the generated offsets.
        n_critic: critic steps per generator step.
        sigmainv, boxlen: DIB-R's soft-silhouette settings (`DibrSettings`).
        preview_every_n_epochs: a sheet of generated renders and textures every N epochs (0: none).
        class_names: the data's classes (kept in exports).
    """

    FAMILY = "dibr"

    def __init__(
        self,
        teacher: str,
        model: str = "texture_gan_64",
        model_kwargs: dict[str, Any] | None = None,
        lr: float = 1e-4,
        lr_critic: float = 1e-4,
        gp_weight: float = 10.0,
        texture_weight: float = 1.0,
        shape_weight: float = 0.0,
        alpha_channel: bool = True,
        minibatch_std: bool = False,
        laplacian_weight: float = 0.01,
        smoothness_weight: float = 0.001,
        n_critic: int = 1,
        sigmainv: float = 1.0,
        boxlen: float = 3.0,
        preview_every_n_epochs: int = 5,
        class_names: list[str] | None = None,
    ) -> None:
        super().__init__()
        if min(gp_weight, texture_weight, shape_weight, laplacian_weight, smoothness_weight) < 0 or n_critic < 1:
            raise ConfigError("weights must be >= 0 and n_critic >= 1")
        self.save_hyperparameters()
        self.automatic_optimization = False
        self.model: TextureGanGenerator = get_model(model, **(model_kwargs or {}))  # type: ignore[assignment]
        loaded, config = load_pretrained(teacher)
        if not isinstance(loaded, DibrNet) or loaded.color != "texture":
            raise ConfigError(f"{teacher}: the teacher must be a DIB-R texture predictor (dibr_net_texture_*)")
        self._teacher = [loaded.eval().requires_grad_(False)]  # not a submodule: not in checkpoints or exports
        size = self.model.config["texture_size"]
        channels = 4 if alpha_channel else 3
        self.image_critic = RenderCritic(  # D1
            loaded.image_size, n_blocks=CRITIC_BLOCKS, in_channels=channels, minibatch_std=minibatch_std
        )
        self.texture_critic = RenderCritic(size, n_blocks=CRITIC_BLOCKS, minibatch_std=minibatch_std)  # D2
        self.shape_critic: ShapeCritic | None = None  # D3
        if shape_weight > 0:
            if loaded.template.shape != self.model.template.shape:
                raise ConfigError(
                    f"{teacher}: shape_weight needs a teacher on the generator's template "
                    f"({len(self.model.template)} vertices), got {len(loaded.template)}"
                )
            self.shape_critic = ShapeCritic(len(self.model.template))
        edge, opposite = interior_edges(self.model.faces)
        self.register_buffer("edge", edge, persistent=False)
        self.register_buffer("opposite", opposite, persistent=False)
        self._laplacian: torch.Tensor | None = None

    def setup(self, stage: str) -> None:
        datamodule = getattr(self._trainer, "datamodule", None)
        if self.hparams.class_names is None and getattr(datamodule, "classes", None) is not None:
            self.hparams.class_names = list(datamodule.classes)

    def configure_optimizers(self) -> list[torch.optim.Optimizer]:
        hp = self.hparams
        critics = [*self.image_critic.parameters(), *self.texture_critic.parameters()]
        if self.shape_critic is not None:
            critics += [*self.shape_critic.parameters()]
        return [
            torch.optim.Adam(self.model.parameters(), lr=hp.lr, betas=(0.5, 0.9)),
            torch.optim.Adam(critics, lr=hp.lr_critic, betas=(0.5, 0.9)),
        ]

    def configure_callbacks(self) -> list[L.Callback]:
        from gan3d.training.dibr_previews import TextureGanPreviewCallback

        every = self.hparams.preview_every_n_epochs
        return [TextureGanPreviewCallback(every_n_epochs=every)] if every > 0 else []

    def real_examples(self, images: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """The teacher's texture maps (B, 3, T, T), resized to the generator's T, and vertex offsets from
        the template (B, V, 3), for views (B, 3, S, S)."""
        teacher = self._teacher[0].to(images.device)
        with torch.no_grad():
            prediction = teacher(images)
        texture = prediction.texture
        size = self.model.config["texture_size"]
        if texture.shape[-1] != size:
            texture = torch.nn.functional.interpolate(texture, size=(size, size), mode="bilinear", align_corners=False)
        return texture, prediction.verts - teacher.template

    def render(self, prediction: Any, cameras: Any) -> torch.Tensor:
        """Generated meshes rendered through `cameras` (B,): images (B, 3, H, W) on white, with the alpha
        channel (B, 4, H, W) when `alpha_channel` (module docstring)."""
        settings = DibrSettings(
            int(cameras.height), int(cameras.width), sigmainv=self.hparams.sigmainv, boxlen=self.hparams.boxlen
        )
        with torch.autocast(device_type=prediction.verts.device.type, enabled=False):
            colour, soft, hard = self.model.render(prediction.float(), cameras, settings)
        images = colour.permute(0, 3, 1, 2)
        if not self.hparams.alpha_channel:
            return images
        alpha = hard.to(soft.dtype) + (soft - soft.detach())  # forward: the hard mask; backward: DIB-R's soft one
        return torch.cat([images, alpha[:, None]], dim=1)

    def real_images(self, batch: dict[str, Any]) -> torch.Tensor:
        """D1's real examples: view 0 of each object (B, 3, S, S), with its mask (B, 4, S, S) when
        `alpha_channel`."""
        images = batch["images"][:, 0]
        if not self.hparams.alpha_channel:
            return images
        if "masks" not in batch:
            raise ConfigError("alpha_channel needs the views' masks: set data.masks: true (or alpha_channel: false)")
        return torch.cat([images, batch["masks"][:, 0].to(images.dtype)], dim=1)

    def training_step(self, batch: dict[str, Any], batch_idx: int) -> None:
        hp = self.hparams
        generator_opt, critic_opt = self.optimizers()  # type: ignore[misc]
        real_images, cameras = self.real_images(batch), batch["cameras"][:, 0]
        real_textures, real_offsets = self.real_examples(batch["images"][:, 0])
        n = len(real_images)
        d1 = lambda x: self.image_critic(x)[0]  # noqa: E731
        d2 = lambda x: self.texture_critic(x)[0]  # noqa: E731
        d3 = self.shape_critic
        logs: dict[str, torch.Tensor] = {}
        for _ in range(hp.n_critic):
            with torch.no_grad():
                fake = self.model(*self.model.noise(n))
                fake_images = self.render(fake, cameras)
            w1 = d1(real_images).mean() - d1(fake_images).mean()
            w2 = d2(real_textures).mean() - d2(fake.texture).mean()
            gp1 = gradient_penalty(d1, real_images, fake_images)
            gp2 = gradient_penalty(d2, real_textures, fake.texture)
            critic_loss = -w1 - w2 + hp.gp_weight * (gp1 + gp2)
            if d3 is not None:
                fake_offsets = fake.verts - self.model.template
                w3 = d3(real_offsets).mean() - d3(fake_offsets).mean()
                gp3 = gradient_penalty(d3, real_offsets, fake_offsets)
                critic_loss = critic_loss - w3 + hp.gp_weight * gp3
                logs.update(wasserstein_shape=w3.detach(), gp_shape=gp3.detach())
            critic_opt.zero_grad()
            self.manual_backward(critic_loss)
            critic_opt.step()
        logs.update(wasserstein_render=w1.detach(), wasserstein_texture=w2.detach(), gp_render=gp1.detach())
        logs["gp_texture"] = gp2.detach()

        fake = self.model(*self.model.noise(n))
        verts = fake.verts
        if self._laplacian is None or self._laplacian.device != verts.device:
            self._laplacian = uniform_laplacian(self.model.faces, verts.shape[1], verts.dtype).to(verts.device)
        adv_render = -d1(self.render(fake, cameras)).mean()
        adv_texture = -d2(fake.texture).mean()
        offsets = verts - self.model.template
        laplacian = laplacian_loss(offsets, self.model.faces, self._laplacian)
        flatten = smoothness_loss(verts, self.model.faces, (self.edge, self.opposite)) / len(self.edge)
        loss = adv_render + hp.texture_weight * adv_texture + hp.laplacian_weight * laplacian
        loss = loss + hp.smoothness_weight * flatten
        if d3 is not None:
            adv_shape = -d3(offsets).mean()
            loss = loss + hp.shape_weight * adv_shape
            logs["adv_shape"] = adv_shape.detach()
        generator_opt.zero_grad()
        self.manual_backward(loss)
        generator_opt.step()
        logs.update(loss=loss.detach(), adv_render=adv_render.detach(), adv_texture=adv_texture.detach())
        logs.update(laplacian=laplacian.detach(), smoothness=flatten.detach())
        for name, value in logs.items():
            self.log(f"train/{name}", value, on_step=True, on_epoch=True, batch_size=n, prog_bar=name == "loss")

    def validation_step(self, batch: dict[str, Any], batch_idx: int) -> None:
        """The critics' Wasserstein estimates on held-out objects (a generator that improves lowers them)."""
        real_images, cameras = self.real_images(batch), batch["cameras"][:, 0]
        n = len(real_images)
        fake = self.model(*self.model.noise(n))
        w1 = self.image_critic(real_images)[0].mean() - self.image_critic(self.render(fake, cameras))[0].mean()
        real_textures, real_offsets = self.real_examples(batch["images"][:, 0])
        w2 = self.texture_critic(real_textures)[0].mean() - self.texture_critic(fake.texture)[0].mean()
        self.log("val/wasserstein_render", w1, batch_size=n)
        self.log("val/wasserstein_texture", w2, batch_size=n)
        if self.shape_critic is not None:
            fake_offsets = fake.verts - self.model.template
            w3 = self.shape_critic(real_offsets).mean() - self.shape_critic(fake_offsets).mean()
            self.log("val/wasserstein_shape", w3, batch_size=n)

    export_pretrained = DibrModule.export_pretrained  # the same export of `self.model`, family "dibr"
