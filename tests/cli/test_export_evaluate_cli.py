from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import trimesh

from gan3d.cli.main import main
from gan3d.data.synthetic import make_shape
from gan3d.data.voxelize import voxelize
from gan3d.io.binvox import read_binvox, write_binvox
from gan3d.io.mesh import load_mesh, save_mesh
from gan3d.structures.voxel_grid import VoxelGrid


@pytest.fixture
def grid_file(tmp_path: Path) -> Path:
    shape = make_shape("table", 2)
    path = tmp_path / "table.binvox"
    write_binvox(voxelize(shape.verts, shape.faces, 24), path)
    return path


@pytest.mark.parametrize("suffix", [".obj", ".ply", ".stl", ".glb"])
def test_export_mesh_formats(tmp_path: Path, grid_file: Path, suffix: str) -> None:
    out = tmp_path / f"table{suffix}"
    assert main(["export", str(grid_file), "-o", str(out), "--smooth", "2"]) == 0
    mesh = trimesh.load(out, force="mesh")
    grid = read_binvox(grid_file)
    # in the grid's mesh coordinates: inside the grid's cube (smoothing may move corners by < half a voxel)
    slack = grid.voxel_size / 2
    assert (mesh.vertices >= grid.translate - slack).all()
    assert (mesh.vertices <= grid.translate + grid.scale + slack).all()
    assert np.ptp(mesh.vertices, axis=0).max() > 0.8 * grid.scale


def test_export_probabilities_and_threshold(tmp_path: Path) -> None:
    probs = np.zeros((16, 16, 16), dtype=np.float32)
    probs[4:12, 4:12, 4:12] = 0.7
    probs[6:10, 6:10, 6:10] = 0.95
    np.save(tmp_path / "p.npy", probs)
    assert main(["export", str(tmp_path / "p.npy"), "-o", str(tmp_path / "lo.off"), "--threshold", "0.5"]) == 0
    assert main(["export", str(tmp_path / "p.npy"), "-o", str(tmp_path / "hi.off"), "--threshold", "0.9"]) == 0
    lo, hi = load_mesh(tmp_path / "lo.off"), load_mesh(tmp_path / "hi.off")
    assert np.ptp(lo.verts, axis=0).max() > np.ptp(hi.verts, axis=0).max()
    assert main(["export", str(tmp_path / "p.npy"), "-o", str(tmp_path / "g.binvox"), "--threshold", "0.9"]) == 0
    assert read_binvox(tmp_path / "g.binvox").occupancy.sum() == 64
    assert main(["export", str(tmp_path / "p.npy"), "-o", str(tmp_path / "raw.npy")]) == 0
    np.testing.assert_array_equal(np.load(tmp_path / "raw.npy"), probs)


def test_export_errors_leave_nothing(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    np.save(tmp_path / "empty.npy", np.zeros((8, 8, 8)))
    assert main(["export", str(tmp_path / "empty.npy"), "-o", str(tmp_path / "e.obj")]) == 2
    err = capsys.readouterr().err
    assert err.startswith("gan3d: error: ") and "empty.npy" in err and err.count("\n") == 1
    assert not (tmp_path / "e.obj").exists() and sorted(p.name for p in tmp_path.iterdir()) == ["empty.npy"]
    (tmp_path / "bad.binvox").write_bytes(b"junk")
    assert main(["export", str(tmp_path / "bad.binvox"), "-o", str(tmp_path / "b.obj")]) == 2
    assert not (tmp_path / "b.obj").exists()


def test_evaluate_pairs_by_name_and_writes_json(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    pred, target = tmp_path / "pred", tmp_path / "target"
    for cls in ("chair", "lamp"):
        (pred / cls).mkdir(parents=True)
        (target / cls).mkdir(parents=True)
        for i in (1, 2):
            shape = make_shape(cls, i)
            grid = voxelize(shape.verts, shape.faces, 16)
            write_binvox(grid, target / cls / f"{cls}_{i:04d}.binvox")
            if cls == "chair":  # perfect predictions, as probabilities
                np.save(pred / cls / f"{cls}_{i:04d}.npy", grid.occupancy.astype(np.float32) * 0.9)
            else:  # the mesh itself
                save_mesh(shape, pred / cls / f"{cls}_{i:04d}.off")
    (pred / "chair" / "unpaired.npy").write_bytes(b"")  # no target: ignored
    out = tmp_path / "scores.json"
    assert main(["evaluate", str(pred), str(target), "--points", "2000", "--json", str(out)]) == 0
    table = capsys.readouterr().out
    assert "chair" in table and "lamp" in table and "overall" in table
    data = json.loads(out.read_text())
    # probabilities of 0.9 threshold to the target exactly; SSIM sees the 0.1 gap in the luminance term
    assert data["per_class"]["chair"]["iou"] == 1.0
    assert 0.95 < data["per_class"]["chair"]["ssim"] < 1.0
    assert data["per_class"]["lamp"]["count"] == 2 and 0.5 < data["per_class"]["lamp"]["iou"] <= 1.0
    assert set(data["conventions"]) == {"iou", "ssim", "chamfer", "fscore"}
    assert data["per_object"]["chair_0001"]["class"] == "chair"
    # identical surfaces: what remains is sampling noise (2,000 points: ~half their spacing)
    assert data["per_object"]["chair_0001"]["chamfer"] < 0.02


def test_evaluate_bad_input(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "p").mkdir()
    (tmp_path / "t").mkdir()
    write_binvox(VoxelGrid(np.ones((4, 4, 4), bool), np.zeros(3), 1.0), tmp_path / "t" / "a.binvox")
    (tmp_path / "p" / "a.binvox").write_bytes(b"#binvox 1\ndim 4 4 4\ndata\n\x01")
    assert main(["evaluate", str(tmp_path / "p"), str(tmp_path / "t")]) == 2
    err = capsys.readouterr().err
    assert "a.binvox" in err and err.count("\n") == 1
    assert main(["evaluate", str(tmp_path / "p"), str(tmp_path / "missing")]) == 2
    assert main(["evaluate", str(tmp_path / "t"), str(tmp_path / "t"), "--metrics", "iou,psnr"]) == 2


def test_view_shaded_sheet_reconstruction_and_html(tmp_path: Path, grid_file: Path) -> None:
    from PIL import Image

    shape = make_shape("chair", 4)
    mesh_file = tmp_path / "chair.off"
    save_mesh(shape, mesh_file)
    sheet = tmp_path / "sheet.png"
    assert main(["view", str(grid_file), str(mesh_file), "--style", "shaded", "-o", str(sheet)]) == 0
    image = np.asarray(Image.open(sheet).convert("L"))
    left, right = image[:, : image.shape[1] // 2], image[:, image.shape[1] // 2 :]
    assert (left < 230).mean() > 0.01 and (right < 230).mean() > 0.01  # both panels drawn
    from gan3d.data.render_views import ViewSettings, render_views, save_views

    views = save_views(
        render_views(shape, ViewSettings(views=2, size=64)),
        shape,
        tmp_path / "v",
        "chair",
        ViewSettings(views=2, size=64),
    )
    fig = tmp_path / "recon.png"
    args = ["view", str(grid_file), "--inputs", *map(str, views), "--target", str(mesh_file), "-o", str(fig)]
    assert main(args) == 0
    wide = np.asarray(Image.open(fig))
    assert wide.shape[1] > 3 * wide.shape[0]  # four panels in one row
    page = tmp_path / "v.html"
    assert main(["view", str(grid_file), str(mesh_file), "--html", str(page)]) == 0
    assert page.stat().st_size > 1_000_000


def test_view_needs_an_output(tmp_path: Path, grid_file: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["view", str(grid_file)]) == 2
    assert "give -o" in capsys.readouterr().err
