from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

from gan3d.cli.main import main
from gan3d.data.datamodule import ShapeDataModule
from gan3d.data.datasets import ShapeDataset, load_view_image
from gan3d.errors import DataError


@pytest.fixture(scope="module")
def synth_root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("synth")
    args = ["data", "synth", "--out", str(root), "--classes", "chair,lamp,table", "--per-class", "5"]
    assert main([*args, "--res", "16", "--views", "4", "--size", "32", "--jobs", "1"]) == 0
    return root


def test_items_are_tensors_with_labels(synth_root: Path) -> None:
    ds = ShapeDataset(synth_root, 16, "train", views=2, image_size=24)
    assert len(ds) == 12 and ds.classes == ["chair", "lamp", "table"]
    item = ds[0]
    assert item["voxels"].shape == (1, 16, 16, 16) and item["voxels"].dtype == torch.float32
    assert set(item["voxels"].unique().tolist()) == {0.0, 1.0}
    assert item["images"].shape == (2, 3, 24, 24) and 0 <= item["images"].min() and item["images"].max() <= 1
    assert (item["label"], item["class_name"], item["id"]) == (0, "chair", "chair_0001")
    # the fixed view subset of 2 out of 4 is views 1 and 3, the same every time
    full = ShapeDataset(synth_root, 16, "train", views=4)[0]["images"]
    torch.testing.assert_close(ShapeDataset(synth_root, 16, "train", views=2)[0]["images"], full[[0, 2]])


def test_class_selection_and_splits(synth_root: Path) -> None:
    ds = ShapeDataset(synth_root, 16, "test", classes=["table", "chair"])
    assert ds.classes == ["table", "chair"] and len(ds) == 2
    assert [ds[i]["label"] for i in range(2)] == [1, 0]  # records sorted by class name, labels by given order
    with pytest.raises(DataError, match="no objects of class sofa"):
        ShapeDataset(synth_root, 16, classes=["sofa"])
    with pytest.raises(DataError, match="32\\^3 grid"):
        ShapeDataset(synth_root, 32)


def test_random_views_and_grey(synth_root: Path) -> None:
    torch.manual_seed(0)
    ds = ShapeDataset(synth_root, 16, "train", views=1, view_mode="random", channels=1)
    picks = {float(ds[0]["images"].mean()) for _ in range(12)}
    assert len(picks) > 1 and ds[0]["images"].shape == (1, 1, 32, 32)


def test_grids_are_cached(synth_root: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    ds = ShapeDataset(synth_root, 16, "train")
    first = ds[3]["voxels"]
    import gan3d.data.datasets as datasets

    monkeypatch.setattr(datasets, "read_binvox", lambda path: (_ for _ in ()).throw(AssertionError("re-read")))
    torch.testing.assert_close(ds[3]["voxels"], first)


@pytest.mark.parametrize("channels", [1, 3])
def test_cached_views_are_exactly_the_decoded_ones(
    synth_root: Path, monkeypatch: pytest.MonkeyPatch, channels: int
) -> None:
    plain = ShapeDataset(synth_root, 16, "train", views=4, image_size=24, channels=channels)
    cached = ShapeDataset(synth_root, 16, "train", views=4, image_size=24, channels=channels, cache_views=True)
    first = cached[2]["images"]
    assert torch.equal(first, plain[2]["images"])  # uint8 storage loses nothing: the pixels were 8-bit
    import gan3d.data.datasets as datasets

    monkeypatch.setattr(datasets, "load_view_image", lambda *a: (_ for _ in ()).throw(AssertionError("re-read")))
    assert torch.equal(cached[2]["images"], first)


def test_datamodule_batches(synth_root: Path) -> None:
    dm = ShapeDataModule(synth_root, 16, batch_size=4, views=2, image_size=16, augment=True)
    dm.setup()
    batch = next(iter(dm.train_dataloader()))
    assert batch["voxels"].shape == (4, 1, 16, 16, 16) and batch["images"].shape == (4, 2, 3, 16, 16)
    val = next(iter(dm.val_dataloader()))
    assert val["voxels"].shape[0] == 3 and dm.classes == ["chair", "lamp", "table"]


def test_bad_image_names_the_file(tmp_path: Path) -> None:
    (tmp_path / "x.png").write_bytes(b"not a png")
    with pytest.raises(DataError) as info:
        load_view_image(tmp_path / "x.png")
    assert "x.png" in str(info.value)


def test_rgba_renders_are_composited_on_white(real: Path) -> None:
    path = next((real / "shapenet_r2n2_attsets/chair/sample/ShapeNetRendering").glob("*/*/rendering/00.png"))
    image = load_view_image(path)
    assert image.shape == (3, 137, 137)
    assert float(image[:, 0, 0].min()) == 1.0  # transparent corner became white
    assert float(image.min()) < 0.9


def test_real_r2n2_dataset(real: Path) -> None:
    ds = ShapeDataset(real / "shapenet_r2n2_attsets/chair/sample", 32, "train", views=5, channels=1, image_size=64)
    item = ds[0]
    assert item["voxels"].shape == (1, 32, 32, 32) and item["voxels"].sum() > 100
    assert item["images"].shape == (5, 1, 64, 64) and item["class_name"] == "chair"


def test_prepare_modelnet_and_r2n2(real: Path, tmp_path: Path) -> None:
    out = tmp_path / "mn"
    assert (
        main(
            [
                "data",
                "prepare",
                "--modelnet",
                str(real / "mvcnn12_vencia"),
                "--views",
                str(real / "mvcnn12_vencia"),
                "--res",
                "16",
                "--out",
                str(out),
                "--jobs",
                "1",
            ]
        )
        == 0
    )
    ds = ShapeDataset(out, 16, "test", views=12)
    assert len(ds) == 1 and ds[0]["images"].shape[0] == 12
    # the copied views are the originals, in order
    original = load_view_image(real / "mvcnn12_vencia/airplane/test/airplane_0627/005.png")
    torch.testing.assert_close(ds[0]["images"][4], original)
    out2 = tmp_path / "r2n2"
    assert (
        main(
            [
                "data",
                "prepare",
                "--shapenet",
                str(real / "shapenet_r2n2_attsets/chair/sample"),
                "--out",
                str(out2),
                "--jobs",
                "1",
            ]
        )
        == 0
    )
    prepared = ShapeDataset(out2, 32, "train", views=24)
    direct = ShapeDataset(real / "shapenet_r2n2_attsets/chair/sample", 32, "train", views=24)
    assert len(prepared) == len(direct) == 6
    np.testing.assert_array_equal(prepared[2]["voxels"].numpy(), direct[2]["voxels"].numpy())
