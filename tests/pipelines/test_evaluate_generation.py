"""Generation scores beside their two references, checked with generators whose answers are known."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

from gan3d.cli.main import main
from gan3d.pipelines import evaluate_generation as module
from gan3d.pipelines.loading import LoadedModel
from gan3d.registry import get_model


@pytest.fixture(scope="module")
def root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("gen")
    args = ["data", "synth", "--out", str(out), "--classes", "chair,table", "--per-class", "10", "--res", "16"]
    assert main([*args, "--views", "0", "--jobs", "1"]) == 0
    return out


def _loaded() -> LoadedModel:
    model = get_model("cond_vae_gan_64", resolution=16 * 2, base_channels=2, num_classes=2).eval()
    model.config["resolution"] = 16  # the tests replace generation; only the dataset settings are read
    return LoadedModel(model, "cond_vae_gan_64", ["chair", "table"])


def test_a_generator_that_copies_training_shapes_scores_like_the_ceiling(
    root: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from gan3d.pipelines.voxel_gan import dataset_for, stack_grids

    loaded = _loaded()
    train, labels = stack_grids(dataset_for(loaded, root, "train"))

    def copying(loaded, n, class_name=None, seed=0):  # noqa: ANN001, ANN202
        k = loaded.class_names.index(class_name)
        return train[labels == k][:n]

    monkeypatch.setattr(module, "generate", copying)
    result = module.evaluate_generation(loaded, root, n_points=64)
    assert result["model"]["recognised"] == 1.0  # each sample's nearest training shape is itself
    assert result["model"]["empty"] == 0.0
    assert 0.8 < result["model"]["volume_ratio"] < 1.25 and result["train_split"]["volume_ratio"] == pytest.approx(
        result["model"]["volume_ratio"], rel=0.3
    )
    # the collapsed reference: one shape per class, so pairwise IoU is 1 within a class (computed by hand)
    mean = result["mean_shape"]
    test_labels = stack_grids(dataset_for(loaded, root, "test"))[1]
    counts = [int((test_labels == k).sum()) for k in range(2)]
    pairs_within = sum(c * (c - 1) for c in counts)
    total_pairs = sum(counts) * (sum(counts) - 1)
    assert mean["diversity_mean_pairwise_iou"] >= pairs_within / total_pairs - 1e-6
    assert mean["cov_cd"] <= 2 / sum(counts) + 1e-6  # two distinct shapes cover at most two references
    assert result["train_split"]["cov_cd"] > mean["cov_cd"]


def test_an_empty_generator_is_seen(root: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(module, "generate", lambda loaded, n, class_name=None, seed=0: torch.zeros(n, 1, 16, 16, 16))
    result = module.evaluate_generation(_loaded(), root, n_points=64)
    model = result["model"]
    assert model["empty"] == 1.0 and model["diversity_mean_pairwise_iou"] == 1.0
    assert model["nna_cd"] >= 0.5 and model["cov_cd"] <= result["train_split"]["cov_cd"]
    assert np.isfinite(model["mmd_cd"]) and model["mmd_cd"] > result["train_split"]["mmd_cd"]


def test_evaluate_ckpt_on_a_pure_gan_prints_the_three_rows(
    root: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("COLUMNS", "200")  # rich wraps tables to the terminal width
    from gan3d.export.checkpoint import save_pretrained

    torch.manual_seed(0)
    save_pretrained(get_model("gan_32", base_channels=2), tmp_path / "gan", builder="gan_32", family="voxel_gan")
    import shutil

    data = tmp_path / "d32"
    args = ["data", "synth", "--out", str(data), "--classes", "chair", "--per-class", "5", "--res", "32"]
    assert main([*args, "--views", "0", "--jobs", "1"]) == 0
    out = tmp_path / "g.json"
    code = main(
        ["evaluate", "--ckpt", str(tmp_path / "gan"), "--data", str(data), "--gen-points", "32", "--json", str(out)]
    )
    assert code == 0
    text = capsys.readouterr().out
    assert "train split (ceiling)" in text and "mean shape (collapse)" in text and "1-NNA-CD" in text
    assert out.exists()
    shutil.rmtree(data)


def test_a_one_class_generator_is_recognised_among_every_class_of_the_dataset(
    root: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """An unconditional chair GAN: a sample counts as recognised when its nearest training shape, among
    the train split of *all* classes (chair and table here), is a chair."""
    from gan3d.pipelines.voxel_gan import dataset_for, stack_grids

    model = get_model("gan_32", base_channels=2).eval()
    model.config["resolution"] = 16
    loaded = LoadedModel(model, "gan_32", ["chair"])
    everything = dataset_for(loaded, root, "train", model_classes=False)
    grids, labels = stack_grids(everything)
    tables = grids[labels == everything.classes.index("table")]
    chairs = grids[labels == everything.classes.index("chair")]
    # half the samples are training tables, half training chairs: recognised exactly 0.5
    monkeypatch.setattr(
        module,
        "generate",
        lambda loaded, n, class_name=None, seed=0: torch.cat([tables[: n // 2], chairs[: n - n // 2]]),
    )
    result = module.evaluate_generation(loaded, root, n_points=64)
    n = result["settings"]["samples"]
    assert result["model"]["recognised"] == pytest.approx((n - n // 2) / n)
    assert "chair, table" in result["settings"]["recognised_by"]


def test_a_generator_of_specks_has_a_tiny_volume_ratio(root: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # what the 64^3 recipe made after 30 min: ~1% of a chair's voxels scattered over its extent; the
    # Chamfer scores, which normalise each cloud, cannot see that, the volume ratio must
    from gan3d.pipelines.voxel_gan import dataset_for, stack_grids

    loaded = _loaded()
    train, labels = stack_grids(dataset_for(loaded, root, "train"))

    def specks(loaded, n, class_name=None, seed=0):  # noqa: ANN001, ANN202
        shapes = train[labels == loaded.class_names.index(class_name)][:n].clone()
        keep = torch.rand(shapes.shape, generator=torch.Generator().manual_seed(seed)) < 0.03
        return shapes * keep

    monkeypatch.setattr(module, "generate", specks)
    result = module.evaluate_generation(loaded, root, n_points=64)
    assert result["model"]["empty"] == 0.0 and result["model"]["volume_ratio"] < 0.06
    assert result["mean_shape"]["volume_ratio"] > 0.5
