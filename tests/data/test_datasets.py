from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

from gan3d.cli.main import main
from gan3d.data.datamodule import ShapeDataModule
from gan3d.data.datasets import ShapeDataset, collate_items, load_view_image
from gan3d.errors import DataError
from gan3d.render.rasterize import RasterSettings, rasterize
from gan3d.structures.cameras import Cameras
from gan3d.structures.voxel_grid import VoxelGrid
from tests.reference import voxel_cube_mesh


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
    prepared = ShapeDataset(out2, 32, "train", views=24, masks=True, cameras=True)
    direct = ShapeDataset(real / "shapenet_r2n2_attsets/chair/sample", 32, "train", views=24, masks=True, cameras=True)
    assert len(prepared) == len(direct) == 6
    a, b = prepared[2], direct[2]
    # the import keeps what the release holds: grid, placement, views, masks and cameras
    for key in ("voxels", "voxel_to_world", "images", "masks"):
        torch.testing.assert_close(a[key], b[key], msg=key)
    torch.testing.assert_close(a["cameras"].rotation, b["cameras"].rotation, atol=1e-6, rtol=0)
    torch.testing.assert_close(a["cameras"].intrinsics, b["cameras"].intrinsics)


@pytest.fixture(scope="module")
def synth32(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("synth32")
    args = ["data", "synth", "--out", str(root), "--classes", "chair,table", "--per-class", "3", "--res", "32"]
    assert main([*args, "--views", "3", "--size", "64", "--jobs", "1"]) == 0
    return root


def _projected_grid(item: dict, placement: torch.Tensor | None = None) -> tuple[float, float]:
    """(IoU, recall) of an item's masks against its voxel grid's silhouettes, the grid placed by
    `voxel_to_world` (or `placement`) and projected with the item's cameras: worst over the views.
    Recall is the share of the mask the projected grid covers (~1 for a conservative grid)."""
    occupancy = item["voxels"][0].numpy() > 0.5
    verts, faces = voxel_cube_mesh(VoxelGrid(occupancy, np.zeros(3), float(occupancy.shape[0])))  # index space
    matrix = (item["voxel_to_world"] if placement is None else placement).double().numpy()
    world = np.c_[verts, np.ones(len(verts))] @ matrix.T
    worst = [1.0, 1.0]
    for view in range(len(item["masks"])):
        camera = item["cameras"][view].to(dtype=torch.float64)
        screen = camera.project(torch.as_tensor(world[:, :3]))
        mask = rasterize(screen, torch.as_tensor(faces), RasterSettings(camera.height, camera.width)).mask.numpy()
        truth = item["masks"][view, 0].numpy() > 0.5
        worst[0] = min(worst[0], float((mask & truth).sum() / (mask | truth).sum()))
        worst[1] = min(worst[1], float((mask & truth).sum() / truth.sum()))
    return worst[0], worst[1]


def test_items_carry_masks_cameras_placement_and_surface_points(synth32: Path) -> None:
    ds = ShapeDataset(synth32, 32, "train", views=3, masks=True, cameras=True, surface_points=64)
    item = ds[1]
    assert item["masks"].shape == (3, 1, 64, 64) and set(item["masks"].unique().tolist()) == {0.0, 1.0}
    cams = item["cameras"]
    assert isinstance(cams, Cameras) and cams.batch_shape == (3,) and (cams.width, cams.height) == (64, 64)
    assert item["voxel_to_world"].shape == (4, 4) and item["points"].shape == (64, 3)
    assert item["mesh_path"].endswith("chair_0002.off")
    # surface points project into the silhouettes (within a pixel: points on the outline fall on edge pixels)
    screen = cams.project(item["points"][None].expand(3, -1, -1))
    cols, rows = screen[..., 0].long().clamp(0, 63), screen[..., 1].long().clamp(0, 63)
    near = torch.nn.functional.max_pool2d(item["masks"], 3, stride=1, padding=1)
    assert near[torch.arange(3)[:, None], 0, rows, cols].mean() == 1.0
    assert item["masks"][torch.arange(3)[:, None], 0, rows, cols].mean() > 0.85
    # the mask is the image's non-white region (the render's own silhouette)
    non_white = (item["images"].min(dim=1, keepdim=True).values < 0.99).float()
    assert (non_white != item["masks"]).float().mean() < 0.05
    # points are sampled once per object and stay the same
    torch.testing.assert_close(ds[1]["points"], item["points"])


def test_the_grid_placed_and_projected_covers_the_masks(synth32: Path) -> None:
    ds = ShapeDataset(synth32, 32, "train", views=3, masks=True, cameras=True)
    shift = torch.eye(4)
    shift[:3, 3] = 0.5  # the bug to catch: voxel centres taken at the index instead of index + 0.5
    shifted_recall = []
    for i in range(len(ds)):
        item = ds[i]
        iou, recall = _projected_grid(item)
        assert iou > 0.7 and recall > 0.998  # a conservative grid covers the whole silhouette
        shifted_recall.append(_projected_grid(item, item["voxel_to_world"] @ shift)[1])
        # the grid in the mesh's own frame (the view JSON's normalisation ignored) misses the views
        from gan3d.io.binvox import read_binvox
        from gan3d.structures.voxel_grid import voxel_to_camera_world

        grid = read_binvox(ds.records[i].grids[32])
        assert _projected_grid(item, voxel_to_camera_world(grid.translate, grid.scale, 32))[0] < 0.6
    assert np.mean(shifted_recall) < 0.995


def test_objects_without_a_grid_stay_when_no_grid_is_asked(synth_root: Path, tmp_path: Path) -> None:
    import shutil

    root = tmp_path / "nogrid"
    shutil.copytree(synth_root, root)
    for grid in (root / "chair" / "train").glob("chair_0001_*.binvox"):
        grid.unlink()
    assert len(ShapeDataset(root, 16, "train")) == 11
    no_grid = ShapeDataset(root, None, "train", views=1, cameras=True)
    assert len(no_grid) == 12 and "voxels" not in no_grid[0] and "cameras" in no_grid[0]


def test_collate_keeps_cameras_batched(synth_root: Path) -> None:
    ds = ShapeDataset(synth_root, 16, "train", views=3, image_size=16, masks=True, cameras=True)
    batch = collate_items([ds[0], ds[1], ds[2]])
    assert batch["cameras"].batch_shape == (3, 3) and batch["images"].shape == (3, 3, 3, 16, 16)
    assert batch["masks"].shape == (3, 3, 1, 16, 16) and batch["id"] == ["chair_0001", "chair_0002", "chair_0003"]
    torch.testing.assert_close(batch["cameras"][1, 2].rotation, ds[1]["cameras"][2].rotation)
    dm = ShapeDataModule(synth_root, 16, batch_size=2, views=2, image_size=16, cameras=True, masks=True)
    dm.setup()
    assert next(iter(dm.train_dataloader()))["cameras"].batch_shape == (2, 2)


def test_cameras_with_augmentation_is_refused(synth_root: Path) -> None:
    from gan3d.data.augment import AugmentSettings

    with pytest.raises(DataError, match="augmentation moves shapes but not cameras"):
        ShapeDataset(synth_root, 16, views=1, cameras=True, augment=AugmentSettings())


def test_real_r2n2_items_carry_masks_and_cameras(real: Path) -> None:
    ds = ShapeDataset(
        real / "shapenet_r2n2_attsets/chair/sample", 32, "train", views=4, image_size=64, masks=True, cameras=True
    )
    item = ds[0]
    assert item["cameras"].batch_shape == (4,) and item["cameras"].width == 64
    assert item["masks"].shape == (4, 1, 64, 64)
    # placement (re-centred grid), cameras (from the metadata, resized) and alpha masks agree
    assert _projected_grid(item)[0] > 0.7
