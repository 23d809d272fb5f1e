"""DIB-R: the hard part equals the foundation rasterizer, the soft part equals a dense reference over all
pixels x all faces, and gradients agree with finite differences (float64 gradcheck)."""

from __future__ import annotations

import numpy as np
import pytest
import torch
import trimesh

from gan3d.ops.point_triangle import point_triangle_boundary_distance_2d, point_triangle_distance_2d
from gan3d.render.dibr import DibrSettings, dibr_render, free_pixels_in_boxes, soft_alpha, soft_silhouette
from gan3d.render.rasterize import RasterSettings, rasterize
from gan3d.structures.cameras import orbit_cameras
from tests.reference import point_triangle_distance_2d_torch

F64 = torch.float64


def _sphere_screen(size: int = 24, views: int = 2) -> tuple[torch.Tensor, torch.Tensor]:
    sphere = trimesh.creation.icosphere(1)
    rng = np.random.default_rng(0)
    verts = torch.as_tensor(sphere.vertices * rng.uniform(0.5, 0.8, 3) + rng.normal(0, 0.03, sphere.vertices.shape))
    cams = orbit_cameras(25, torch.arange(views, dtype=F64) * 70, 2.5, size, dtype=F64)
    return cams.project(verts[None].expand(views, -1, -1)), torch.as_tensor(sphere.faces)


def dense_soft_silhouette(screen: torch.Tensor, faces: torch.Tensor, settings: DibrSettings) -> torch.Tensor:
    """The naive reference: every pixel against every face (the same box and knum rules), (H, W)."""
    h, w = settings.height, settings.width
    covered = rasterize(screen, faces, RasterSettings(h, w)).mask
    rows, cols = torch.meshgrid(torch.arange(h), torch.arange(w), indexing="ij")
    centres = torch.stack([cols, rows], -1).reshape(-1, 2).to(screen.dtype) + 0.5  # (P, 2)
    tri = screen[faces][..., :2]  # (F, 3, 2)
    out = torch.zeros(h * w, dtype=screen.dtype)
    for p, centre in enumerate(centres):
        lo, hi = tri.amin(1) - settings.boxlen, tri.amax(1) + settings.boxlen
        near = ((centre >= lo) & (centre <= hi)).all(-1)
        d = point_triangle_distance_2d_torch(centre.expand(int(near.sum()), 2), tri[near])
        alpha = soft_alpha(d, settings).sort(descending=True).values[: settings.knum]
        out[p] = 1 - torch.prod(1 - alpha)
    out[covered.view(-1)] = 1.0
    return out.view(h, w)


def test_point_triangle_distance_hand_computed() -> None:
    tri = torch.tensor([[[0.0, 0.0], [1.0, 0.0], [0.0, 1.0]]], dtype=F64).expand(4, 3, 2)
    points = torch.tensor([[2.0, 0.0], [0.2, 0.2], [-1.0, -1.0], [1.0, 1.0]], dtype=F64)
    expected = torch.tensor([1.0, 0.0, 2**0.5, 0.5**0.5], dtype=F64)  # edge, inside, corner, hypotenuse
    torch.testing.assert_close(point_triangle_distance_2d(points, tri), expected)
    torch.testing.assert_close(point_triangle_distance_2d(points, tri.flip(1)), expected)  # either orientation


def test_point_triangle_distance_values_and_gradients_match_the_textbook_formula() -> None:
    # the op differentiates only the nearest edge with t held fixed; autograd through every step of the
    # textbook formula must give the same distances and the same gradients (points and corners)
    gen = torch.Generator().manual_seed(0)
    tri = torch.rand(400, 3, 2, generator=gen, dtype=F64) * 4
    tri[:20, 2] = (tri[:20, 0] + tri[:20, 1]) / 2  # degenerate: the third corner on the first edge
    points = torch.rand(400, 2, generator=gen, dtype=F64) * 3 + 0.5
    ours_in = (points.clone().requires_grad_(True), tri.clone().requires_grad_(True))
    ref_in = (points.clone().requires_grad_(True), tri.clone().requires_grad_(True))
    ours, ref = point_triangle_distance_2d(*ours_in), point_triangle_distance_2d_torch(*ref_in)
    assert 30 < int((ref == 0).sum()) < 370  # both inside and outside points are exercised
    torch.testing.assert_close(ours, ref)
    weights = torch.rand(400, generator=gen, dtype=F64)
    (ours * weights).sum().backward()
    (ref * weights).sum().backward()
    torch.testing.assert_close(ours_in[0].grad, ref_in[0].grad)
    # on the degenerate rows two overlapping edges tie, and any split of the gradient between them is a
    # valid subgradient: compare the corners' gradients on the proper triangles
    torch.testing.assert_close(ours_in[1].grad[20:], ref_in[1].grad[20:])
    outside = (ref.detach() > 1e-3) & (torch.arange(400) >= 20)
    assert torch.autograd.gradcheck(
        point_triangle_distance_2d, (points[outside][:30].requires_grad_(True), tri[outside][:30].requires_grad_(True))
    )


def test_boundary_distance_equals_the_textbook_formula_outside_with_gradients() -> None:
    # the background's form: F triangles shared by M > F points through an index; outside a triangle
    # its boundary is its nearest part, so values and gradients must equal the textbook distance's
    gen = torch.Generator().manual_seed(1)
    tri = torch.rand(50, 3, 2, generator=gen, dtype=F64) * 4
    tri[:5, 2] = (tri[:5, 0] + tri[:5, 1]) / 2  # degenerate: the third corner on the first edge
    face = torch.randint(0, 50, (600,), generator=gen)
    points = torch.rand(600, 2, generator=gen, dtype=F64) * 6 - 1
    outside = (point_triangle_distance_2d_torch(points, tri[face]) > 1e-3) & (face >= 5)
    points, face = points[outside], face[outside]
    assert len(face) > 300
    ours_in = (points.clone().requires_grad_(True), tri.clone().requires_grad_(True))
    ref_in = (points.clone().requires_grad_(True), tri.clone().requires_grad_(True))
    ours = point_triangle_boundary_distance_2d(ours_in[0], ours_in[1], face)
    ref = point_triangle_distance_2d_torch(ref_in[0], ref_in[1][face])
    torch.testing.assert_close(ours, ref)
    weights = torch.rand(len(face), generator=gen, dtype=F64)
    (ours * weights).sum().backward()
    (ref * weights).sum().backward()
    torch.testing.assert_close(ours_in[0].grad, ref_in[0].grad)
    torch.testing.assert_close(ours_in[1].grad, ref_in[1].grad)
    # inside, the distance to the nearest edge (not 0): the caller only asks about outside points
    unit = torch.tensor([[[0.0, 0.0], [1.0, 0.0], [0.0, 1.0]]], dtype=F64)
    inside = point_triangle_boundary_distance_2d(torch.tensor([[0.2, 0.3]], dtype=F64), unit, torch.zeros(1).long())
    torch.testing.assert_close(inside, torch.tensor([0.2], dtype=F64))


def test_hard_part_is_the_foundation_rasterizer_and_interpolates_attributes() -> None:
    screen, faces = _sphere_screen()
    attributes = torch.rand(2, screen.shape[1], 5, dtype=F64)
    out = dibr_render(screen, faces, attributes, DibrSettings(24, 24))
    for n in range(2):
        frags = rasterize(screen[n], faces, RasterSettings(24, 24))
        assert torch.equal(out.mask[n], frags.mask) and torch.equal(out.face_index[n], frags.face_index)
        torch.testing.assert_close(out.bary[n], frags.bary)
        # I = sum_k w_k u_k with the z-buffer's own barycentrics
        corner = attributes[n][faces[frags.face_index.clamp(min=0)]]
        expected = (frags.bary[..., None] * corner).sum(-2) * frags.mask[..., None]
        torch.testing.assert_close(out.features[n], expected)
    background = out.soft_mask[~out.mask]
    assert (out.soft_mask[out.mask] == 1).all() and (background >= 0).all() and (background <= 1).all()
    assert ((background > 0.01) & (background < 0.99)).sum() > 10  # a soft rim around the silhouette


@pytest.mark.parametrize("distance", ["squared", "euclidean"])
def test_soft_silhouette_equals_the_dense_reference(distance: str) -> None:
    screen, faces = _sphere_screen(size=20, views=1)
    settings = DibrSettings(20, 20, distance=distance, boxlen=3.0, knum=6)  # knum small: the cut matters
    covered = rasterize(screen[0], faces, RasterSettings(20, 20)).mask
    fast = soft_silhouette(screen[0], faces, covered, settings)
    torch.testing.assert_close(fast, dense_soft_silhouette(screen[0], faces, settings), atol=1e-5, rtol=0)
    assert ((fast > 0) & ~covered).sum() > 20  # the background carries soft coverage
    # bounded memory: tiny chunks of faces give the same image
    chunked = soft_silhouette(
        screen[0], faces, covered, DibrSettings(20, 20, distance=distance, boxlen=3.0, knum=6, max_pairs=50)
    )
    torch.testing.assert_close(chunked, fast, atol=1e-12, rtol=0)


@pytest.mark.parametrize("knum", [4, 100])  # some pixels over knum (the sort) / none (no sort)
def test_a_batch_is_one_pass_and_each_image_is_its_own(knum: int) -> None:
    # three views in one pass: each image equals the dense reference of its own view (an image offset
    # off by one, or faces of one view leaking into another, changes every image)
    screen, faces = _sphere_screen(size=20, views=3)
    settings = DibrSettings(20, 20, knum=knum)
    out = dibr_render(screen, faces, None, settings)
    for n in range(3):
        torch.testing.assert_close(
            out.soft_mask[n], dense_soft_silhouette(screen[n], faces, settings), atol=1e-5, rtol=0
        )
        assert torch.equal(out.face_index[n], rasterize(screen[n], faces, RasterSettings(20, 20)).face_index)
    assert not torch.equal(out.mask[0], out.mask[1])


def test_free_pixels_in_boxes_by_brute_force() -> None:
    # the summed-area table that drops faces far from the background, against counting pixel by pixel
    gen = torch.Generator().manual_seed(0)
    free = torch.rand(3, 9, 11, generator=gen) < 0.1
    image = torch.randint(0, 3, (300,), generator=gen)
    row_lo, col_lo = torch.randint(0, 9, (300,), generator=gen), torch.randint(0, 11, (300,), generator=gen)
    row_hi = row_lo + torch.randint(-1, 9, (300,), generator=gen)  # some empty, some past the edge
    col_hi = col_lo + torch.randint(-1, 11, (300,), generator=gen)
    row_hi, col_hi = row_hi.clamp(max=8), col_hi.clamp(max=10)
    counts = free_pixels_in_boxes(free, image, row_lo, row_hi, col_lo, col_hi)
    expected = [
        int(free[i, r0 : r1 + 1, c0 : c1 + 1].sum()) if r1 >= r0 and c1 >= c0 else 0
        for i, r0, r1, c0, c1 in zip(*(x.tolist() for x in (image, row_lo, row_hi, col_lo, col_hi)), strict=True)
    ]
    assert counts.tolist() == expected and 0 < sum(c == 1 for c in expected)


def test_gradcheck_interpolation_and_soft_mask() -> None:
    # two triangles, small image: float64 gradcheck w.r.t. screen vertices and attributes
    screen = torch.tensor([[[2.1, 2.3, 2.0], [8.7, 2.9, 2.5], [3.2, 8.4, 3.0], [9.1, 9.3, 2.2]]], dtype=F64)
    faces = torch.tensor([[0, 1, 2], [1, 3, 2]])
    attributes = torch.rand(1, 4, 2, dtype=F64)
    settings = DibrSettings(12, 12, boxlen=2.5, sigmainv=0.6)

    def features(s: torch.Tensor, a: torch.Tensor) -> torch.Tensor:
        return dibr_render(s, faces, a, settings).features

    def soft(s: torch.Tensor) -> torch.Tensor:
        return dibr_render(s, faces, None, settings).soft_mask

    assert torch.autograd.gradcheck(features, (screen.clone().requires_grad_(True), attributes.requires_grad_(True)))
    assert torch.autograd.gradcheck(soft, (screen.clone().requires_grad_(True),))
    euclid = DibrSettings(12, 12, distance="euclidean", boxlen=2.5, delta=1.0)
    assert torch.autograd.gradcheck(
        lambda s: dibr_render(s, faces, None, euclid).soft_mask, (screen.clone().requires_grad_(True),)
    )


def test_silhouette_vertex_gradients_match_central_differences() -> None:
    screen, faces = _sphere_screen(size=20, views=1)
    settings = DibrSettings(20, 20)
    weights = torch.rand(20, 20, dtype=F64)

    def loss(s: torch.Tensor) -> torch.Tensor:
        return (dibr_render(s, faces, None, settings).soft_mask[0] * weights).sum()

    s = screen.clone().requires_grad_(True)
    loss(s).backward()
    rng = np.random.default_rng(1)
    eps = 1e-5
    checked = 0
    for _ in range(12):
        v, axis = int(rng.integers(screen.shape[1])), int(rng.integers(2))
        plus, minus = screen.clone(), screen.clone()
        plus[0, v, axis] += eps
        minus[0, v, axis] -= eps
        numeric = (loss(plus) - loss(minus)) / (2 * eps)
        assert float(s.grad[0, v, axis]) == pytest.approx(float(numeric), rel=1e-4, abs=1e-7)
        checked += int(abs(float(numeric)) > 1e-6)
    assert checked >= 3  # some of the sampled vertices lie on the outline and move the silhouette


def test_a_silhouette_loss_pulls_vertices_outwards() -> None:
    """Background pixels pass gradients: a small triangle under a larger target grows."""
    screen = torch.tensor([[[8.0, 8.0, 2.0], [12.0, 8.0, 2.0], [8.0, 12.0, 2.0]]], dtype=F64, requires_grad=True)
    target = torch.zeros(20, 20, dtype=F64)
    target[4:18, 4:18] = 1
    soft = dibr_render(screen, torch.tensor([[0, 1, 2]]), None, DibrSettings(20, 20)).soft_mask[0]
    (-(soft * target).sum() + (soft * (1 - target)).sum()).backward()
    step = -screen.grad[0, :, :2]  # gradient descent direction
    assert step[1, 0] > 0 and step[2, 1] > 0 and (step[0] < 0).all()  # every corner moves out


def test_soft_alpha_forms_hand_computed() -> None:
    d = torch.tensor([0.0, 2.0], dtype=F64)
    torch.testing.assert_close(
        soft_alpha(d, DibrSettings(4, 4, distance="squared", sigmainv=0.5)),
        torch.exp(torch.tensor([0.0, -2.0], dtype=F64)),
    )
    torch.testing.assert_close(
        soft_alpha(d, DibrSettings(4, 4, distance="euclidean", delta=0.5)),
        torch.exp(torch.tensor([0.0, -4.0], dtype=F64)),
    )


def test_textures_sample_through_interpolated_uvs_with_gradients() -> None:
    from gan3d.render.dibr import sample_rendered_texture
    from gan3d.render.texture import sample_texture

    screen, faces = _sphere_screen(size=16, views=1)
    uvs = torch.rand(1, screen.shape[1], 2, dtype=F64)
    texture = torch.rand(1, 3, 8, 8, dtype=F64, requires_grad=True)
    out = dibr_render(screen, faces, uvs, DibrSettings(16, 16))
    colours = sample_rendered_texture(out, texture)
    rows, cols = torch.nonzero(out.mask[0], as_tuple=True)
    expected = sample_texture(texture[0], out.features[0, rows, cols])
    torch.testing.assert_close(colours[0, rows, cols], expected)
    assert (colours[0][~out.mask[0]] == 0).all()
    colours.sum().backward()
    assert texture.grad.abs().sum() > 0
