from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from scipy import ndimage

from gan3d.data.synth_dataset import build_synthetic_dataset
from gan3d.data.synthetic import make_parts, make_shape
from gan3d.data.synthetic_parts import LEGS, dataset_part_labels, part_labels
from gan3d.data.voxelize import voxelize
from gan3d.io.binvox import read_binvox


@pytest.mark.parametrize("name", ["chair", "table"])
def test_part_labels_tile_the_objects_grid(name: str) -> None:
    for seed in range(4):
        mesh = make_shape(name, seed)
        grid = voxelize(mesh.verts, mesh.faces, 32).occupancy
        labels = part_labels(name, seed, 32)
        assert np.array_equal(labels > 0, grid)
        legs, rest = labels == 1, labels == 2
        assert legs.any() and rest.any()
        # legs stand under the seat / top: their lowest voxel is the object's floor (z is the last index)
        z_legs = np.nonzero(legs.any(axis=(0, 1)))[0]
        z_all = np.nonzero(grid.any(axis=(0, 1)))[0]
        assert z_legs.min() == z_all.min() and z_legs.mean() < np.nonzero(rest.any(axis=(0, 1)))[0].mean()


def test_four_legged_chair_has_four_separate_legs() -> None:
    seeds = [s for s in range(30) if sum(p.metadata.get("part") == LEGS for p in make_parts("chair", s)) == 4]
    assert seeds
    labels = part_labels("chair", seeds[0], 64)
    _, n = ndimage.label(labels == 1)
    assert n == 4


def test_classes_without_parts_are_refused() -> None:
    with pytest.raises(KeyError):
        part_labels("car", 0, 32)


def test_dataset_labels_only_for_the_matching_object(tmp_path: Path) -> None:
    build_synthetic_dataset(tmp_path, ["chair", "car"], per_class=5, resolutions=(32,), views=0)
    grid = read_binvox(tmp_path / "chair" / "test" / "chair_0005_32.binvox").occupancy
    labels = dataset_part_labels(tmp_path, "chair", "chair_0005", grid)
    assert labels is not None and np.array_equal(labels > 0, grid)
    other = read_binvox(tmp_path / "chair" / "train" / "chair_0001_32.binvox").occupancy
    assert dataset_part_labels(tmp_path, "chair", "chair_0005", other) is None  # never another shape's labels
    car = read_binvox(tmp_path / "car" / "test" / "car_0005_32.binvox").occupancy
    assert dataset_part_labels(tmp_path, "car", "car_0005", car) is None
    (tmp_path / "dataset.json").write_text('{"name": "someone-else"}')
    from gan3d.data.synthetic_parts import _manifest

    _manifest.cache_clear()
    assert dataset_part_labels(tmp_path, "chair", "chair_0005", grid) is None
