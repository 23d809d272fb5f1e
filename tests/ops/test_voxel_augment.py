from __future__ import annotations

from collections import Counter

import pytest
import torch

from gan3d.ops.voxel_augment import augment_voxel_batch

SIDE = 8


def _one_voxel(x: int, y: int, z: int, n: int) -> torch.Tensor:
    grids = torch.zeros(n, 1, SIDE, SIDE, SIDE)
    grids[:, 0, x, y, z] = 1.0
    return grids


def _dihedral_images(x: int, y: int) -> set[tuple[int, int]]:
    """The 8 images of (x, y) under the symmetries of the square, written out by hand."""
    m = SIDE - 1
    return {(x, y), (m - y, x), (m - x, m - y), (y, m - x), (m - x, y), (y, x), (x, m - y), (m - y, m - x)}


def _where(grids: torch.Tensor) -> list[tuple[int, ...] | None]:
    out: list[tuple[int, ...] | None] = []
    for g in grids[:, 0]:
        hits = g.nonzero().tolist()
        assert len(hits) <= 1  # transforms move or remove voxels, never copy them
        out.append(tuple(hits[0]) if hits else None)
    return out


def test_p_zero_is_the_identity_and_bad_inputs_are_refused() -> None:
    grids = torch.rand(2, 1, SIDE, SIDE, SIDE)
    assert augment_voxel_batch(grids, 0.0) is grids
    with pytest.raises(ValueError, match="cubic"):
        augment_voxel_batch(torch.rand(2, 1, 8, 8, 4), 0.5)
    with pytest.raises(ValueError, match="p must be"):
        augment_voxel_batch(grids, 1.5)


def test_rotations_and_mirrors_are_the_squares_symmetries_about_the_up_axis_each_as_often() -> None:
    """Without translation, every voxel lands on one of the 8 images of its (x, y) under the square's
    symmetries, its height z unchanged, and at p = 1 all 8 come up about equally often (unbiased)."""
    torch.manual_seed(0)
    n = 4000
    seen = _where(augment_voxel_batch(_one_voxel(1, 2, 3, n), 1.0, shift=0.0))
    kept = [s for s in seen if s is not None]  # cutout removes some
    assert 0.5 * n < len(kept) < n
    assert all(s[2] == 3 for s in kept)  # rotation about z keeps the height
    counts = Counter((s[0], s[1]) for s in kept)
    assert set(counts) == _dihedral_images(1, 2)
    assert max(counts.values()) / min(counts.values()) < 1.3


def test_translations_are_whole_voxels_within_the_reach_on_every_axis() -> None:
    """After undoing the symmetry (the only image within reach of the voxel), the displacement is a whole
    number of voxels, at most shift * side per axis, and every value in range occurs."""
    torch.manual_seed(1)
    n, shift = 3000, 0.25
    reach = int(shift * SIDE)
    seen = _where(augment_voxel_batch(_one_voxel(4, 4, 4, n), 1.0, up_axis=2, shift=shift))
    moves = Counter()
    for s in seen:
        if s is None:
            continue
        candidates = [(a, b) for a, b in _dihedral_images(4, 4)]
        best = min(candidates, key=lambda c: max(abs(s[0] - c[0]), abs(s[1] - c[1])))
        d = (s[0] - best[0], s[1] - best[1], s[2] - 4)
        assert all(abs(v) <= reach for v in d), d
        moves[d[2]] += 1
    assert set(moves) == set(range(-reach, reach + 1))


def test_the_up_axis_is_respected() -> None:
    """With up_axis=1 (y-up) the y coordinate is the one the rotations keep."""
    torch.manual_seed(2)
    seen = _where(augment_voxel_batch(_one_voxel(1, 5, 2, 500), 1.0, up_axis=1, shift=0.0))
    assert all(s[1] == 5 for s in seen if s is not None)
    assert len({(s[0], s[2]) for s in seen if s is not None}) == 8


def test_each_transform_is_applied_with_probability_p() -> None:
    """An asymmetric single voxel stays where it was only when no transform moved or cut it: at p the
    share of unchanged samples is (1 - p/2 mirror)(1 - 3p/4 rotation)(1 - p·P(shift ≠ 0))(1 - p·P(cut))."""
    torch.manual_seed(3)
    n, p, shift = 20_000, 0.3, 0.25
    seen = _where(augment_voxel_batch(_one_voxel(1, 2, 3, n), p, shift=shift))
    reach = int(shift * SIDE)
    p_move = 1 - 1 / (2 * reach + 1) ** 3
    # a cutout of half the side centred uniformly covers a voxel centre when |c - v| < side/4 on all axes
    p_cut = 1.0
    for v in (1, 2, 3):
        lo, hi = max(v + 0.5 - SIDE / 4, 0.0), min(v + 0.5 + SIDE / 4, SIDE)
        p_cut *= (hi - lo) / SIDE
    expected = (1 - p / 2) * (1 - 3 * p / 4) * (1 - p * p_move) * (1 - p * p_cut)
    # (a mirror followed by a rotation may return the voxel, and a shift may be undone by nothing else: tiny)
    share = sum(s == (1, 2, 3) for s in seen) / n
    assert abs(share - expected) < 0.02, (share, expected)


def test_binary_grids_stay_binary_and_the_gradient_is_the_transposed_map() -> None:
    """Transforms only move or zero voxels: 0/1 stays 0/1, and for out = A x the input gradient of
    <w, out> is Aᵀ w, so <grad, x> = <w, out> for the same draws (and the gradient is not cut)."""
    torch.manual_seed(4)
    x = (torch.rand(16, 1, SIDE, SIDE, SIDE) > 0.7).float()
    w = torch.randn_like(x)
    torch.manual_seed(5)
    out = augment_voxel_batch(x, 0.7)
    assert ((out == 0) | (out == 1)).all()
    assert (out.flatten(1).sum(1) <= x.flatten(1).sum(1)).all()
    leaf = x.clone().requires_grad_(True)
    torch.manual_seed(5)
    moved = augment_voxel_batch(leaf, 0.7)
    (moved * w).sum().backward()
    assert leaf.grad is not None
    torch.testing.assert_close((leaf.grad * x).sum(), (w * out).sum())
    assert ((leaf.grad == 0) | torch.isin(leaf.grad, w)).all()  # each input voxel feeds one output or none


def test_draws_are_per_sample() -> None:
    torch.manual_seed(6)
    out = augment_voxel_batch(_one_voxel(1, 2, 3, 64), 1.0, shift=0.25)
    assert len(set(_where(out))) > 16
