from __future__ import annotations

import pytest
import torch

from gan3d.metrics.chamfer import chamfer_distance, f_score, normal_consistency
from tests.reference import chamfer_triple_loop


def test_hand_computed_chamfer() -> None:
    a = torch.tensor([[[0.0, 0, 0], [1, 0, 0]]])
    b = torch.tensor([[[0.0, 0, 0], [1, 0.5, 0], [1, 1, 0]]])
    # a->b: 0, 0.5 ; b->a: 0, 0.5, 1
    l1 = 0.5 * (0.5 / 2) + 0.5 * (1.5 / 3)
    l2 = 0.5 * (0.25 / 2) + 0.5 * (1.25 / 3)
    assert chamfer_distance(a, b, "l1", normalize=False).item() == pytest.approx(l1)
    assert chamfer_distance(a, b, "l2", normalize=False).item() == pytest.approx(l2)
    # normalised by the target's longest bbox side (1 here): unchanged; scaled target: scale-invariant
    assert chamfer_distance(a * 7, b * 7, "l1").item() == pytest.approx(l1)


@pytest.mark.parametrize("norm,power", [("l1", 1), ("l2", 2)])
def test_against_triple_loop(norm: str, power: int) -> None:
    gen = torch.Generator().manual_seed(0)
    a, b = torch.rand(3, 40, 3, generator=gen), torch.rand(3, 55, 3, generator=gen)
    got = chamfer_distance(a, b, norm, normalize=False)  # type: ignore[arg-type]
    want = torch.tensor([chamfer_triple_loop(a[i].double().numpy(), b[i].double().numpy(), power) for i in range(3)])
    torch.testing.assert_close(got, want.float(), atol=1e-6, rtol=1e-5)


def test_gradient_path_matches_kdtree_path() -> None:
    gen = torch.Generator().manual_seed(1)
    a, b = torch.rand(2, 30, 3, generator=gen), torch.rand(2, 20, 3, generator=gen)
    a_grad = a.clone().requires_grad_(True)
    got = chamfer_distance(a_grad, b, "l2", normalize=False)
    torch.testing.assert_close(got.detach(), chamfer_distance(a, b, "l2", normalize=False))
    got.sum().backward()
    assert a_grad.grad is not None and a_grad.grad.abs().sum() > 0


def test_f_score() -> None:
    target = torch.tensor([[[0.0, 0, 0], [1, 0, 0], [1, 1, 1], [0, 1, 0]]])
    pred = target.clone()
    pred[0, 3] += 0.5  # one of four predicted points is off by 0.5
    assert f_score(target, target, 0.01).item() == 1.0
    # precision 3/4, recall 3/4 -> F = 0.75
    assert f_score(pred, target, threshold=0.1).item() == pytest.approx(0.75)
    assert f_score(pred + 10, target, threshold=0.1, normalize=False).item() == 0.0


def test_normal_consistency() -> None:
    points = torch.rand(1, 50, 3)
    normals = torch.nn.functional.normalize(torch.randn(1, 50, 3), dim=-1)
    assert normal_consistency(points, normals, points, -normals).item() == pytest.approx(1.0)  # unoriented
    flat = torch.zeros_like(normals)
    flat[..., 2] = 1
    perp = torch.zeros_like(normals)
    perp[..., 0] = 1
    assert normal_consistency(points, flat, points, perp).item() == pytest.approx(0.0, abs=1e-6)
