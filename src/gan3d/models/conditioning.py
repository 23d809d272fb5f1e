"""Class conditioning by pointwise product (§2.6.8): label -> Embedding -> Linear -> x * that."""

from __future__ import annotations

import torch
from torch import nn


class LabelConditioning(nn.Module):
    """Turns a class label into a multiplicative mask the size of a network's input.

    §2.6.8: the label is embedded (`nn.Embedding`), mapped by a linear layer to the input size
    (200 for the generator's latent, R^3 for the discriminator's grid) and multiplied pointwise with
    the input, which keeps the input's dimensionality.

    Args:
        num_classes: number of labels.
        size: number of input elements to modulate.
        embed_dim: embedding width (a small number suffices; 50 is common).
    """

    def __init__(self, num_classes: int, size: int, embed_dim: int = 50) -> None:
        super().__init__()
        self.embedding = nn.Embedding(num_classes, embed_dim)
        self.linear = nn.Linear(embed_dim, size)

    def forward(self, inputs: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
        """`inputs` (N, ...) with prod(...) == size, `labels` int64 (N,) -> same shape as `inputs`."""
        mask = self.linear(self.embedding(labels))  # (N, size)
        return inputs * mask.view(inputs.shape)
