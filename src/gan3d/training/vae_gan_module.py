"""`VaeGanModule`: trains 3D-GAN and 3D-VAE-GAN (single-/multi-view, conditional) with manual optimisation.

One training step (§1.2, §2.3, §2.4):

1. Discriminator: BCE on D(x) vs real labels and D(G(z)) vs fake labels (+ (γ/2)·R1 on reals with
   `r1_gamma`), or the WGAN-GP critic loss D(G(z)) − D(x) + λ·GP (`gan_loss="wgan-gp"`), `d_steps` times
   (every extra step on fresh z), + the LeCam regulariser with `lecam_weight`. With the adaptive rule
   (§2.3) it steps only when its accuracy on the batch is below `d_accuracy_threshold`. What D sees of a
   grid in training: G's output made binary (`d_binary_fakes`), then ADA's random transforms
   (`ada_target`), then instance noise (`d_input_noise`, its σ held to a D accuracy with `noise_target`),
   each off by default; the same view is used in the generator's step.
2. Encoder (3D-VAE-GAN): `kl_weight * L_KL + recon_weight * L_recon (+ ssim_weight * L_SSIM)`.
3. Generator: `adv_weight * L_adv + recon_weight * L_recon (+ ssim_weight * L_SSIM)`; L_adv uses the
   non-saturating form (maximise log D(G(z)) rather than minimise log(1 - D(G(z))), Goodfellow et al.
   2014), or −D(G(z)) for WGAN-GP, and, with `recon_in_adversarial`, averages in the reconstructions'
   term (§2.6.3).

The generated batch G(z) is computed once and reused by the D and G steps (its detached copy for D).
"""

from __future__ import annotations

import copy
import os
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import lightning as L
import torch
from lightning.pytorch.utilities import rank_zero_warn

from gan3d.errors import ConfigError
from gan3d.losses.adversarial import (
    bce_with_targets,
    binarize_straight_through,
    discriminator_accuracy,
    gan_targets,
    gradient_penalty,
    lecam_penalty,
    r1_penalty,
)
from gan3d.losses.kl import kl_divergence
from gan3d.losses.reconstruction import RECON_LOSSES, reconstruction_loss, training_reconstruction_loss
from gan3d.losses.ssim import ssim_loss
from gan3d.metrics.iou import voxel_iou
from gan3d.metrics.ssim3d import ssim3d
from gan3d.models.memory_format import channels_last_3d_input, to_channels_last_3d
from gan3d.models.vae_gan import VaeGan
from gan3d.ops.voxel_augment import augment_voxel_batch
from gan3d.registry import get_model
from gan3d.training.ddp import ManualDdpSync

BINARY_FAKES = ("none", "threshold", "bernoulli")
ADA_MAX_P = 0.8  # above about 0.8 the transforms may leak into the generator (Karras et al. 2020, Fig. 3)
NOISE_LEVELS = ("batch", "uniform")
NOISE_MAX_SIGMA = 5.0  # the adaptive instance noise's ceiling: 5x the occupancy range, D sees mostly noise
EMA_STATISTICS_BATCHES = 8  # batches of 32 noise vectors that estimate the averaged generator's BatchNorm statistics
COLLAPSE_FRACTION = 0.5  # val IoU (GAN: gen/ coverage) below this share of the best so far: reported as a collapse


def _follow_accuracy(value: float, accuracy: float, target: float, step: float, ceiling: float) -> float:
    """ADA's control (shared by the adaptive noise): a difficulty moves up by `step` while D's accuracy is
    above the target, down below it, within [0, ceiling]."""
    return min(max(value + (step if accuracy > target else -step), 0.0), ceiling)


class VaeGanModule(L.LightningModule):
    """Training of a registered `VaeGan` variant.

    Args:
        model: registered builder name (`gan3d.registry.list_models()`).
        model_kwargs: overrides of the builder's defaults (e.g. `{"channels": 1, "image_size": 64}`).
        lr_g, lr_d, lr_e: Adam learning rates (§2.6.3: 0.0025, 1e-5, 1e-4).
        beta1, beta2: Adam betas ("momentum" 0.5, §2.6.3; beta2 0.999 by default, 0.9 in WGAN-GP).
        gan_loss: "bce" (non-saturating GAN, the paper's) or "wgan-gp" (Wasserstein critic with a
            gradient penalty, 3D-IWGAN; needs `d_accuracy_threshold=None` and a D without BatchNorm).
        gp_weight: λ of the WGAN-GP penalty (10 in Gulrajani et al. 2017).
        r1_gamma: γ of the R1 penalty (γ/2)·E||∇D(x)||² on reals with the BCE loss; 0 disables
            (Mescheder et al. 2018 use 1-10).
        lecam_weight: λ of the LeCam regulariser (`gan3d.losses.adversarial.lecam_penalty`, Tseng et al.
            2021) added to D's loss: it keeps D's scores on real and generated grids near each other's
            moving averages, so a D trained on a small set cannot keep widening its margin. 0 disables
            (the paper uses 0.3 with BigGAN, 0.01 with StyleGAN2, on limited data).
        lecam_decay: decay of LeCam's moving averages of D's real and fake scores (0.99 in the paper).
        d_input_noise: std of Gaussian noise added to every grid D sees in training, real and fake
            (instance noise, Sønderby et al. 2016): real grids are exactly 0/1 and G's sigmoid never is,
            a cue D can win on without learning shapes; the noise hides it. 0 disables. With
            `noise_target`, the starting σ.
        noise_target: adaptive instance noise: σ rises while D's batch accuracy is above this and falls
            below it (the control of ADA applied to the noise level, as Diffusion-GAN, Wang et al. 2023,
            does with its diffusion steps). Gaussian noise on both sides keeps the data distribution the
            optimum of G, so unlike ADA's transforms it cannot leak, and unlike ADA's p it has no cap short
            of hiding the grids. None disables. σ stays in [0, NOISE_MAX_SIGMA].
        noise_images: training grids over which σ may move by 1 (the control's speed).
        noise_levels: "batch": every grid D sees gets noise of std σ; "uniform": each grid draws its own
            std from U[0, σ] (as Diffusion-GAN draws a diffusion step per sample), so D and G always see
            some nearly clean grids too, with their fine detail.
        d_binary_fakes: show D binary generated grids, "threshold" (> 0.5) or "bernoulli" (sampled), with
            the gradient passed straight through (`gan3d.losses.adversarial.binarize_straight_through`):
            hides the same 0/1 cue as the noise, entirely. "none" shows G's probabilities (the paper's).
        ada_target: adaptive discriminator augmentation (ADA, Karras et al. 2020): every grid D sees in
            training, real and fake, goes through `gan3d.ops.voxel_augment.augment_voxel_batch` with a
            probability p that rises while D's batch accuracy is above `ada_target` and falls below it
            (so D's accuracy is held near the target by making its task harder, not by skipping its
            steps, which is what collapses the §2.3 rule). None disables. p stays in [0, ADA_MAX_P].
        ada_images: training grids over which p may move from 0 to 1 (ADA's speed).
        clean_accuracy_every: with ADA or the adaptive noise, D's accuracy on the grids as they are (a log,
            `train/d_acc_*_clean`) is measured on every this-many-th training batch: it costs two extra
            forward passes of D, so measuring every batch slows training by about a fifth.
        ada_up_axis: the grids' up axis in (x, y, z) order, about which ADA turns them (2: z-up, the
            built-in data and ModelNet; 1: y-up ShapeNet).
        g_ema: keep an exponential moving average of the generator's weights with this decay (e.g. 0.999;
            Karras et al. 2018 and most GANs since): sample sheets, `gen/` scores, model selection and the
            export use it (with BatchNorm statistics re-estimated for it), training uses the live
            weights. Pure 3D-GAN only; None disables.
        d_steps: discriminator steps per generator step (k, §1.2).
        d_accuracy_threshold: adaptive rule (§2.3): D steps only when its accuracy is below this;
            None always steps.
        kl_weight, recon_weight, adv_weight: loss weights. Original 3D-VAE-GAN: alpha1 = 5 (KL),
            alpha2 = 1e-4 (recon); the paper's tuned second model (§2.6.3): KL 3, adversarial 1, recon 1.
        recon_loss: "l2" (§2.6.1's ‖G(E(y)) − x‖₂ on probabilities), "bce" (the grid's negative
            log-likelihood, summed over voxels) or "focal" (`gan3d.losses.reconstruction.occupancy_nll`):
            the L2 on sigmoid outputs barely pushes a confidently empty leg voxel, the log losses do.
            Validation always reports the L2 (`val/recon`), so runs stay comparable.
        recon_pos_weight: weight w of occupied voxels in "bce"/"focal" (0.5 = unweighted).
        focal_gamma: γ of "focal".
        recon_in_adversarial: add the reconstructions' term to the generator's adversarial loss (§2.6.3).
        soft_labels: real ~ U[0.7, 1.2], fake ~ U[0, 0.3] (§2.6.3).
        ssim_weight: weight alpha3 of L_SSIM = 1 - SSIM in both L_G and L_E (§2.6.5); 0 disables.
        class_names: class names in label order (conditional models; kept in checkpoints).
        channels_last: keep 3D conv weights and voxel batches channels-last-3d (NDHWC): same algorithm,
            faster 3D convolutions on CPU (oneDNN); see `benchmarks/bm_train_step.py`.
        seed: noise and dropout are reseeded from (seed, step) at every training step, so a run resumed
            from a checkpoint continues exactly as an uninterrupted one.
        preview_every_n_epochs: sample and reconstruction sheets every N epochs (20, as the paper's
            figures; the last epoch is always drawn); 0 draws none.
        generation_every_n_epochs: log generation scores (MMD/COV/1-NNA-CD, diversity, empty samples:
            `gan3d.training.generation_metrics`) against the validation split every N epochs; 0 logs none.
    """

    FAMILY = "voxel_gan"  # names the family in exports, for `gan3d sample` / `gan3d reconstruct`

    def __init__(
        self,
        model: str = "vae_gan_simple_32",
        model_kwargs: dict[str, Any] | None = None,
        lr_g: float = 0.0025,
        lr_d: float = 1e-5,
        lr_e: float = 1e-4,
        beta1: float = 0.5,
        beta2: float = 0.999,
        gan_loss: str = "bce",
        gp_weight: float = 10.0,
        r1_gamma: float = 0.0,
        lecam_weight: float = 0.0,
        lecam_decay: float = 0.99,
        d_input_noise: float = 0.0,
        d_binary_fakes: str = "none",
        ada_target: float | None = None,
        ada_images: int = 10_000,
        ada_up_axis: int = 2,
        noise_target: float | None = None,
        noise_images: int = 2_000,
        noise_levels: str = "batch",
        clean_accuracy_every: int = 4,
        g_ema: float | None = None,
        d_steps: int = 1,
        d_accuracy_threshold: float | None = 0.8,
        kl_weight: float = 3.0,
        recon_weight: float = 1.0,
        adv_weight: float = 1.0,
        recon_loss: str = "l2",
        recon_pos_weight: float = 0.5,
        focal_gamma: float = 2.0,
        recon_in_adversarial: bool = False,
        soft_labels: bool = False,
        ssim_weight: float = 0.0,
        class_names: list[str] | None = None,
        channels_last: bool = True,
        seed: int = 0,
        preview_every_n_epochs: int = 20,
        generation_every_n_epochs: int = 0,
    ) -> None:
        super().__init__()
        if gan_loss not in ("bce", "wgan-gp"):
            raise ConfigError(f"gan_loss must be 'bce' or 'wgan-gp', got {gan_loss!r}")
        if gan_loss == "wgan-gp" and d_accuracy_threshold is not None:
            raise ConfigError("gan_loss 'wgan-gp' has no D accuracy: set d_accuracy_threshold to null")
        if d_binary_fakes not in BINARY_FAKES:
            raise ConfigError(f"d_binary_fakes must be one of {', '.join(BINARY_FAKES)}, got {d_binary_fakes!r}")
        if ada_target is not None and (not 0.5 < ada_target < 1.0 or ada_images <= 0 or ada_up_axis not in (0, 1, 2)):
            raise ConfigError(
                f"need 0.5 < ada_target < 1, ada_images > 0 and ada_up_axis in 0, 1, 2; "
                f"got {ada_target}, {ada_images}, {ada_up_axis}"
            )
        if ada_target is not None and gan_loss == "wgan-gp":
            raise ConfigError("gan_loss 'wgan-gp' has no D accuracy for ADA to follow: set ada_target to null")
        if noise_target is not None and (not 0.5 < noise_target < 1.0 or noise_images <= 0 or d_input_noise < 0):
            raise ConfigError(
                f"need 0.5 < noise_target < 1, noise_images > 0 and d_input_noise >= 0; "
                f"got {noise_target}, {noise_images}, {d_input_noise}"
            )
        if noise_levels not in NOISE_LEVELS:
            raise ConfigError(f"noise_levels must be one of {', '.join(NOISE_LEVELS)}, got {noise_levels!r}")
        if noise_target is not None and gan_loss == "wgan-gp":
            raise ConfigError("gan_loss 'wgan-gp' has no D accuracy for noise_target to follow: set it to null")
        if clean_accuracy_every < 1:
            raise ConfigError(f"clean_accuracy_every must be >= 1, got {clean_accuracy_every}")
        if lecam_weight < 0 or not 0.0 <= lecam_decay < 1.0:
            raise ConfigError(f"need lecam_weight >= 0 and 0 <= lecam_decay < 1, got {lecam_weight}, {lecam_decay}")
        if recon_loss not in RECON_LOSSES:
            raise ConfigError(f"recon_loss must be one of {', '.join(RECON_LOSSES)}, got {recon_loss!r}")
        if not 0.0 < recon_pos_weight < 1.0 or focal_gamma < 0:
            raise ConfigError(
                f"need 0 < recon_pos_weight < 1 and focal_gamma >= 0, got {recon_pos_weight}, {focal_gamma}"
            )
        self.save_hyperparameters()
        self.automatic_optimization = False
        self.model: VaeGan = get_model(model, **(model_kwargs or {}))  # type: ignore[assignment]
        if channels_last:
            to_channels_last_3d(self.model)
        if g_ema is not None and (not 0.0 < g_ema < 1.0 or self.model.encoder is not None):
            raise ConfigError(f"g_ema needs 0 < decay < 1 and a pure 3D-GAN (no encoder), got {g_ema}")
        # the generator's moving average: a submodule, so checkpoints keep it and resuming continues it
        self.generator_ema = None if g_ema is None else copy.deepcopy(self.model.generator).requires_grad_(False)
        self._ema_statistics_step: int | None = None  # the step whose average `generator_ema`'s statistics fit
        self.ada_p = 0.0  # ADA's augmentation probability (kept in checkpoints)
        self.noise_sigma = float(d_input_noise)  # instance noise σ, moved by `noise_target` (kept in checkpoints)
        self.lecam_anchors: tuple[float, float] | None = None  # LeCam's (α_R, α_F), kept in checkpoints
        self.d_skipped = 0  # discriminator steps skipped by the adaptive rule, for tests and logs
        self._ddp = ManualDdpSync()
        self._best: dict[str, Any] | None = None  # best validated weights: {"state", "meta"}
        self.collapses: list[int] = []  # epochs whose val IoU (GAN: coverage) fell below COLLAPSE_FRACTION of the best

    def _recon_loss(self, recon: torch.Tensor, voxels: torch.Tensor) -> torch.Tensor:
        hp = self.hparams
        return training_reconstruction_loss(recon, voxels, hp.recon_loss, hp.recon_pos_weight, hp.focal_gamma)

    def setup(self, stage: str) -> None:
        # class names in label order come from the data (kept in checkpoints and exports)
        datamodule = getattr(self._trainer, "datamodule", None)
        if self.hparams.class_names is None and getattr(datamodule, "classes", None) is not None:
            self.hparams.class_names = list(datamodule.classes)

    def configure_callbacks(self) -> list[L.Callback]:
        from gan3d.training.generation_metrics import GenerationMetricsCallback
        from gan3d.training.voxel_previews import SampleSheetCallback

        every, scored = self.hparams.preview_every_n_epochs, self.hparams.generation_every_n_epochs
        callbacks: list[L.Callback] = [SampleSheetCallback(every_n_epochs=every)] if every > 0 else []
        if scored > 0:
            callbacks.append(GenerationMetricsCallback(every_n_epochs=scored))
        return callbacks

    def export_pretrained(self, directory: str | os.PathLike[str], best: bool = True) -> None:
        """Write the inference export (`config.json` + `model.safetensors`): the best validated weights
        when there was a validation (a GAN can collapse late, and the last weights are then not the model
        that trained; a pure GAN is judged by its `gen/` scores), else (or with `best=False`) the last;
        `config.json`'s `weights` says which (epoch, step, the score)."""
        from gan3d.export.checkpoint import save_pretrained

        weights = self.weights_record(final=True, best=best)
        if self.hparams.g_ema is not None:
            weights["generator"] = f"moving average, decay {self.hparams.g_ema:g}"
        with self.inference_weights():
            model = copy.deepcopy(self.model)
        if best and self._best is not None:
            model.load_state_dict(self._best["state"])
        save_pretrained(
            model,
            directory,
            builder=self.hparams.model,
            family=self.FAMILY,
            class_names=self.hparams.class_names,
            weights=weights,
        )

    @contextmanager
    def inference_weights(self) -> Iterator[None]:
        """Within: the generator holds its moving average (`g_ema`), as sampling, scoring and the export
        see it; the live weights are put back after. A no-op without `g_ema`."""
        if self.generator_ema is None:
            yield
            return
        generator = self.model.generator
        live = {k: v.detach().clone() for k, v in generator.state_dict().items()}
        generator.load_state_dict(self.generator_ema.state_dict())
        try:
            if self._ema_statistics_step != self.global_step:  # once per step: scores, sheets, checkpoint
                self._standing_statistics()
                for average, fresh in zip(self.generator_ema.buffers(), generator.buffers(), strict=True):
                    average.copy_(fresh)
                self._ema_statistics_step = self.global_step
            yield
        finally:
            generator.load_state_dict(live)

    @torch.no_grad()
    def _update_generator_ema(self) -> None:
        """ema ← decay · ema + (1 − decay) · live, for the weights (BatchNorm statistics: `_standing_statistics`)."""
        if self.generator_ema is None:
            return
        decay = self.hparams.g_ema
        for average, live in zip(self.generator_ema.parameters(), self.model.generator.parameters(), strict=True):
            average.lerp_(live, 1.0 - decay)

    @torch.no_grad()
    def _standing_statistics(self) -> None:
        """Re-estimate the generator's BatchNorm running statistics for the weights it holds now, from
        EMA_STATISTICS_BATCHES batches of seeded noise (BigGAN's "standing statistics", Brock et al. 2019).
        The live generator's statistics do not fit its moving average, whose activations are scaled
        differently: with them, samples in eval mode come out nearly empty."""
        generator = self.model.generator
        norms = [m for m in generator.modules() if isinstance(m, torch.nn.modules.batchnorm._BatchNorm)]
        if not norms:
            return
        was_training, momenta = generator.training, [m.momentum for m in norms]
        generator.eval()  # dropout off; only the BatchNorm layers gather statistics
        for norm in norms:
            norm.reset_running_stats()
            norm.momentum = None  # a plain average over the batches
            norm.train()
        noise = torch.Generator().manual_seed(self.hparams.seed)
        classes = self.model.num_classes
        for _ in range(EMA_STATISTICS_BATCHES):
            z = torch.randn(32, self.model.latent_dim, generator=noise)
            labels = torch.randint(classes, (32,), generator=noise).to(self.device) if classes else None
            generator(z.to(self.device), labels)
        for norm, momentum in zip(norms, momenta, strict=True):
            norm.momentum = momentum
        generator.train(was_training)

    def weights_record(self, final: bool = False, best: bool = True) -> dict[str, Any]:
        """Which weights an export holds: the best validated ones, or (none validated, or `best=False`) the last."""
        if best and self._best is not None:
            return {"source": "best validation", **self._best["meta"]}
        epoch = self.current_epoch if self._trainer is not None else 0
        return {"source": "end of training" if final else "current", "epoch": epoch, "step": self.global_step}

    def load_best_weights(self) -> dict[str, Any]:
        """Put the best validated weights into `self.model` (a no-op without validation); returns their record."""
        if self._best is not None:
            self.model.load_state_dict(self._best["state"])
        return self.weights_record(final=True)

    def on_generation_scores(self, scores: dict[str, float], epoch: int) -> None:
        """A pure GAN's model selection and collapse alarm, from the generation scores logged under `gen/`
        (`GenerationMetricsCallback`, against the validation split): keep the weights with the lowest
        1-NNA-CD (ties: the higher coverage), and say so when coverage falls below COLLAPSE_FRACTION of
        the kept weights' (a generator collapsed onto a few shapes). A 3D-VAE-GAN is judged by its
        validation IoU instead (`on_validation_epoch_end`)."""
        if self.model.encoder is not None:
            return
        nna, cov = float(scores["nna_cd"]), float(scores["cov_cd"])
        best = self._best["meta"] if self._best is not None else None
        if best is None or (nna, -cov) < (best["gen_nna_cd"], -best["gen_cov_cd"]):
            state = {k: v.detach().to("cpu", copy=True) for k, v in self.model.state_dict().items()}
            meta = {"source": "best generation score", "epoch": epoch, "step": self.global_step}
            self._best = {"state": state, "meta": {**meta, "gen_nna_cd": nna, "gen_cov_cd": cov}}
        elif cov < COLLAPSE_FRACTION * best["gen_cov_cd"]:
            rank_zero_warn(
                f"gan3d: gen/cov_cd fell from {best['gen_cov_cd']:.3f} (epoch {best['epoch']}) to {cov:.3f} "
                f"(epoch {epoch}): the generator may have collapsed; the export keeps epoch {best['epoch']}"
            )
            self.collapses.append(epoch)

    def on_validation_epoch_end(self) -> None:
        """Keep the best validated weights (by val IoU) and say so when the model falls off a cliff."""
        if self.trainer.sanity_checking or self.model.encoder is None:
            return
        value = self.trainer.callback_metrics.get("val/iou")
        if value is None:
            return
        iou, epoch = float(value), self.current_epoch + 1
        best = self._best["meta"] if self._best is not None else None
        if best is None or iou > best["val_iou"]:
            state = {k: v.detach().to("cpu", copy=True) for k, v in self.model.state_dict().items()}
            self._best = {"state": state, "meta": {"epoch": epoch, "step": self.global_step, "val_iou": iou}}
        elif iou < COLLAPSE_FRACTION * best["val_iou"]:
            rank_zero_warn(
                f"gan3d: validation IoU fell from {best['val_iou']:.3f} (epoch {best['epoch']}) to {iou:.3f} "
                f"(epoch {epoch}): the model may have collapsed; the export keeps epoch {best['epoch']}"
            )
            self.collapses.append(epoch)
        self.log("val/best_iou", max(iou, best["val_iou"]) if best else iou, batch_size=1)

    def on_save_checkpoint(self, checkpoint: dict[str, Any]) -> None:
        if self._best is not None:  # resuming keeps the best so far (plain tensors: loads with weights_only)
            checkpoint["gan3d_best"] = self._best
        checkpoint["gan3d_ada_p"] = self.ada_p
        checkpoint["gan3d_noise_sigma"] = self.noise_sigma
        if self.generator_ema is not None and "state_dict" in checkpoint:
            with self.inference_weights():  # the moving average's own BatchNorm statistics, for inference
                for name, value in self.model.generator.named_buffers():
                    checkpoint["state_dict"][f"generator_ema.{name}"] = value.detach().clone()
        if self.lecam_anchors is not None:
            checkpoint["gan3d_lecam_anchors"] = list(self.lecam_anchors)

    def on_load_checkpoint(self, checkpoint: dict[str, Any]) -> None:
        self._best = checkpoint.get("gan3d_best")
        self.ada_p = float(checkpoint.get("gan3d_ada_p", 0.0))
        self.noise_sigma = float(checkpoint.get("gan3d_noise_sigma", self.hparams.d_input_noise))
        anchors = checkpoint.get("gan3d_lecam_anchors")
        self.lecam_anchors = None if anchors is None else (float(anchors[0]), float(anchors[1]))

    def on_train_start(self) -> None:
        self._ddp.attach(self.trainer)

    def on_train_batch_start(self, batch: Any, batch_idx: int) -> None:
        self._ddp.pause()
        # per step, not per epoch: DataLoader iterators also draw from the global generator
        torch.manual_seed(self.hparams.seed * 1_000_003 + self.global_step)

    # ---- optimisation -------------------------------------------------------------------------
    def configure_optimizers(self) -> list[torch.optim.Optimizer]:
        hp = self.hparams
        betas = (hp.beta1, hp.beta2)
        opts = [
            torch.optim.Adam(self.model.discriminator.parameters(), lr=hp.lr_d, betas=betas),
            torch.optim.Adam(self.model.generator.parameters(), lr=hp.lr_g, betas=betas),
        ]
        if self.model.encoder is not None:
            opts.append(torch.optim.Adam(self.model.encoder.parameters(), lr=hp.lr_e, betas=betas))
        return opts

    def training_step(self, batch: dict[str, Any], batch_idx: int) -> None:
        hp = self.hparams
        opts = self.optimizers()
        opt_d, opt_g = opts[0], opts[1]
        voxels = self._layout(batch["voxels"])
        labels = batch["label"] if self.model.num_classes else None
        n = len(voxels)
        z = torch.randn(n, self.model.latent_dim, device=self.device)
        fake = self.model.generate(z, labels)

        # 1. discriminator
        for step in range(hp.d_steps):
            shown = fake.detach()
            if step > 0:  # extra D steps (WGAN-GP's n_critic) see fresh samples
                with torch.no_grad():
                    shown = self.model.generate(torch.randn_like(z), labels)
            measure_clean = step == 0 and batch_idx % hp.clean_accuracy_every == 0
            with self.toggled_optimizer(opt_d):
                d_loss, logs, accuracy = self._discriminator_loss(voxels, shown, labels, measure_clean)
                self._update_ada(accuracy, n)
                self._update_noise(accuracy, n)
                if hp.d_accuracy_threshold is None or accuracy < hp.d_accuracy_threshold:
                    opt_d.zero_grad()
                    self.manual_backward(d_loss)
                    self._ddp.step(opt_d)
                else:
                    self.d_skipped += 1
        self.log_dict(
            {"train/d_loss": d_loss, **logs, "train/d_skipped": float(self.d_skipped)},
            on_step=True,
            on_epoch=True,
            batch_size=n,
        )

        # 2. encoder (3D-VAE-GAN)
        recon = None
        if self.model.encoder is not None:
            opt_e = opts[2]
            with self.toggled_optimizer(opt_e):
                z_e, mu, logvar = self.model.encode(batch["images"])
                recon = self.model.generate(z_e, labels)
                kl = kl_divergence(mu, logvar)
                rec = self._recon_loss(recon, voxels)
                e_loss = hp.kl_weight * kl + hp.recon_weight * rec
                if hp.ssim_weight > 0:
                    e_loss = e_loss + hp.ssim_weight * ssim_loss(recon, voxels)
                opt_e.zero_grad()
                self.manual_backward(e_loss, retain_graph=False)
                self._ddp.step(opt_e)
            self.log_dict(
                {"train/kl": kl, "train/recon": rec, "train/e_loss": e_loss}, on_step=True, on_epoch=True, batch_size=n
            )

        # 3. generator (reusing G(z) from step 1; the reconstruction regenerated from the stepped encoder's z)
        with self.toggled_optimizer(opt_g):
            adv = self._generator_adversarial(fake, labels)
            g_loss = torch.zeros((), device=self.device)
            if self.model.encoder is not None:
                recon = self.model.generate(z_e.detach(), labels)  # E's latents from step 2: no second encoder pass
                if hp.recon_in_adversarial:
                    adv = 0.5 * (adv + self._generator_adversarial(recon, labels))
                g_loss = g_loss + hp.recon_weight * self._recon_loss(recon, voxels)
                if hp.ssim_weight > 0:
                    g_loss = g_loss + hp.ssim_weight * ssim_loss(recon, voxels)
            g_loss = g_loss + hp.adv_weight * adv
            opt_g.zero_grad()
            self.manual_backward(g_loss)
            self._ddp.step(opt_g)
        self._update_generator_ema()
        self.log_dict(
            {"train/g_loss": g_loss, "train/g_adv": adv}, on_step=True, on_epoch=True, prog_bar=True, batch_size=n
        )

    def _discriminator_loss(
        self, voxels: torch.Tensor, fake: torch.Tensor, labels: torch.Tensor | None, measure_clean: bool = True
    ) -> tuple[torch.Tensor, dict[str, float], float]:
        """D's loss on a real and a (detached) fake batch, what to log, and its accuracy (all-reduced);
        with ADA or the adaptive noise and `measure_clean`, also D's accuracy on the grids as they are."""
        hp, n = self.hparams, len(voxels)
        fake = self._binary(fake)
        measured = (hp.ada_target is not None or hp.noise_target is not None) and measure_clean
        if measured:  # what D would say without the augmentation or noise, for the logs
            with torch.no_grad():
                clean = discriminator_accuracy(
                    self.model.discriminator(voxels, labels), self.model.discriminator(fake, labels)
                )
        voxels, fake = self._d_view(voxels), self._d_view(fake)
        real_logits = self.model.discriminator(voxels, labels)
        fake_logits = self.model.discriminator(fake, labels)
        acc_real, acc_fake = discriminator_accuracy(real_logits, fake_logits)
        logs = {"train/d_acc_real": acc_real, "train/d_acc_fake": acc_fake}
        if measured:
            logs.update({"train/d_acc_real_clean": clean[0], "train/d_acc_fake_clean": clean[1]})
        if hp.ada_target is not None:
            logs["train/ada_p"] = self.ada_p
        if hp.noise_target is not None:
            logs["train/noise_sigma"] = self.noise_sigma
        critic = lambda x: self.model.discriminator(x, labels)  # noqa: E731
        if hp.gan_loss == "wgan-gp":
            distance = real_logits.mean() - fake_logits.mean()  # the critic's Wasserstein estimate
            loss = -distance + hp.gp_weight * gradient_penalty(critic, voxels, fake)
            logs["train/wasserstein"] = float(distance)
        else:
            loss = bce_with_targets(real_logits, gan_targets(n, True, hp.soft_labels, self.device)) + bce_with_targets(
                fake_logits, gan_targets(n, False, hp.soft_labels, self.device)
            )
            if hp.r1_gamma > 0:
                loss = loss + 0.5 * hp.r1_gamma * r1_penalty(critic, voxels)
        if hp.lecam_weight > 0:
            anchors = self._update_lecam(real_logits, fake_logits)
            penalty = lecam_penalty(real_logits, fake_logits, *anchors)
            loss = loss + hp.lecam_weight * penalty
            logs.update({"train/lecam": float(penalty.detach()), "train/lecam_anchor_real": anchors[0]})
            logs["train/lecam_anchor_fake"] = anchors[1]
        return loss, logs, self._ddp.mean((acc_real + acc_fake) / 2, self.device)

    def _update_ada(self, accuracy: float, n: int) -> None:
        """ADA's rule: p moves by n / ada_images towards a harder task while D's accuracy is above the target."""
        hp = self.hparams
        if hp.ada_target is not None:
            self.ada_p = _follow_accuracy(self.ada_p, accuracy, hp.ada_target, n / hp.ada_images, ADA_MAX_P)

    def _update_noise(self, accuracy: float, n: int) -> None:
        """The adaptive noise's rule: σ moves by n / noise_images up while D's accuracy is above the target,
        down below it."""
        hp = self.hparams
        if hp.noise_target is not None:
            step = n / hp.noise_images
            self.noise_sigma = _follow_accuracy(self.noise_sigma, accuracy, hp.noise_target, step, NOISE_MAX_SIGMA)

    def _update_lecam(self, real_logits: torch.Tensor, fake_logits: torch.Tensor) -> tuple[float, float]:
        """LeCam's moving averages (α_R, α_F) of D's mean score on real and fake grids, this batch included;
        the first batch sets them (no zero start to be biased towards)."""
        batch = (
            self._ddp.mean(float(real_logits.detach().mean()), self.device),
            self._ddp.mean(float(fake_logits.detach().mean()), self.device),
        )
        if self.lecam_anchors is None:
            self.lecam_anchors = batch
        else:
            decay, (real, fake) = self.hparams.lecam_decay, self.lecam_anchors
            self.lecam_anchors = (decay * real + (1 - decay) * batch[0], decay * fake + (1 - decay) * batch[1])
        return self.lecam_anchors

    def _d_view(self, grids: torch.Tensor) -> torch.Tensor:
        """A grid as D sees it in training: ADA's random transforms (p = `ada_p`), then instance noise."""
        hp = self.hparams
        if hp.ada_target is not None and self.ada_p > 0:
            grids = augment_voxel_batch(grids, self.ada_p, up_axis=hp.ada_up_axis)
        if self.noise_sigma <= 0:
            return grids
        sigma = self.noise_sigma
        if hp.noise_levels == "uniform":  # one std per grid, U[0, σ]
            sigma = sigma * torch.rand(len(grids), *[1] * (grids.dim() - 1), device=grids.device, dtype=grids.dtype)
        return grids + sigma * torch.randn_like(grids)

    def _binary(self, fake: torch.Tensor) -> torch.Tensor:
        """Generated grids as D sees them in training: binary when `d_binary_fakes` says so."""
        return binarize_straight_through(fake, self.hparams.d_binary_fakes)

    def _generator_adversarial(self, fake: torch.Tensor, labels: torch.Tensor | None) -> torch.Tensor:
        """G's adversarial term on generated grids: non-saturating BCE, or −D(G(z)) for WGAN-GP."""
        logits = self.model.discriminator(self._d_view(self._binary(fake)), labels)
        if self.hparams.gan_loss == "wgan-gp":
            return -logits.mean()
        return bce_with_targets(logits, gan_targets(len(fake), True, self.hparams.soft_labels, self.device))

    # ---- evaluation ---------------------------------------------------------------------------
    def validation_step(self, batch: dict[str, Any], batch_idx: int) -> None:
        self._shared_eval(batch, "val")

    def test_step(self, batch: dict[str, Any], batch_idx: int) -> None:
        self._shared_eval(batch, "test")

    def _layout(self, voxels: torch.Tensor) -> torch.Tensor:
        return channels_last_3d_input(voxels) if self.hparams.channels_last else voxels

    def _shared_eval(self, batch: dict[str, Any], stage: str) -> None:
        voxels = self._layout(batch["voxels"])
        labels = batch["label"] if self.model.num_classes else None
        n = len(voxels)
        real_logits = self.model.discriminator(voxels, labels)
        self.log(f"{stage}/d_acc_real", (real_logits > 0).float().mean(), batch_size=n)
        if self.model.encoder is None:
            return
        recon = self.model.reconstruct(batch["images"], labels)
        self.log_dict(
            {
                f"{stage}/recon": reconstruction_loss(recon, voxels),
                f"{stage}/iou": voxel_iou(recon, voxels).mean(),
                f"{stage}/ssim": ssim3d(recon, voxels).mean(),
            },
            prog_bar=True,
            batch_size=n,
        )
