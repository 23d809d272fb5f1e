from __future__ import annotations

import numpy as np
import torch
import trimesh

from gan3d.ops.winding import winding_number


def _w(mesh: trimesh.Trimesh, points: np.ndarray) -> np.ndarray:
    return winding_number(
        torch.from_numpy(points), torch.from_numpy(np.asarray(mesh.vertices)), torch.from_numpy(np.asarray(mesh.faces))
    ).numpy()


def test_sphere_and_box_against_their_formulas() -> None:
    rng = np.random.default_rng(0)
    points = rng.uniform(-1.5, 1.5, (3000, 3))
    sphere = trimesh.creation.icosphere(subdivisions=3)  # inscribed in the unit sphere: test away from it
    r = np.linalg.norm(points, axis=1)
    far = np.abs(r - 1) > 0.05
    w = _w(sphere, points)
    np.testing.assert_allclose(w[far], (r[far] < 1).astype(float), atol=1e-6)
    box = trimesh.creation.box(extents=(1.0, 0.6, 0.2))
    inside = np.all(np.abs(points) < np.array([0.5, 0.3, 0.1]), axis=1)
    np.testing.assert_allclose(_w(box, points), inside.astype(float), atol=1e-6)


def test_overlapping_parts_count_and_open_surfaces_degrade() -> None:
    # two overlapping closed boxes: w is the number of boxes around the point, so > 0.5 is their union
    a = trimesh.creation.box(extents=(1, 1, 1))
    b = trimesh.creation.box(extents=(1, 1, 1), transform=trimesh.transformations.translation_matrix((0.5, 0, 0)))
    union = trimesh.util.concatenate([a, b])
    rng = np.random.default_rng(1)
    points = rng.uniform(-1, 1.5, (2000, 3))
    in_a = np.all(np.abs(points) < 0.5, axis=1)
    in_b = np.all(np.abs(points - [0.5, 0, 0]) < 0.5, axis=1)
    np.testing.assert_allclose(_w(union, points), in_a.astype(float) + in_b, atol=1e-6)
    # a box with its top face removed: the centre is still about half-way inside
    open_box = trimesh.creation.box(extents=(1, 1, 1))
    top = open_box.triangles_center[:, 2] > 0.49
    open_box.update_faces(~top)
    w = _w(open_box, np.array([[0.0, 0.0, 0.0], [0.0, 0.0, -0.4], [3.0, 0.0, 0.0]]))
    assert 0.5 < w[0] < 0.9 and w[1] > 0.9 and abs(w[2]) < 0.05


def test_chunks_do_not_change_the_answer(monkeypatch) -> None:  # noqa: ANN001
    import gan3d.ops.winding as winding

    sphere = trimesh.creation.icosphere(subdivisions=2)
    points = np.random.default_rng(2).normal(size=(500, 3))
    whole = _w(sphere, points)
    monkeypatch.setattr(winding, "MAX_CHUNK_ELEMENTS", 7 * len(sphere.faces))
    np.testing.assert_allclose(_w(sphere, points), whole, atol=1e-12)
