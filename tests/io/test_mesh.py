from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch
import trimesh

from gan3d.errors import DataError
from gan3d.io.mesh import load_mesh, save_mesh
from gan3d.structures.mesh import Mesh
from tests.conftest import real_files

TETRA_OFF = "OFF\n4 4 0\n0 0 0\n1 0 0\n0 1 0\n0 0 1\n3 0 2 1\n3 0 1 3\n3 0 3 2\n3 1 2 3\n"


def _tetra() -> Mesh:
    verts = np.array([[0, 0, 0], [1, 0, 0], [0, 1, 0], [0, 0, 1]], dtype=float)
    faces = np.array([[0, 2, 1], [0, 1, 3], [0, 3, 2], [1, 2, 3]])
    return Mesh(verts, faces)


def test_off_is_read_exactly(tmp_path: Path) -> None:
    path = tmp_path / "t.off"
    path.write_text(TETRA_OFF)
    mesh = load_mesh(path)
    np.testing.assert_array_equal(mesh.verts, _tetra().verts)
    np.testing.assert_array_equal(mesh.faces, _tetra().faces)
    assert mesh.faces.dtype == np.int64


def test_modelnet_one_line_header_quirk(tmp_path: Path) -> None:
    path = tmp_path / "quirk.off"
    path.write_text(TETRA_OFF.replace("OFF\n4 4 0\n", "OFF4 4 0\n"))
    mesh = load_mesh(path)
    assert mesh.verts.shape == (4, 3) and mesh.faces.shape == (4, 3)


def test_quads_are_triangulated(tmp_path: Path) -> None:
    path = tmp_path / "quad.off"
    path.write_text("OFF\n4 1 0\n0 0 0\n1 0 0\n1 1 0\n0 1 0\n4 0 1 2 3\n")
    assert load_mesh(path).faces.shape == (2, 3)


@pytest.mark.parametrize("suffix", [".obj", ".stl", ".ply", ".off"])
def test_round_trip_every_format(tmp_path: Path, suffix: str) -> None:
    path = tmp_path / f"tetra{suffix}"
    save_mesh(_tetra(), path)
    mesh = load_mesh(path)
    # STL stores triangle soup: compare the triangles, not the indexing
    got = np.sort(mesh.verts[mesh.faces].reshape(-1, 9), axis=0)
    want = np.sort(_tetra().verts[_tetra().faces].reshape(-1, 9), axis=0)
    np.testing.assert_allclose(got, want, atol=1e-6)


BAD_FILES = {
    "empty.off": b"",
    "truncated.off": TETRA_OFF[: len(TETRA_OFF) // 2].encode(),
    "truncated_faces.off": TETRA_OFF.rsplit("3 1 2 3", 1)[0].encode(),
    "garbage.off": bytes(np.random.default_rng(0).integers(0, 256, 600, dtype=np.uint8)),
    "garbage.obj": bytes(np.random.default_rng(1).integers(0, 256, 600, dtype=np.uint8)),
    "garbage.stl": bytes(np.random.default_rng(2).integers(0, 256, 601, dtype=np.uint8)),
    "garbage.ply": bytes(np.random.default_rng(3).integers(0, 256, 600, dtype=np.uint8)),
    "nan.off": b"OFF\n3 1 0\n0 0 0\n1 nan 0\n0 1 0\n3 0 1 2\n",
    "inf.obj": b"v 0 0 0\nv 1 inf 0\nv 0 1 0\nf 1 2 3\n",
    "lines.off": b"OFF\n3 1 0\n0 0 0\n1 0 0\n1 1 0\n2 0 1\n",
    "points.obj": b"v 0 0 0\nv 1 0 0\n",
    "bad_index.off": b"OFF\n3 1 0\n0 0 0\n1 0 0\n1 1 0\n3 0 1 7\n",
    "no_header.off": b"3 1 0\n0 0 0\n1 0 0\n1 1 0\n3 0 1 2\n",
}


@pytest.mark.parametrize("name", sorted(BAD_FILES))
def test_bad_files_raise_data_error_naming_the_file(tmp_path: Path, name: str) -> None:
    path = tmp_path / name
    path.write_bytes(BAD_FILES[name])
    with pytest.raises(DataError) as info:
        load_mesh(path)
    assert info.value.path == str(path)
    assert str(path) in str(info.value)


def test_missing_and_unsupported(tmp_path: Path) -> None:
    with pytest.raises(DataError, match="no such file"):
        load_mesh(tmp_path / "nope.off")
    (tmp_path / "a.xyz").write_text("1 2 3\n")
    with pytest.raises(DataError, match="unsupported mesh format"):
        load_mesh(tmp_path / "a.xyz")


def test_unit_sphere_normalisation() -> None:
    mesh = Mesh(_tetra().verts * 7 + 3, _tetra().faces).normalized_to_unit_sphere()
    radius = np.linalg.norm(mesh.verts, axis=1).max()
    assert radius == pytest.approx(1.0)
    np.testing.assert_allclose((mesh.bounds[0] + mesh.bounds[1]) / 2, 0, atol=1e-12)


@pytest.mark.parametrize(
    "path", sorted(set(real_files("*/*/*/*.off") + real_files("classic_*/*/misc/*"))), ids=lambda p: p.name
)
def test_every_real_mesh_loads(path: Path) -> None:
    mesh = load_mesh(path)
    assert len(mesh.faces) > 0 and np.isfinite(mesh.verts).all()
    # trimesh (without our header fix) agrees where it can parse the file at all
    reference = trimesh.load(path, force="mesh", process=False)
    assert len(mesh.verts) == len(reference.vertices)


def test_real_quirky_headers_match_their_counts(real: Path) -> None:
    quirky = [p for p in real.glob("modelnet_off_zeaggler/bathtub/train/*.off") if p.read_bytes()[3:4] != b"\n"]
    assert len(quirky) == 3
    for path in quirky:
        n_verts, n_faces = (int(x) for x in path.read_text().split("\n", 1)[0][3:].split()[:2])
        mesh = load_mesh(path)
        assert len(mesh.verts) == n_verts and len(mesh.faces) >= n_faces


# ---- colour ----------------------------------------------------------------------------------
def _coloured_box():
    from gan3d.data.synthetic import make_shape

    return make_shape("table", 2, color=True)


@pytest.mark.parametrize("suffix", [".ply", ".obj", ".glb"])
def test_vertex_colours_round_trip(tmp_path: Path, suffix: str) -> None:
    import dataclasses

    mesh = dataclasses.replace(_coloured_box(), uvs=None, texture=None)
    save_mesh(mesh, tmp_path / f"m{suffix}")
    back = load_mesh(tmp_path / f"m{suffix}")
    assert back.vertex_colors is not None and back.uvs is None
    np.testing.assert_allclose(back.verts, mesh.verts, atol=1e-5)
    np.testing.assert_allclose(back.vertex_colors, mesh.vertex_colors, atol=1 / 255 + 1e-6)  # stored as 8-bit


@pytest.mark.parametrize("suffix", [".obj", ".glb"])
def test_textures_round_trip(tmp_path: Path, suffix: str) -> None:
    mesh = _coloured_box()
    save_mesh(mesh, tmp_path / f"t{suffix}")
    if suffix == ".obj":
        assert sorted(p.name for p in tmp_path.iterdir()) == ["t.mtl", "t.obj", "t_texture.png"]
    back = load_mesh(tmp_path / f"t{suffix}")
    assert back.texture is not None and back.uvs is not None
    np.testing.assert_array_equal(back.texture, mesh.texture)
    # the same surface colour at every vertex: trimesh may reorder or split vertices, so compare by position
    from gan3d.render.texture import sample_texture

    def rows(m) -> np.ndarray:  # noqa: ANN001
        """(position, texel colour) per vertex, as a sorted set of rows."""
        tex = torch.as_tensor(m.texture.copy()).permute(2, 0, 1).float() / 255
        colour = sample_texture(tex, torch.as_tensor(m.uvs), "bilinear").numpy()  # continuous in the UVs
        table = np.round(np.c_[m.verts, colour], 3)
        return np.unique(table, axis=0)

    np.testing.assert_allclose(rows(back), rows(mesh), atol=2e-4)


def test_a_mesh_without_colour_loads_without_colour(tmp_path: Path) -> None:
    from gan3d.data.synthetic import make_shape

    save_mesh(make_shape("bottle", 1), tmp_path / "b.ply")
    mesh = load_mesh(tmp_path / "b.ply")
    assert mesh.vertex_colors is None and mesh.uvs is None and mesh.texture is None and not mesh.has_color
