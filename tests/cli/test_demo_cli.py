from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch
import trimesh

from gan3d.cli.main import main
from gan3d.pipelines.demo_report import MARGIN_TARGET
from tests.browser import CHROMIUM, probe, screenshot

# bounded by epochs, not wall time, so the run is the same on any machine
TINY = ["--minutes", "10", "--epochs", "5", "--per-class", "10", "--classes", "chair,table", "--jobs", "1"]


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str]:
    """One tiny demo run (5 epochs of one batch) shared by the tests below."""
    out = tmp_path_factory.mktemp("demo")
    import contextlib
    import io

    stdout = io.StringIO()
    with contextlib.redirect_stdout(stdout):
        assert main(["demo", "--out", str(out), *TINY]) == 0
    return out, stdout.getvalue()


def test_demo_writes_report_metrics_meshes_and_model(demo: tuple[Path, str]) -> None:
    out, _ = demo
    html = (out / "report.html").read_text()
    for heading in ("Results on held-out objects", "Training curves", "Random samples", "Latent interpolation"):
        assert heading in html
    assert "3D viewer" in html and "Mesh3d" in html.replace("mesh3d", "Mesh3d")
    assert "Per part" in html and "seat and back" in html  # legs scored apart (issue 10 item 5)
    assert '<script src="http' not in html, "the report must open offline"
    assert html.count("data:image/png;base64,") >= 4  # curves, samples, reconstructions, interpolation
    for name in ("curves", "samples", "reconstructions", "interpolation"):
        assert (out / "figures" / f"{name}.png").stat().st_size > 1000
    assert (out / "model" / "model.safetensors").exists()
    assert list((out / "runs" / "demo").glob("version_0/events.out.tfevents.*")), "TensorBoard logs"
    assert (out / "runs" / "demo" / "version_0" / "metrics.csv").exists()
    meshes = sorted((out / "meshes").rglob("*.obj"))
    assert meshes
    truth = [m for m in meshes if m.name.endswith("_truth.obj")]
    assert truth and all(trimesh.load(m, force="mesh").is_watertight for m in truth)


def test_demo_numbers_are_consistent(demo: tuple[Path, str]) -> None:
    out, stdout = demo
    metrics = json.loads((out / "metrics.json").read_text())
    rows = metrics["single_view"]["per_object"]
    assert len(rows) == 2 * 2  # 10 per class, 80% train: 2 held-out objects per class
    overall = metrics["single_view"]["overall"]
    assert overall["iou"] == pytest.approx(np.mean([r["iou"] for r in rows]))
    assert metrics["margin_over_baseline"] == pytest.approx(overall["iou"] - overall["baseline_iou"])
    assert metrics["multi_view"]["settings"]["views"] == 3
    assert set(metrics["sample_recognition"]["per_class"]) == {"chair", "table"}
    assert set(metrics["single_view"]["per_part"]) == {"chair", "table"}
    assert set(metrics["multi_view"]["per_part"]["table"]) == {"legs", "top"}
    assert metrics["run"]["epochs"] == 5 and metrics["run"]["total_seconds"] > metrics["run"]["train_seconds"]
    # the two numbers the issue asks for are printed, and an unmet target is said, not hidden
    assert f"single-view IoU {overall['iou']:.3f} vs mean-shape baseline {overall['baseline_iou']:.3f}" in stdout
    assert "samples recognised as their class" in stdout
    if metrics["margin_over_baseline"] < MARGIN_TARGET:
        assert "too small a budget" in stdout and "MISSES" in stdout


def test_demo_model_reloads_with_the_same_reconstruction(demo: tuple[Path, str]) -> None:
    from gan3d.pipelines.voxel_gan import load_model

    out, _ = demo
    loaded = load_model(out / "model")
    metrics = json.loads((out / "metrics.json").read_text())
    # recompute every held-out object's IoU by hand, from the exported model (not through the evaluation
    # code that wrote metrics.json): first view in, occupancy > 0.5 against the truth
    from gan3d.data.datasets import ShapeDataset

    model = loaded.model
    test = ShapeDataset(out / "data", 32, "test", loaded.class_names, views=1, image_size=64, channels=1)
    by_id = {row["id"]: row["iou"] for row in metrics["single_view"]["per_object"]}
    assert len(by_id) == len(test)
    with torch.no_grad():
        for i in range(len(test)):
            item = test[i]
            pred = model.reconstruct(item["images"][None], torch.tensor([item["label"]]))[0, 0].numpy() > 0.5
            truth = item["voxels"][0].numpy() > 0.5
            iou = (pred & truth).sum() / (pred | truth).sum() if (pred | truth).any() else 1.0
            assert iou == pytest.approx(by_id[item["id"]], abs=1e-6), item["id"]


@pytest.mark.skipif(CHROMIUM is None, reason="needs Debian's chromium (apt-get install chromium)")
def test_report_loads_in_chromium_without_errors(demo: tuple[Path, str], tmp_path: Path) -> None:
    from PIL import Image

    out, _ = demo
    found = probe(out / "report.html", tmp_path, "#viewer")
    assert found["errors"] == [], f"JavaScript errors: {found['errors']}"
    assert found["canvases"] >= 1, "the 3D viewer made no canvas"
    rect = found["rect"]
    shot = screenshot(out / "report.html", tmp_path / "shot.png", 1300, int(rect["y"] + rect["h"]) + 20)
    image = np.asarray(Image.open(shot).convert("L")).astype(int)
    x, y, w, h = (int(rect[k]) for k in ("x", "y", "w", "h"))
    viewer = image[y + 40 : y + h - 10, x : x + min(w, 1200)]
    assert (viewer < 200).mean() > 0.01, "the 3D viewer is blank"
    assert len(np.unique(viewer)) > 10, "no shading: no mesh was drawn"


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--minutes", "0"], "--minutes must be positive"),
        (["--classes", "chair,teapot"], "--classes needs 2+ of"),
        (["--per-class", "2"], "--per-class must be at least 5"),
        (["--epochs", "0"], "--epochs must be at least 1"),
    ],
)
def test_demo_rejects_bad_options(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], args: list[str], message: str
) -> None:
    assert main(["demo", "--out", str(tmp_path / "d"), *args]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and message in err[0]
    assert not (tmp_path / "d" / "report.html").exists()


@pytest.mark.slow
def test_full_demo_beats_the_baseline(tmp_path: Path) -> None:
    """The issue's bar with the default settings (8 minutes on 2 cores): RUN_SLOW=1."""
    assert main(["demo", "--out", str(tmp_path / "d")]) == 0
    metrics = json.loads((tmp_path / "d" / "metrics.json").read_text())
    assert metrics["margin_over_baseline"] >= MARGIN_TARGET
    assert metrics["sample_recognition"]["overall"] > 0.5


def test_a_busy_machine_is_said() -> None:
    from gan3d.cli.demo import busy_machine_warning

    assert "only 20 epochs in 6.9 min (about 58" in busy_machine_warning(20, 6.9 * 60, 500, epoch_bounded=False)
    assert "only 23 epochs" in busy_machine_warning(23, 6.6 * 60, -1, epoch_bounded=False)  # the default: no cap
    assert busy_machine_warning(55, 6.9 * 60, 500, epoch_bounded=False) == ""
    assert busy_machine_warning(5, 6.9 * 60, 500, epoch_bounded=True) == ""  # --epochs: nothing to warn about
    assert busy_machine_warning(5, 6.9 * 60, 5, epoch_bounded=False) == ""  # reached its epoch cap


@pytest.mark.slow
@pytest.mark.parametrize("recon_weight", [0.05, 0.1])
def test_thin_parts_survive(tmp_path: Path, recon_weight: float) -> None:
    """Issue 10 item 5, 60 epochs (README "Thin parts"; about 9 min each on 2 cores): with the BCE loss,
    chair legs are reconstructed (L2 gave 0.09) and both weights reach the chair >= 0.60 / table >= 0.65
    targets (one run of the default 0.05: 0.617 / 0.659); the default keeps most random samples
    recognisable (70% in that run)."""
    import dataclasses

    from gan3d.data.synth_dataset import build_synthetic_dataset
    from gan3d.pipelines.demo_report import score_demo
    from gan3d.pipelines.voxel_gan import LoadedModel
    from gan3d.training.demo import BUILDER, DemoSettings, train_demo_model

    settings = dataclasses.replace(DemoSettings(max_epochs=60), recon_weight=recon_weight)
    data = tmp_path / "data"
    build_synthetic_dataset(
        data, settings.classes, settings.per_class, (32,), settings.rendered_views, settings.image_size, seed=0
    )
    run = train_demo_model(data, tmp_path / "runs", settings, budget_s=3 * 3600)
    scores = score_demo(LoadedModel(run.module.model, BUILDER, list(settings.classes)), data, settings.train_views)
    per_class, per_part = scores.single_view["per_class"], scores.single_view["per_part"]
    assert per_part["chair"]["legs"]["iou"] > 0.25 and per_part["table"]["legs"]["iou"] > 0.35, per_part
    assert per_class["chair"]["iou"] >= 0.60 and per_class["table"]["iou"] >= 0.65, per_class
    if recon_weight == 0.05:
        assert scores.recognised >= 0.6, scores.recognition
