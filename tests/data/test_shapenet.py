from __future__ import annotations

from pathlib import Path

import pytest

from gan3d.data.shapenet import r2n2_split, read_rendering_metadata, scan_r2n2
from gan3d.errors import DataError


def test_split_is_deterministic_and_about_80_20() -> None:
    ids = [f"{i:032x}" for i in range(2000)]
    splits = [r2n2_split(i) for i in ids]
    assert splits == [r2n2_split(i) for i in ids]
    assert 0.75 < splits.count("train") / len(splits) < 0.85


def test_real_r2n2_release_layout(real: Path) -> None:
    root = real / "shapenet_r2n2_attsets/chair/sample"
    records = scan_r2n2(root)
    assert len(records) == 6
    for record in records:
        assert record.class_name == "chair" and 32 in record.grids and len(record.views) == 24
        assert [p.name for p in record.views][:3] == ["00.png", "01.png", "02.png"]
    meta = read_rendering_metadata(records[0].views[0].parent / "rendering_metadata.txt")
    assert len(meta) == 24 and 0 <= meta[0]["azimuth"] < 360 and meta[0]["fov"] == 25


def test_not_an_r2n2_root(tmp_path: Path) -> None:
    with pytest.raises(DataError, match="ShapeNetVox32"):
        scan_r2n2(tmp_path)
    (tmp_path / "bad.txt").write_text("1 2 x\n")
    with pytest.raises(DataError, match="line 1"):
        read_rendering_metadata(tmp_path / "bad.txt")
