"""3D SSIM map with a separable Gaussian window: shared by the SSIM metric and the SSIM loss (§2.6.5)."""

from __future__ import annotations

import torch
import torch.nn.functional as F

WINDOW_SIZE = 11
SIGMA = 1.5
K1, K2 = 0.01, 0.03


def gaussian_window(size: int = WINDOW_SIZE, sigma: float = SIGMA, dtype: torch.dtype = torch.float32) -> torch.Tensor:
    """Normalised 1D Gaussian of `size` taps, centred, shape (size,)."""
    coords = torch.arange(size, dtype=dtype) - size // 2
    g = torch.exp(-(coords**2) / (2 * sigma**2))
    return g / g.sum()


def ssim3d_map(
    pred: torch.Tensor,
    target: torch.Tensor,
    window_size: int = WINDOW_SIZE,
    sigma: float = SIGMA,
    data_range: float = 1.0,
    k1: float = K1,
    k2: float = K2,
) -> torch.Tensor:
    """The SSIM map, shape (N, D', H', W') with each dimension reduced by `window_size - 1` (valid).

    Differentiable; inputs (N, D, H, W) float. The five local statistics are filtered in one batched
    separable convolution (channels = x, y, x², y², xy), not five.
    """
    n = pred.shape[0]
    stats = torch.stack([pred, target, pred * pred, target * target, pred * target], dim=1)  # (N, 5, D, H, W)
    stats = stats.reshape(n * 5, 1, *pred.shape[1:])
    g = gaussian_window(window_size, sigma, pred.dtype).to(pred.device)
    for axis in range(3):
        if stats.shape[2 + axis] < window_size:
            continue  # window clipped to the grid: this axis is left unfiltered
        shape = [1, 1, 1, 1, 1]
        shape[2 + axis] = window_size
        stats = F.conv3d(stats, g.view(shape))
    stats = stats.reshape(n, 5, *stats.shape[2:])
    mu_x, mu_y, xx, yy, xy = stats.unbind(1)
    c1, c2 = (k1 * data_range) ** 2, (k2 * data_range) ** 2
    var_x, var_y, cov = xx - mu_x**2, yy - mu_y**2, xy - mu_x * mu_y
    luminance = (2 * mu_x * mu_y + c1) / (mu_x**2 + mu_y**2 + c1)
    contrast_structure = (2 * cov + c2) / (var_x + var_y + c2)
    return luminance * contrast_structure
