"""Read and write `.binvox` files, byte-compatible with Patrick Min's binvox tool.

Format: an ASCII header (`#binvox 1`, `dim D D D`, `translate tx ty tz`, `scale s`, `data`), then
run-length-encoded (value, count) byte pairs, count 1..255, over the voxels in x-z-y order (y fastest).
Written by hand because it is ~60 lines and trimesh's reader returns no typed errors for broken files;
tests check both directions against `trimesh.exchange.binvox`.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from gan3d.errors import DataError
from gan3d.files import read_bytes, write_bytes_atomic
from gan3d.structures.voxel_grid import VoxelGrid

MAX_RESOLUTION = int(os.environ.get("GAN3D_MAX_RESOLUTION", "1024"))  # 1024^3 bools = 1 GiB


def read_binvox(path: str | os.PathLike[str], max_resolution: int = MAX_RESOLUTION) -> VoxelGrid:
    """Read a `.binvox` file into a `VoxelGrid` with index order (x, y, z)."""
    path = Path(path)
    raw = read_bytes(path)
    return parse_binvox(raw, path, max_resolution)


def parse_binvox(
    raw: bytes, path: str | os.PathLike[str] = "<binvox>", max_resolution: int = MAX_RESOLUTION
) -> VoxelGrid:
    """Decode the bytes of a `.binvox` file; `path` only names the source in errors.

    Grids above `max_resolution`^3 (default 1024, or the `GAN3D_MAX_RESOLUTION` environment variable)
    and run-length data that does not add up to dim^3 are refused before anything large is allocated.
    """
    header: dict[str, list[str]] = {}
    pos = 0
    for line_number in range(16):  # '#binvox 1', then dim/translate/scale in any order, then 'data'
        end = raw.find(b"\n", pos)
        if end < 0:
            raise DataError(path, "truncated binvox header (no 'data' line)")
        line = raw[pos:end].decode("ascii", errors="replace").strip()
        pos = end + 1
        if line_number == 0:
            if not line.startswith("#binvox"):
                raise DataError(path, "not a binvox file (missing '#binvox' header)")
            continue
        if not line:
            continue
        key, *values = line.split()
        header[key] = values
        if key == "data":
            break
    if "data" not in header:
        raise DataError(path, "binvox header has no 'data' line")
    try:
        dims = tuple(int(v) for v in header["dim"])
        translate = np.array([float(v) for v in header.get("translate", ["0", "0", "0"])])
        scale_values = header.get("scale", ["1"])
        if len(scale_values) != 1:
            raise ValueError("scale")
        scale = float(scale_values[0])
    except (KeyError, ValueError, OverflowError):
        raise DataError(path, f"malformed binvox header {str(header)[:200]}") from None
    if len(dims) != 3 or len(set(dims)) != 1 or dims[0] <= 0:
        raise DataError(path, f"binvox grid must be a cube; dim is {dims}")
    if dims[0] > max_resolution:
        raise DataError(path, f"binvox grid of {dims[0]}^3 is above the limit of {max_resolution}^3")
    if translate.shape != (3,) or not np.isfinite(translate).all() or not np.isfinite(scale) or scale <= 0:
        raise DataError(path, "malformed binvox translate/scale")
    rle = np.frombuffer(raw, dtype=np.uint8, offset=pos)
    if len(rle) % 2:
        raise DataError(path, "truncated binvox data (odd number of run-length bytes)")
    values, counts = rle[0::2], rle[1::2].astype(np.int64)
    if values.size and values.max() > 1:
        raise DataError(path, "corrupt binvox data (run value other than 0 or 1)")
    total = dims[0] ** 3  # a Python int: no overflow
    if counts.sum() != total:
        raise DataError(path, f"binvox data holds {int(counts.sum())} voxels, header says {total}")
    flat = np.repeat(values.astype(bool), counts)
    occupancy = flat.reshape(dims[0], dims[2], dims[1]).transpose(0, 2, 1)  # file order x-z-y -> (x, y, z)
    return VoxelGrid(np.ascontiguousarray(occupancy), translate, scale)


def encode_binvox(grid: VoxelGrid) -> bytes:
    """The bytes of a `.binvox` file for `grid`."""
    occupancy = np.asarray(grid.occupancy, dtype=bool)
    d = occupancy.shape[0]
    flat = occupancy.transpose(0, 2, 1).reshape(-1)  # (x, y, z) -> file order x-z-y
    change = np.flatnonzero(flat[1:] != flat[:-1]) + 1
    starts = np.concatenate([[0], change])
    lengths = np.diff(np.concatenate([starts, [flat.size]]))
    values = flat[starts].astype(np.uint8)
    # binvox counts are bytes: split runs longer than 255 into full 255-runs plus a remainder
    n_pieces = (lengths + 254) // 255
    piece_values = np.repeat(values, n_pieces)
    piece_counts = np.full(n_pieces.sum(), 255, dtype=np.int64)
    last = np.cumsum(n_pieces) - 1
    piece_counts[last] = lengths - 255 * (n_pieces - 1)
    body = np.empty(2 * len(piece_values), dtype=np.uint8)
    body[0::2], body[1::2] = piece_values, piece_counts
    t = grid.translate
    header = f"#binvox 1\ndim {d} {d} {d}\ntranslate {t[0]:g} {t[1]:g} {t[2]:g}\nscale {grid.scale:g}\ndata\n"
    return header.encode("ascii") + body.tobytes()


def write_binvox(grid: VoxelGrid, path: str | os.PathLike[str]) -> None:
    """Write `grid` as a `.binvox` file, atomically."""
    occupancy = np.asarray(grid.occupancy)
    if occupancy.ndim != 3 or len(set(occupancy.shape)) != 1:
        raise DataError(path, f"binvox grids must be cubes (D, D, D); got shape {occupancy.shape}")
    write_bytes_atomic(path, encode_binvox(grid))
