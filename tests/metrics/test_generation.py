from __future__ import annotations

import pytest
import torch

from gan3d.metrics.generation import generation_scores, pairwise_chamfer


def _clouds(n: int, seed: int, squash: float = 1.0) -> torch.Tensor:
    gen = torch.Generator().manual_seed(seed)
    pts = torch.nn.functional.normalize(torch.randn(n, 64, 3, generator=gen), dim=-1)
    scale = 1 + 0.3 * torch.rand(n, 1, 3, generator=gen)
    pts = pts * scale
    pts[..., 2] *= squash
    return pts


def test_identical_sets() -> None:
    ref = _clouds(6, 0)
    scores = generation_scores(ref.clone(), ref)
    assert scores.mmd_cd == pytest.approx(0.0, abs=1e-7) and scores.cov_cd == 1.0
    assert (scores.n_samples, scores.n_reference, scores.n_points, scores.normalization) == (6, 6, 64, "unit cube")


def test_collapsed_generator_has_low_coverage_and_high_nna() -> None:
    ref = _clouds(8, 1)
    collapsed = ref[:1].repeat(8, 1, 1) + 0.001 * torch.randn(8, 64, 3)
    scores = generation_scores(collapsed, ref)
    assert scores.cov_cd <= 0.25
    different = _clouds(8, 2, squash=0.2)  # flat discs vs balls: a 1-NN classifier separates them
    assert generation_scores(different, ref).nna_cd > 0.9


def test_pairwise_matches_definition() -> None:
    a, b = _clouds(2, 3), _clouds(3, 4)
    d = pairwise_chamfer(a, b)
    x, y = a[1], b[2]
    dist = torch.cdist(x, y)
    want = dist.min(1).values.pow(2).mean() + dist.min(0).values.pow(2).mean()
    assert d[1, 2].item() == pytest.approx(want.item(), rel=1e-5)
