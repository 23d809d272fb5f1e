"""Hostile files, one regression test per finding of the hardening run: each is a `DataError` naming
the file, before anything large is allocated, or is read correctly."""

from __future__ import annotations

import io
import struct
import zlib
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from gan3d.errors import DataError
from gan3d.io.binvox import parse_binvox, read_binvox
from gan3d.io.grids import load_grid, load_grid_values
from gan3d.io.images import load_view_image
from gan3d.io.mesh import load_mesh


@pytest.mark.parametrize(
    "header,message",
    [
        (b"#binvox 1\ndim 2 2 2\nscale\ndata\n\x00\x08", "malformed binvox header"),
        (b"#binvox 1\ndim 4194304 4194304 4194304\ndata\n\x00\xff", "above the limit"),
        (b"#binvox 1\ndim 2048 2048 2048\ndata\n\x00\xff", "above the limit"),
        (b"#binvox 1\ndim 2 2 2\ndata\n\x00\x07", "holds 7 voxels, header says 8"),
        (b"#binvox 1\ndim 2 2 2\ntranslate 0 0\ndata\n\x00\x08", "translate"),
    ],
)
def test_broken_binvox_headers(header: bytes, message: str) -> None:
    with pytest.raises(DataError, match=message):
        parse_binvox(header, "x.binvox")


def test_binvox_limit_is_configurable() -> None:
    data = b"#binvox 1\ndim 16 16 16\ndata\n\x00\xff" * 1
    with pytest.raises(DataError, match="limit of 8"):
        parse_binvox(data, "x.binvox", max_resolution=8)


def _png_with_size(width: int, height: int) -> bytes:
    """A tiny valid PNG whose IHDR claims `width` x `height` (CRC fixed up): a decompression bomb."""
    buffer = io.BytesIO()
    Image.new("L", (4, 4)).save(buffer, format="PNG")
    data = bytearray(buffer.getvalue())
    ihdr = data.index(b"IHDR")
    data[ihdr + 4 : ihdr + 12] = struct.pack(">II", width, height)
    data[ihdr + 17 : ihdr + 21] = struct.pack(">I", zlib.crc32(bytes(data[ihdr : ihdr + 17])))
    return bytes(data)


def test_images_bomb_broken_and_16_bit(tmp_path: Path) -> None:
    (tmp_path / "bomb.png").write_bytes(_png_with_size(30000, 30000))
    with pytest.raises(DataError, match=r"bomb.png: .*(limit|too large)"):
        load_view_image(tmp_path / "bomb.png")
    good = io.BytesIO()
    Image.new("RGB", (8, 8), (10, 20, 30)).save(good, format="PNG")
    (tmp_path / "broken.png").write_bytes(good.getvalue()[:60] + b"\x00" * 40)
    with pytest.raises(DataError, match="broken.png: cannot read image"):
        load_view_image(tmp_path / "broken.png")
    grey = np.full((6, 6), 32768, dtype=np.uint16)
    grey[0, 0] = 0
    Image.fromarray(grey).save(tmp_path / "grey16.png")
    image = load_view_image(tmp_path / "grey16.png", channels=1)
    assert image[0, 3, 3].item() == pytest.approx(128 / 255, abs=1 / 255)  # mid grey, not white
    assert image[0, 0, 0].item() == 0.0
    palette = Image.new("P", (4, 4))
    palette.putpalette([255, 0, 0] + [0, 0, 0] * 255)
    palette.save(tmp_path / "palette.png")
    torch.testing.assert_close(load_view_image(tmp_path / "palette.png")[:, 0, 0], torch.tensor([1.0, 0.0, 0.0]))


def _npy(array: np.ndarray) -> bytes:
    buffer = io.BytesIO()
    np.save(buffer, array)
    return buffer.getvalue()


def test_hostile_npy_and_npz(tmp_path: Path) -> None:
    occupancy = np.zeros((4, 4, 4), bool)
    huge = _npy(occupancy).replace(b"(4, 4, 4)", b"(99999, 99999, 99999)")
    (tmp_path / "huge.npy").write_bytes(huge)
    with pytest.raises(DataError, match="above the limit"):
        load_grid(tmp_path / "huge.npy")
    truncated = _npy(np.zeros((64, 64, 64), np.float32))[:1000]
    (tmp_path / "short.npy").write_bytes(truncated)
    with pytest.raises(DataError, match="truncated"):
        load_grid(tmp_path / "short.npy")
    (tmp_path / "header.npy").write_bytes(_npy(occupancy).replace(b"{'descr'", b"{'descr' ("))
    with pytest.raises(DataError, match="header.npy: cannot read grid"):
        load_grid(tmp_path / "header.npy")
    (tmp_path / "zip.npz").write_bytes(b"PK\x03\x04" + b"\x00" * 50)
    with pytest.raises(DataError, match="zip.npz: cannot read grid"):
        load_grid(tmp_path / "zip.npz")
    for name, kwargs, message in (
        ("t2.npz", {"translate": np.zeros(2)}, "translate"),
        ("nan.npz", {"translate": np.array([0, np.nan, 0])}, "translate"),
        ("scale.npz", {"scale": np.ones(3)}, "scale"),
    ):
        np.savez(tmp_path / name, occupancy=occupancy, **kwargs)
        with pytest.raises(DataError, match=message):
            load_grid(tmp_path / name)
    np.save(tmp_path / "probs.npy", np.full((4, 4, 4), 0.7, np.float32))
    values, grid = load_grid_values(tmp_path / "probs.npy")
    assert values.max() == pytest.approx(0.7) and grid.occupancy.all()


def test_text_meshes_with_latin1_comments_and_multifile_gltf(tmp_path: Path) -> None:
    import trimesh

    box = trimesh.creation.box()
    (tmp_path / "latin.obj").write_bytes(b"# mod\xe8le caf\xe9\n" + box.export(file_type="obj").encode())
    assert load_mesh(tmp_path / "latin.obj").faces.shape == (12, 3)
    (tmp_path / "latin.off").write_bytes(
        b"OFF\n# \xe9t\xe9\n" + box.export(file_type="off").encode().split(b"\n", 1)[1]
    )
    assert load_mesh(tmp_path / "latin.off").faces.shape == (12, 3)
    for name, data in box.export(file_type="gltf").items():  # model.gltf + its .bin buffers
        (tmp_path / name).write_bytes(data)
    mesh = load_mesh(tmp_path / "model.gltf")
    assert mesh.faces.shape == (12, 3) and np.allclose(np.ptp(mesh.verts, axis=0), 1.0)


def test_a_killed_write_leaves_nothing_a_reader_takes_for_data(tmp_path: Path) -> None:
    from gan3d.data.datasets import ShapeDataset
    from gan3d.data.synthetic import make_shape
    from gan3d.data.voxelize import voxelize
    from gan3d.files import atomic_path, is_temporary
    from gan3d.io.binvox import write_binvox

    folder = tmp_path / "chair" / "train"
    mesh = make_shape("chair", 0)
    write_binvox(voxelize(mesh.verts, mesh.faces, 8), folder / "chair_0001_8.binvox")
    with pytest.raises(RuntimeError), atomic_path(folder / "chair_0002_8.binvox") as tmp:
        tmp_name = tmp.name
        raise RuntimeError("killed")
    assert is_temporary(tmp_name) and not tmp_name.endswith(".binvox")
    (folder / tmp_name).write_bytes(b"#binvox 1\n")  # the half file a SIGKILL before the cleanup leaves
    ds = ShapeDataset(tmp_path, 8)
    assert [r.stem for r in ds.records] == ["chair_0001"]
    assert read_binvox(folder / "chair_0001_8.binvox").resolution == 8
