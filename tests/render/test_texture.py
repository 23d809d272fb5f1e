"""Colour in the forward renderer: texture lookup against hand-computed texels, vertex colours against
the barycentric formula, and textured synthetic objects rendered in their texture's colours."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from gan3d.render.renderer import render_mesh
from gan3d.render.texture import sample_texture
from gan3d.structures.cameras import orbit_cameras

# a 2 x 2 texture: row 0 (top) red, green; row 1 (bottom) blue, white
TEXTURE = torch.tensor(
    [[[1.0, 0.0, 0.0], [0.0, 1.0, 0.0]], [[0.0, 0.0, 1.0], [1.0, 1.0, 1.0]]], dtype=torch.float64
).permute(2, 0, 1)


def test_nearest_picks_the_texel_with_v_up() -> None:
    uv = torch.tensor([[0.25, 0.75], [0.75, 0.75], [0.25, 0.25], [0.75, 0.25]], dtype=torch.float64)
    colours = sample_texture(TEXTURE, uv, "nearest")
    expected = torch.tensor([[1, 0, 0], [0, 1, 0], [0, 0, 1], [1, 1, 1]], dtype=torch.float64)
    torch.testing.assert_close(colours, expected)


def test_bilinear_is_the_textbook_blend_and_differentiable() -> None:
    # the centre of the texture is the average of the four texel centres
    centre = sample_texture(TEXTURE, torch.tensor([[0.5, 0.5]], dtype=torch.float64))
    torch.testing.assert_close(centre, TEXTURE.mean(dim=(1, 2))[None])
    # a quarter of the way from the top-left texel centre to the top-right one, on the top row
    point = torch.tensor([[0.25 + 0.125, 0.75]], dtype=torch.float64)
    torch.testing.assert_close(sample_texture(TEXTURE, point), torch.tensor([[0.75, 0.25, 0.0]], dtype=torch.float64))
    uv = torch.rand(5, 2, dtype=torch.float64).mul(0.5).add(0.25).requires_grad_(True)
    tex = TEXTURE.clone().requires_grad_(True)
    assert torch.autograd.gradcheck(lambda t, u: sample_texture(t, u), (tex, uv))


def _quad() -> tuple[np.ndarray, np.ndarray]:
    verts = np.array([[-1, -1, 0], [1, -1, 0], [1, 1, 0], [-1, 1, 0]], dtype=float)
    return verts, np.array([[0, 1, 2], [0, 2, 3]])


def test_vertex_colours_are_interpolated_by_the_barycentrics() -> None:
    verts, faces = _quad()
    colours = np.array([[1, 0, 0], [0, 1, 0], [0, 0, 1], [1, 1, 0]], dtype=np.float32)
    cam = orbit_cameras(90 - 1e-6, 0, 3.0, 32)  # straight above: a flat, evenly lit square
    r = render_mesh(verts, faces, cam, vertex_colors=colours)
    assert r.color is not None and r.color.shape == (32, 32, 3)
    assert (r.color[~r.mask] == 1).all()  # white background
    face, bary = r.fragments.face_index, r.fragments.bary
    rows, cols = torch.nonzero(r.mask, as_tuple=True)
    expected = (bary[rows, cols, :, None] * torch.as_tensor(colours)[torch.as_tensor(faces)[face[rows, cols]]]).sum(1)
    torch.testing.assert_close(r.color[rows, cols], (expected * r.image[rows, cols, None]).clamp(0, 1))


@pytest.mark.parametrize("mode", ["nearest", "bilinear"])
def test_a_textured_quad_shows_its_texture(mode: str) -> None:
    verts, faces = _quad()
    uvs = (verts[:, :2] + 1) / 2  # x -> u, y -> v
    texture = (TEXTURE.permute(1, 2, 0).numpy() * 255).astype(np.uint8)
    cam = orbit_cameras(90 - 1e-6, -90, 3.0, 64)  # above, image x along world x, image up along world y
    r = render_mesh(verts, faces, cam, uvs=uvs, texture=texture, texture_filter=mode)
    # the world points over the texel centres (uv 0.25 / 0.75) show the texels' colours exactly
    centres = torch.tensor([[-0.5, 0.5, 0.0], [0.5, 0.5, 0.0], [-0.5, -0.5, 0.0], [0.5, -0.5, 0.0]])
    screen = cam.project(centres)
    cols, rows = screen[:, 0].long(), screen[:, 1].long()
    albedo = r.color[rows, cols] / r.image[rows, cols, None]
    expected = torch.tensor([[1.0, 0.0, 0.0], [0.0, 1.0, 0.0], [0.0, 0.0, 1.0], [1.0, 1.0, 1.0]])
    torch.testing.assert_close(albedo, expected, atol=0.03, rtol=0)  # 8-bit texture, pixel centres off the texel's
    # world +y (v = 1, texture row 0) is up in the image and world +x (u = 1) to the right
    assert rows[0] < rows[2] and cols[0] < cols[1]


def test_synthetic_colour_objects_render_in_their_colours() -> None:
    from gan3d.data.render_views import ViewSettings, render_views
    from gan3d.data.synthetic import make_shape

    grey, colour = make_shape("chair", 4), make_shape("chair", 4, color=True)
    np.testing.assert_array_equal(grey.verts, colour.verts)  # colour does not change the geometry
    np.testing.assert_array_equal(grey.faces, colour.faces)
    assert colour.texture is not None and colour.texture.shape == (256, 256, 3)
    assert colour.uvs is not None and colour.uvs.min() >= 0 and colour.uvs.max() <= 1
    again = make_shape("chair", 4, color=True)
    np.testing.assert_array_equal(again.texture, colour.texture)  # deterministic by seed
    r = render_views(colour, ViewSettings(views=1, size=48), color=True)[0]
    pixels = r.color[r.mask]
    assert (pixels.std(dim=1) > 0.02).float().mean() > 0.5  # mostly not grey
    assert render_views(colour, ViewSettings(views=1, size=48))[0].color is None  # grey stays the default
