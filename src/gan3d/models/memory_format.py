"""Channels-last-3d layout for the 3D convolutions of a model.

On CPU, oneDNN's 3D (transposed) convolutions run about 1.3x faster on NDHWC tensors than on
PyTorch's default NCDHW layout, with the same numbers (`benchmarks/bm_sample.py`,
`benchmarks/bm_train_step.py`). `Module.to(memory_format=...)` refuses models that also hold 2D
convolutions (the image encoders), so only the 5-D weights are converted here.
"""

from __future__ import annotations

import torch
from torch import nn


def to_channels_last_3d(module: nn.Module) -> nn.Module:
    """Store every 5-D parameter (3D conv kernels) channels-last-3d, in place; returns `module`."""
    for param in module.parameters():
        if param.ndim == 5:
            param.data = param.data.contiguous(memory_format=torch.channels_last_3d)
    return module


def channels_last_3d_input(tensor: torch.Tensor) -> torch.Tensor:
    """A (N, C, D, H, W) batch in channels-last-3d layout (other ranks are returned as they are)."""
    return tensor.contiguous(memory_format=torch.channels_last_3d) if tensor.ndim == 5 else tensor
