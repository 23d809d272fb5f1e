"""The 3D-VAE-GAN family as one module: encoder (single- or multi-view) + generator + discriminator.

Every paper variant is a registered builder (`gan3d.registry`), so a checkpoint is the builder's name,
its keyword arguments (`config`) and the weights.
"""

from __future__ import annotations

from typing import Any, Literal

import torch
from torch import nn

from gan3d.models.encoders import Fusion, ImageEncoder, MultiViewEncoder, reparameterize
from gan3d.models.voxel_gan import VoxelDiscriminator, VoxelGenerator
from gan3d.registry import register_model


class VaeGan(nn.Module):
    """3D-GAN (no encoder) or 3D-VAE-GAN (with an image encoder), optionally multi-view and conditional.

    Args:
        resolution: grid size, 32 or 64.
        latent_dim: size of z (200, §2.1).
        encoder: None for a pure 3D-GAN, "paper" (§2.4) or "simple" (§2.6.3).
        fusion: None for single-view, else "mean", "max" or "lstm" (§2.6.10).
        channels, image_size: encoder input (grey 1 or RGB 3; square size).
        dropout: the §2.6.3 Dropout3d in G and D.
        num_classes: > 0 for the conditional G and D of §2.6.8 (the encoder stays unconditional).
        logits: D returns logits (train with BCE-with-logits).
        base_channels: network width (64 in the paper); smaller values make quick, small models.
        d_norm: the discriminator's hidden-layer normalisation (`gan3d.models.voxel_gan.D_NORMS`;
            "batch" is the paper's).
        d_base_channels: the discriminator's own width, when it should differ from G's (a weaker D);
            None: `base_channels`.
        d_minibatch_std: D's last layer also reads the batch's spread (ProGAN's minibatch standard
            deviation), a cue against samples that are near copies of one another.
    """

    def __init__(
        self,
        resolution: int = 64,
        latent_dim: int = 200,
        encoder: Literal["paper", "simple"] | None = "paper",
        fusion: Fusion | None = None,
        channels: int = 3,
        image_size: int = 224,
        dropout: bool = False,
        num_classes: int = 0,
        logits: bool = True,
        base_channels: int = 64,
        d_norm: str = "batch",
        d_base_channels: int | None = None,
        d_minibatch_std: bool = False,
    ) -> None:
        super().__init__()
        self.config: dict[str, Any] = {
            "resolution": resolution,
            "latent_dim": latent_dim,
            "encoder": encoder,
            "fusion": fusion,
            "channels": channels,
            "image_size": image_size,
            "dropout": dropout,
            "num_classes": num_classes,
            "logits": logits,
            "base_channels": base_channels,
            "d_norm": d_norm,
            "d_base_channels": d_base_channels,
            "d_minibatch_std": d_minibatch_std,
        }
        self.latent_dim, self.num_classes = latent_dim, num_classes
        self.generator = VoxelGenerator(latent_dim, resolution, dropout, num_classes, base_channels=base_channels)
        d_width = base_channels if d_base_channels is None else d_base_channels
        self.discriminator = VoxelDiscriminator(
            resolution, dropout, num_classes, logits, d_width, d_norm, d_minibatch_std
        )
        self.encoder: nn.Module | None = None
        if encoder is not None:
            image_encoder = ImageEncoder(latent_dim, channels, encoder, image_size, base_channels)
            self.encoder = MultiViewEncoder(image_encoder, fusion) if fusion is not None else image_encoder

    @property
    def image_size(self) -> int:
        """The square input size of the encoder (the paper encoder takes 224; the simple one its own)."""
        return self.config["image_size"] if self.config["encoder"] == "simple" else 224

    @property
    def multiview(self) -> bool:
        return isinstance(self.encoder, MultiViewEncoder)

    def sample_latent(self, n: int, seed: int | None = None) -> torch.Tensor:
        """z ~ N(0, I), shape (n, latent_dim), on the model's device; the same for the same `seed` on
        every device (drawn on the CPU)."""
        device = next(self.parameters()).device
        generator = torch.Generator().manual_seed(seed) if seed is not None else None
        return torch.randn(n, self.latent_dim, generator=generator).to(device)

    def cycling_labels(self, n: int) -> torch.Tensor | None:
        """Labels 0, 1, ..., num_classes - 1, 0, ... (n,) on the model's device; None if unconditional."""
        if not self.num_classes:
            return None
        return torch.arange(n, device=next(self.parameters()).device) % self.num_classes

    def encode(self, images: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """Images -> (z, mu, logvar). Single-view: images (N, C, H, W) or (N, 1, C, H, W), mu (N, D);
        multi-view: images (N, V, C, H, W), mu (N, V, D). z is sampled in training, the mean in eval."""
        if self.encoder is None:
            raise ValueError("this is a 3D-GAN without an encoder")
        if self.multiview:
            return self.encoder(images)
        if images.ndim == 5:
            images = images[:, 0]
        mu, logvar = self.encoder(images)
        z = reparameterize(mu, logvar) if self.training else mu
        return z, mu, logvar

    def generate(self, latent: torch.Tensor, labels: torch.Tensor | None = None) -> torch.Tensor:
        """Occupancy probabilities (N, 1, R, R, R) for latents (N, D)."""
        return self.generator(latent, labels)

    def reconstruct(self, images: torch.Tensor, labels: torch.Tensor | None = None) -> torch.Tensor:
        """G(E(y)): occupancy probabilities from images."""
        z, _, _ = self.encode(images)
        return self.generate(z, labels)

    def forward(self, latent: torch.Tensor, labels: torch.Tensor | None = None) -> torch.Tensor:
        return self.generate(latent, labels)


@register_model
def gan_32(**overrides: Any) -> VaeGan:
    """3D-GAN at 32^3 (§2.1-2.3), no encoder."""
    return VaeGan(**{"resolution": 32, "encoder": None, **overrides})


@register_model
def gan_64(**overrides: Any) -> VaeGan:
    """3D-GAN at 64^3 (§2.1-2.3, Wu et al. 2016), no encoder."""
    return VaeGan(**{"resolution": 64, "encoder": None, **overrides})


@register_model
def vae_gan_32(**overrides: Any) -> VaeGan:
    """3D-VAE-GAN at 32^3 with the paper's encoder (§2.4; the first model of §2.6.3)."""
    return VaeGan(**{"resolution": 32, "encoder": "paper", **overrides})


@register_model
def vae_gan_simple_32(**overrides: Any) -> VaeGan:
    """The second model of §2.6.3 / §2.6.4: simplified encoder and dropout, 32^3."""
    return VaeGan(**{"resolution": 32, "encoder": "simple", "dropout": True, **overrides})


@register_model
def vae_gan_simple_64(**overrides: Any) -> VaeGan:
    """§2.6.7: chairs at 64^3, simplified encoder, no dropout."""
    return VaeGan(**{"resolution": 64, "encoder": "simple", "dropout": False, **overrides})


@register_model
def cond_vae_gan_64(**overrides: Any) -> VaeGan:
    """§2.6.9: conditional G and D (chair, lamp, car by default), single-view simplified encoder, 64^3."""
    return VaeGan(**{"resolution": 64, "encoder": "simple", "num_classes": 3, **overrides})


@register_model
def multiview_vae_gan_64(**overrides: Any) -> VaeGan:
    """§2.6.11: multi-view encoder (fusion "mean", "max" or "lstm"), 64^3."""
    return VaeGan(**{"resolution": 64, "encoder": "simple", "fusion": "mean", **overrides})


@register_model
def cond_multiview_vae_gan_64(**overrides: Any) -> VaeGan:
    """§2.6.10.1: conditional multi-view model (5 views; mean, max or LSTM fusion), 64^3."""
    return VaeGan(**{"resolution": 64, "encoder": "simple", "fusion": "mean", "num_classes": 3, **overrides})
