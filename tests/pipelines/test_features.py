from __future__ import annotations

from pathlib import Path

import pytest
import torch

from gan3d.cli.main import main
from gan3d.data.synth_dataset import build_synthetic_dataset
from gan3d.export.checkpoint import save_pretrained
from gan3d.pipelines.features import classify, discriminator_features, raw_voxel_features
from gan3d.pipelines.voxel_gan import LoadedModel, load_model
from gan3d.registry import get_model


@pytest.fixture(scope="module")
def root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("synth")
    build_synthetic_dataset(out, ["bottle", "table", "lamp"], per_class=10, resolutions=(32,), views=0)
    return out


def test_feature_shapes() -> None:
    model = get_model("gan_32", base_channels=4).eval()
    feats = discriminator_features(LoadedModel(model, "gan_32", None), torch.rand(3, 1, 32, 32, 32))
    assert feats.shape == (3, (4 + 8 + 16) * 8)  # last three blocks, each max-pooled to 2^3
    assert raw_voxel_features(torch.rand(3, 1, 32, 32, 32), 216).shape == (3, 216)


def test_d_features_beat_chance(root: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    torch.manual_seed(0)
    export = save_pretrained(get_model("gan_32", base_channels=8), tmp_path / "gan", builder="gan_32")
    report = classify(load_model(export), root)
    assert report.classes == ["bottle", "lamp", "table"] and report.n_test == 6
    assert report.chance == pytest.approx(1 / 3)
    assert report.d_accuracy > report.chance + 0.3
    assert main(["features", "--ckpt", str(export), "--data", str(root)]) == 0
    assert "raw voxels" in capsys.readouterr().out


def test_conditional_discriminator_is_refused(root: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    export = save_pretrained(
        get_model("cond_vae_gan_64", resolution=32, channels=1, image_size=32, base_channels=4),
        tmp_path / "c",
        builder="cond_vae_gan_64",
    )
    assert main(["features", "--ckpt", str(export), "--data", str(root)]) == 2
    assert "conditional" in capsys.readouterr().err
