"""End to end through `gan3d train`: a small 3D-VAE-GAN learns a learnable built-in class."""

from __future__ import annotations

import csv
from pathlib import Path

import pytest
import torch

from gan3d.cli.main import main
from gan3d.registry import load_pretrained

CONFIG = Path(__file__).resolve().parents[2] / "configs" / "tiny_vae_gan_32.yaml"


def _val_iou(run: Path) -> list[float]:
    rows = list(csv.DictReader(open(run / "metrics.csv")))
    return [float(r["val/iou"]) for r in rows if r.get("val/iou")]


def test_validation_iou_rises_and_exports_load(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)  # runs/ and data/ are relative to the working directory
    args = [
        "train",
        "--config",
        str(CONFIG),
        "--trainer.max_epochs",
        "20",
        "--trainer.enable_progress_bar",
        "false",
        "--model.model_kwargs",
        "{channels: 1, image_size: 32, base_channels: 8}",
        "--data.image_size",
        "32",
        "--data.classes",
        "[bottle]",
        "--data.synth_per_class",
        "20",
        "--data.root",
        str(tmp_path / "bottle"),
    ]
    assert main(args) == 0
    run = tmp_path / "runs" / "tiny_vae_gan_32" / "version_0"
    iou = _val_iou(run)
    assert len(iou) == 20
    assert max(iou[-5:]) > iou[0] + 0.25, f"validation IoU did not rise: {iou}"
    # what a user gets: resumable checkpoints, TensorBoard events, sample sheets, an inference export
    assert (run / "checkpoints" / "last.ckpt").exists() and list(run.glob("events.out.tfevents.*"))
    assert (run / "samples" / "samples_epoch0020.png").exists()
    model, config = load_pretrained(run / "export")
    assert config["builder"] == "vae_gan_simple_32" and config["class_names"] == ["bottle"]
    with torch.no_grad():
        assert model.generate(torch.randn(2, 200)).shape == (2, 1, 32, 32, 32)
