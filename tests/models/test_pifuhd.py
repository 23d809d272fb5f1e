"""PIFuHD (§4.3, §4.4): the sliding window, Ω(X), the normal maps both levels read."""

from __future__ import annotations

import pytest
import torch

from gan3d.models.pifu import PixelAlignedMLP
from gan3d.models.pifuhd import PifuHD, crop_images, crop_offsets, to_crop_ndc
from gan3d.ops.pixel_align import project_to_ndc, sample_at
from gan3d.registry import get_model
from gan3d.structures.cameras import orbit_cameras

SIZE = 32
SMALL = {
    "image_size": SIZE,
    "coarse_size": 16,
    "crop_size": 16,
    "coarse_channels": 16,
    "coarse_feature_channels": 16,
    "coarse_mlp_widths": (16, 12, 8, 6),
    "fine_channels": 8,
    "fine_feature_channels": 8,
    "fine_mlp_widths": (8,),
}


def _small(**kw) -> PifuHD:  # noqa: ANN003
    normal_net = {"image_size": SIZE, "base_channels": 4, "n_down": 2, "n_blocks": 1}
    return get_model("pifuhd_128", **{**SMALL, "normal_net": normal_net, **kw})  # type: ignore[return-value]


def _cams(n: int):  # noqa: ANN202
    return orbit_cameras([25.0] * n, [float(50 * i) for i in range(n)], 2.2, size=SIZE).reshape(n, 1)


def test_a_window_reads_what_the_whole_image_reads_at_the_same_place() -> None:
    """Sampling a window at `to_crop_ndc` equals sampling the whole image at the original NDC (the
    window is cut by plain slicing, an independent reference), and the in-window test is the pixel one."""
    gen = torch.Generator().manual_seed(0)
    images = torch.rand(3, 2, SIZE, SIZE, generator=gen)
    offsets = crop_offsets(3, SIZE, 12, gen)
    offsets[0] = torch.tensor([3, 17])  # not square: a swapped (row, column) offset fails
    windows = crop_images(images, offsets, 12)
    assert windows.shape == (3, 2, 12, 12)
    torch.testing.assert_close(windows[0], images[0, :, 17:29, 3:15])
    pixels = torch.rand(3, 400, 2, generator=gen) * SIZE  # continuous pixel positions (column, row)
    ndc = pixels / SIZE * 2 - 1
    window_ndc = to_crop_ndc(ndc, offsets, SIZE, 12)
    local = pixels - offsets[:, None].float()
    inside = ((local >= 0) & (local <= 12)).all(-1)
    assert torch.equal((window_ndc.abs() <= 1).all(-1), inside)
    # away from the window's border (where the window pads with zeros) both reads agree
    interior = ((local >= 1) & (local <= 11)).all(-1)
    whole, cut = sample_at(images, ndc), sample_at(windows, window_ndc)
    assert interior.sum() > 50
    torch.testing.assert_close(cut.permute(0, 2, 1)[interior], whole.permute(0, 2, 1)[interior])


def test_window_coordinates_follow_the_camera() -> None:
    """A point's window NDC is its camera pixel minus the window's offset (the camera's own projection)."""
    cams = _cams(2)
    points = torch.rand(2, 50, 3) - 0.5
    ndc, _ = project_to_ndc(points, cams[:, 0])
    offsets = torch.tensor([[5, 9], [16, 0]])
    window = to_crop_ndc(ndc, offsets, SIZE, 16)
    pixels = cams[:, 0].project(points)[..., :2] - offsets[:, None].float()
    torch.testing.assert_close(window, pixels / 16 * 2 - 1, atol=1e-5, rtol=1e-5)


def test_the_fine_level_reads_omega_from_the_coarse_mlp() -> None:
    torch.manual_seed(0)
    model = _small().eval()
    images, cams, points = torch.rand(2, 1, 3, SIZE, SIZE), _cams(2), torch.rand(2, 60, 3) - 0.5
    with torch.no_grad():
        base = model.occupancy(images, cams, points)
        # the coarse MLP's last layers come after Ω: they do not change the fine answer
        model.coarse_mlp.out.weight.add_(1.0)
        model.coarse_mlp.layers[-1].weight.add_(1.0)
        torch.testing.assert_close(model.occupancy(images, cams, points), base)
        # its layers up to merge_layer make Ω: they do
        model.coarse_mlp.layers[model.merge_layer].weight.add_(0.5)
        assert (model.occupancy(images, cams, points) - base).abs().max() > 1e-4
    assert model.fine_mlp.layers[0].in_channels == 8 + 8  # fine features + Ω (the coarse layer 2, 8 wide)


def test_omega_is_detached_when_asked() -> None:
    torch.manual_seed(0)
    model = _small()
    images, cams, points = torch.rand(2, 1, 3, SIZE, SIZE), _cams(2), torch.rand(2, 60, 3) - 0.5
    for detach in (True, False):
        model.zero_grad()
        features = model.encode(images)[-1]
        _, fine, _ = model.query_levels(features, cams, points, detach_omega=detach)
        fine.sum().backward()
        grad = model.coarse_encoder.heads[-1].weight.grad
        assert (grad is None or grad.abs().sum() == 0) == detach
        assert model.fine_encoder.heads[-1].weight.grad.abs().sum() > 0


def test_both_levels_read_the_normal_maps_predicted_when_not_given() -> None:
    torch.manual_seed(0)
    model = _small().eval()
    images, cams, points = torch.rand(2, 1, 3, SIZE, SIZE), _cams(2), torch.rand(2, 60, 3) - 0.5
    with torch.no_grad():
        predicted = model.predict_normals(images[:, 0])
        given = model(images, cams, points, normal_maps=predicted[:, None])
        default = model(images, cams, points)
        for a, b in zip(given, default, strict=True):
            torch.testing.assert_close(a, b)
        other = model(images, cams, points, normal_maps=-predicted)
    assert (other[0] - default[0]).abs().max() > 1e-4  # the coarse level reads them
    assert (other[-1] - default[-1]).abs().max() > 1e-4  # the fine level too
    offsets = torch.tensor([[4, 8], [16, 0]])
    for window in (None, offsets):  # the fine encoder itself reads them, on the whole image and on a window
        with torch.no_grad():
            a = model.encode(images, predicted[:, None], window)[-1].fine
            b = model.encode(images, -predicted[:, None], window)[-1].fine
        assert (a - b).abs().max() > 1e-4
    assert model.coarse_encoder.stem[0].in_channels == 9 and model.fine_encoder.stem[0].in_channels == 9
    blind = _small(normals=False, normal_net=None)
    assert blind.coarse_encoder.stem[0].in_channels == 3 and len(blind(images, cams, points)) == 3


def test_a_training_window_scores_only_the_points_it_sees() -> None:
    torch.manual_seed(0)
    model = _small().eval()
    images, cams = torch.rand(2, 1, 3, SIZE, SIZE), _cams(2)
    points = torch.rand(2, 300, 3) * 2 - 1
    offsets = torch.tensor([[0, 0], [16, 16]])
    with torch.no_grad():
        features = model.encode(images, offsets=offsets)[-1]
        _, fine, inside = model.query_levels(features, cams, points)
    pixels = cams[:, 0].project(points)[..., :2]
    expected = ((pixels >= offsets[:, None]) & (pixels <= offsets[:, None] + 16)).all(-1)
    assert torch.equal(inside, expected) and 0 < inside.float().mean() < 1
    assert features.fine.shape[-1] == 16 // 2  # the window's map, not the image's
    assert fine.shape == (2, 300)


def test_bad_inputs_are_refused() -> None:
    model = _small()
    with pytest.raises(ValueError, match="single-view"):
        model(torch.rand(2, 2, 3, SIZE, SIZE), _cams(2), torch.rand(2, 10, 3))
    with pytest.raises(ValueError, match="32 px"):
        model(torch.rand(2, 1, 3, 16, 16), _cams(2), torch.rand(2, 10, 3))
    with pytest.raises(ValueError, match="normal_maps"):
        model(torch.rand(2, 1, 3, SIZE, SIZE), _cams(2), torch.rand(2, 10, 3), normal_maps=torch.rand(2, 3, SIZE, SIZE))
    with pytest.raises(ValueError, match="merge_layer"):
        _small(merge_layer=4)
    with pytest.raises(ValueError, match="no normal network"):
        _small(normal_net=None)(torch.rand(2, 1, 3, SIZE, SIZE), _cams(2), torch.rand(2, 10, 3))


def test_forward_with_hidden_is_the_forward() -> None:
    mlp = PixelAlignedMLP(5, (8, 6, 4))
    x = torch.rand(2, 5, 7)
    logits, hidden = mlp.forward_with_hidden(x, 1, 1)
    torch.testing.assert_close(logits, mlp(x))
    assert hidden is not None and hidden.shape == (2, 6, 7)


def test_paper_size_records_its_config() -> None:
    model = get_model("pifuhd_1024")
    assert model.coarse_mlp.layers[0].in_channels == 257  # PIFu's 256 features + z
    assert model.fine_mlp.layers[0].in_channels == 16 + 256  # PIFuHD: 272 = 16 fine features + Ω (256)
    assert model.config["coarse_size"] == 512 and model.config["crop_size"] == 512
    assert model.normal_net is not None and model.normal_net.config["n_blocks"] == 9
