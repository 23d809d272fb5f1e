from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import trimesh
from trimesh.exchange import binvox as tm_binvox

from gan3d.errors import DataError
from gan3d.io.binvox import encode_binvox, parse_binvox, read_binvox, write_binvox
from gan3d.io.grids import load_grid, save_grid
from gan3d.structures.voxel_grid import VoxelGrid
from tests.conftest import real_files


def _random_grid(res: int = 16, density: float = 0.3) -> VoxelGrid:
    occ = np.random.default_rng(res).random((res, res, res)) < density
    return VoxelGrid(occ, np.array([-0.25, 0.5, 1.0]), 2.0)


def test_hand_written_file_is_decoded_in_x_z_y_order() -> None:
    # 2^3 grid, file order x-z-y (y fastest): only the 2nd voxel set -> x=0, z=0, y=1
    raw = b"#binvox 1\ndim 2 2 2\ntranslate 0 0 0\nscale 1\ndata\n" + bytes([0, 1, 1, 1, 0, 6])
    grid = parse_binvox(raw)
    assert grid.occupancy.sum() == 1 and grid.occupancy[0, 1, 0]


def test_round_trip_and_long_runs(tmp_path: Path) -> None:
    grid = VoxelGrid(np.zeros((32, 32, 32), dtype=bool), np.zeros(3), 1.0)
    grid.occupancy[5:30, 2:20, 7:9] = True  # runs longer than 255 must be split
    write_binvox(grid, tmp_path / "g.binvox")
    back = read_binvox(tmp_path / "g.binvox")
    np.testing.assert_array_equal(back.occupancy, grid.occupancy)
    body = (tmp_path / "g.binvox").read_bytes().split(b"data\n", 1)[1]
    assert max(body[1::2]) == 255 and min(body[1::2]) >= 1


def test_trimesh_reads_what_we_write(tmp_path: Path) -> None:
    grid = _random_grid()
    write_binvox(grid, tmp_path / "g.binvox")
    with open(tmp_path / "g.binvox", "rb") as fh:
        theirs = tm_binvox.load_binvox(fh)
    np.testing.assert_array_equal(np.asarray(theirs.matrix), grid.occupancy)


def test_we_read_what_trimesh_writes_byte_for_byte() -> None:
    grid = _random_grid(12)
    theirs = trimesh.voxel.VoxelGrid(grid.occupancy)
    raw = tm_binvox.export_binvox(theirs)
    back = parse_binvox(raw)
    np.testing.assert_array_equal(back.occupancy, grid.occupancy)
    # same run-length body as trimesh's encoder (the headers differ only in translate/scale)
    ours = encode_binvox(VoxelGrid(grid.occupancy, back.translate, back.scale))
    assert ours.split(b"data\n", 1)[1] == raw.split(b"data\n", 1)[1]


@pytest.mark.parametrize("suffix", [".npy", ".npz", ".binvox"])
def test_grid_formats_round_trip(tmp_path: Path, suffix: str) -> None:
    grid = _random_grid()
    save_grid(grid, tmp_path / f"g{suffix}")
    back = load_grid(tmp_path / f"g{suffix}")
    np.testing.assert_array_equal(back.occupancy, grid.occupancy)
    if suffix != ".npy":
        np.testing.assert_allclose(back.translate, grid.translate)
        assert back.scale == pytest.approx(grid.scale)


def test_index_to_world_follows_binvox() -> None:
    grid = VoxelGrid(np.zeros((4, 4, 4), dtype=bool), np.array([1.0, 2.0, 3.0]), 2.0)
    np.testing.assert_allclose(grid.index_to_world(np.array([0, 1, 3])), [1.25, 2.75, 4.75])
    np.testing.assert_allclose(grid.world_to_index(grid.index_to_world(np.array([2, 3, 1]))), [2.5, 3.5, 1.5])


CORRUPT = {
    "not_binvox": b"hello\n",
    "odd_bytes": b"#binvox 1\ndim 2 2 2\ntranslate 0 0 0\nscale 1\ndata\n" + bytes([0, 8, 1]),
    "wrong_total": b"#binvox 1\ndim 2 2 2\ntranslate 0 0 0\nscale 1\ndata\n" + bytes([0, 7]),
    "bad_value": b"#binvox 1\ndim 2 2 2\ntranslate 0 0 0\nscale 1\ndata\n" + bytes([7, 8]),
    "no_data": b"#binvox 1\ndim 2 2 2\n",
    "bad_dim": b"#binvox 1\ndim 2 x 2\ntranslate 0 0 0\nscale 1\ndata\n" + bytes([0, 8]),
}


@pytest.mark.parametrize("name", sorted(CORRUPT))
def test_corrupt_files_raise_data_error(tmp_path: Path, name: str) -> None:
    path = tmp_path / f"{name}.binvox"
    path.write_bytes(CORRUPT[name])
    with pytest.raises(DataError) as info:
        read_binvox(path)
    assert str(path) in str(info.value)


def test_npy_of_wrong_shape_is_rejected(tmp_path: Path) -> None:
    np.save(tmp_path / "flat.npy", np.zeros((4, 5)))
    with pytest.raises(DataError, match="cube"):
        load_grid(tmp_path / "flat.npy")


@pytest.mark.parametrize(
    "path",
    real_files("shapenet_*/chair/sample/**/*.binvox")[:6] + real_files("shapenet_vox64_*/**/*.binvox")[:3],
    ids=lambda p: p.parent.name[:8],
)
def test_real_shapenet_binvox_matches_trimesh(path: Path) -> None:
    ours = read_binvox(path)
    with open(path, "rb") as fh:
        theirs = tm_binvox.load_binvox(fh)
    np.testing.assert_array_equal(ours.occupancy, np.asarray(theirs.matrix))
    header = path.read_bytes().split(b"data\n", 1)[0].decode()
    scale = float(header.split("scale")[1].split()[0])
    assert ours.scale == pytest.approx(scale)
    # and our writer reproduces the binvox tool's file byte for byte, header included
    assert encode_binvox(ours) == path.read_bytes()
