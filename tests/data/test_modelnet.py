from __future__ import annotations

from pathlib import Path

import pytest

from gan3d.data.modelnet import scan_layout, view_index
from gan3d.errors import DataError


def _touch(path: Path, data: bytes = b"") -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    return path


def test_all_view_naming_schemes_in_view_order(tmp_path: Path) -> None:
    train = tmp_path / "chair" / "train"
    # modelnet40v1png / gan3d names, written out of order
    for i in (3, 1, 2, 10):
        _touch(train / f"chair_0001_{i:03d}.png")
    # MVCNN shaded images
    for i in (11, 0, 1):
        _touch(train / f"chair_0002.obj_whiteshaded_v{i:04d}.png")
    # one folder per object, named like the mesh, views numbered after a dot
    for i in (2, 0, 1):
        _touch(train / "chair_0003.off" / f"chair_0003.{i}.png")
    # one folder per object with bare numbers
    for i in (12, 1):
        _touch(tmp_path / "chair" / "test" / "chair_0004" / f"{i:03d}.png")
    _touch(train / "chair_0001.off")
    records = {r.stem: r for r in scan_layout(tmp_path)}
    assert [view_index(p) for p in records["chair_0001"].views] == [1, 2, 3, 10]
    assert records["chair_0001"].mesh == train / "chair_0001.off"
    assert [view_index(p) for p in records["chair_0002"].views] == [0, 1, 11]
    assert [p.name for p in records["chair_0003"].views] == ["chair_0003.0.png", "chair_0003.1.png", "chair_0003.2.png"]
    assert records["chair_0004"].split == "test" and len(records["chair_0004"].views) == 2


def test_grids_by_resolution(tmp_path: Path) -> None:
    folder = tmp_path / "table" / "test"
    _touch(folder / "table_0001_32.binvox", b"#binvox 1\ndim 32 32 32\n")
    _touch(folder / "table_0001_64.binvox", b"#binvox 1\ndim 64 64 64\n")
    _touch(folder / "table_0002.binvox", b"#binvox 1\ndim 16 16 16\n")  # <class>_NNNN: not resolution 2
    records = {r.stem: r for r in scan_layout(tmp_path)}
    assert sorted(records["table_0001"].grids) == [32, 64]
    assert list(records["table_0002"].grids) == [16]


def test_class_filter_and_bad_roots(tmp_path: Path) -> None:
    _touch(tmp_path / "a" / "train" / "a_0001.off")
    _touch(tmp_path / "b" / "train" / "b_0001.off")
    assert [r.class_name for r in scan_layout(tmp_path, ["b"])] == ["b"]
    with pytest.raises(DataError, match="not a folder"):
        scan_layout(tmp_path / "missing")
    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(DataError, match="no <class>/train"):
        scan_layout(empty)


def test_real_mvcnn_layouts(real: Path) -> None:
    vencia = scan_layout(real / "mvcnn12_vencia")
    assert len(vencia) == 1 and len(vencia[0].views) == 12 and vencia[0].mesh is not None
    assert [p.name for p in vencia[0].views][:3] == ["001.png", "002.png", "003.png"]
    shaded = scan_layout(real / "mvcnn12_whiteshaded_towardshch")
    assert len(shaded) == 4 and all(len(r.views) == 12 for r in shaded)
    assert {r.split for r in shaded} == {"train", "test"}
    assert [view_index(p) for p in shaded[0].views] == list(range(12))
    modelnet = scan_layout(real / "modelnet_off_zeaggler")
    assert {r.class_name for r in modelnet} == {"airplane", "bathtub", "bed"} and all(r.mesh for r in modelnet)
