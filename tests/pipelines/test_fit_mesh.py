"""Multi-view mesh fitting: the fit moves a template onto the object, judged in 3D against the truth."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

from gan3d.cli.main import main
from gan3d.data.object_views import load_object_views
from gan3d.data.voxelize import voxelize
from gan3d.errors import DataError
from gan3d.io.mesh import load_mesh, save_mesh
from gan3d.pipelines.fit_mesh import FitSettings, fit_mesh, hull_template, icosphere, visual_hull
from gan3d.structures.mesh import Mesh


def _box() -> Mesh:
    import trimesh

    box = trimesh.creation.box(extents=(1.6, 0.9, 0.6))
    box.apply_translation((0.3, -0.2, 0.1))  # off-centre: the render normalisation must be undone
    return Mesh(np.asarray(box.vertices, dtype=np.float64), np.asarray(box.faces, dtype=np.int64))


@pytest.fixture(scope="module")
def rendered(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """8 views at elevation 30 and 8 at -30 of an off-centre box, in one `gan3d data render` folder
    (views from above only cannot tell where the bottom is: a fit could bulge there unseen)."""
    import shutil

    root = tmp_path_factory.mktemp("fit")
    save_mesh(_box(), root / "box.off")
    for elevation, out in (("30", "views"), ("-30", "below")):
        args = ["data", "render", str(root / "box.off"), "--views", "8", "--size", "48", "--out", str(root / out)]
        assert main([*args, "--elevation", elevation, "--jobs", "1"]) == 0
    for i in range(1, 9):  # the views from below become views 9-16
        shutil.copy(root / "below" / f"box_{i:03d}.png", root / "views" / f"box_{i + 8:03d}.png")
        for suffix in (".json", "_mask.png"):
            shutil.copy(
                root / "below" / "box_views" / f"{i:03d}{suffix}", root / "views" / "box_views" / f"{i + 8:03d}{suffix}"
            )
    return root / "views", root / "box.off"


def _iou_3d(pred: Mesh, truth: Mesh, res: int = 32) -> float:
    """Volumetric IoU of two meshes, both voxelised in the truth's grid (the metrics harness's way)."""
    t = voxelize(truth.verts, truth.faces, res)
    p = voxelize(pred.verts, pred.faces, res, placement=(t.translate, t.scale))
    return float((p.occupancy & t.occupancy).sum() / (p.occupancy | t.occupancy).sum())


def test_views_load_with_cameras_and_the_normalisation(rendered: tuple[Path, Path]) -> None:
    views = load_object_views(rendered[0], size=32)
    assert len(views) == 16 and views.images.shape == (16, 32, 32, 3) and views.masks.shape == (16, 32, 32)
    assert views.cameras.width == views.cameras.height == 32 and views.cameras.batch_shape == (16,)
    # the box's unit-sphere normalisation: centred on its bounding box
    np.testing.assert_allclose(views.center, [0.3, -0.2, 0.1], atol=1e-9)


def test_the_visual_hull_contains_the_object_and_little_else(rendered: tuple[Path, Path]) -> None:
    views = load_object_views(rendered[0])
    hull = visual_hull(views.masks, views.cameras, resolution=40)
    # voxel centres of the (unit-frame) box, brute force: all inside the hull but for boundary voxels
    axis = (np.arange(40) + 0.5) / 40 * 2.1 - 1.05
    x, y, z = np.meshgrid(axis, axis, axis, indexing="ij")
    half = np.array([1.6, 0.9, 0.6]) / 2 / views.radius
    inside = (np.abs(x) < half[0] - 0.06) & (np.abs(y) < half[1] - 0.06) & (np.abs(z) < half[2] - 0.06)
    assert hull[inside].mean() > 0.99
    box_volume = np.prod(2 * half)
    hull_volume = hull.sum() * (2.1 / 40) ** 3
    assert box_volume < hull_volume < 1.5 * box_volume  # 1.35x: 8 azimuths leave the corners uncarved

    template = hull_template(hull, 642)
    assert len(template.verts) == 642 and np.abs(template.verts).max() < 1.1


def test_fitting_moves_a_sphere_onto_the_box(rendered: tuple[Path, Path]) -> None:
    """From a sphere, 80 steps at 48 px (a larger step than the default, to arrive in few steps): the
    fitted mesh's 3D IoU with the true box (in the box's own frame) beats the sphere's by a wide margin,
    and the silhouettes match in every view."""
    torch.manual_seed(0)
    views = load_object_views(rendered[0])
    result = fit_mesh(views, FitSettings(vertices=642, start="sphere", steps=80, lr_verts=0.03))
    truth = _box()
    fitted = result.mesh.with_verts(result.mesh.verts * views.radius + views.center)
    start = result.start.with_verts(result.start.verts * views.radius + views.center)
    iou_fit, iou_start = _iou_3d(fitted, truth), _iou_3d(start, truth)
    assert iou_fit > 0.7 and iou_fit > iou_start + 0.25, (iou_start, iou_fit)  # 0.42 -> 0.72 (48 px, 32^3)
    assert min(result.view_iou) > 0.9 and np.mean(result.view_iou) > np.mean(result.start_view_iou) + 0.2
    assert result.history[-1]["silhouette"] < result.history[0]["silhouette"]
    assert result.mesh.vertex_colors is not None and result.mesh.vertex_colors.shape == (642, 3)


def test_coarse_to_fine_subdivides_and_carries_the_colours(rendered: tuple[Path, Path]) -> None:
    views = load_object_views(rendered[0], size=32)
    result = fit_mesh(views, FitSettings(vertices=2562, start="hull", steps=4, hull_resolution=24))
    assert len(result.mesh.verts) == 2562 and len(result.mesh.faces) == 5120
    assert {h["vertices"] for h in result.history} == {642, 2562}
    assert np.isfinite(result.mesh.vertex_colors).all() and (result.mesh.vertex_colors <= 1).all()


def test_fit_cli_writes_mesh_figure_and_record(rendered: tuple[Path, Path], tmp_path: Path) -> None:
    import json

    out = tmp_path / "fitted.obj"
    args = ["fit", str(rendered[0]), "--out", str(out), "--steps", "6", "--size", "32", "--vertices", "642"]
    assert main(args) == 0
    mesh = load_mesh(out)
    assert len(mesh.verts) == 642 and mesh.vertex_colors is not None
    record = json.loads((tmp_path / "fitted_fit.json").read_text())
    assert record["views"] == 16 and len(record["view_iou"]["fit"]) == 16 and record["history"]
    assert (tmp_path / "fitted_fit.png").stat().st_size > 1000
    # in the source frame: the fitted mesh sits where the box is, not in the unit sphere
    np.testing.assert_allclose(mesh.verts.mean(0), [0.3, -0.2, 0.1], atol=0.25)


def test_fit_cli_bad_input_is_one_line(
    rendered: tuple[Path, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    empty = tmp_path / "empty"
    empty.mkdir()
    assert main(["fit", str(empty), "--out", str(tmp_path / "a.obj")]) == 2
    assert "no rendered views" in capsys.readouterr().err
    assert main(["fit", str(rendered[0]), "--out", str(tmp_path / "a.stl")]) == 2
    assert "vertex colours" in capsys.readouterr().err
    broken = tmp_path / "broken"
    import shutil

    shutil.copytree(rendered[0], broken)
    (broken / "box_views" / "001.json").write_text("{not json")
    assert main(["fit", str(broken), "--out", str(tmp_path / "b.obj"), "--steps", "1"]) == 2
    err = capsys.readouterr().err
    assert "001.json" in err and "JSON" in err and len(err.strip().splitlines()) == 1
    assert not list(tmp_path.glob("*.obj"))
    with pytest.raises(DataError, match="carve the whole volume"):
        hull_template(np.zeros((8, 8, 8), bool), 642)
    assert len(icosphere(642).verts) == 642
