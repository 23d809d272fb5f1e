from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import trimesh

from gan3d.data.synthetic import CLASSES, make_shape
from gan3d.data.voxelize import voxelize
from gan3d.errors import DataError
from gan3d.export.mesh import export_mesh, grid_to_mesh, sample_grid_surface, voxels_to_mesh
from gan3d.io.mesh import load_mesh
from gan3d.structures.voxel_grid import VoxelGrid


def _iou(a: np.ndarray, b: np.ndarray) -> float:
    return float((a & b).sum() / (a | b).sum())


def test_cube_hand_computed() -> None:
    occ = np.zeros((6, 6, 6), dtype=bool)
    occ[1:5, 1:5, 1:5] = True  # a 4^3 cube; the 0.5 iso-surface lies half-way between centres
    mesh = voxels_to_mesh(occ, translate=np.zeros(3), scale=6.0)
    tm = trimesh.Trimesh(mesh.verts, mesh.faces)
    assert tm.is_watertight and tm.volume > 0  # closed, normals outwards
    lo, hi = mesh.bounds
    np.testing.assert_allclose(lo, [1.0, 1.0, 1.0], atol=1e-6)  # voxel 1 spans [1, 2]: its centre 1.5 - 0.5
    np.testing.assert_allclose(hi, [5.0, 5.0, 5.0], atol=1e-6)


def test_touching_the_border_is_still_watertight() -> None:
    occ = np.ones((5, 5, 5))
    tm = trimesh.Trimesh(*(lambda m: (m.verts, m.faces))(voxels_to_mesh(occ)))
    assert tm.is_watertight


@pytest.mark.parametrize("name", CLASSES)
def test_round_trip_builtin_shapes(name: str) -> None:
    shape = make_shape(name, 0)
    grid = voxelize(shape.verts, shape.faces, 32)
    mesh = grid_to_mesh(grid)
    assert trimesh.Trimesh(mesh.verts, mesh.faces).is_watertight
    # the 0.5 iso-surface runs half-way between voxel centres, so the centre rule recovers the grid;
    # the conservative rule also marks the voxels where marching cubes bridges diagonal neighbours
    placement = (grid.translate, grid.scale)
    again = voxelize(mesh.verts, mesh.faces, 32, surface=False, placement=placement)
    assert _iou(grid.occupancy, again.occupancy) >= 0.97
    conservative = voxelize(mesh.verts, mesh.faces, 32, placement=placement).occupancy
    assert (conservative | ~grid.occupancy).all()
    # in its own frame (the mesh's bounding box, which can differ by a voxel) the volume is close
    own = voxelize(mesh.verts, mesh.faces, 32)
    assert own.occupancy.sum() == pytest.approx(grid.occupancy.sum(), rel=0.35)


@pytest.mark.parametrize("suffix", [".obj", ".ply", ".stl", ".glb", ".off"])
def test_export_formats_reload(tmp_path: Path, suffix: str) -> None:
    occ = np.zeros((8, 8, 8))
    occ[2:6, 2:5, 1:7] = 1
    mesh = voxels_to_mesh(occ, smooth=3)
    path = export_mesh(mesh, tmp_path / f"m{suffix}")
    if suffix == ".glb":
        back = trimesh.load(path, force="mesh")
        assert len(back.faces) == len(mesh.faces)
    else:
        assert len(load_mesh(path).faces) == len(mesh.faces)


def test_smoothing_keeps_volume() -> None:
    sphere = trimesh.creation.icosphere(3)
    grid = voxelize(sphere.vertices, sphere.faces, 24, surface=False)
    raw, smooth = grid_to_mesh(grid), grid_to_mesh(grid, smooth=10)
    v_raw = trimesh.Trimesh(raw.verts, raw.faces).volume
    v_smooth = trimesh.Trimesh(smooth.verts, smooth.faces).volume
    assert abs(v_smooth - v_raw) / v_raw < 0.05
    assert abs(v_raw - 4 / 3 * np.pi) / (4 / 3 * np.pi) < 0.08


def test_surface_samples_lie_on_the_grid_surface() -> None:
    occ = np.zeros((10, 10, 10), dtype=bool)
    occ[2:8, 2:8, 2:8] = True
    grid = VoxelGrid(occ, np.zeros(3), 10.0)
    pts = sample_grid_surface(grid, 500)
    assert pts.shape == (500, 3) and (pts >= 2 - 1e-6).all() and (pts <= 8 + 1e-6).all()
    # on the surface, not inside: the 0.5 iso-surface of the block is the box [2, 8]^3 with its edges and
    # corners cut by marching cubes (at most half a voxel in)
    to_faces = np.minimum(np.abs(pts - 2), np.abs(pts - 8)).min(axis=1)
    assert to_faces.max() <= 0.5 + 1e-6 and np.median(to_faces) < 1e-6
    faces_hit = {(axis, side) for axis in range(3) for side in (2, 8) if (np.abs(pts[:, axis] - side) < 1e-6).any()}
    assert len(faces_hit) == 6  # every side of the block is sampled


def test_empty_and_bad_grids(tmp_path: Path) -> None:
    with pytest.raises(DataError, match="no surface"):
        voxels_to_mesh(np.zeros((4, 4, 4)))
    with pytest.raises(DataError, match="cube"):
        voxels_to_mesh(np.zeros((4, 4, 5)))
    with pytest.raises(DataError, match="unsupported"):
        export_mesh(voxels_to_mesh(np.ones((3, 3, 3))), tmp_path / "m.xyz")
    assert not (tmp_path / "m.xyz").exists()


def test_save_probabilities(tmp_path: Path) -> None:
    import torch

    from gan3d.export.grids import save_probabilities
    from gan3d.io.binvox import read_binvox

    probs = torch.rand(1, 8, 8, 8)
    save_probabilities(probs, tmp_path / "p.npy")
    np.testing.assert_array_equal(np.load(tmp_path / "p.npy"), probs[0].numpy())
    save_probabilities(probs, tmp_path / "p.binvox", threshold=0.7)
    np.testing.assert_array_equal(read_binvox(tmp_path / "p.binvox").occupancy, probs[0].numpy() > 0.7)
    with pytest.raises(DataError, match="cube"):
        save_probabilities(torch.rand(8, 8), tmp_path / "bad.npy")
    assert not (tmp_path / "bad.npy").exists()
