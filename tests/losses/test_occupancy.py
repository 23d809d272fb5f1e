from __future__ import annotations

import math

import torch

from gan3d.losses.occupancy import occupancy_mse, weighted_occupancy_bce


def test_weighted_bce_is_the_papers_formula() -> None:
    logits = torch.tensor([2.0, -1.0, 0.5, -3.0, 1.0])
    labels = torch.tensor([1.0, 0.0, 1.0, 0.0, 0.0])
    lam = 3 / 5  # three of five points are outside
    p = [1 / (1 + math.exp(-x)) for x in logits.tolist()]
    terms = [lam * math.log(q) if y else (1 - lam) * math.log(1 - q) for q, y in zip(p, labels.tolist(), strict=True)]
    weights = [lam if y else 1 - lam for y in labels.tolist()]
    expected = -sum(terms) / sum(weights)
    assert abs(weighted_occupancy_bce(logits, labels).item() - expected) < 1e-6


def test_balanced_batches_give_the_plain_bce_and_unbalanced_ones_weigh_sides_equally() -> None:
    logits = torch.randn(4, 100)
    labels = (torch.arange(100) % 2).float().expand(4, -1)
    plain = torch.nn.functional.binary_cross_entropy_with_logits(logits, labels)
    torch.testing.assert_close(weighted_occupancy_bce(logits, labels), plain)
    # 10 inside, 90 outside: each side contributes half of the loss
    labels = torch.zeros(100)
    labels[:10] = 1
    logits = torch.where(labels > 0, torch.tensor(-1.0), torch.tensor(-2.0))
    inside, outside = torch.nn.functional.softplus(torch.tensor(1.0)), torch.nn.functional.softplus(torch.tensor(-2.0))
    torch.testing.assert_close(weighted_occupancy_bce(logits, labels), (inside + outside) / 2)


def test_mse_is_on_probabilities() -> None:
    logits, labels = torch.tensor([0.0, 100.0]), torch.tensor([1.0, 1.0])
    torch.testing.assert_close(occupancy_mse(logits, labels), torch.tensor(0.125))
