from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from gan3d.cli.main import main
from gan3d.data.synthetic import make_shape
from gan3d.data.voxelize import voxelize
from gan3d.io.binvox import read_binvox
from gan3d.io.mesh import save_mesh


def _meshes(tmp_path: Path) -> list[Path]:
    paths = []
    for name in ("chair", "table"):
        path = tmp_path / "in" / f"{name}_0001.off"
        path.parent.mkdir(exist_ok=True)
        save_mesh(make_shape(name, 1), path)
        paths.append(path)
    return paths


def test_voxelize_batch_reports_failures_and_resumes(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    good = _meshes(tmp_path)
    bad = tmp_path / "in" / "broken.off"
    bad.write_text("OFF\n3 1 0\n0 0 0\n")
    out = tmp_path / "vox"
    code = main(["data", "voxelize", *map(str, good), str(bad), "--res", "16", "--out", str(out), "--jobs", "1"])
    assert code == 1
    err = capsys.readouterr().err
    assert "2 done, 0 already done, 1 failed" in err and "broken.off" in err
    assert sorted(p.name for p in out.iterdir()) == ["chair_0001.binvox", "table_0001.binvox"]
    grid = read_binvox(out / "chair_0001.binvox")
    mesh = make_shape("chair", 1)
    np.testing.assert_allclose(grid.translate, voxelize(mesh.verts, mesh.faces, 16).translate, atol=1e-5)
    assert grid.occupancy.shape == (16, 16, 16) and grid.occupancy.any()
    # second run: nothing to do, files untouched
    before = (out / "chair_0001.binvox").stat().st_mtime_ns
    assert main(["data", "voxelize", *map(str, good), "--res", "16", "--out", str(out), "--jobs", "2"]) == 0
    assert "0 done, 2 already done, 0 failed" in capsys.readouterr().err
    assert (out / "chair_0001.binvox").stat().st_mtime_ns == before


def test_render_writes_views_masks_depth_cameras(tmp_path: Path) -> None:
    mesh_path = _meshes(tmp_path)[0]
    out = tmp_path / "views"
    assert (
        main(["data", "render", str(mesh_path), "--views", "4", "--size", "32", "--out", str(out), "--jobs", "1"]) == 0
    )
    assert sorted(p.name for p in out.glob("*.png")) == [f"chair_0001_{i:03d}.png" for i in range(1, 5)]
    extra = out / "chair_0001_views"
    assert len(list(extra.glob("*_mask.png"))) == 4 and len(list(extra.glob("*_depth.png"))) == 4
    meta = json.loads((extra / "002.json").read_text())
    assert meta["camera"]["azimuth"] == 90.0 and meta["camera"]["elevation"] == 30.0


def test_synth_layout(tmp_path: Path) -> None:
    out = tmp_path / "synth"
    args = ["data", "synth", "--out", str(out), "--classes", "chair,car", "--per-class", "5", "--res", "16,8"]
    assert main([*args, "--views", "2", "--size", "24", "--jobs", "1"]) == 0
    manifest = json.loads((out / "dataset.json").read_text())
    assert manifest["classes"] == ["chair", "car"] and manifest["resolutions"] == [16, 8]
    for name in ("chair", "car"):
        train = sorted(p.name for p in (out / name / "train").glob("*.off"))
        test = sorted(p.name for p in (out / name / "test").glob("*.off"))
        assert train == [f"{name}_{i:04d}.off" for i in range(1, 5)] and test == [f"{name}_0005.off"]
    folder = out / "chair" / "train"
    assert read_binvox(folder / "chair_0001_16.binvox").resolution == 16
    assert read_binvox(folder / "chair_0001_8.binvox").resolution == 8
    assert (folder / "chair_0001_002.png").exists() and (folder / "chair_0001_views" / "002.json").exists()
    # deterministic by seed: a second dataset with the same seed has identical grids
    out2 = tmp_path / "synth2"
    assert (
        main(
            [
                "data",
                "synth",
                "--out",
                str(out2),
                "--classes",
                "chair",
                "--per-class",
                "2",
                "--res",
                "8",
                "--views",
                "0",
                "--jobs",
                "1",
            ]
        )
        == 0
    )
    assert (out2 / "chair/train/chair_0001_8.binvox").read_bytes() == (folder / "chair_0001_8.binvox").read_bytes()


def test_view_writes_a_png(tmp_path: Path) -> None:
    mesh_path = _meshes(tmp_path)[0]
    grid_path = tmp_path / "g.binvox"
    assert main(["data", "voxelize", str(mesh_path), "--res", "16", "--out", str(tmp_path), "--jobs", "1"]) == 0
    (tmp_path / "chair_0001.binvox").rename(grid_path)
    out = tmp_path / "view.png"
    assert main(["view", str(grid_path), str(mesh_path), "-o", str(out)]) == 0
    from PIL import Image

    image = np.asarray(Image.open(out).convert("L"))
    assert image.shape[1] > image.shape[0] and (image < 200).mean() > 0.005  # two panels, something drawn


@pytest.mark.parametrize(
    "argv",
    [
        ["view", "{tmp}/missing.binvox", "-o", "{tmp}/out.png"],
        ["view", "{tmp}/bad.binvox", "-o", "{tmp}/out.png"],
        ["view", "{tmp}/bad.txt", "-o", "{tmp}/out.png"],
        ["data", "synth", "--out", "{tmp}/s", "--classes", "spaceship"],
        ["data", "voxelize", "{tmp}/bad.binvox", "--res", "1", "--out", "{tmp}/v"],
    ],
)
def test_bad_input_is_one_line_and_exit_2(tmp_path: Path, capsys: pytest.CaptureFixture[str], argv: list[str]) -> None:
    (tmp_path / "bad.binvox").write_bytes(b"#binvox 1\ndim 2 2 2\ndata\n\x01")
    (tmp_path / "bad.txt").write_text("hello")
    code = main([a.format(tmp=tmp_path) for a in argv])
    err = capsys.readouterr().err
    assert code == 2
    assert err.startswith("gan3d: error: ") and err.count("\n") == 1 and "Traceback" not in err
    assert not (tmp_path / "out.png").exists()
