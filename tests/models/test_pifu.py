from __future__ import annotations

import pytest
import torch

from gan3d.models.pifu import Pifu
from gan3d.registry import get_model
from gan3d.structures.cameras import orbit_cameras


def _small(**kw) -> Pifu:  # noqa: ANN003
    return get_model("pifu_64", channels=16, feature_channels=16, stacks=2, depth=2, mlp_widths=(32, 16, 8), **kw)


def _cams(n: int, v: int):  # noqa: ANN202
    azimuth = [float(30 * i) for i in range(n * v)]
    return orbit_cameras([20.0] * (n * v), azimuth, 2.5, size=64).reshape(n, v)


def test_shapes_and_one_answer_per_stack() -> None:
    model = _small()
    out = model(torch.rand(3, 1, 3, 64, 64), _cams(3, 1), torch.rand(3, 100, 3) - 0.5)
    assert len(out) == 2 and all(o.shape == (3, 100) for o in out)
    occ = model.occupancy(torch.rand(3, 1, 3, 64, 64), _cams(3, 1), torch.rand(3, 100, 3) - 0.5)
    assert occ.min() >= 0 and occ.max() <= 1
    with pytest.raises(ValueError, match="images"):
        model(torch.rand(3, 3, 64, 64), _cams(3, 1), torch.rand(3, 100, 3))
    with pytest.raises(ValueError, match="points"):
        model.query(model.encode(torch.rand(3, 1, 3, 64, 64))[-1], _cams(3, 1), torch.rand(2, 100, 3))


def test_points_on_one_ray_share_features_and_differ_by_depth() -> None:
    torch.manual_seed(0)
    model = _small().eval()
    cams = _cams(1, 1)
    pixels = torch.rand(1, 1, 50, 2) * 40 + 12
    near = cams.unproject(pixels, torch.full((1, 1, 50), 2.2))[0]
    far = cams.unproject(pixels, torch.full((1, 1, 50), 2.8))[0]
    images = torch.rand(1, 1, 3, 64, 64)
    with torch.no_grad():
        a, b = model.occupancy(images, cams, near), model.occupancy(images, cams, far)
        assert (a - b).abs().max() > 1e-4  # z(X) enters f
        model.depth_scale = 0.0
        a, b = model.occupancy(images, cams, near), model.occupancy(images, cams, far)
    torch.testing.assert_close(a, b)  # without z, the same pixel reads the same features: the same answer


def test_views_are_averaged_within_an_object_only() -> None:
    torch.manual_seed(0)
    model = _small().eval()
    images, cams, points = torch.rand(2, 3, 3, 64, 64), _cams(2, 3), torch.rand(2, 80, 3) - 0.5
    with torch.no_grad():
        base = model.occupancy(images, cams, points)
        # the order of an object's views does not matter
        order = torch.tensor([2, 0, 1])
        shuffled = model.occupancy(images[:, order], cams[:, order], points)
        torch.testing.assert_close(shuffled, base)
        # another object's views do not leak into this one's answer
        other = images.clone()
        other[1] = torch.rand(3, 3, 64, 64)
        changed = model.occupancy(other, cams, points)
        torch.testing.assert_close(changed[0], base[0])
        assert (changed[1] - base[1]).abs().max() > 1e-5
        # one view given three times answers as that view alone
        single = model.occupancy(images[:, :1], cams[:, :1], points)
        triple = model.occupancy(images[:, [0, 0, 0]], cams[:, [0, 0, 0]], points)
    torch.testing.assert_close(triple, single, atol=1e-5, rtol=1e-4)


def test_paper_size_builds_and_records_its_config() -> None:
    model = get_model("pifu_512")
    assert model.config["stacks"] == 4 and model.config["mlp_widths"] == [1024, 512, 256, 128]
    assert model.mlp.layers[0].in_channels == 257  # PIFu: 256 features + z
