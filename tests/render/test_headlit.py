"""The batched head-light render: its shading equals the one-image `shade_headlight`, image by image."""

from __future__ import annotations

import torch
import trimesh

from gan3d.render.dibr import DibrSettings
from gan3d.render.headlit import headlight_shading, render_headlit
from gan3d.render.rasterize import RasterSettings, rasterize
from gan3d.render.shading import face_normals, shade_headlight
from gan3d.structures.cameras import orbit_cameras


def test_batched_shading_equals_the_one_image_reference() -> None:
    sphere = trimesh.creation.icosphere(2)
    gen = torch.Generator().manual_seed(0)
    verts = torch.as_tensor(sphere.vertices, dtype=torch.float64)[None] * torch.tensor([0.8, 0.5, 0.6]).double()
    verts = verts + 0.03 * torch.randn(3, *verts.shape[1:], generator=gen, dtype=torch.float64)  # 3 meshes
    faces = torch.as_tensor(sphere.faces)
    cameras = orbit_cameras([20.0, 35.0, 50.0], [0.0, 100.0, 230.0], 2.5, (40, 32), dtype=torch.float64)
    albedo = torch.rand(3, verts.shape[1], 3, generator=gen, dtype=torch.float64)
    colour, _, mask = render_headlit(verts, faces, albedo, cameras, DibrSettings(32, 40))
    for n in range(3):
        camera = cameras[n]
        fragments = rasterize(camera.project(verts[n]), faces, RasterSettings(camera.height, camera.width))
        expected = shade_headlight(fragments, face_normals(verts[n], faces) @ camera.rotation.T, camera)
        got = headlight_shading(fragments.face_index[None], verts[n : n + 1], faces, cameras[n : n + 1])[0]
        torch.testing.assert_close(got, expected)
        assert torch.equal(mask[n], fragments.mask)
        assert (colour[n][~mask[n]] == 1).all()  # white background
    assert not torch.allclose(colour[0][mask[0]], colour[0][mask[0]].mean(0))  # shaded, not flat


def test_textured_render_reads_the_texture_at_each_surface_points_latitude() -> None:
    # a texture whose value is v (a vertical ramp) renders, on the template sphere, as the latitude of
    # the surface point under each pixel about the atlas's pole (unprojected from the render's depth)
    from gan3d.models.dibr_net import icosphere_template
    from gan3d.ops.sphere_uv import spherical_uv_atlas
    from gan3d.render.dibr import dibr_render
    from gan3d.render.headlit import render_headlit_textured

    verts, faces = icosphere_template(3)
    source, uvs, uv_faces = spherical_uv_atlas(verts, faces)
    size, t = 48, 64
    ramp = 1.0 - (torch.arange(t, dtype=torch.float32) + 0.5) / t  # row r holds the v of its centre
    texture = ramp[None, None, :, None].expand(2, 3, t, t).contiguous()
    cameras = orbit_cameras([20.0, -50.0], [30.0, 200.0], 2.0, size)
    dup = verts[source][None].expand(2, -1, -1)
    colour, _, mask = render_headlit_textured(dup, uv_faces, uvs, texture, cameras, DibrSettings(size, size))
    depth = dibr_render(cameras.project(dup), uv_faces, None, DibrSettings(size, size)).depth
    shade = headlight_shading(
        dibr_render(cameras.project(dup), uv_faces, None, DibrSettings(size, size)).face_index, dup, uv_faces, cameras
    )
    d = torch.nn.functional.normalize(verts.double(), dim=1)
    pole = d[d[:, 2].argmax()].float()
    for n in range(2):
        rows, cols = torch.nonzero(mask[n], as_tuple=True)
        pixels = torch.stack([cols + 0.5, rows + 0.5], 1).float()
        point = cameras[n].unproject(pixels, depth[n][rows, cols])
        expected = 0.5 + torch.asin((torch.nn.functional.normalize(point, dim=1) @ pole).clamp(-1, 1)) / torch.pi
        got = colour[n][rows, cols, 0] / shade[n][rows, cols]
        keep = (expected - 0.5).abs() < 0.45  # away from the half texel that the border clamps
        # loose: the faces are flat, the latitude is the sphere's (level-3 facets: errors up to ~0.01)
        torch.testing.assert_close(got[keep], expected[keep], atol=0.02, rtol=0)
        assert (colour[n][~mask[n]] == 1).all()


def test_sh_light_is_the_irradiance_of_the_camera_facing_normal() -> None:
    # coefficients on Y00, Y10 (z) and Y11 (x) only: shade = 0.282095 c0 + 0.488603 (c2 n_z + c3 n_x),
    # n the outward face normal in the camera frame (a convex mesh seen from outside faces the camera)
    sphere = trimesh.creation.icosphere(2)
    verts = torch.as_tensor(sphere.vertices, dtype=torch.float64)[None] * torch.tensor([0.8, 0.5, 0.6]).double()
    faces = torch.as_tensor(sphere.faces)
    cameras = orbit_cameras([25.0], [60.0], 2.5, 32, dtype=torch.float64)
    sh = torch.zeros(1, 9, dtype=torch.float64)
    sh[0, 0], sh[0, 2], sh[0, 3] = 2.0, -0.9, 0.4
    fragments = rasterize(cameras[0].project(verts[0]), faces, RasterSettings(32, 32))
    got = headlight_shading(fragments.face_index[None], verts, faces, cameras, sh=sh)[0]
    normal = face_normals(verts[0], faces) @ cameras[0].rotation.T  # (F, 3) camera frame
    n = normal[fragments.face_index[fragments.mask]]
    expected = (0.282095 * 2.0 + 0.488603 * (-0.9 * n[:, 2] + 0.4 * n[:, 0])).clamp(min=0)
    torch.testing.assert_close(got[fragments.mask], expected, atol=1e-5, rtol=0)  # 6-digit constants
    assert (got[~fragments.mask] == 1).all()
