from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import trimesh

from gan3d.data.voxelize import is_closed, surface_voxels, voxelize
from gan3d.errors import DataError
from gan3d.io.mesh import load_mesh
from tests.conftest import real_files
from tests.reference import point_triangle_distance, sample_triangles, voxel_centres_inside


def _centres_inside(mesh: trimesh.Trimesh, grid) -> np.ndarray:
    return voxel_centres_inside(np.asarray(mesh.vertices), np.asarray(mesh.faces), grid)


def _iou(a: np.ndarray, b: np.ndarray) -> float:
    return float((a & b).sum() / max((a | b).sum(), 1))


def test_box_hand_computed() -> None:
    # extents 1 x 0.45 x 0.32 at res 10: x spans all 10 voxels, y [2.75, 7.25], z [3.4, 6.6] (centred)
    box = trimesh.creation.box((1.0, 0.45, 0.32))
    grid = voxelize(box.vertices, box.faces, 10)
    expected = np.zeros((10, 10, 10), dtype=bool)
    expected[:, 2:8, 3:7] = True  # every voxel the box touches (conservative)
    np.testing.assert_array_equal(grid.occupancy, expected)
    centres_only = voxelize(box.vertices, box.faces, 10, surface=False).occupancy
    expected_centres = np.zeros_like(expected)
    expected_centres[:, 3:7, 3:7] = True  # centres 3.5..6.5 in y and in z
    np.testing.assert_array_equal(centres_only, expected_centres)
    np.testing.assert_allclose(grid.scale, 1.0)
    np.testing.assert_allclose(grid.translate, [-0.5, -0.5, -0.5])


@pytest.mark.parametrize(
    "mesh",
    [
        trimesh.creation.icosphere(subdivisions=3),
        trimesh.creation.torus(1.0, 0.35, major_sections=24, minor_sections=12),
        trimesh.creation.annulus(0.3, 1.0, height=0.6, sections=24),
        trimesh.creation.box(
            (1.0, 0.7, 0.45), transform=trimesh.transformations.random_rotation_matrix(np.array([0.1, 0.6, 0.3]))
        ),
    ],
    ids=["sphere", "torus", "annulus", "rotated_box"],
)
def test_interior_matches_point_in_mesh_reference(mesh: trimesh.Trimesh) -> None:
    grid = voxelize(mesh.vertices, mesh.faces, 20, surface=False)
    reference = _centres_inside(mesh, grid)
    mismatched = int((grid.occupancy != reference).sum())
    assert mismatched <= 2, f"{mismatched} voxels differ from the winding-number reference"
    full = voxelize(mesh.vertices, mesh.faces, 20).occupancy
    assert (full | ~reference).all(), "the conservative grid must contain every inside centre"


def test_surface_is_conservative_and_tight() -> None:
    mesh = trimesh.creation.icosphere(subdivisions=1)
    mesh.apply_transform(trimesh.transformations.random_rotation_matrix(np.array([0.1, 0.6, 0.3])))
    res = 12
    grid = voxelize(mesh.vertices, mesh.faces, res, fill="surface")
    tris = (mesh.vertices[mesh.faces] - grid.translate) / grid.voxel_size
    # every point of every triangle lies in a marked voxel (up to points exactly on voxel faces)
    samples = sample_triangles(tris, per_edge=30)
    cells = np.clip(np.floor(samples), 0, res - 1).astype(int)
    assert grid.occupancy[cells[:, 0], cells[:, 1], cells[:, 2]].all()
    # and no voxel is marked that is farther from the surface than half its diagonal
    for cell in np.argwhere(grid.occupancy):
        distance = min(point_triangle_distance(cell + 0.5, tri) for tri in tris)
        assert distance <= np.sqrt(3) / 2 + 1e-9


def test_thin_legs_survive() -> None:
    # a table whose legs are 0.2 voxels thick at res 16 (no voxel centre lies inside them)
    top = trimesh.creation.box((1.0, 1.0, 0.1), transform=trimesh.transformations.translation_matrix((0, 0, 0.45)))
    legs = [
        trimesh.creation.box((0.0125, 0.0125, 0.9), transform=trimesh.transformations.translation_matrix((x, y, 0)))
        for x in (-0.45, 0.45)
        for y in (-0.45, 0.45)
    ]
    table = trimesh.util.concatenate([top, *legs])
    grid = voxelize(table.vertices, table.faces, 16)
    for x in (-0.45, 0.45):
        for y in (-0.45, 0.45):
            column = np.floor(grid.world_to_index(np.array([[x, y, -0.3], [x, y, 0.3]]))).astype(int)
            i, j = column[0, :2]
            assert grid.occupancy[i, j, column[0, 2] : column[1, 2] + 1].all(), "a leg lost voxels"
    centres_only = voxelize(table.vertices, table.faces, 16, surface=False).occupancy
    assert centres_only.sum() < grid.occupancy.sum()


def test_overlapping_closed_parts_are_filled() -> None:
    # two interpenetrating boxes: ray parity alone says "outside" where they overlap
    a = trimesh.creation.box((1.0, 0.6, 0.6))
    b = trimesh.creation.box((0.6, 1.0, 0.6))
    union = trimesh.util.concatenate([a, b])
    grid = voxelize(union.vertices, union.faces, 20, surface=False)
    assert grid.occupancy[10, 10, 10] and grid.occupancy[8:12, 8:12, 8:12].all()


def test_holes_are_handled() -> None:
    sphere = trimesh.creation.icosphere(subdivisions=3)
    closed = voxelize(sphere.vertices, sphere.faces, 24).occupancy
    # remove a cap larger than a voxel: the flood fill leaks, the parity vote keeps the inside
    open_mesh = trimesh.Trimesh(sphere.vertices, sphere.faces[sphere.triangles_center[:, 2] < 0.8])
    assert not is_closed(load_mesh_from(open_mesh))
    holed = voxelize(open_mesh.vertices, open_mesh.faces, 24, surface=False)  # bbox differs: own frame
    assert _iou(holed.occupancy, _centres_inside(sphere, holed)) > 0.97
    # scattered small holes (single triangles) are sealed by the conservative surface
    rng = np.random.default_rng(0)
    sparse = trimesh.Trimesh(sphere.vertices, np.delete(sphere.faces, rng.choice(len(sphere.faces), 40), axis=0))
    assert _iou(voxelize(sparse.vertices, sparse.faces, 24).occupancy, closed) > 0.99


def test_carving_keeps_an_open_bowl_open() -> None:
    # a single-sheet hemisphere: parity fills it, binvox-style carving keeps its inside empty
    sphere = trimesh.creation.icosphere(subdivisions=3)
    bowl = trimesh.Trimesh(sphere.vertices, sphere.faces[sphere.triangles_center[:, 2] < 0])
    shell = voxelize(bowl.vertices, bowl.faces, 24, fill="surface").occupancy
    carved = voxelize(bowl.vertices, bowl.faces, 24, carve=True).occupancy
    filled = voxelize(bowl.vertices, bowl.faces, 24).occupancy
    assert carved.sum() == shell.sum()
    assert filled.sum() > 2 * shell.sum()


def load_mesh_from(mesh: trimesh.Trimesh):
    from gan3d.structures.mesh import Mesh

    return Mesh(np.asarray(mesh.vertices), np.asarray(mesh.faces))


def test_grid_maps_back_to_mesh_coordinates() -> None:
    mesh = trimesh.creation.box((2.0, 1.0, 1.0), transform=trimesh.transformations.translation_matrix((5, -3, 1)))
    grid = voxelize(mesh.vertices, mesh.faces, 16)
    centres = grid.index_to_world(np.argwhere(grid.occupancy))
    lo, hi = mesh.bounds
    assert (centres >= lo - grid.voxel_size).all() and (centres <= hi + grid.voxel_size).all()
    np.testing.assert_allclose(grid.translate + grid.scale / 2, (lo + hi) / 2)
    assert grid.scale == pytest.approx(2.0)


def test_surface_voxels_of_degenerate_triangle_is_a_segment() -> None:
    tris = np.array([[[0.5, 0.5, 0.5], [3.5, 0.5, 0.5], [2.0, 0.5, 0.5]]])  # zero area, along x
    occ = surface_voxels(tris, 4)
    assert occ[:, 0, 0].all() and occ.sum() == 4


def test_bad_input() -> None:
    with pytest.raises(DataError, match="zero extent"):
        voxelize(np.zeros((3, 3)), np.array([[0, 1, 2]]), 8)
    with pytest.raises(DataError, match="NaN"):
        voxelize(np.array([[0, 0, 0], [1, 0, 0], [0, np.nan, 0]]), np.array([[0, 1, 2]]), 8)


@pytest.mark.parametrize("path", real_files("modelnet_off_*/*/train/*.off")[:6], ids=lambda p: p.name)
def test_real_modelnet_meshes(path: Path) -> None:
    mesh = load_mesh(path)
    grid = voxelize(mesh.verts, mesh.faces, 32)
    occ = grid.occupancy
    # conservative: the voxel of every vertex is set (every triangle touches the voxels it passes)
    cells = np.clip(np.floor(grid.world_to_index(mesh.verts)), 0, 31).astype(int)
    assert occ[cells[:, 0], cells[:, 1], cells[:, 2]].all()
    # fits the grid: the longest side spans it
    assert max(np.ptp(np.argwhere(occ), axis=0)) == 31
