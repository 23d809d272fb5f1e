"""Batched cameras: frames, projection against the textbook K [R | t], NDC against grid_sample, builders,
and the 3D-R2N2 convention checked on the real release (its binvox grids projected into its renders)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch

from gan3d.errors import DataError
from gan3d.structures.cameras import Cameras, look_at, orbit_cameras, r2n2_cameras
from tests.conftest import real_files
from tests.reference import voxel_cube_mesh

F64 = torch.float64


def test_orbit_camera_position_and_orientation() -> None:
    cam = orbit_cameras(elevation=30, azimuth=90, distance=2.0, size=64, up_axis="z", dtype=F64)
    assert cam.batch_shape == ()
    torch.testing.assert_close(cam.center, torch.tensor([0, 2 * np.cos(np.pi / 6), 1.0], dtype=F64))
    # the origin projects to the image centre, in front of the camera at the orbit distance
    u, v, z = cam.project(torch.zeros(1, 3, dtype=F64))[0].tolist()
    assert (u, v, z) == pytest.approx((32.0, 32.0, 2.0))
    # world up points up in the image (smaller row index)
    above = cam.project(torch.tensor([[0.0, 0.0, 0.5]], dtype=F64))[0]
    assert above[1] < 32.0
    torch.testing.assert_close(cam.rotation @ cam.rotation.T, torch.eye(3, dtype=F64))
    assert torch.linalg.det(cam.rotation).item() == pytest.approx(1.0)


@pytest.mark.parametrize("up_axis", ["x", "y", "z"])
def test_elevation_is_the_angle_above_the_horizon(up_axis: str) -> None:
    cam = orbit_cameras(elevation=30, azimuth=47, distance=3.0, up_axis=up_axis, dtype=F64)  # type: ignore[arg-type]
    up = torch.zeros(3, dtype=F64)
    up["xyz".index(up_axis)] = 1
    assert np.degrees(np.arcsin(float(cam.center @ up) / 3.0)) == pytest.approx(30.0)
    assert float(cam.center.norm()) == pytest.approx(3.0)


def _batch() -> Cameras:
    """2 objects x 3 views, different orbits and image size 80 x 60."""
    el = torch.tensor([[20.0, 35.0, 50.0], [10.0, 25.0, 40.0]])
    az = torch.tensor([[0.0, 130.0, 250.0], [45.0, 90.0, 300.0]])
    return orbit_cameras(el, az, torch.tensor([[2.5], [3.0]]), size=(80, 60), dtype=F64)


def test_batched_projection_matches_the_textbook_formula_per_camera() -> None:
    cams = _batch()
    assert cams.batch_shape == (2, 3) and len(cams) == 2
    points = torch.as_tensor(np.random.default_rng(0).uniform(-0.7, 0.7, (2, 3, 50, 3)))
    screen = cams.project(points)
    assert screen.shape == (2, 3, 50, 3)
    for n in range(2):
        for v in range(3):
            k, rt = cams.intrinsics[n, v].numpy(), cams.extrinsics[n, v].numpy()
            homog = (k @ rt @ np.c_[points[n, v].numpy(), np.ones(50)].T).T  # textbook K [R | t] X
            np.testing.assert_allclose(screen[n, v, :, :2].numpy(), homog[:, :2] / homog[:, 2:], atol=1e-9)
            np.testing.assert_allclose(screen[n, v, :, 2].numpy(), homog[:, 2], atol=1e-12)
    # indexing a batch gives the same camera
    torch.testing.assert_close(cams[1, 2].project(points[1, 2]), screen[1, 2])
    torch.testing.assert_close(cams[:, 2].project(points[:, 2]), screen[:, 2])


def test_frames_round_trip() -> None:
    cams = _batch()
    points = torch.as_tensor(np.random.default_rng(1).uniform(-0.7, 0.7, (2, 3, 40, 3)))
    torch.testing.assert_close(cams.camera_to_world(cams.world_to_camera(points)), points)
    screen = cams.project(points)
    torch.testing.assert_close(cams.unproject(screen[..., :2], screen[..., 2]), points)
    ndc = cams.pixel_to_ndc(screen[..., :2])
    torch.testing.assert_close(cams.ndc_to_pixel(ndc), screen[..., :2])


def test_ndc_reads_the_pixel_a_point_projects_into_with_grid_sample() -> None:
    cam = orbit_cameras(30, 40, 2.5, size=(16, 12), dtype=F64)
    image = torch.arange(12 * 16, dtype=F64).reshape(1, 1, 12, 16)  # value = row * 16 + col
    points = torch.as_tensor(np.random.default_rng(2).uniform(-0.5, 0.5, (30, 3)))
    screen = cam.project(points)
    inside = (screen[:, 0] > 0) & (screen[:, 0] < 16) & (screen[:, 1] > 0) & (screen[:, 1] < 12)
    # sample at the pixel centre the point falls in: nearest sampling must return that pixel's value
    col, row = screen[inside, 0].floor(), screen[inside, 1].floor()
    centres = torch.stack([col + 0.5, row + 0.5], -1)
    grid = cam.pixel_to_ndc(centres).reshape(1, 1, -1, 2)
    sampled = torch.nn.functional.grid_sample(image, grid, mode="nearest", align_corners=False).flatten()
    torch.testing.assert_close(sampled, row * 16 + col)
    # and the NDC of the image corners are the edges at -1 and +1
    corners = cam.pixel_to_ndc(torch.tensor([[0.0, 0.0], [16.0, 12.0]], dtype=F64))
    torch.testing.assert_close(corners, torch.tensor([[-1.0, -1.0], [1.0, 1.0]], dtype=F64))


def test_projection_is_differentiable_in_points_and_cameras() -> None:
    cams = _batch()
    rotation = cams.rotation.clone().requires_grad_(True)
    points = torch.rand(2, 3, 5, 3, dtype=F64, requires_grad=True)

    def f(points: torch.Tensor, rotation: torch.Tensor) -> torch.Tensor:
        return Cameras(cams.intrinsics, rotation, cams.translation, 80, 60).project(points)

    assert torch.autograd.gradcheck(f, (points, rotation))


def test_json_round_trip_and_stack() -> None:
    cams = _batch()
    dicts = json.loads(json.dumps(cams.to_dicts()))
    assert len(dicts) == 6 and dicts[0]["width"] == 80 and dicts[0]["fov_y"] == pytest.approx(60.0)
    back = Cameras.stack([Cameras.from_dict(d) for d in dicts]).reshape(2, 3)
    torch.testing.assert_close(back.rotation.double(), cams.rotation, atol=1e-6, rtol=0)
    torch.testing.assert_close(back.translation.double(), cams.translation, atol=1e-6, rtol=0)
    with pytest.raises(DataError, match="malformed camera"):
        Cameras.from_dict({"width": 4}, "view.json")
    with pytest.raises(DataError, match="different image sizes"):
        Cameras.stack([orbit_cameras(30, 0, 2, 32), orbit_cameras(30, 0, 2, 64)])
    with pytest.raises(DataError, match=r"points must have shape \(\*B, P, 3\)"):
        cams.project(torch.zeros(5, 3, dtype=F64))


def test_look_at_straight_down_is_well_defined() -> None:
    rotation, translation = look_at(torch.tensor([0, 0, 3.0]), torch.zeros(3), torch.tensor([0, 0, 1.0]))
    torch.testing.assert_close(rotation @ rotation.T, torch.eye(3, dtype=F64))
    torch.testing.assert_close(rotation @ torch.tensor([0, 0, 3.0], dtype=F64) + translation, torch.zeros(3, dtype=F64))


# ---- 3D-R2N2 on the real release -----------------------------------------------------------------
R2N2_OBJECTS = real_files("shapenet_r2n2_attsets/chair/sample/ShapeNetVox32/03001627/*")


def r2n2_mask_ious(objects: list[Path], mirror_azimuth: bool = False) -> np.ndarray:
    """IoU (objects, 24) between each real render's alpha mask and the silhouette of the object's real
    `model.binvox`, placed by `r2n2_grid_placement` and projected with the cameras of its metadata."""
    from PIL import Image

    from gan3d.data.shapenet import r2n2_grid_placement, read_rendering_metadata
    from gan3d.io.binvox import read_binvox
    from gan3d.render.rasterize import RasterSettings, rasterize

    ious = []
    for folder in objects:
        grid = r2n2_grid_placement(read_binvox(folder / "model.binvox"))
        verts, faces = voxel_cube_mesh(grid)
        rendering = folder.parents[2] / "ShapeNetRendering" / folder.parent.name / folder.name / "rendering"
        views = read_rendering_metadata(rendering / "rendering_metadata.txt")
        if mirror_azimuth:
            views = [dict(v, azimuth=-v["azimuth"]) for v in views]
        cams = r2n2_cameras(views, dtype=F64)
        row = []
        for v in range(len(views)):
            frags = rasterize(cams[v].project(torch.as_tensor(verts)), torch.as_tensor(faces), RasterSettings(137, 137))
            alpha = np.asarray(Image.open(rendering / f"{v:02d}.png"))[..., 3] > 127
            mask = frags.mask.numpy()
            row.append((mask & alpha).sum() / (mask | alpha).sum())
        ious.append(row)
    return np.array(ious)


@pytest.mark.skipif(not R2N2_OBJECTS, reason="../shared/real is absent")
def test_r2n2_cameras_project_the_real_grids_onto_the_real_renders() -> None:
    ious = r2n2_mask_ious(R2N2_OBJECTS)
    assert ious.shape == (6, 24)
    # 32^3 voxels are coarser than the renders (thin tubes come out fatter), hence not ~1
    assert ious.mean() >= 0.8, ious.mean(axis=1)
    assert ious.mean(axis=1).min() >= 0.65
    # a wrong convention (the azimuth mirrored) must fail visibly
    assert r2n2_mask_ious(R2N2_OBJECTS[:2], mirror_azimuth=True).mean() < 0.65


def test_the_voxel_cube_mesh_helper_is_the_exact_closed_surface() -> None:
    import trimesh

    from gan3d.structures.voxel_grid import VoxelGrid

    occupancy = np.zeros((4, 4, 4), bool)
    occupancy[1:3, 1, 0:3] = True  # a 2 x 1 x 3 box of voxels
    occupancy[3, 3, 3] = True  # and a lone voxel
    grid = VoxelGrid(occupancy, np.array([-0.5, 0.0, 1.0]), 2.0)
    verts, faces = voxel_cube_mesh(grid)
    assert len(faces) == 2 * (2 * (2 * 1 + 2 * 3 + 1 * 3) + 6)  # two triangles per exposed square
    mesh = trimesh.Trimesh(verts, faces)  # merges the duplicated corners
    assert mesh.is_watertight
    assert mesh.volume == pytest.approx(7 * 0.5**3)  # positive: outward-facing
    np.testing.assert_allclose(mesh.bounds, [[-0.5 + 0.5, 0.0 + 0.5, 1.0], [-0.5 + 2.0, 2.0, 3.0]])
