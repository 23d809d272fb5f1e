"""DIB-R's losses on hand-computed cases: silhouette IoU, colour L1, smoothness, uniform Laplacian."""

from __future__ import annotations

import pytest
import torch
import trimesh

from gan3d.losses.mesh_regularizers import interior_edges, laplacian_loss, smoothness_loss, uniform_laplacian
from gan3d.losses.silhouette import color_l1_loss, silhouette_iou_loss

F64 = torch.float64


def test_silhouette_iou_loss_hand_computed() -> None:
    s = torch.tensor([[[1.0, 1.0], [0.0, 0.0]]])
    t = torch.tensor([[[1.0, 0.0], [1.0, 0.0]]])
    assert silhouette_iou_loss(s, t).item() == pytest.approx(1 - 1 / 3)  # intersection 1, union 3
    assert silhouette_iou_loss(t, t).item() == pytest.approx(0.0)
    assert silhouette_iou_loss(s, 1 - s).item() == pytest.approx(1.0)
    soft = torch.full((1, 2, 2), 0.5, requires_grad=True)
    silhouette_iou_loss(soft, t).backward()
    assert soft.grad[0, 0, 0] < 0 and soft.grad[0, 1, 1] > 0  # grow where the target is, shrink elsewhere


def test_color_l1_hand_computed() -> None:
    pred = torch.zeros(1, 2, 2, 3)
    target = torch.ones(1, 2, 2, 3)
    target[0, 0, 0] = 0.0
    assert color_l1_loss(pred, target).item() == pytest.approx(9 / 12)
    mask = torch.tensor([[[1.0, 0.0], [0.0, 0.0]]])
    assert color_l1_loss(pred, target, mask).item() == 0.0  # only the matching pixel counts
    assert color_l1_loss(pred, target, 1 - mask).item() == 1.0


def _pair(v3: list[float]) -> tuple[torch.Tensor, torch.Tensor]:
    verts = torch.tensor([[0.0, 0, 0], [1, 0, 0], [0, 1, 0], v3], dtype=F64)
    return verts, torch.tensor([[0, 1, 2], [1, 3, 2]])


@pytest.mark.parametrize(
    "v3,expected",
    [([1.0, 1.0, 0.0], 0.0), ([0.5, 0.5, 1.0], 1.0), ([0.2, 0.2, 0.0], 4.0)],
    ids=["flat (180 degrees)", "right angle", "folded onto itself"],
)
def test_smoothness_of_a_pair_of_triangles(v3: list[float], expected: float) -> None:
    verts, faces = _pair(v3)
    assert smoothness_loss(verts, faces).item() == pytest.approx(expected, abs=1e-9)


def test_smoothness_of_closed_meshes_and_edges() -> None:
    tetra = trimesh.creation.box()
    edges, opposite = interior_edges(torch.as_tensor(tetra.faces))
    assert len(edges) == 18  # a box: 12 triangles, 18 edges, every one shared by two faces
    sphere = trimesh.creation.icosphere(2)
    v, f = torch.as_tensor(sphere.vertices), torch.as_tensor(sphere.faces)
    smooth = smoothness_loss(v, f)
    bumpy = smoothness_loss(v * (1 + 0.3 * torch.rand(len(v), 1, dtype=F64)), f)
    assert 0 < smooth < bumpy
    torch.testing.assert_close(smoothness_loss(v * 3.0, f), smooth)  # angles do not depend on scale
    batch = torch.stack([v, v * 2])
    torch.testing.assert_close(smoothness_loss(batch, f), smooth)


def test_laplacian_hand_computed_and_translation_invariant() -> None:
    faces = torch.tensor([[0, 1, 2]])
    offsets = torch.tensor([[1.0, 0, 0], [0, 0, 0], [0, 0, 0]], dtype=F64)
    # L d_0 = d_0 - (d_1 + d_2) / 2 = (1, 0, 0); L d_1 = L d_2 = -(0.5, 0, 0): mean of 1, 0.25, 0.25
    assert laplacian_loss(offsets, faces).item() == pytest.approx(0.5)
    sphere = trimesh.creation.icosphere(2)
    f = torch.as_tensor(sphere.faces)
    moved = torch.tensor([0.3, -1.0, 2.0], dtype=F64).expand(len(sphere.vertices), 3)
    assert laplacian_loss(moved, f).item() == pytest.approx(0.0, abs=1e-24)  # a rigid shift costs nothing
    assert laplacian_loss(torch.randn(len(sphere.vertices), 3, dtype=F64), f) > 0.5
    dense = uniform_laplacian(f, len(sphere.vertices), F64).to_dense()
    torch.testing.assert_close(
        dense.sum(1), torch.zeros(len(sphere.vertices), dtype=F64)
    )  # rows of I - D^-1 A sum to 0
    assert (dense.diagonal() == 1).all()


def test_feature_l1_is_the_mean_over_layers_of_the_mean_absolute_difference() -> None:
    from gan3d.losses.perceptual import feature_l1

    a = [torch.tensor([[1.0, 2.0]]), torch.tensor([[[0.0, 0.0], [0.0, 4.0]]])]
    b = [torch.tensor([[0.0, 0.0]]), torch.tensor([[[1.0, 0.0], [0.0, 0.0]]])]
    # layer 1: (1 + 2) / 2 = 1.5; layer 2: (1 + 4) / 4 = 1.25; mean 1.375
    assert float(feature_l1(a, b)) == pytest.approx(1.375)
    with pytest.raises(ValueError, match="same"):
        feature_l1(a, b[:1])
