from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

from gan3d.cli.main import main
from gan3d.export.checkpoint import save_pretrained
from gan3d.io.binvox import read_binvox
from gan3d.registry import get_model


@pytest.fixture
def export_dir(tmp_path: Path) -> Path:
    torch.manual_seed(0)
    model = get_model("cond_vae_gan_64", resolution=32, channels=1, image_size=32, base_channels=4, num_classes=2)
    with torch.no_grad():  # bias the last layer so untrained samples are not empty
        model.generator.net[-1].bias.fill_(0.3)
    return save_pretrained(model, tmp_path / "export", builder="cond_vae_gan_64", class_names=["chair", "lamp"])


def test_sample_writes_grids_meshes_and_a_sheet(tmp_path: Path, export_dir: Path) -> None:
    out = tmp_path / "s"
    assert main(["sample", "--ckpt", str(export_dir), "--n", "3", "--class", "lamp", "--out", str(out)]) == 0
    assert sorted(p.name for p in out.glob("*.binvox")) == [
        "sample_0001.binvox",
        "sample_0002.binvox",
        "sample_0003.binvox",
    ]
    assert len(list(out.glob("*.obj"))) == 3 and (out / "samples.png").exists()
    # deterministic by seed
    again = tmp_path / "s2"
    assert main(["sample", "--ckpt", str(export_dir), "--n", "3", "--class", "lamp", "--out", str(again)]) == 0
    np.testing.assert_array_equal(
        read_binvox(out / "sample_0002.binvox").occupancy, read_binvox(again / "sample_0002.binvox").occupancy
    )


def test_sample_from_a_lightning_checkpoint(tmp_path: Path) -> None:
    model = get_model("gan_32", base_channels=4)
    checkpoint = {
        "hyper_parameters": {"model": "gan_32", "model_kwargs": {"base_channels": 4}, "class_names": None},
        "state_dict": {f"model.{k}": v for k, v in model.state_dict().items()},
    }
    torch.save(checkpoint, tmp_path / "last.ckpt")
    assert main(["sample", "--ckpt", str(tmp_path / "last.ckpt"), "--n", "2", "--out", str(tmp_path / "o")]) == 0
    assert len(list((tmp_path / "o").glob("*.binvox"))) == 2


def test_reconstruct_from_views(tmp_path: Path, export_dir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from PIL import Image

    views = []
    for i in range(2):
        path = tmp_path / f"view{i}.png"
        Image.fromarray((np.random.default_rng(i).random((48, 48, 3)) * 255).astype(np.uint8)).save(path)
        views.append(str(path))
    out = tmp_path / "rec.obj"
    assert main(["reconstruct", *views, "--ckpt", str(export_dir), "--class", "chair", "--out", str(out)]) == 0
    assert out.exists() and out.with_suffix(".binvox").exists() and out.with_suffix(".png").exists()
    assert "resized to 32x32" in capsys.readouterr().err


@pytest.mark.parametrize(
    "argv,message",
    [
        (["sample", "--ckpt", "{tmp}/nothing", "--n", "2", "--out", "{tmp}/o"], "nothing: no such file"),
        (["sample", "--ckpt", "{export}", "--class", "sofa", "--out", "{tmp}/o"], "unknown class"),
        (["reconstruct", "{tmp}/bad.png", "--ckpt", "{export}", "--out", "{tmp}/r.obj"], "bad.png"),
        (["sample", "--ckpt", "{tmp}/bad.png", "--out", "{tmp}/o"], "not a loadable checkpoint"),
    ],
)
def test_bad_input(
    tmp_path: Path, export_dir: Path, capsys: pytest.CaptureFixture[str], argv: list[str], message: str
) -> None:
    (tmp_path / "bad.png").write_bytes(b"not an image")
    code = main([a.format(tmp=tmp_path, export=export_dir) for a in argv])
    err = capsys.readouterr().err
    assert code == 2 and message in err and err.count("\n") == 1
    assert not (tmp_path / "r.obj").exists()


def test_interpolate_between_noise_and_between_images(tmp_path: Path, export_dir: Path) -> None:
    from PIL import Image

    out = tmp_path / "i"
    assert main(["interpolate", "--ckpt", str(export_dir), "--n", "4", "--class", "chair", "--out", str(out)]) == 0
    assert (out / "interpolation.png").exists() and len(list(out.glob("interp_*.obj"))) >= 1
    views = []
    for i in range(2):
        views.append(tmp_path / f"v{i}.png")
        Image.fromarray((np.random.default_rng(i).random((32, 32)) * 255).astype(np.uint8)).save(views[-1])
    args = [
        "interpolate",
        "--ckpt",
        str(export_dir),
        "--n",
        "3",
        "--from",
        str(views[0]),
        "--to",
        str(views[1]),
        "--class",
        "lamp",
        "--out",
        str(tmp_path / "j"),
    ]
    assert main(args) == 0


def test_interpolation_ends_are_the_endpoints() -> None:
    from gan3d.pipelines.voxel_gan import LoadedModel, interpolate

    model = get_model("gan_32", base_channels=4).eval()
    loaded = LoadedModel(model, "gan_32", None)
    a, b = torch.randn(1, 200), torch.randn(1, 200)
    line = interpolate(loaded, a, b, 5)
    with torch.no_grad():
        torch.testing.assert_close(line[0], model.generate(a)[0])
        torch.testing.assert_close(line[-1], model.generate(b)[0])


def test_parallel_sampling_writes_the_same_files(tmp_path: Path, export_dir: Path) -> None:
    base = ["sample", "--ckpt", str(export_dir), "--n", "5", "--batch-size", "2"]
    assert main([*base, "--jobs", "1", "--out", str(tmp_path / "one")]) == 0
    assert main([*base, "--jobs", "2", "--out", str(tmp_path / "two")]) == 0
    one = sorted(p.relative_to(tmp_path / "one") for p in (tmp_path / "one").iterdir() if p.suffix != ".png")
    two = sorted(p.relative_to(tmp_path / "two") for p in (tmp_path / "two").iterdir() if p.suffix != ".png")
    assert one == two and len(one) == 10
    for name in one:
        assert (tmp_path / "one" / name).read_bytes() == (tmp_path / "two" / name).read_bytes()


def test_sampling_grids_only_in_bf16(tmp_path: Path, export_dir: Path) -> None:
    out = tmp_path / "s"
    args = ["sample", "--ckpt", str(export_dir), "--n", "3", "--format", "none", "--precision", "bf16"]
    assert main([*args, "--out", str(out)]) == 0
    assert len(list(out.glob("*.binvox"))) == 3 and not list(out.glob("*.obj"))
