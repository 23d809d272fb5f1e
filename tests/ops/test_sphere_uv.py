"""The template's UV atlas: every face keeps its triangle, maps to its own unflipped patch of [0, 1]²,
and seam copies share their template vertex."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from gan3d.errors import ConfigError
from gan3d.models.dibr_net import icosphere_template
from gan3d.ops.sphere_uv import spherical_uv_atlas


def _signed_areas(tri: np.ndarray) -> np.ndarray:
    a, b, c = tri[:, 0], tri[:, 1], tri[:, 2]
    return 0.5 * ((b[:, 0] - a[:, 0]) * (c[:, 1] - a[:, 1]) - (c[:, 0] - a[:, 0]) * (b[:, 1] - a[:, 1]))


@pytest.mark.parametrize("level", [1, 2, 3])
def test_atlas_faces_are_the_template_faces_unflipped_and_disjoint(level: int) -> None:
    verts, faces = icosphere_template(level)
    source, uvs, uv_faces = spherical_uv_atlas(verts, faces)
    assert torch.equal(source[uv_faces], faces)  # the same triangles, corner for corner
    assert uvs.min() >= 0 and uvs.max() <= 1
    tri = uvs[uv_faces].double().numpy()
    area = _signed_areas(tri)
    assert (area > 0).all() or (area < 0).all()  # no face flipped in the image
    # disjoint: a fine grid of texels is covered at most once (brute force over all faces)
    grid = np.stack(np.meshgrid(*[np.linspace(0.001, 0.999, 160)] * 2), -1).reshape(-1, 2)
    count = np.zeros(len(grid), dtype=int)
    for a, b, c in tri:
        w = [
            (q[0] - p[0]) * (grid[:, 1] - p[1]) - (q[1] - p[1]) * (grid[:, 0] - p[0])
            for p, q in ((a, b), (b, c), (c, a))
        ]
        w = np.stack(w, 1)
        count += ((w > 1e-12).all(1) | (w < -1e-12).all(1)).astype(int)
    assert count.max() == 1
    assert abs(np.abs(area).sum() - (count > 0).mean()) < 0.02  # the areas add up to the covered share
    assert len(source) - len(verts) <= 8 * 2**level  # only the seam and the pole fans are duplicated


def test_latitude_follows_the_pole_and_bad_axes_are_refused() -> None:
    verts, faces = icosphere_template(3)
    source, uvs, uv_faces = spherical_uv_atlas(verts, faces)
    d = torch.nn.functional.normalize(verts.double(), dim=1)
    pole = d[d[:, 2].argmax()]
    expected = 0.5 + torch.asin((d[source] @ pole).clamp(-1, 1)) / torch.pi  # textbook latitude
    torch.testing.assert_close(uvs[:, 1].double(), expected, atol=1e-6, rtol=0)
    on_pole = (uvs[uv_faces][..., 1] > 1 - 1e-6) | (uvs[uv_faces][..., 1] < 1e-6)  # (F, 3) corners on a pole
    assert on_pole.any(1).sum() >= 10 and (on_pole.sum(1) <= 1).all()  # two fans of 5 or 6 faces
    corner_u = uvs[uv_faces][..., 0]
    for f, c in torch.nonzero(on_pole).tolist():  # a pole corner sits midway between its face's others
        others = corner_u[f, [k for k in range(3) if k != c]]
        assert abs(corner_u[f, c] - others.mean()) < 1e-6
    with pytest.raises(ConfigError, match="pole_axis"):
        spherical_uv_atlas(verts, faces, pole_axis="w")
