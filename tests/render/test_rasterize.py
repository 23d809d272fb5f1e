from __future__ import annotations

import numpy as np
import pytest
import torch
import trimesh

from gan3d.render.rasterize import RasterSettings, barycentric_weights, rasterize
from gan3d.render.renderer import render_mesh
from gan3d.structures.cameras import orbit_cameras
from tests.reference import point_in_triangle_raster


def _random_mesh(seed: int) -> tuple[np.ndarray, np.ndarray]:
    mesh = trimesh.creation.icosphere(subdivisions=1)
    rng = np.random.default_rng(seed)
    verts = mesh.vertices * rng.uniform(0.5, 1.0, 3) + rng.normal(0, 0.05, mesh.vertices.shape)
    return verts, np.asarray(mesh.faces)


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_silhouette_matches_point_in_triangle_reference(seed: int) -> None:
    verts, faces = _random_mesh(seed)
    cam = orbit_cameras(elevation=25 + seed, azimuth=40 * seed, distance=2.5, size=(48, 40), dtype=torch.float64)
    screen = cam.project(torch.as_tensor(verts, dtype=torch.float64))
    fragments = rasterize(screen, torch.as_tensor(faces), RasterSettings(40, 48))
    reference = point_in_triangle_raster(screen.numpy(), faces, 40, 48)
    np.testing.assert_array_equal(fragments.mask.numpy(), reference)


def test_depth_of_a_plane_facing_the_camera() -> None:
    # a square at z = 0 seen from straight above at distance 3: every covered pixel has depth 3
    plane = trimesh.creation.box((1.0, 1.0, 1e-9))
    cam = orbit_cameras(elevation=90 - 1e-9, azimuth=0, distance=3.0, size=32)
    r = render_mesh(plane.vertices, plane.faces, cam)
    depth = r.depth[r.mask]
    assert r.mask.sum() > 50
    torch.testing.assert_close(depth, torch.full_like(depth, 3.0), atol=1e-5, rtol=0)
    assert torch.isinf(r.depth[~r.mask]).all()


def test_depth_is_perspective_correct_on_a_tilted_plane() -> None:
    # the unprojected surface point of every pixel lies on the plane z = 0.3 x
    verts = np.array([[-1, -1, -0.3], [1, -1, 0.3], [1, 1, 0.3], [-1, 1, -0.3]], dtype=float)
    faces = np.array([[0, 1, 2], [0, 2, 3]])
    cam = orbit_cameras(elevation=60, azimuth=10, distance=3.0, size=40, fov_y=70)
    r = render_mesh(verts, faces, cam)
    rows, cols = np.nonzero(r.mask.numpy())
    pixels = np.stack([cols + 0.5, rows + 0.5], axis=1)
    depth = torch.as_tensor(r.depth.numpy()[rows, cols], dtype=torch.float64)
    points = cam.to(dtype=torch.float64).unproject(torch.as_tensor(pixels), depth).numpy()
    np.testing.assert_allclose(points[:, 2], 0.3 * points[:, 0], atol=2e-5)


def test_barycentrics_reconstruct_the_pixel_and_are_differentiable() -> None:
    verts, faces = _random_mesh(3)
    cam = orbit_cameras(elevation=30, azimuth=10, distance=2.5, size=32, dtype=torch.float64)
    verts_t = torch.as_tensor(verts, dtype=torch.float64).requires_grad_(True)
    faces_t = torch.as_tensor(faces)
    screen = cam.project(verts_t)
    fragments = rasterize(screen.detach(), faces_t, RasterSettings(32, 32))
    mask = fragments.mask
    torch.testing.assert_close(fragments.bary[mask].sum(-1), torch.ones(int(mask.sum()), dtype=torch.float64))
    # screen-space weights reproduce the pixel centre
    screen_bary = barycentric_weights(screen, faces_t, fragments.face_index, perspective=False)
    tri = screen[faces_t[fragments.face_index[mask]]][..., :2]  # (N, 3, 2)
    recon = (screen_bary[mask][..., None] * tri).sum(1)
    rows, cols = torch.nonzero(mask, as_tuple=True)
    torch.testing.assert_close(recon.detach(), torch.stack([cols + 0.5, rows + 0.5], 1).double())
    # perspective-correct weights agree with the rasterizer's, and carry gradients to the vertices
    bary = barycentric_weights(screen, faces_t, fragments.face_index)
    torch.testing.assert_close(bary.detach(), fragments.bary)
    bary[mask][:, 0].sum().backward()
    assert verts_t.grad is not None and verts_t.grad.abs().sum() > 0


def test_nearest_face_wins() -> None:
    # two overlapping squares at different depths: the near one owns the overlap
    near = np.array([[-1, -1, 0.5], [1, -1, 0.5], [1, 1, 0.5]], dtype=float)
    far = near.copy()
    far[:, 2] = -0.5
    verts = np.concatenate([far, near])
    faces = np.array([[0, 1, 2], [3, 4, 5]])
    cam = orbit_cameras(elevation=90 - 1e-9, azimuth=0, distance=3.0, size=16)
    r = render_mesh(verts, faces, cam)
    assert (r.fragments.face_index[r.mask] == 1).all()
    torch.testing.assert_close(r.depth[r.mask], torch.full_like(r.depth[r.mask], 2.5), atol=1e-5, rtol=0)


def test_shading_is_grey_on_white() -> None:
    sphere = trimesh.creation.icosphere(subdivisions=3)
    r = render_mesh(sphere.vertices, sphere.faces, orbit_cameras(30, 0, 2.2, 64))
    assert (r.image[~r.mask] == 1.0).all()
    fg = r.image[r.mask]
    assert fg.min() >= 0.25 - 1e-6 and fg.max() <= 0.95 + 1e-6
    # head-light: the centre of the sphere faces the camera and is the brightest
    assert r.image[32, 32] > fg.mean()
