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
