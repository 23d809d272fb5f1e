"""3D structural similarity of voxel grids (§2.6.5): SSIM with a 3D Gaussian window.

Convention (that of Wang et al. 2004 and `pytorch_msssim`): separable Gaussian window of size 11
(clipped to the grid: a dimension smaller than the window is not filtered, as `pytorch_msssim`
does), sigma 1.5, no padding ("valid" filtering), `C1 = (0.01 L)^2`, `C2 = (0.03 L)^2`, `L = 1`;
the SSIM map is averaged over the volume, one value per object. Agrees with
`pytorch_msssim.ssim(..., data_range=1, win_size=11, win_sigma=1.5)` to 1e-5 (tested).
"""

from __future__ import annotations

import torch

from gan3d.metrics._validate import validate_grids
from gan3d.ops.ssim import ssim3d_map


def ssim3d(pred: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """Mean 3D SSIM per object, shape (N,), with the module's convention.

    Args:
        pred: occupancy probabilities in [0, 1], shape (N, 1, D, H, W) or (N, D, H, W).
        target: ground truth in [0, 1], same shape.
    """
    pred, target = validate_grids(pred, target)
    return ssim3d_map(pred, target).flatten(1).mean(1)
