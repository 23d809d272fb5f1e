from __future__ import annotations

import torch

from gan3d.data.augment import AugmentSettings, augment_image, augment_voxels


def test_zero_ranges_are_the_identity() -> None:
    voxels = (torch.rand(1, 16, 16, 16) > 0.7).float()
    image = torch.rand(3, 20, 24)
    none = AugmentSettings(0, 0, 0, 0)
    torch.testing.assert_close(augment_voxels(voxels, none), voxels)
    torch.testing.assert_close(augment_image(image, none), image, atol=1e-5, rtol=0)


def test_voxel_translation_moves_by_whole_voxels_within_range() -> None:
    voxels = torch.zeros(1, 16, 16, 16)
    voxels[0, 6:9, 6:9, 6:9] = 1
    shifts = set()
    for seed in range(20):
        out = augment_voxels(
            voxels, AugmentSettings(voxel_degrees=0, voxel_shift=2.0), torch.Generator().manual_seed(seed)
        )
        assert set(out.unique().tolist()) <= {0.0, 1.0}  # stays binary
        centre = torch.nonzero(out[0]).float().mean(0) - 7.0
        assert centre.abs().max() <= 2.0 + 1e-6
        shifts.add(tuple(centre.round().tolist()))
    assert len(shifts) > 3


def test_voxel_rotation_is_about_the_up_axis() -> None:
    voxels = torch.zeros(1, 24, 24, 24)
    voxels[0, 3:21, 11:13, 4:6] = 1  # a cross of long flat bars along x and y, low in z
    voxels[0, 11:13, 3:21, 4:6] = 1
    voxels[0, 11:13, 11:13, 6:20] = 1  # and a post standing on it
    turned = 0
    for seed in range(6):
        out = augment_voxels(
            voxels, AugmentSettings(voxel_degrees=8, voxel_shift=0, up_axis=2), torch.Generator().manual_seed(seed)
        )
        turned += int(not torch.equal(out, voxels))
        # a rotation about z keeps every voxel at its height: the same slices hold the same counts (nearest
        # resampling of the turned bar gains or loses a few voxels per slice); a tilt about x or y would
        # tilt one of the bars across more slices
        before, after = voxels.sum(dim=(1, 2))[0], out.sum(dim=(1, 2))[0]
        assert torch.equal(before > 0, after > 0)
        torch.testing.assert_close(after, before, atol=4.0, rtol=0.1)
    assert turned >= 2  # small angles leave a nearest-resampled grid unchanged


def test_image_shift_fills_background_white() -> None:
    image = torch.zeros(1, 100, 100)  # black object filling the frame; 5% = up to 5 pixels
    settings = AugmentSettings(image_degrees=0, image_shift=0.05)
    out = augment_image(image, settings, generator=torch.Generator().manual_seed(3))
    borders = torch.stack([out[0, :, 0], out[0, :, -1], out[0, 0, :], out[0, -1, :]])
    assert (borders == 1.0).any(dim=1).sum() >= 2  # white came in at two borders (x and y shifts)
    assert out[0, 20:80, 20:80].max() == 0.0
