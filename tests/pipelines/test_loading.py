"""The one inference entry: exports and checkpoints name their family, and the CLI dispatches on it."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch

from gan3d.cli.main import main
from gan3d.errors import CheckpointError, ConfigError
from gan3d.export.checkpoint import save_pretrained
from gan3d.pipelines import loading
from gan3d.registry import get_model


def _export(tmp_path: Path, **extra: object) -> Path:
    model = get_model("gan_32", base_channels=2)
    return save_pretrained(model, tmp_path / "export", builder="gan_32", **extra)


def test_exports_and_checkpoints_name_their_family(tmp_path: Path) -> None:
    loaded = loading.load_model(_export(tmp_path, family="voxel_gan"))
    assert loaded.family == "voxel_gan" and loaded.builder == "gan_32"
    model = get_model("gan_32", base_channels=2)
    checkpoint = {
        "hyper_parameters": {
            "model": "gan_32",
            "model_kwargs": {"base_channels": 2},
            "_class_path": "gan3d.training.vae_gan_module.VaeGanModule",
        },
        "state_dict": {f"model.{k}": v for k, v in model.state_dict().items()},
    }
    torch.save(checkpoint, tmp_path / "a.ckpt")
    assert loading.load_model(tmp_path / "a.ckpt").family == "voxel_gan"
    checkpoint["hyper_parameters"]["_class_path"] = "somebody.else.Module"
    torch.save(checkpoint, tmp_path / "b.ckpt")
    with pytest.raises(CheckpointError, match="trained by somebody.else.Module"):
        loading.load_model(tmp_path / "b.ckpt")


def test_an_unknown_family_is_one_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    export = _export(tmp_path, family="nerf")
    assert main(["sample", "--ckpt", str(export), "--out", str(tmp_path / "o")]) == 2
    err = capsys.readouterr().err
    assert "unknown model family 'nerf'" in err and err.count("\n") == 1
    with pytest.raises(ConfigError):
        loading.family_pipeline("nerf")


def test_sample_and_reconstruct_dispatch_on_the_family(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """A new family plugs in through the dispatch table alone: nothing in cli/ names it."""
    import sys
    import types

    calls: list[tuple[str, object]] = []
    fake = types.ModuleType("fake_family")
    fake.for_inference = lambda model: model.eval()  # type: ignore[attr-defined]
    fake.sample_to_folder = lambda loaded, request: calls.append(("sample", request)) or 0  # type: ignore[attr-defined]
    fake.reconstruct_to_files = lambda loaded, request: calls.append(("reconstruct", request)) or 0  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "fake_family", fake)
    monkeypatch.setitem(loading.FAMILIES, "fake", "fake_family")
    export = _export(tmp_path, family="fake")
    assert json.loads((export / "config.json").read_text())["family"] == "fake"
    assert main(["sample", "--ckpt", str(export), "--n", "3", "--out", str(tmp_path / "o")]) == 0
    assert main(["reconstruct", "a.png", "--ckpt", str(export), "--out", str(tmp_path / "r.obj"), "--no-prepare"]) == 0
    (kind, sample), (kind2, rec) = calls
    assert (kind, sample.n, sample.out) == ("sample", 3, tmp_path / "o")
    assert (kind2, rec.images, rec.prepare) == ("reconstruct", [Path("a.png")], False)
