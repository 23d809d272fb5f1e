"""Load and save triangle meshes (OFF, OBJ, STL, PLY, GLB) through trimesh, with clear errors.

trimesh does the parsing; this module adds what real datasets need on top of it: the ModelNet OFF
header quirk (`OFF490 518 0` on one line), detection of truncated and binary-garbage files, and a
`DataError` naming the file for every problem instead of a traceback from deep inside numpy.

Colour is kept both ways: vertex colours (PLY, OBJ `v x y z r g b`, GLB) and UV-mapped textures (OBJ +
MTL + image, GLB) load into `Mesh.vertex_colors` / `Mesh.uvs` + `Mesh.texture` and are written back
(OBJ writes `NAME.mtl` and `NAME_texture.png` beside the mesh).
"""

from __future__ import annotations

import io
import os
import re
from pathlib import Path

import numpy as np

from gan3d.errors import DataError
from gan3d.files import read_bytes, write_bytes_atomic
from gan3d.structures.mesh import Mesh

MESH_SUFFIXES = (".off", ".obj", ".stl", ".ply", ".glb", ".gltf")
_TEXT_FORMATS = ("off", "obj")
_OFF_HEADER = re.compile(rb"^\s*(C?N?OFF)[ \t]*(\d+)[ \t]+(\d+)(?:[ \t]+(\d+))?[ \t]*\r?\n")


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
    colors, uvs, texture = mesh.vertex_colors, mesh.uvs, mesh.texture
    if colors is not None:
        colors = np.asarray(colors, dtype=np.float32)
        if colors.shape != (len(verts), 3) or not np.isfinite(colors).all():
            raise DataError(path, f"vertex colours must be finite, shape ({len(verts)}, 3); got {colors.shape}")
        colors = colors.clip(0.0, 1.0)
    if uvs is not None:
        uvs = np.asarray(uvs, dtype=np.float32)
        if uvs.shape != (len(verts), 2) or not np.isfinite(uvs).all():
            raise DataError(path, f"UVs must be finite, shape ({len(verts)}, 2); got {uvs.shape}")
    if texture is not None:
        texture = np.asarray(texture)
        if uvs is None or texture.ndim != 3 or texture.shape[2] != 3 or texture.dtype != np.uint8:
            raise DataError(path, f"texture must be uint8 (H, W, 3) with UVs; got {texture.dtype} {texture.shape}")
    return Mesh(verts, faces.astype(np.int64), colors, uvs, texture)


def save_mesh(mesh: Mesh, path: str | os.PathLike[str]) -> None:
    """Write a mesh in the format named by the suffix (OFF, OBJ, STL, PLY, GLB), atomically.

    Vertex colours go into OBJ, PLY and GLB; a texture into GLB (embedded) and OBJ (`<stem>.mtl` and
    `<stem>_texture.png` written beside it, before the OBJ, so an OBJ that exists is complete). OFF and STL
    hold geometry only.
    """
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix not in MESH_SUFFIXES or suffix == ".gltf":
        raise DataError(path, f"unsupported mesh format {suffix or '(none)'}; expected one of {_WRITE_SUFFIXES}")
    if suffix == ".off":
        write_bytes_atomic(path, _off_bytes(mesh))
        return
    textured = mesh.uvs is not None and mesh.texture is not None
    if suffix == ".obj" and textured:
        text, extras = _textured_obj(mesh, path.stem)
        for name, data in extras.items():
            write_bytes_atomic(path.parent / name, data)
        write_bytes_atomic(path, text.encode("utf-8"))
        return
    data = _to_trimesh(mesh).export(file_type=suffix[1:])
    write_bytes_atomic(path, data.encode("utf-8") if isinstance(data, str) else data)


_WRITE_SUFFIXES = (".off", ".obj", ".stl", ".ply", ".glb")


def _to_trimesh(mesh: Mesh):  # noqa: ANN202  (trimesh.Trimesh; imported lazily)
    import trimesh

    visual = None
    if mesh.uvs is not None and mesh.texture is not None:
        from PIL import Image

        material = trimesh.visual.material.SimpleMaterial(image=Image.fromarray(mesh.texture))
        visual = trimesh.visual.TextureVisuals(uv=mesh.uvs, image=None, material=material)
    elif mesh.vertex_colors is not None:
        rgba = np.concatenate([mesh.vertex_colors, np.ones((len(mesh.verts), 1), np.float32)], 1)
        visual = trimesh.visual.ColorVisuals(vertex_colors=np.round(rgba * 255).astype(np.uint8))
    return trimesh.Trimesh(mesh.verts, mesh.faces, visual=visual, process=False)


def _textured_obj(mesh: Mesh, stem: str) -> tuple[str, dict[str, bytes]]:
    """OBJ text referencing `<stem>.mtl`, and the MTL and PNG files' bytes by name."""
    import io as _io

    from PIL import Image

    lines = [f"mtllib {stem}.mtl", "usemtl material0"]
    lines += [f"v {x:.6f} {y:.6f} {z:.6f}" for x, y, z in mesh.verts]
    lines += [f"vt {u:.6f} {v:.6f}" for u, v in mesh.uvs]  # type: ignore[union-attr]
    lines += [f"f {a}/{a} {b}/{b} {c}/{c}" for a, b, c in mesh.faces + 1]
    mtl = f"newmtl material0\nKa 1 1 1\nKd 1 1 1\nKs 0 0 0\nmap_Kd {stem}_texture.png\n"
    png = _io.BytesIO()
    Image.fromarray(mesh.texture).save(png, format="PNG")  # type: ignore[arg-type]
    return "\n".join(lines) + "\n", {f"{stem}.mtl": mtl.encode("ascii"), f"{stem}_texture.png": png.getvalue()}


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
        # the resolver finds an OBJ's MTL and texture images, and a glTF's buffers, beside the file
        resolver = trimesh.resolvers.FilePathResolver(str(path.parent))
        loaded = trimesh.load(io.BytesIO(raw), file_type=file_type, force="mesh", process=False, resolver=resolver)
    except DataError:
        raise
    except Exception as err:  # trimesh raises many types (ValueError, IndexError, KeyError...) on bad files
        raise DataError(path, f"cannot parse {file_type.upper()} ({type(err).__name__}: {err})") from None
    verts = np.asarray(getattr(loaded, "vertices", np.zeros((0, 3))))
    faces = np.asarray(getattr(loaded, "faces", np.zeros((0, 3), dtype=np.int64)))
    faces = faces.reshape(-1, 3) if faces.size else np.zeros((0, 3), dtype=np.int64)
    colors, uvs, texture = _visual(loaded, len(verts))
    return Mesh(verts, faces, colors, uvs, texture)


def _visual(loaded: object, n_verts: int) -> tuple[np.ndarray | None, np.ndarray | None, np.ndarray | None]:
    """(vertex colours, UVs, texture) of a trimesh mesh, each None when absent or unusable."""
    visual = getattr(loaded, "visual", None)
    kind = getattr(visual, "kind", None)
    try:
        if kind == "texture":
            uvs = getattr(visual, "uv", None)
            image = getattr(getattr(visual, "material", None), "image", None)
            if image is None:
                image = getattr(getattr(visual, "material", None), "baseColorTexture", None)
            if uvs is not None and len(uvs) == n_verts and image is not None:
                return None, np.asarray(uvs, dtype=np.float32), np.asarray(image.convert("RGB"), dtype=np.uint8)
            colors = visual.to_color().vertex_colors  # a material colour without an image
        elif kind in ("vertex", "face"):
            colors = visual.vertex_colors  # trimesh averages face colours onto vertices
        else:
            return None, None, None
    except Exception:  # a broken colour block must not cost the geometry; colour is optional
        return None, None, None
    colors = np.asarray(colors)
    if colors.ndim != 2 or len(colors) != n_verts or colors.shape[1] < 3:
        return None, None, None
    return (colors[:, :3].astype(np.float32) / 255.0), None, None
