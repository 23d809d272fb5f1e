"""A small seeded fuzzer of gan3d's readers: valid seed files of every format, mutated (bit flips,
truncation, inserted and deleted bytes, header numbers replaced by extreme ones), fed to each reader.

What must hold for every input: the reader returns or raises a `Gan3dError` subclass (nothing else
escapes), its peak Python-visible allocation (tracemalloc: numpy, Pillow and torch CPU buffers report to
it) stays under a bound, and it finishes within a time bound. Used by `tests/io/test_fuzz.py` (a few
hundred inputs, in CI) and `benchmarks/fuzz_readers.py` (thousands).
"""

from __future__ import annotations

import io
import json
import re
import time
import tracemalloc
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from gan3d.errors import Gan3dError

EXTREMES = [b"0", b"-1", b"4194304", b"99999", b"1e308", b"nan", b"-inf", b"", b"1 2", b"9" * 30]


def seed_files() -> dict[str, bytes]:
    """One valid file per format (name -> bytes), made here so the fuzzer needs nothing else."""
    import trimesh
    from PIL import Image

    from gan3d.data.synthetic import make_shape
    from gan3d.data.voxelize import voxelize
    from gan3d.io.binvox import encode_binvox
    from gan3d.structures.cameras import orbit_cameras

    mesh = make_shape("chair", 1)
    tri = trimesh.Trimesh(mesh.verts, mesh.faces, process=False)
    grid = voxelize(mesh.verts, mesh.faces, 8)
    files = {
        "seed.binvox": encode_binvox(grid),
        "seed.off": tri.export(file_type="off").encode(),
        "seed.obj": tri.export(file_type="obj").encode(),
        "seed.ply": tri.export(file_type="ply"),
        "seed.stl": tri.export(file_type="stl"),
        "seed.glb": tri.export(file_type="glb"),
    }
    for name, array in (("seed.npy", grid.occupancy), ("seed16.npy", grid.occupancy.astype(np.float32))):
        buffer = io.BytesIO()
        np.save(buffer, array)
        files[name] = buffer.getvalue()
    buffer = io.BytesIO()
    np.savez_compressed(buffer, occupancy=grid.occupancy, translate=grid.translate, scale=np.float64(grid.scale))
    files["seed.npz"] = buffer.getvalue()
    rng = np.random.default_rng(0)
    for name, mode, shape in (("rgb.png", "RGB", (12, 10, 3)), ("rgba.png", "RGBA", (12, 10, 4))):
        buffer = io.BytesIO()
        Image.fromarray(rng.integers(0, 255, shape, dtype=np.uint8), mode).save(buffer, format="PNG")
        files[name] = buffer.getvalue()
    buffer = io.BytesIO()
    Image.fromarray(rng.integers(0, 65535, (12, 10), dtype=np.uint16)).save(buffer, format="PNG")
    files["grey16.png"] = buffer.getvalue()
    buffer = io.BytesIO()
    Image.fromarray(rng.integers(0, 255, (12, 10, 3), dtype=np.uint8)).save(buffer, format="JPEG")
    files["photo.jpg"] = buffer.getvalue()
    camera = orbit_cameras(30, 45, 2.2, 16).to_dict()
    files["view.json"] = json.dumps({"camera": camera, "normalization": {"center": [0, 0, 0], "radius": 1}}).encode()
    files["rendering_metadata.txt"] = b"104.76 26.33 0 0.71 25\n195.99 27.34 0 0.91 25\n"
    files.update(real_seed_files())
    return files


REAL = Path(__file__).resolve().parents[1].parent / "shared" / "real"
_R2N2, _CHAIR = "shapenet_r2n2_attsets/chair/sample", "1a6f615e8b1b5ae4dbbc9440457e303e"
REAL_SEEDS = {  # small real files made outside gan3d, when ../shared/real is there
    "real_chair.off": "modelnet_off_gomesh/chair/train/chair_0002.off",
    "real_bathtub.off": "modelnet_off_zeaggler/bathtub/train/bathtub_0001.off",  # the one-line header quirk
    "real_ant.ply": "classic_pyvista_wheel/ant/misc/ant.ply",
    "real_suzanne.obj": "classic_common3d/suzanne/misc/suzanne.obj",
    "real_r2n2.binvox": f"{_R2N2}/ShapeNetVox32/03001627/{_CHAIR}/model.binvox",
    "real_r2n2.png": f"{_R2N2}/ShapeNetRendering/03001627/{_CHAIR}/rendering/00.png",
    "real_photo.png": "realphotos_r2n2demo/chair/sample/0.png",
}


def real_seed_files() -> dict[str, bytes]:
    """The real seed files that exist (none when ../shared/real is absent)."""
    out = {}
    for name, rel in REAL_SEEDS.items():
        path = REAL / rel
        if path.is_file() and path.stat().st_size < 1 << 20:
            out[name] = path.read_bytes()
    return out


def readers() -> dict[str, Callable[[Path], object]]:
    """Each reader by the suffix (or name) of the files it reads."""
    from gan3d.data.datasets import load_mask
    from gan3d.data.photos import prepare_photo
    from gan3d.data.render_views import load_camera, read_normalization
    from gan3d.data.shapenet import read_rendering_metadata
    from gan3d.io.binvox import read_binvox
    from gan3d.io.grids import load_grid_values
    from gan3d.io.images import load_view_image
    from gan3d.io.mesh import load_mesh

    def image(path: Path) -> object:
        load_view_image(path, 3, 16)
        load_mask(path, 16, alpha=False)
        return prepare_photo(path, 16)

    def view_json(path: Path) -> object:
        return load_camera(path), read_normalization(path)

    return {
        ".binvox": read_binvox,
        ".npy": load_grid_values,
        ".npz": load_grid_values,
        ".off": load_mesh,
        ".obj": load_mesh,
        ".ply": load_mesh,
        ".stl": load_mesh,
        ".glb": load_mesh,
        ".png": image,
        ".jpg": image,
        ".json": view_json,
        ".txt": read_rendering_metadata,
    }


def mutate(data: bytes, rng: np.random.Generator) -> bytes:
    """One random mutation of `data`: flips, truncation, insertion, deletion, or an extreme header number."""
    kind = rng.integers(6)
    buf = bytearray(data)
    if kind == 0 and buf:  # flip a few bits
        for _ in range(int(rng.integers(1, 8))):
            i = int(rng.integers(len(buf)))
            buf[i] ^= 1 << int(rng.integers(8))
    elif kind == 1:  # truncate
        del buf[int(rng.integers(len(buf) + 1)) :]
    elif kind == 2:  # insert random bytes
        i = int(rng.integers(len(buf) + 1))
        buf[i:i] = rng.integers(0, 256, int(rng.integers(1, 64)), dtype=np.uint8).tobytes()
    elif kind == 3 and buf:  # delete a run
        i = int(rng.integers(len(buf)))
        del buf[i : i + int(rng.integers(1, 64))]
    else:  # replace a number in the first 512 bytes (headers) by an extreme one
        head = bytes(buf[:512])
        numbers = list(re.finditer(rb"-?\d+(?:\.\d+)?(?:e-?\d+)?", head))
        if numbers:
            match = numbers[int(rng.integers(len(numbers)))]
            new = EXTREMES[int(rng.integers(len(EXTREMES)))]
            buf[match.start() : match.end()] = new
    return bytes(buf)


@dataclass
class FuzzReport:
    """What one reader did on its inputs."""

    inputs: int = 0
    accepted: int = 0
    typed_errors: int = 0
    untyped: list[str] = field(default_factory=list)
    slowest_s: float = 0.0
    peak_bytes: int = 0


def fuzz(
    folder: Path, per_seed: int, seed: int = 0, time_bound_s: float = 5.0, memory_bound: int = 256 << 20
) -> dict[str, FuzzReport]:
    """Run every reader on `per_seed` mutations of each seed file (written under `folder`); untyped
    errors, slow reads and large allocations are recorded in the reports (as messages in `untyped`)."""
    rng = np.random.default_rng(seed)
    table = readers()
    reports: dict[str, FuzzReport] = {}
    for name, data in seed_files().items():
        suffix = Path(name).suffix
        reader = table[suffix]
        report = reports.setdefault(suffix, FuzzReport())
        for k in range(per_seed):
            path = folder / f"{Path(name).stem}_{k}{suffix}"
            if suffix == ".txt":
                path = folder / f"m{k}" / "rendering_metadata.txt"
                path.parent.mkdir(exist_ok=True)
            path.write_bytes(mutate(data, rng) if k else data)
            tracemalloc.start()
            start = time.perf_counter()
            try:
                reader(path)
                report.accepted += 1
            except Gan3dError:
                report.typed_errors += 1
            except Exception as err:  # the bug the fuzzer looks for
                report.untyped.append(f"{path.name}: {type(err).__name__}: {str(err)[:120]}")
            elapsed = time.perf_counter() - start
            peak = tracemalloc.get_traced_memory()[1]
            tracemalloc.stop()
            report.inputs += 1
            report.slowest_s = max(report.slowest_s, elapsed)
            report.peak_bytes = max(report.peak_bytes, peak)
            if elapsed > time_bound_s:
                report.untyped.append(f"{path.name}: took {elapsed:.1f} s")
            if peak > memory_bound:
                report.untyped.append(f"{path.name}: allocated {peak >> 20} MiB")
            path.unlink()
    return reports
