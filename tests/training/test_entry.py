"""One training entry for every family: configs name their classes, old configs and checkpoints still
work, and `--trainer.default_root_dir` is where the run goes."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from gan3d.cli.main import main
from gan3d.cli.train import LEGACY_DATA, LEGACY_MODEL, migrate_config

GOLDEN = Path(__file__).resolve().parents[1] / "data" / "golden"
CONFIGS = Path(__file__).resolve().parents[2] / "configs"
TINY = [
    "--trainer.enable_progress_bar",
    "false",
    "--trainer.limit_train_batches",
    "1",
    "--trainer.limit_val_batches",
    "0",
    "--model.model_kwargs",
    "{channels: 1, image_size: 32, base_channels: 2}",
    "--data.image_size",
    "32",
    "--data.synth_per_class",
    "3",
    "--data.batch_size",
    "2",
]


def test_migrate_config_wraps_flat_sections_and_keeps_new_ones() -> None:
    old = yaml.safe_load((GOLDEN / "legacy_tiny_vae_gan_32.yaml").read_text())
    new = migrate_config(old)
    assert new["model"] == {"class_path": LEGACY_MODEL, "init_args": old["model"]}
    assert new["data"] == {"class_path": LEGACY_DATA, "init_args": old["data"]}
    assert new["trainer"] == old["trainer"] and new["name"] == old["name"]
    current = yaml.safe_load((CONFIGS / "tiny_vae_gan_32.yaml").read_text())
    assert migrate_config(current) == current
    assert current["model"] == new["model"]  # the shipped config is the migrated old one


def test_a_config_written_before_class_path_still_trains(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    args = ["train", "--config", str(GOLDEN / "legacy_tiny_vae_gan_32.yaml"), *TINY, "--trainer.max_epochs", "1"]
    assert main(args) == 0
    run = tmp_path / "runs" / "tiny_vae_gan_32" / "version_0"
    assert (run / "checkpoints" / "last.ckpt").exists()
    saved = yaml.safe_load((run / "config.yaml").read_text())
    assert saved["model"]["class_path"] == LEGACY_MODEL  # the run records the classes it used
    export = yaml.safe_load((run / "export" / "config.json").read_text())
    assert export["family"] == "voxel_gan" and export["class_names"] == ["chair"]


def test_runs_go_to_default_root_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    root = tmp_path / "elsewhere"
    args = ["train", "--config", str(CONFIGS / "tiny_vae_gan_32.yaml"), *TINY, "--trainer.max_epochs", "1"]
    assert main([*args, "--trainer.default_root_dir", str(root), "--data.root", str(tmp_path / "d")]) == 0
    assert (root / "tiny_vae_gan_32" / "version_0" / "checkpoints" / "last.ckpt").exists()
    assert (root / "tiny_vae_gan_32" / "version_0" / "export" / "model.safetensors").exists()
    assert not (tmp_path / "runs").exists()


def test_a_checkpoint_written_before_families_resumes_and_samples(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    old = GOLDEN / "legacy_gan_32.ckpt"
    # inference from it (the voxel family, found without a `_class_path`)
    assert main(["sample", "--ckpt", str(old), "--n", "2", "--format", "none", "--out", str(tmp_path / "s")]) == 0
    assert len(list((tmp_path / "s").glob("*.binvox"))) == 2
    # and training resumes from it with today's config (the golden run's settings, one more epoch)
    args = [
        "train",
        "--config",
        str(CONFIGS / "tiny_vae_gan_32.yaml"),
        "--model.model",
        "gan_32",
        "--model.model_kwargs",
        "{base_channels: 1, latent_dim: 4}",
        "--data.views",
        "0",
        "--data.synth_per_class",
        "3",
        "--data.batch_size",
        "2",
        "--trainer.limit_train_batches",
        "1",
        "--trainer.limit_val_batches",
        "0",
        "--trainer.enable_progress_bar",
        "false",
        "--trainer.max_epochs",
        "2",
        "--ckpt_path",
        str(old),
    ]
    assert main(args) == 0
    import torch

    last = torch.load(tmp_path / "runs/tiny_vae_gan_32/version_0/checkpoints/last.ckpt", weights_only=True)  # noqa: TID251
    # the second epoch, counting on from the old run's optimiser steps (manual optimisation counts each step)
    assert last["epoch"] == 1 and last["global_step"] > 1


def test_an_export_written_before_families_samples(tmp_path: Path) -> None:
    export = GOLDEN / "legacy_gan_32_export"
    assert "family" not in (export / "config.json").read_text()
    assert main(["sample", "--ckpt", str(export), "--n", "2", "--format", "none", "--out", str(tmp_path / "s")]) == 0
    assert len(list((tmp_path / "s").glob("*.binvox"))) == 2


def test_resume_past_max_epochs_is_one_line(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.chdir(tmp_path)
    args = ["train", "--config", str(CONFIGS / "tiny_vae_gan_32.yaml"), *TINY]
    assert main([*args, "--trainer.max_epochs", "3"]) == 0
    assert (tmp_path / "runs" / "tiny_vae_gan_32" / "version_0" / "checkpoints" / "last.ckpt").exists()
    capsys.readouterr()
    assert main([*args, "--trainer.max_epochs", "1", "--ckpt_path", "last"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert err[-1].startswith("gan3d: error: ") and "max_epochs=1" in err[-1]
