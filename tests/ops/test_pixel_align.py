from __future__ import annotations

import torch

from gan3d.ops.pixel_align import project_to_ndc, sample_at
from gan3d.structures.cameras import orbit_cameras


def test_a_point_reads_the_pixel_the_camera_projects_it_into() -> None:
    # a "feature map" that is the pixel's own (col, row) index: sampling must return the projected pixel
    size = 32
    cams = orbit_cameras([20.0, 35.0], [30.0, 200.0], 2.5, size=size)
    rows, cols = torch.meshgrid(torch.arange(size), torch.arange(size), indexing="ij")
    index_map = torch.stack([cols, rows]).float()[None].expand(2, -1, -1, -1)  # (2, 2, H, W)
    points = torch.rand(2, 300, 3) * 1.2 - 0.6
    ndc, depth = project_to_ndc(points, cams)
    screen = cams.project(points)
    assert torch.allclose(depth, screen[..., 2])
    # at pixel centres bilinear sampling returns that pixel exactly; elsewhere the interpolation of the
    # neighbours, i.e. (u - 0.5, v - 0.5) in index units, inside the image
    sampled = sample_at(index_map, ndc)  # (2, 2, P)
    expected = screen[..., :2].permute(0, 2, 1) - 0.5
    inside = ((screen[..., :2] > 0.5) & (screen[..., :2] < size - 0.5)).all(-1)  # (2, P)
    assert inside.float().mean() > 0.8
    torch.testing.assert_close(sampled.permute(0, 2, 1)[inside], expected.permute(0, 2, 1)[inside], atol=1e-4, rtol=0)


def test_a_coarser_feature_map_covers_the_same_image() -> None:
    # a map at half resolution, read at a point, gives the cell covering the same image region
    cams = orbit_cameras(30.0, 45.0, 2.5, size=64)
    points = torch.rand(1, 200, 3) - 0.5
    ndc, _ = project_to_ndc(points, cams[None])
    screen = cams[None].project(points)[..., :2]
    coarse = torch.stack(torch.meshgrid(torch.arange(32), torch.arange(32), indexing="xy")).float()[None]
    sampled = sample_at(coarse, ndc)[0].T  # (P, 2): (col, row) in coarse cells, interpolated
    torch.testing.assert_close(sampled, (screen[0] / 2 - 0.5).clamp(0, 31), atol=1e-4, rtol=0)


def test_points_outside_the_image_read_zero() -> None:
    features = torch.ones(1, 4, 8, 8)
    out = sample_at(features, torch.tensor([[[1.5, 0.0], [0.0, -2.0], [0.0, 0.0]]]))
    assert (
        out[0, :, 0].abs().max() == 0 and out[0, :, 1].abs().max() == 0 and torch.allclose(out[0, :, 2], torch.ones(4))
    )
