"""Load and save triangle meshes (OFF, OBJ, STL, PLY, GLB) through trimesh, with clear errors.

trimesh does the parsing; this module adds what real datasets need on top of it: the ModelNet OFF
header quirk (`OFF490 518 0` on one line), detection of truncated and binary-garbage files, and a
`DataError` naming the file for every problem instead of a traceback from deep inside numpy.
"""

from __future__ import annotations

import io
import os
import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from gan3d.errors import DataError
from gan3d.files import atomic_path, read_bytes

MESH_SUFFIXES = (".off", ".obj", ".stl", ".ply", ".glb", ".gltf")
_TEXT_FORMATS = ("off", "obj")
_OFF_HEADER = re.compile(rb"^\s*(C?N?OFF)[ \t]*(\d+)[ \t]+(\d+)(?:[ \t]+(\d+))?[ \t]*\r?\n")


@dataclass(frozen=True)
class Mesh:
    """A triangle mesh.

    Attributes:
        verts: vertex positions, float64, shape (V, 3).
        faces: vertex indices of each triangle, int64, shape (F, 3), counter-clockwise seen from outside
            where the source file is consistently oriented.
    """

    verts: np.ndarray
    faces: np.ndarray

    @property
    def bounds(self) -> np.ndarray:
        """Axis-aligned bounding box, shape (2, 3): min corner then max corner."""
        return np.stack([self.verts.min(axis=0), self.verts.max(axis=0)])

    def normalized_to_unit_sphere(self) -> Mesh:
        """Centre the bounding box at the origin and scale so every vertex lies in the unit sphere.

        This is the MVCNN rendering convention (object normalised to the unit sphere).
        """
        lo, hi = self.bounds
        centred = self.verts - (lo + hi) / 2.0
        radius = float(np.linalg.norm(centred, axis=1).max())
        return Mesh(centred / (radius if radius > 0 else 1.0), self.faces)


def load_mesh(path: str | os.PathLike[str]) -> Mesh:
    """Read a triangle mesh; polygons are fan-triangulated, scenes are merged into one mesh.

    Raises:
        DataError: the file is missing, empty, truncated, binary garbage, has no triangles, has
            NaN/inf coordinates or face indices out of range. The message names the file.
    """
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix not in MESH_SUFFIXES:
        raise DataError(path, f"unsupported mesh format {suffix or '(none)'}; expected one of {MESH_SUFFIXES}")
    raw = read_bytes(path)
    if not raw.strip():
        raise DataError(path, "empty file")
    file_type = suffix[1:]
    if file_type in _TEXT_FORMATS:
        _check_text(path, raw)
    if file_type == "stl":
        _check_stl(path, raw)
    expected_counts = None
    if file_type == "off":
        raw, expected_counts = _fix_off_header(path, raw)
    mesh = _load_with_trimesh(path, raw, file_type)
    if expected_counts is not None and len(mesh.verts) != expected_counts[0]:
        raise DataError(
            path, f"truncated OFF: header declares {expected_counts[0]} vertices, file has {len(mesh.verts)}"
        )
    if expected_counts is not None and len(mesh.faces) < expected_counts[1]:
        raise DataError(path, f"truncated OFF: header declares {expected_counts[1]} faces, file has {len(mesh.faces)}")
    return validate_mesh(mesh, path)


def validate_mesh(mesh: Mesh, path: str | os.PathLike[str] = "<mesh>") -> Mesh:
    """Check shapes, finiteness and index range; returns the mesh with canonical dtypes."""
    verts = np.asarray(mesh.verts, dtype=np.float64)
    faces = np.asarray(mesh.faces)
    if verts.ndim != 2 or verts.shape[1] != 3 or len(verts) == 0:
        raise DataError(path, f"no vertices (verts shape {verts.shape}, expected (V, 3))")
    if faces.size == 0:
        raise DataError(path, "no triangle faces (a point cloud or line set, not a surface mesh)")
    if faces.ndim != 2 or faces.shape[1] != 3:
        raise DataError(path, f"faces must be triangles, shape (F, 3); got {faces.shape}")
    if not np.issubdtype(faces.dtype, np.integer):
        raise DataError(path, f"face indices must be integers, got {faces.dtype}")
    if not np.isfinite(verts).all():
        raise DataError(path, "NaN or infinite vertex coordinates")
    if faces.min() < 0 or faces.max() >= len(verts):
        raise DataError(path, f"face index out of range [0, {len(verts)})")
    return Mesh(verts, faces.astype(np.int64))


def save_mesh(mesh: Mesh, path: str | os.PathLike[str]) -> None:
    """Write a mesh in the format named by the suffix (OFF, OBJ, STL, PLY, GLB), atomically."""
    import trimesh

    path = Path(path)
    suffix = path.suffix.lower()
    if suffix not in MESH_SUFFIXES:
        raise DataError(path, f"unsupported mesh format {suffix or '(none)'}; expected one of {MESH_SUFFIXES}")
    if suffix == ".off":
        data = _off_bytes(mesh)
    else:
        data = trimesh.Trimesh(mesh.verts, mesh.faces, process=False).export(file_type=suffix[1:])
        if isinstance(data, str):
            data = data.encode("utf-8")
    with atomic_path(path) as tmp:
        tmp.write_bytes(data)


def _off_bytes(mesh: Mesh) -> bytes:
    """OFF text with 6 significant decimals, the precision ModelNet itself uses."""
    out = io.StringIO()
    out.write(f"OFF\n{len(mesh.verts)} {len(mesh.faces)} 0\n")
    np.savetxt(out, mesh.verts, fmt="%.6f")
    faces = np.hstack([np.full((len(mesh.faces), 1), 3, dtype=np.int64), mesh.faces])
    np.savetxt(out, faces, fmt="%d")
    return out.getvalue().encode("ascii")


def _check_text(path: Path, raw: bytes) -> None:
    """Reject binary data in a text format before the parser chokes on it."""
    head = raw[:4096]
    printable = sum(32 <= b < 127 or b in (9, 10, 13) for b in head)
    if b"\x00" in head or printable < 0.95 * len(head):
        raise DataError(path, f"not a text {path.suffix[1:].upper()} file (binary data)")


def _check_stl(path: Path, raw: bytes) -> None:
    """A binary STL's size is fixed by its triangle count; anything else must be ASCII 'solid'."""
    if len(raw) >= 84 and len(raw) == 84 + 50 * int.from_bytes(raw[80:84], "little"):
        return
    if not raw.lstrip().startswith(b"solid"):
        raise DataError(path, "not an STL file (neither binary STL of consistent size nor ASCII 'solid')")
    _check_text(path, raw)


def _fix_off_header(path: Path, raw: bytes) -> tuple[bytes, tuple[int, int]]:
    """Split ModelNet's one-line header (`OFF490 518 0`) and return the declared counts."""
    match = _OFF_HEADER.match(raw)
    if match:
        keyword, n_verts, n_faces, n_edges = match.groups()
        fixed = b"%s\n%s %s %s\n" % (keyword, n_verts, n_faces, n_edges or b"0")
        return fixed + raw[match.end() :], (int(n_verts), int(n_faces))
    lines = [ln for ln in raw.split(b"\n", 3)[:3] if ln.strip() and not ln.lstrip().startswith(b"#")]
    if not lines or not lines[0].strip().upper().endswith(b"OFF"):
        raise DataError(path, "not an OFF file (missing 'OFF' header)")
    try:
        n_verts, n_faces = (int(tok) for tok in lines[1].split()[:2])
    except (IndexError, ValueError):
        raise DataError(path, "malformed OFF header: expected '<vertices> <faces> <edges>'") from None
    return raw, (n_verts, n_faces)


def _load_with_trimesh(path: Path, raw: bytes, file_type: str) -> Mesh:
    import trimesh

    try:
        loaded = trimesh.load(io.BytesIO(raw), file_type=file_type, force="mesh", process=False)
    except DataError:
        raise
    except Exception as err:  # trimesh raises many types (ValueError, IndexError, KeyError...) on bad files
        raise DataError(path, f"cannot parse {file_type.upper()} ({type(err).__name__}: {err})") from None
    verts = np.asarray(getattr(loaded, "vertices", np.zeros((0, 3))))
    faces = np.asarray(getattr(loaded, "faces", np.zeros((0, 3), dtype=np.int64)))
    return Mesh(verts, faces.reshape(-1, 3) if faces.size else np.zeros((0, 3), dtype=np.int64))
