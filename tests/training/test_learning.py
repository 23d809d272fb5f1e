"""End to end through `gan3d train`: a small 3D-VAE-GAN learns a learnable built-in class."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest
import torch
import yaml

from gan3d.cli.main import main
from gan3d.registry import load_pretrained

# the nine classes the measured runs used (the built-in data has gained `person` since)
NINE_CLASSES = "airplane,bed,bottle,car,chair,lamp,sofa,table,vase"

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


GAN_CONFIG = Path(__file__).resolve().parents[2] / "configs" / "gan_chair32.yaml"


def test_the_default_3d_gan_gives_different_shapes_for_different_z(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """After a short run of the default 3D-GAN recipe, two z give two different, non-empty chairs (a
    generator that ignores z, or one collapsed onto one shape, fails), and gen/ scores are in the log."""
    from gan3d.metrics.recognition import pairwise_iou

    monkeypatch.chdir(tmp_path)
    args = [
        "train",
        "--config",
        str(GAN_CONFIG),
        "--trainer.max_epochs",
        "20",
        "--trainer.enable_progress_bar",
        "false",
    ]
    # the config's own D and G settings at a smaller width, so this test follows the default recipe
    model_kwargs = yaml.safe_load(GAN_CONFIG.read_text())["model"]["init_args"]["model_kwargs"]
    args += ["--model.model_kwargs", json.dumps({**model_kwargs, "base_channels": 8})]
    args += ["--model.generation_every_n_epochs", "10"]
    args += ["--data.synth_per_class", "40", "--data.batch_size", "8", "--data.root", str(tmp_path / "chairs")]
    assert main(args) == 0
    run = tmp_path / "runs" / "gan_chair32" / "version_0"
    rows = list(csv.DictReader(open(run / "metrics.csv")))
    assert len([r for r in rows if r.get("gen/cov_cd")]) == 2  # epochs 10, 20
    model, _ = load_pretrained(run / "export")
    with torch.no_grad():
        shapes = model.eval().generate(model.sample_latent(4, seed=0))
    occupied = (shapes > 0.5).flatten(1).float().mean(1)
    assert (occupied > 0.005).all(), f"empty samples: {occupied}"
    iou = pairwise_iou(shapes, (shapes > 0.5).float())
    off_diagonal = iou[~torch.eye(4, dtype=torch.bool)]
    assert float(off_diagonal.max()) < 0.95, f"samples alike: pairwise IoU {off_diagonal}"


@pytest.mark.slow
def test_the_default_3d_gan_reaches_the_generation_targets(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Issue 10's targets for configs/gan_chair32.yaml on the built-in chairs at 32^3 (200 per class, all
    9 classes built so "recognised" means "nearest to a training chair among all classes"), as the config
    trains (minutes on 2 CPU cores: README "3D-GAN recipes"): 1-NNA-CD <= 75%, COV-CD >= 40%, recognised
    >= 90%, mean pairwise IoU <= 0.5, against the held-out chairs. Scored: the last weights
    (`last.ckpt`), not the export, which is chosen by its gen/ scores on these same chairs."""
    from gan3d.pipelines.evaluate_generation import evaluate_generation
    from gan3d.pipelines.loading import load_model

    monkeypatch.chdir(tmp_path)
    data = tmp_path / "synth"
    assert (
        main(["data", "synth", "--out", str(data), "--classes", NINE_CLASSES, "--per-class", "200", "--views", "0"])
        == 0
    )
    args = ["train", "--config", str(GAN_CONFIG), "--trainer.enable_progress_bar", "false", "--data.root", str(data)]
    assert main(args) == 0
    run = tmp_path / "runs" / "gan_chair32" / "version_0"
    scores = evaluate_generation(load_model(run / "checkpoints" / "last.ckpt"), data)
    model = scores["model"]
    print(scores)
    assert model["nna_cd"] <= 0.75 and model["cov_cd"] >= 0.40, model
    assert model["recognised"] >= 0.90 and model["diversity_mean_pairwise_iou"] <= 0.5, model
