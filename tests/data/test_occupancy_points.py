from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch
import trimesh

import gan3d.data.occupancy_points as occupancy_points
from gan3d.cli.main import main
from gan3d.data.datasets import ShapeDataset
from gan3d.data.occupancy_points import OccupancySampling, balanced_draw, occupancy_pool
from gan3d.errors import DataError
from gan3d.structures.mesh import Mesh


def _sphere() -> Mesh:
    sphere = trimesh.creation.icosphere(subdivisions=3)
    return Mesh(np.asarray(sphere.vertices), np.asarray(sphere.faces))


def test_pool_labels_match_the_sphere_and_draws_keep_points_with_their_labels() -> None:
    settings = OccupancySampling(points=1000, sigma=0.05, uniform_fraction=0.25, pool_factor=2)
    points, inside = occupancy_pool(_sphere(), settings, seed=3)
    assert points.shape == (2000, 3) and points.dtype == np.float32 and inside.shape == (2000,)
    r = np.linalg.norm(points, axis=1)
    far = np.abs(r - 1) > 0.02  # the icosphere is inscribed in the unit sphere: skip the sliver between
    np.testing.assert_array_equal(inside[far], r[far] < 1)
    # surface points perturbed by N(0, sigma^2): their radial offsets have about that spread
    near = r[:1500] - 1
    assert 0.04 < near.std() < 0.06 and abs(np.median(near)) < 0.01
    # uniform points fill the padded box (the sphere reaches the cube's faces), not only the shell
    assert np.abs(points[1500:]).max() > 1.05 and (r[1500:] < 0.5).any()
    # a small object still gets uniform points all over the extraction cube [-1, 1]^3
    small = _sphere()
    small = small.with_verts(small.verts * 0.3)
    spread = np.abs(occupancy_pool(small, settings, seed=3)[0][1500:]).max()
    assert 0.95 < spread <= 1.0
    drawn, labels = balanced_draw(points, inside, 400, torch.Generator().manual_seed(0))
    assert drawn.shape == (400, 3) and labels.mean() == 0.5
    r = drawn.norm(dim=1)
    keep = (r - 1).abs() > 0.02
    assert torch.equal(labels[keep].bool(), r[keep] < 1)


def test_a_short_side_is_filled_from_the_other() -> None:
    points = np.random.default_rng(0).normal(size=(100, 3)).astype(np.float32)
    inside = np.zeros(100, dtype=bool)
    inside[:10] = True
    _, labels = balanced_draw(points, inside, 50)
    assert labels.sum() == 10 and len(labels) == 50
    _, labels = balanced_draw(points, inside, 200)  # asks for more than the pool holds: all of it
    assert len(labels) == 100


@pytest.fixture(scope="module")
def people(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("people")
    args = ["data", "synth", "--out", str(root), "--classes", "person,chair", "--per-class", "3", "--res", "32"]
    assert main([*args, "--views", "3", "--size", "64", "--jobs", "1"]) == 0
    return root


def test_dataset_points_are_in_the_cameras_frame(people: Path) -> None:
    ds = ShapeDataset(people, None, "train", views=3, masks=True, cameras=True, occupancy_points=512)
    for index in range(len(ds)):
        item = ds[index]
        points, labels = item["query_points"], item["occupancy"]
        assert points.shape == (512, 3) and labels.shape == (512,) and labels.mean() == 0.5
        # every inside point projects into every view's silhouette (give or take an edge pixel)
        cams = item["cameras"]
        screen = cams.project(points[labels > 0.5][None].expand(3, -1, -1))
        cols, rows = screen[..., 0].long().clamp(0, 63), screen[..., 1].long().clamp(0, 63)
        near = torch.nn.functional.max_pool2d(item["masks"], 3, stride=1, padding=1)
        assert near[torch.arange(3)[:, None], 0, rows, cols].mean() > 0.99
        # and most outside points near the object miss at least one silhouette
        outside = points[labels < 0.5]
        screen = cams.project(outside[None].expand(3, -1, -1))
        cols, rows = screen[..., 0].long().clamp(0, 63), screen[..., 1].long().clamp(0, 63)
        hit_all = item["masks"][torch.arange(3)[:, None], 0, rows, cols].amin(0)
        assert hit_all.mean() < 0.6
    # a fresh draw each time, from the same pool
    a, b = ds[0]["query_points"], ds[0]["query_points"]
    assert not torch.equal(a, b)
    # the test split's draw is the same every epoch (comparable validation)
    test = ShapeDataset(people, None, "test", views=1, cameras=True, occupancy_points=256)
    assert torch.equal(test[0]["query_points"], test[0]["query_points"])


def test_pools_are_cached_beside_the_mesh_and_invalidated_by_a_changed_mesh(
    people: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    kwargs = {"views": 1, "cameras": True, "occupancy_points": 256, "cache": False}
    first = ShapeDataset(people, None, "test", **kwargs)
    mesh_path = Path(first[0]["mesh_path"])
    pool = first._occupancy_pool(0)
    cached = list((mesh_path.parent / ".gan3d_cache").glob(f"{mesh_path.stem}_occupancy_*.npz"))
    assert len(cached) == 1
    calls = []
    real = occupancy_points.occupancy_pool
    monkeypatch.setattr(occupancy_points, "occupancy_pool", lambda *a, **k: calls.append(1) or real(*a, **k))
    again = ShapeDataset(people, None, "test", **kwargs)._occupancy_pool(0)
    assert not calls and np.array_equal(again[0], pool[0]) and np.array_equal(again[1], pool[1])
    # a different sigma is a different pool
    ShapeDataset(people, None, "test", occupancy_sigma=0.02, **kwargs)._occupancy_pool(0)
    assert len(calls) == 1
    # a corrupt cache file is labelled again, not read
    cached[0].write_bytes(b"not an npz")
    ShapeDataset(people, None, "test", **kwargs)._occupancy_pool(0)
    assert len(calls) == 2 and np.load(cached[0])["points"].shape == (1024, 3)
    # a rewritten mesh (new modification time) is labelled again
    stat = mesh_path.stat()
    import os

    os.utime(mesh_path, ns=(stat.st_atime_ns, stat.st_mtime_ns + 10**9))
    ShapeDataset(people, None, "test", **kwargs)._occupancy_pool(0)
    assert len(calls) == 3


def test_bad_sampling_settings_name_the_data(people: Path) -> None:
    with pytest.raises(DataError, match="sigma"):
        ShapeDataset(people, None, "train", occupancy_points=64, occupancy_sigma=0.0)


def test_normal_maps_of_the_views(people: Path) -> None:
    ds = ShapeDataset(people, None, "train", views=2, masks=True, cameras=True, normal_maps=True)
    item = ds[0]
    maps = item["normal_maps"]
    assert maps.shape == (2, 6, 64, 64)
    covered = maps[:, :3].norm(dim=1) > 0.5  # (2, H, W)
    # the normal maps cover the views' own silhouettes (rendered from the same mesh and cameras)
    assert (covered == (item["masks"][:, 0] > 0.5)).float().mean() > 0.97
    # mostly facing the camera in front, away behind (not all: rays off the optical axis see faces whose
    # normal tilts past it, and a body's sides are seen at grazing angles)
    assert (maps[:, 2][covered] < 0).float().mean() > 0.85 and (maps[:, 5][covered] > 0).float().mean() > 0.85
    with pytest.raises(DataError, match="normal maps"):
        ShapeDataset(people, None, "train", views=2, normal_maps=True)
