"""Photo preparation: the object is found (alpha, or the border colour + largest component), cropped,
centred on white and resized; checked on drawn images with known boxes and on the real photos."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from gan3d.data.photos import foreground_mask, prepare_photo
from gan3d.errors import DataError
from tests.conftest import real_files


def _photo(tmp_path: Path, alpha: bool = False) -> Path:
    """A 120 x 80 photo: grey-green background, a red box at rows 20..49, cols 70..109, one noise speck."""
    rgb = np.zeros((80, 120, 3), np.uint8)
    rgb[:] = (90, 140, 90)
    rgb[20:50, 70:110] = (200, 30, 30)
    rgb[5, 5] = (255, 255, 255)  # a speck: not the largest component
    path = tmp_path / ("a.png" if alpha else "p.png")
    if alpha:
        a = np.zeros((80, 120), np.uint8)
        a[20:50, 70:110] = 255
        Image.fromarray(np.dstack([rgb, a])).save(path)
    else:
        Image.fromarray(rgb).save(path)
    return path


@pytest.mark.parametrize("alpha", [False, True])
def test_the_object_is_found_cropped_and_centred(tmp_path: Path, alpha: bool) -> None:
    prepared = prepare_photo(_photo(tmp_path, alpha), size=50, fill=0.8)
    assert prepared.box == (70, 20, 110, 50)
    assert prepared.image.shape == (3, 50, 50)
    # the box's longer side (40 px) fills 80% of the square: 40 of 50 px, centred; the rest is white
    rows, cols = np.nonzero(prepared.mask)
    assert (cols.min(), cols.max() + 1) == (5, 45)
    assert abs((rows.min() + rows.max() + 1) / 2 - 25) <= 0.5 and 29 <= rows.max() + 1 - rows.min() <= 31
    image = prepared.image.numpy()
    assert (image[:, ~prepared.mask].min(axis=0) > 0.95).mean() > 0.97  # background white (edges blend)
    centre = image[:, 25, 25]
    np.testing.assert_allclose(centre, np.array([200, 30, 30]) / 255, atol=0.02)


def test_grey_output_and_bad_photos(tmp_path: Path) -> None:
    assert prepare_photo(_photo(tmp_path), size=32, channels=1).image.shape == (1, 32, 32)
    flat = tmp_path / "flat.png"
    Image.fromarray(np.full((20, 20, 3), 128, np.uint8)).save(flat)
    with pytest.raises(DataError, match="flat.png: no object found"):
        prepare_photo(flat, 32)
    (tmp_path / "junk.png").write_bytes(b"not an image")
    with pytest.raises(DataError, match="junk.png: cannot read image"):
        prepare_photo(tmp_path / "junk.png", 32)


def test_the_largest_component_wins() -> None:
    rgb = np.zeros((30, 30, 3), np.uint8)
    rgb[2:4, 2:4] = 255  # small
    rgb[10:25, 12:20] = 255  # large
    mask = foreground_mask(rgb)
    assert mask.sum() == 15 * 8 and mask[12, 15] and not mask[3, 3]


PHOTOS = real_files("realphotos_*/*/sample/*.png")


@pytest.mark.skipif(not PHOTOS, reason="../shared/real is absent")
@pytest.mark.parametrize("path", PHOTOS, ids=lambda p: f"{p.parts[-4]}/{p.name}")
def test_real_photos_crop_contains_the_object(path: Path) -> None:
    original = np.asarray(Image.open(path).convert("RGB")).astype(int)
    prepared = prepare_photo(path, size=64)
    left, top, right, bottom = prepared.box
    # an independent, cruder foreground: clearly unlike the corner colour (no components, another threshold)
    core = np.abs(original - original[0, 0]).max(axis=-1) > 60
    core[:3], core[-3:], core[:, :3], core[:, -3:] = False, False, False, False
    assert core.sum() > 0.05 * core.size
    inside = core[top:bottom, left:right].sum() / core.sum()
    assert inside > 0.98, f"the crop misses {1 - inside:.1%} of the object"
    # and the box is the object, not the whole frame: it leaves out most of the clear background
    assert (right - left) * (bottom - top) < 0.9 * core.size  # the folding table spans 85% of its photo
    # in the prepared image the object fills the configured share (0.7) of the side, centred
    rows, cols = np.nonzero(prepared.mask)
    extent = max(rows.max() - rows.min(), cols.max() - cols.min()) + 1
    assert abs(extent / 64 - 0.7) < 0.05
    assert abs((cols.min() + cols.max()) / 2 - 31.5) < 3 and abs((rows.min() + rows.max()) / 2 - 31.5) < 3
