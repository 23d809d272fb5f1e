"""Image encoders of 3D-VAE-GAN (§2.4, §2.6.3) and the multi-view encoder (§2.5, §2.6.10)."""

from __future__ import annotations

from typing import Literal

import torch
from torch import nn

from gan3d.errors import ConfigError

Fusion = Literal["mean", "max", "lstm"]


class ImageEncoder(nn.Module):
    """Image -> Gaussian posterior over the latent space: (N, C, H, W) -> (mu, logvar), each (N, 200).

    `variant="paper"` (§2.4): 5 conv layers, kernels 11, 5, 5, 5, 8, strides 4, 2, 2, 2, 1, BatchNorm +
    ReLU between, the last layer giving 400 = mu (200) + log sigma^2 (200). With the paddings used here
    (6, 2, 2, 2, 0) it accepts square images of 223..254 pixels (224 for MVCNN views).
    `variant="simple"` (§2.6.3): all kernels 5, stride 2, padding 2, then a linear layer to 400; any
    size from 32 pixels up (224 gives 7x7 features).

    Args:
        latent_dim: size of z (200).
        channels: 1 (grey) or 3 (RGB) input channels.
        variant: "paper" or "simple".
        image_size: the square input size the network is built for (needed by the simple variant's
            linear layer).
        base_channels: width of the first layer (64; the layers double it up to 8x).
    """

    def __init__(
        self,
        latent_dim: int = 200,
        channels: int = 3,
        variant: Literal["paper", "simple"] = "paper",
        image_size: int = 224,
        base_channels: int = 64,
    ) -> None:
        super().__init__()
        self.config = {
            "latent_dim": latent_dim,
            "channels": channels,
            "variant": variant,
            "image_size": image_size,
            "base_channels": base_channels,
        }
        self.latent_dim, self.channels, self.variant, self.image_size = latent_dim, channels, variant, image_size
        widths = tuple(base_channels * m for m in (1, 2, 4, 8))
        layers: list[nn.Module] = []
        in_ch = channels
        if variant == "paper":
            specs = ((11, 4, 6), (5, 2, 2), (5, 2, 2), (5, 2, 2))
            for (k, s, p), out_ch in zip(specs, widths, strict=True):
                layers += [nn.Conv2d(in_ch, out_ch, k, s, p, bias=False), nn.BatchNorm2d(out_ch), nn.ReLU(inplace=True)]
                in_ch = out_ch
            layers.append(nn.Conv2d(in_ch, 2 * latent_dim, 8, 1, 0))
            self.head: nn.Module = nn.Flatten()
        elif variant == "simple":
            for out_ch in (*widths, widths[-1]):
                layers += [nn.Conv2d(in_ch, out_ch, 5, 2, 2, bias=False), nn.BatchNorm2d(out_ch), nn.ReLU(inplace=True)]
                in_ch = out_ch
            side = image_size
            for _ in range(5):
                side = (side - 1) // 2 + 1
            if side < 1 or image_size < 32:
                raise ConfigError(f"image_size {image_size} too small for the simple encoder (>= 32)")
            self.head = nn.Sequential(nn.Flatten(), nn.Linear(in_ch * side * side, 2 * latent_dim))
        else:
            raise ConfigError(f"encoder variant must be 'paper' or 'simple', got {variant!r}")
        self.net = nn.Sequential(*layers)

    def forward(self, images: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        if images.ndim != 4 or images.shape[1] != self.channels:
            raise ConfigError(f"images must have shape (N, {self.channels}, H, W), got {tuple(images.shape)}")
        if images.shape[-1] != images.shape[-2]:
            raise ConfigError(f"images must be square, got {images.shape[-2]}x{images.shape[-1]}")
        if self.variant == "paper" and _paper_output_side(images.shape[-1]) != 1:
            raise ConfigError(
                f"image size {images.shape[-1]} not accepted by the paper encoder: use 223..254 (e.g. 224)"
            )
        if self.variant == "simple" and images.shape[-1] != self.image_size:
            raise ConfigError(f"this encoder was built for {self.image_size}px images, got {images.shape[-1]}px")
        features = self.net(images)
        out = self.head(features).view(len(images), 2 * self.latent_dim)
        return out[:, : self.latent_dim], out[:, self.latent_dim :]


def _paper_output_side(size: int) -> int:
    """Spatial side after the paper encoder's layers (kernel, stride, padding as built above)."""
    for k, st, p in ((11, 4, 6), (5, 2, 2), (5, 2, 2), (5, 2, 2), (8, 1, 0)):
        size = (size + 2 * p - k) // st + 1
        if size < 1:
            return 0
    return size


def reparameterize(mu: torch.Tensor, logvar: torch.Tensor) -> torch.Tensor:
    """z = mu + sigma * eps, eps ~ N(0, I) (Kingma & Welling 2014)."""
    return mu + torch.exp(0.5 * logvar) * torch.randn_like(mu)


class MultiViewEncoder(nn.Module):
    """V views of one object -> one latent: the same encoder on each view, latents fused (§2.5, §2.6.10).

    Args:
        encoder: the shared per-view `ImageEncoder`.
        fusion: "mean" or "max" (component-wise over views) or "lstm" (an LSTM over the view sequence;
            its last hidden state is the fused latent, so the order of views matters).

    `forward(images (N, V, C, H, W))` returns `(z (N, D), mu (N, V, D), logvar (N, V, D))`; any V >= 1
    works at inference. The KL term is averaged over views (`kl_divergence` of mu, logvar: L_KL-MV).
    """

    def __init__(self, encoder: ImageEncoder, fusion: Fusion = "mean") -> None:
        super().__init__()
        if fusion not in ("mean", "max", "lstm"):
            raise ConfigError(f"fusion must be mean, max or lstm, got {fusion!r}")
        self.encoder, self.fusion = encoder, fusion
        self.config = {**encoder.config, "fusion": fusion}
        d = encoder.latent_dim
        self.lstm = nn.LSTM(d, d, batch_first=True) if fusion == "lstm" else None

    def forward(self, images: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        if images.ndim != 5:
            raise ConfigError(f"images must have shape (N, V, C, H, W), got {tuple(images.shape)}")
        n, v = images.shape[:2]
        mu, logvar = self.encoder(images.flatten(0, 1))
        mu, logvar = mu.view(n, v, -1), logvar.view(n, v, -1)
        z = reparameterize(mu, logvar) if self.training else mu
        return self.fuse(z), mu, logvar

    def fuse(self, z: torch.Tensor) -> torch.Tensor:
        """Per-view latents (N, V, D) -> one latent (N, D)."""
        if self.fusion == "mean":
            return z.mean(dim=1)
        if self.fusion == "max":
            return z.amax(dim=1)
        assert self.lstm is not None
        _, (hidden, _) = self.lstm(z)
        return hidden[-1]
