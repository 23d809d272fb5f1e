"""Wrong invocations of the hardening run: each is one line `gan3d: error: ...` and exit code 2, with
no traceback and no output file; and batch jobs keep their outputs apart."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

from gan3d.cli.main import main
from gan3d.export.checkpoint import save_pretrained
from gan3d.registry import get_model

CONFIG = str(Path(__file__).resolve().parents[2] / "configs" / "tiny_vae_gan_32.yaml")


@pytest.fixture
def files(tmp_path: Path) -> dict[str, str]:
    from gan3d.data.synthetic import make_shape
    from gan3d.io.mesh import save_mesh

    np.save(tmp_path / "grid.npy", np.pad(np.ones((4, 4, 4), np.float32), 2))
    save_mesh(make_shape("chair", 0), tmp_path / "chair.off")
    torch.manual_seed(0)
    plain = get_model("gan_32", base_channels=2)
    save_pretrained(plain, tmp_path / "gan", builder="gan_32", family="voxel_gan")
    conditional = get_model("cond_vae_gan_64", resolution=32, channels=1, image_size=32, base_channels=2, num_classes=2)
    save_pretrained(conditional, tmp_path / "cond", builder="cond_vae_gan_64", class_names=["chair", "lamp"])
    from PIL import Image

    Image.fromarray((np.random.default_rng(0).random((32, 32)) * 255).astype(np.uint8)).save(tmp_path / "v.png")
    (tmp_path / "evil.ckpt").write_bytes(b"not a checkpoint")
    return {"tmp": str(tmp_path), "grid": str(tmp_path / "grid.npy"), "mesh": str(tmp_path / "chair.off")}


CASES = [
    (["export", "{grid}", "-o", "/dev/null/out.obj"], "cannot write here"),
    (["view", "{grid}", "-o", "/dev/null/x.png"], "cannot write here"),
    (["view", "{grid}", "-o", "{tmp}/x.xyz"], "name it .png"),
    (["sample", "--ckpt", "{tmp}/gan", "--n", "2", "--out", "/dev/null/o"], "cannot write here"),
    (["sample", "--ckpt", "{tmp}/gan", "--n", "20000000", "--out", "{tmp}/o"], "--n must be in"),
    (["sample", "--ckpt", "{tmp}/gan", "--threshold", "5", "--out", "{tmp}/o"], "--threshold must be between"),
    (["reconstruct", "{tmp}/v.png", "--ckpt", "{tmp}/cond", "--threshold", "-1", "--out", "{tmp}/r.obj"], "threshold"),
    (["reconstruct", "{tmp}/v.png", "--ckpt", "{tmp}/cond", "--out", "{tmp}/r.obj"], "pass --class"),
    (["data", "voxelize", "{mesh}", "--jobs", "0", "--out", "{tmp}/v"], "--jobs must be at least 1"),
    (["data", "voxelize", "{mesh}", "--jobs", "-1", "--out", "{tmp}/v"], "--jobs must be at least 1"),
    (["data", "voxelize", "{mesh}", "--res", "100000", "--out", "{tmp}/v"], "--res must be in"),
    (["data", "voxelize", "{tmp}", "--out", "{tmp}/v"], "is a folder"),
    (["data", "synth", "--out", "{tmp}/s", "--views", "-1"], "--views must be >= 0"),
    (["train", "--config", "{tmp}/nonexistent.yaml"], "no such config file"),
    (["train", "--config", CONFIG, "--trainer.max_epochs", "abc"], "trainer.max_epochs"),
    (["train", "--config", CONFIG, "--ckpt_path", "{tmp}/nonexistent.ckpt"], "no such file"),
    (["train", "--config", CONFIG, "--ckpt_path", "{tmp}/evil.ckpt"], "not a loadable checkpoint"),
    (["train", "--config", CONFIG, "--ckpt_path", "https://example.com/m.ckpt"], "remote checkpoints are refused"),
]


@pytest.mark.parametrize("argv,message", CASES, ids=lambda v: " ".join(v)[:60] if isinstance(v, list) else "")
def test_wrong_invocations_are_one_line(
    files: dict[str, str], capsys: pytest.CaptureFixture[str], argv: list[str], message: str
) -> None:
    code = main([a.format(**files) for a in argv])
    err = capsys.readouterr().err.strip()
    assert code == 2, err
    assert err.startswith("gan3d: error: ") and "\n" not in err and "Traceback" not in err, err
    assert message in err
    assert "weights_only=False" not in err and "weights_only` set to `False" not in err
    assert not any(Path(files["tmp"]).glob("r.*")) and not Path(files["tmp"], "x.xyz").exists()


def test_meshes_with_the_same_name_keep_their_folders(tmp_path: Path) -> None:
    from gan3d.data.synthetic import make_shape
    from gan3d.io.binvox import read_binvox
    from gan3d.io.mesh import save_mesh

    meshes = []
    for i, name in enumerate(["a", "b", "c"]):
        meshes.append(tmp_path / "shapenet" / name / "model.obj")
        save_mesh(make_shape("chair", i), meshes[-1])
    assert main(["data", "voxelize", *map(str, meshes), "--res", "8", "--jobs", "1", "--out", str(tmp_path / "v")]) == 0
    grids = sorted(p.relative_to(tmp_path / "v").as_posix() for p in (tmp_path / "v").rglob("*.binvox"))
    assert grids == ["a/model.binvox", "b/model.binvox", "c/model.binvox"]
    occupied = [read_binvox(tmp_path / "v" / g).occupancy.sum() for g in grids]
    assert len(set(occupied)) == 3  # three different chairs, none "already done"


def test_conditional_sampling_says_which_classes(files: dict[str, str], capsys: pytest.CaptureFixture[str]) -> None:
    args = ["sample", "--ckpt", f"{files['tmp']}/cond", "--n", "2", "--format", "none", "--out", f"{files['tmp']}/s"]
    assert main(args) == 0
    assert "no --class: samples cycle through chair, lamp" in capsys.readouterr().err
