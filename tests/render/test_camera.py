from __future__ import annotations

import json

import numpy as np
import pytest
import torch

from gan3d.render.camera import Camera, look_at, orbit_camera


def test_orbit_camera_position_and_orientation() -> None:
    cam = orbit_camera(elevation=30, azimuth=90, distance=2.0, size=64, up_axis="z")
    np.testing.assert_allclose(cam.center, [0, 2 * np.cos(np.pi / 6), 1.0], atol=1e-12)
    # the origin projects to the image centre, in front of the camera at the orbit distance
    u, v, z = cam.project(torch.zeros(1, 3, dtype=torch.float64))[0].tolist()
    assert (u, v, z) == pytest.approx((32.0, 32.0, 2.0))
    # world up points up in the image (smaller row index)
    above = cam.project(torch.tensor([[0.0, 0.0, 0.5]], dtype=torch.float64))[0]
    assert above[1] < 32.0
    np.testing.assert_allclose(cam.rotation @ cam.rotation.T, np.eye(3), atol=1e-12)
    assert np.linalg.det(cam.rotation) == pytest.approx(1.0)


@pytest.mark.parametrize("up_axis", ["y", "z"])
def test_elevation_is_the_angle_above_the_horizon(up_axis: str) -> None:
    cam = orbit_camera(elevation=30, azimuth=47, distance=3.0, up_axis=up_axis)  # type: ignore[arg-type]
    up = np.zeros(3)
    up["xyz".index(up_axis)] = 1
    assert np.degrees(np.arcsin(cam.center @ up / 3.0)) == pytest.approx(30.0)
    assert np.linalg.norm(cam.center) == pytest.approx(3.0)


def test_project_unproject_round_trip() -> None:
    cam = orbit_camera(elevation=20, azimuth=130, distance=2.5, size=(80, 60))
    points = np.random.default_rng(0).uniform(-0.7, 0.7, (50, 3))
    screen = cam.project(torch.as_tensor(points)).numpy()
    back = cam.unproject(screen[:, :2], screen[:, 2])
    np.testing.assert_allclose(back, points, atol=1e-10)
    # matches the textbook K [R | t] homogeneous projection
    homog = (cam.intrinsics @ cam.extrinsics @ np.c_[points, np.ones(50)].T).T
    np.testing.assert_allclose(screen[:, :2], homog[:, :2] / homog[:, 2:], atol=1e-9)


def test_json_round_trip() -> None:
    cam = orbit_camera(elevation=30, azimuth=60, distance=2.2, size=224, fov_y=60)
    data = json.loads(json.dumps(cam.to_dict()))
    back = Camera.from_dict(data)
    for field in ("intrinsics", "rotation", "translation"):
        np.testing.assert_allclose(getattr(back, field), getattr(cam, field))
    assert (back.width, back.height, back.elevation, back.azimuth, back.distance) == (224, 224, 30, 60, 2.2)
    assert data["fov_y"] == pytest.approx(60.0)


def test_look_at_straight_down_is_well_defined() -> None:
    rotation, translation = look_at(np.array([0, 0, 3.0]), np.zeros(3), np.array([0, 0, 1.0]))
    np.testing.assert_allclose(rotation @ rotation.T, np.eye(3), atol=1e-12)
    np.testing.assert_allclose(rotation @ np.array([0, 0, 3.0]) + translation, 0, atol=1e-12)
